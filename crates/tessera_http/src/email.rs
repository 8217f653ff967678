//! The platform's one e-mail rule.
//!
//! An address is valid when the `email_address` crate parses it as an RFC 5322 `addr-spec` —
//! the same crate that checks `format: "email"` in users-registration's JSON Schemas
//! (jsonschema) and parses `lettre::Address` for quotations' mail — and it is at most 254
//! characters (RFC 5321 §4.5.3.1.3, the longest forward path). Addresses are compared and
//! stored trimmed and lower-cased: none of the services lets two accounts differ by case.

use std::fmt;

/// A valid e-mail address, trimmed and lower-cased (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The error of [`Email::parse`]; its `Display` is the field message services return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The email field must be a valid email address.")]
pub struct InvalidEmail;

/// The longest address accepted (RFC 5321 §4.5.3.1.3).
pub const MAX_LEN: usize = 254;

impl Email {
    /// Parses `raw` (surrounding white space ignored).
    ///
    /// # Errors
    /// [`InvalidEmail`] when it is empty, longer than [`MAX_LEN`] or not an `addr-spec`.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let trimmed = raw.trim();
        if trimmed.len() > MAX_LEN || !email_address::EmailAddress::is_valid(trimmed) {
            return Err(InvalidEmail);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_rule() {
        assert_eq!(
            Email::parse("  Ana.Produtora@Example.COM ").map(|e| e.to_string()),
            Ok("ana.produtora@example.com".to_owned())
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "a b@example.com",
            "ana@@x.org",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_LEN));
        assert_eq!(Email::parse(&long), Err(InvalidEmail));
    }
}
