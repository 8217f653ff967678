//! `documentId` at rest (seed 004 "Políticas de segurança": sensitive data encrypted in the DB).
//!
//! A document number (CPF, CNPJ, …) is normalised (ASCII letters and digits only, upper-case:
//! `123.456.789-01` → `12345678901`), then stored twice:
//! - sealed with AES-256-GCM ([`tessera_db::sealed`]) under `DOCUMENT_ENCRYPTION_KEY`, the
//!   user's id as associated data, so the column never holds the plaintext;
//! - as a blind index, HMAC-SHA256 of the normalised value under a key derived from the same
//!   secret with HKDF-SHA256 (RFC 5869; a separate key per purpose). The unique index on it
//!   refuses a second registration of the same document without anyone reading plaintext.
//!
//! Responses show it masked (all but the last two characters replaced by `*`) except to
//! analysts.

use crate::domain::UserId;
use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_db::sealed::{SealError, SealingKey};

/// HKDF `info` of the blind-index key (RFC 5869 §3.2: binds the key to its purpose).
const INDEX_KEY_INFO: &[u8] = b"tessera users-registration documentId blind index v1";

/// Characters left visible at the end of a masked document.
const VISIBLE: usize = 2;

/// The sealing and blind-index keys derived from `DOCUMENT_ENCRYPTION_KEY`.
#[derive(derive_more::Debug)]
#[debug("DocumentKeys(<redacted>)")]
pub struct DocumentKeys {
    seal: SealingKey,
    index: hmac::Key,
}

/// A document ready to store: sealed value and blind index.
#[derive(Debug, Clone)]
pub struct StoredDocument {
    /// `version ‖ nonce ‖ ciphertext ‖ tag` (see [`tessera_db::sealed`]).
    pub sealed: Vec<u8>,
    /// HMAC-SHA256 of the normalised value (32 bytes).
    pub index: Vec<u8>,
}

impl DocumentKeys {
    /// Both keys from the base64 of 32 random bytes.
    ///
    /// # Errors
    /// [`SealError::BadKey`] when it is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let raw = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        let seal = SealingKey::from_bytes(&raw)?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&raw);
        let okm = prk
            .expand(&[INDEX_KEY_INFO], hmac::HMAC_SHA256)
            .map_err(|_| SealError::BadKey)?;
        Ok(Self {
            seal,
            index: hmac::Key::from(okm),
        })
    }

    /// The blind index of an already normalised document.
    pub fn blind_index(&self, normalised: &str) -> Vec<u8> {
        hmac::sign(&self.index, normalised.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// Seals and indexes a normalised document for the row of `user_id` (its associated data:
    /// the sealed value opens only for that user).
    ///
    /// # Errors
    /// [`SealError::Seal`] if the crypto library refuses.
    pub fn protect(&self, user_id: UserId, normalised: &str) -> Result<StoredDocument, SealError> {
        Ok(StoredDocument {
            sealed: self.seal.seal(normalised.as_bytes(), user_id.as_bytes())?,
            index: self.blind_index(normalised),
        })
    }

    /// Opens the sealed document of the row of `user_id`.
    ///
    /// # Errors
    /// [`SealError::Open`] when it was sealed by another key, for another row, or altered.
    pub fn reveal(&self, user_id: UserId, sealed: &[u8]) -> Result<String, SealError> {
        let plain = self.seal.open(sealed, user_id.as_bytes())?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }
}

/// The normalised form: ASCII letters and digits only, upper-case.
pub fn normalise(document: &str) -> String {
    document
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `*********01`: every character but the last two replaced by `*`.
pub fn mask(normalised: &str) -> String {
    let n = normalised.chars().count();
    normalised
        .chars()
        .enumerate()
        .map(|(i, c)| if i + VISIBLE >= n { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> DocumentKeys {
        let (_, b64) = SealingKey::generate().unwrap();
        DocumentKeys::from_base64(&b64).unwrap()
    }

    #[test]
    fn normalises_and_masks() {
        assert_eq!(normalise(" 123.456.789-01 "), "12345678901");
        assert_eq!(normalise("12.345.678/0001-9x"), "1234567800019X");
        assert_eq!(mask("12345678901"), "*********01");
        assert_eq!(mask("7"), "7");
    }

    #[test]
    fn seals_per_row_and_indexes_deterministically() {
        let k = keys();
        let (a, b) = (UserId::now_v7(), UserId::now_v7());
        let s = k.protect(a, "12345678901").unwrap();
        assert!(!s.sealed.windows(11).any(|w| w == b"12345678901"));
        assert_eq!(k.reveal(a, &s.sealed).unwrap(), "12345678901");
        assert!(k.reveal(b, &s.sealed).is_err(), "bound to its row");
        assert_eq!(s.index, k.blind_index("12345678901"));
        assert_eq!(s.index.len(), 32);
        assert_ne!(s.index, k.blind_index("12345678902"));
        assert_ne!(s.index, keys().blind_index("12345678901"), "keyed");
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(DocumentKeys::from_base64("c2hvcnQ=").is_err());
    }
}
