//! Reading a requested scope list: the one rule the peer-token endpoint and the relationship
//! endpoint share.

/// A non-empty scope list, duplicates folded in request order, split into known and unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeList {
    /// Known scopes, each once, in request order.
    pub known: Vec<String>,
    /// Scopes outside `PEER_TOKEN_SCOPES`, each once.
    pub unknown: Vec<String>,
}

/// Reads `list` against the `known` scopes.
///
/// # Errors
/// The validation message when the list is missing or empty.
pub fn parse(list: Option<&[String]>, known: &[String]) -> Result<ScopeList, &'static str> {
    let list = match list {
        None => return Err("The scopes field is required."),
        Some([]) => return Err("The scopes field must contain at least one scope."),
        Some(list) => list,
    };
    let mut out = ScopeList {
        known: Vec::new(),
        unknown: Vec::new(),
    };
    for s in list {
        let bucket = if known.contains(s) {
            &mut out.known
        } else {
            &mut out.unknown
        };
        if !bucket.contains(s) {
            bucket.push(s.clone());
        }
    }
    Ok(out)
}

/// `Unknown scope: x.` for each unknown scope.
pub fn unknown_messages(unknown: &[String]) -> Vec<String> {
    unknown
        .iter()
        .map(|s| format!("Unknown scope: {s}."))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_duplicates_and_splits_unknown() {
        let known = vec!["a".to_owned(), "b".to_owned()];
        let list: Vec<String> = ["b", "x", "a", "b", "x"].map(String::from).into();
        let got = parse(Some(&list), &known).unwrap();
        assert_eq!(got.known, vec!["b".to_owned(), "a".to_owned()]);
        assert_eq!(got.unknown, vec!["x".to_owned()]);
        assert!(parse(None, &known).is_err());
        assert!(parse(Some(&[]), &known).is_err());
    }
}
