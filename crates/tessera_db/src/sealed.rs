//! Column values encrypted at rest: AES-256-GCM (NIST SP 800-38D) through aws-lc-rs.
//!
//! A sealed value is `version (1 byte, = 1) ‖ nonce (12 bytes, random) ‖ ciphertext ‖ tag (16 bytes)`.
//! The associated data binds a ciphertext to its row (for example the row's UUID), so a value
//! copied into another row does not decrypt. Random 96-bit nonces keep a key safe for well
//! over 2³² seals (SP 800-38D §8.3); rotate the key before that.
//!
//! Keys are 32 random bytes, configured base64-encoded (standard alphabet, padded).

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const VERSION: u8 = 1;

/// Errors sealing or opening a value.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key is not base64 of exactly 32 bytes.
    #[error("the encryption key must be 32 bytes, base64-encoded")]
    BadKey,
    /// The value was not sealed by this key with this associated data, or was altered.
    #[error("the sealed value does not open with this key")]
    Open,
    /// The crypto library refused (should not happen).
    #[error("encryption failed")]
    Seal,
}

/// An AES-256-GCM key for values at rest. `Debug` never shows the key.
#[derive(derive_more::Debug)]
#[debug("SealingKey(<redacted>)")]
pub struct SealingKey {
    key: RandomizedNonceKey,
}

impl SealingKey {
    /// A key from 32 raw bytes.
    ///
    /// # Errors
    /// [`SealError::BadKey`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self { key })
    }

    /// A key from its base64 form (as in `*_ENCRYPTION_KEY` variables).
    ///
    /// # Errors
    /// [`SealError::BadKey`] when it is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key and its base64 form (for `make up` and tests).
    ///
    /// # Errors
    /// [`SealError::Seal`] if the system RNG fails.
    pub fn generate() -> Result<(Self, String), SealError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Seal)?;
        Ok((Self::from_bytes(&bytes)?, STANDARD.encode(bytes)))
    }

    /// Encrypts `plaintext`, authenticating `aad` with it.
    ///
    /// # Errors
    /// [`SealError::Seal`] if the crypto library refuses.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Decrypts a value made by [`SealingKey::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`SealError::Open`] when the key, the associated data or the bytes do not match.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Open)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_rows_keys_and_tampering() {
        let (key, b64) = SealingKey::generate().unwrap();
        let sealed = key.seal(b"JBSWY3DPEHPK3PXP", b"row-1").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 16 + 16);
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open(&sealed, b"row-1").unwrap(), b"JBSWY3DPEHPK3PXP");
        // Same key, parsed back from its base64 form.
        let again = SealingKey::from_base64(&b64).unwrap();
        assert_eq!(again.open(&sealed, b"row-1").unwrap(), b"JBSWY3DPEHPK3PXP");
        // Another row's associated data, another key, a flipped bit: all refused.
        assert!(key.open(&sealed, b"row-2").is_err());
        let (other, _) = SealingKey::generate().unwrap();
        assert!(other.open(&sealed, b"row-1").is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(key.open(&tampered, b"row-1").is_err());
        // Two seals of one value differ (random nonces).
        assert_ne!(key.seal(b"x", b"r").unwrap(), key.seal(b"x", b"r").unwrap());
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert!(SealingKey::from_base64("not base64!").is_err());
        assert!(SealingKey::from_bytes(&[0u8; 16]).is_err());
    }
}
