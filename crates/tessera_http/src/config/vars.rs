//! Reading a settings struct from environment variables with errors that name the variable
//! (envy per field), whole or as a prefixed group.

use serde::de::DeserializeOwned;

/// Reads `T` from the process environment: each field is the upper-cased variable name.
///
/// # Errors
/// One line naming the missing variable (`missing environment variable DATABASE_URL`) or the
/// invalid one (`invalid environment variable APP_ENV: unknown variant ...`).
pub fn from_env<T: DeserializeOwned>() -> Result<T, String> {
    from_vars(std::env::vars(), "")
}

/// A group of variables a service's `Config` flattens and reads apart in its
/// [`ServiceConfig::finish`](super::ServiceConfig::finish) (`ARGON2_*`, the `AUTH_*` lockout, the `JWT_*` keys, `MAIL_*`): read
/// from the process environment with `prefix` (`ARGON2_` + `MEMORY_KIB` for a field
/// `memory_kib`; `""` when the fields are the variables' full names), then checked by `check`,
/// whose error names the variable.
///
/// ```text
/// self.argon2 = tessera_http::config::group("ARGON2_", HashSettings::check)?;
/// ```
///
/// # Errors
/// One line naming the missing or invalid variable, or `check`'s.
pub fn group<T: DeserializeOwned, E: std::fmt::Display>(
    prefix: &str,
    check: impl FnOnce(&T) -> Result<(), E>,
) -> Result<T, String> {
    let group: T = from_vars(std::env::vars(), prefix)?;
    check(&group).map_err(|e| e.to_string())?;
    Ok(group)
}

/// [`from_env`] / [`group`] over the given variables, read with `prefix`.
///
/// envy's own message for a value that does not parse names the problem but not the variable;
/// the variable is found by asking again without each candidate in turn: the one whose absence
/// changes the error is it (only on the error path, at start-up).
///
/// # Errors
/// As [`from_env`].
pub fn from_vars<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
    prefix: &str,
) -> Result<T, String> {
    let vars: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v)))
        .collect();
    let first = match envy::from_iter::<_, T>(vars.clone()) {
        Ok(t) => return Ok(t),
        Err(envy::Error::MissingValue(field)) => {
            return Err(format!(
                "missing environment variable {prefix}{}",
                field.to_uppercase()
            ));
        }
        Err(envy::Error::Custom(msg)) => msg,
    };
    let culprit = vars.iter().map(|(k, _)| k).find(|name| {
        let without = vars.iter().filter(|(k, _)| k != *name).cloned();
        match envy::from_iter::<_, T>(without) {
            Ok(_) => true,
            Err(envy::Error::MissingValue(field)) => field.eq_ignore_ascii_case(name),
            Err(envy::Error::Custom(msg)) => msg != first,
        }
    });
    Err(match culprit {
        Some(name) => format!("invalid environment variable {prefix}{name}: {first}"),
        None if prefix.is_empty() => format!("invalid environment variable: {first}"),
        None => format!("invalid environment variable {prefix}*: {first}"),
    })
}
