//! `<service> config show`: the effective configuration as JSON, variable name → value (the
//! default when the variable is unset), every secret as [`REDACTED`] and the password
//! of a URL too. Configuration structs derive `Serialize` with these helpers on their secret
//! fields; [`variables`] names the fields as their variables.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// What a secret is shown as.
pub const REDACTED: &str = "[redacted]";

/// `serialize_with` for a secret: [`REDACTED`], whatever its value.
///
/// # Errors
/// The serializer's.
pub fn secret<T, S: Serializer>(_value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

/// `serialize_with` for an optional secret: [`REDACTED`] when set, `null` when not (whether
/// it is set is worth knowing; its value is not).
///
/// # Errors
/// The serializer's.
pub fn secret_if_set<T, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

/// `serialize_with` for a URL that may carry a password (`DATABASE_URL`, `AMQP_URL`): the
/// URL with its password replaced by `redacted` (and any query string, which may carry one
/// too, by `redacted`); a value that is not a URL is [`REDACTED`] whole.
///
/// # Errors
/// The serializer's.
pub fn url<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    match url::Url::parse(value) {
        Ok(mut u) => {
            // Inside a URL the marker is spelled without brackets (they would be
            // percent-encoded).
            if u.password().is_some() && u.set_password(Some("redacted")).is_err() {
                return s.serialize_str(REDACTED);
            }
            if u.query().is_some() {
                u.set_query(Some("redacted"));
            }
            s.serialize_str(u.as_str())
        }
        Err(_) if value.is_empty() => s.serialize_str(""),
        Err(_) => s.serialize_str(REDACTED),
    }
}

/// `value`'s fields as variables: each field name upper-cased after `prefix` (`ARGON2_`
/// for the `ARGON2_*` group), in a JSON object. A value that is not a struct gives nothing.
pub fn variables<T: Serialize>(prefix: &str, value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => fields
            .into_iter()
            .map(|(k, v)| (format!("{prefix}{}", k.to_ascii_uppercase()), v))
            .collect(),
        _ => Map::new(),
    }
}
