//! Opaque bearer tokens (refresh tokens, set-password links): 256 random bits from the system
//! RNG, base64url without padding (43 characters). Only their SHA-256 is stored, so a copy of
//! the database does not hold a usable token.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh token and the hash to store: `(token, SHA-256(token))`.
///
/// # Errors
/// The system RNG failed.
pub fn new_token() -> Result<(String, Vec<u8>), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    Ok((token, hash))
}

/// The stored form of a presented token: SHA-256 of its text.
pub fn hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_distinct_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert_eq!(ha, hash(&a));
        assert_eq!(ha.len(), 32);
    }
}
