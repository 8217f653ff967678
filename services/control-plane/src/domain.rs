//! The control plane's domain types: what a value must be before it reaches the database or a
//! token (STYLE.md §2, "parse, don't validate").
//!
//! - [`WlId`]: a white label's stable public id (seed 000 §"WLs"), the `sub`/`aud` of peer tokens.
//! - [`Status`]: a white label's or relationship's status, stored as `TEXT` with a `CHECK`.

use std::fmt;

/// A white label's id: 1–63 characters of `[a-z0-9._-]`, starting with a letter or digit
/// (it is a JWT `sub`/`aud` and a path segment, so nothing needs escaping).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WlId(String);

/// The error of [`WlId::parse`]; its `Display` is the field message the API returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "The id must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit."
)]
pub struct InvalidWlId;

impl WlId {
    /// Whether `s` is a valid id (see [`WlId`]).
    pub fn is_valid(s: &str) -> bool {
        let mut bytes = s.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.len() <= 63
            && bytes.all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    }

    /// Parses an id.
    ///
    /// # Errors
    /// [`InvalidWlId`] when `s` is not of the form above.
    pub fn parse(s: &str) -> Result<Self, InvalidWlId> {
        Self::is_valid(s)
            .then(|| Self(s.to_owned()))
            .ok_or(InvalidWlId)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for WlId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

tessera_db::wire_enum! {
    /// A white label's or relationship's status: only `active` ones take part in peer tokens.
    pub enum Status {
        /// In use.
        Active = "active",
        /// Switched off: its peer-token requests are refused (`reason` `wl_inactive` or
        /// `relationship_inactive`).
        Inactive = "inactive",
    }
}

/// The field message for a status that is neither `active` nor `inactive`.
pub const STATUS_MESSAGE: &str = "The status must be active or inactive.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wl_ids() {
        assert!(WlId::is_valid("wl-a"));
        assert!(WlId::is_valid("0x.b_c"));
        assert!(!WlId::is_valid(""));
        assert!(!WlId::is_valid("-a"));
        assert!(!WlId::is_valid("WL"));
        assert!(!WlId::is_valid("a b"));
        assert!(!WlId::is_valid(&"a".repeat(64)));
        assert_eq!(
            WlId::parse("wl-a").map(|id| id.to_string()),
            Ok("wl-a".to_owned())
        );
        assert_eq!(WlId::parse("WL"), Err(InvalidWlId));
    }

    #[test]
    fn statuses_round_trip_their_stored_strings() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        let err = "paused".parse::<Status>().unwrap_err();
        assert_eq!(err.expected, "active|inactive");
    }
}
