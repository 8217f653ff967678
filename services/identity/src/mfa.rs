//! Second factors: TOTP (RFC 6238 through `totp-rs`: SHA-1, 6 digits, 30 s steps, ±1 step)
//! and single-use recovery codes.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use totp_rs::{Builder, Secret, Totp};

/// TOTP time step, seconds (RFC 6238 §4.1 default).
pub const STEP_SECONDS: u64 = 30;
/// Steps either side of now a code may come from (clock drift, RFC 6238 §5.2).
pub const SKEW_STEPS: u16 = 1;
/// Recovery codes issued at enrollment.
pub const RECOVERY_CODES: usize = 10;

/// Errors building a TOTP.
#[derive(Debug, thiserror::Error)]
#[error("totp: {0}")]
pub struct MfaError(String);

/// A fresh 160-bit TOTP secret (RFC 4226 §4 recommends 160 bits).
pub fn new_secret() -> Vec<u8> {
    Secret::generate().as_bytes().to_vec()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, MfaError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_digits(6)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| MfaError(e.to_string()))
}

/// The `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` provisioning URI (Key Uri Format).
///
/// # Errors
/// A secret shorter than 128 bits.
pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, MfaError> {
    totp(secret, issuer, account)?
        .to_url()
        .map_err(|e| MfaError(e.to_string()))
}

/// The secret in base32 (RFC 4648), for manual entry into an authenticator.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The RFC 6238 time step a valid `code` belongs to at `unix_seconds` (within ±1 step), or
/// `None`. The caller must still refuse a step at or before the last accepted one (replay).
pub fn verify_totp(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "x", "x").ok()?.check(code, unix_seconds)
}

/// `count` recovery codes of 80 random bits, shown as `xxxx-xxxx-xxxx-xxxx` (base32, lower case).
///
/// # Errors
/// The system RNG failed.
pub fn recovery_codes(count: usize) -> Result<Vec<String>, MfaError> {
    let rng = SystemRandom::new();
    (0..count)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rng.fill(&mut bytes)
                .map_err(|_| MfaError("rng failure".into()))?;
            let text = Secret::from(bytes.to_vec()).to_base32().to_lowercase();
            let groups: Vec<&str> = text
                .as_bytes()
                .chunks(4)
                .filter_map(|c| std::str::from_utf8(c).ok())
                .collect();
            Ok(groups.join("-"))
        })
        .collect()
}

/// SHA-256 of a recovery code after normalising it (case, dashes and spaces ignored): the
/// stored form. A fast hash is enough for 80-bit random codes behind a lockout.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    digest::digest(&digest::SHA256, normal.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 seed "12345678901234567890", truncated to 6 digits.
    #[test]
    fn matches_rfc6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(verify_totp(seed, code, time), Some(time / 30), "t={time}");
        }
        // One step of drift either way is accepted, two are not.
        assert_eq!(
            verify_totp(seed, "081804", 1_111_111_109 + 30),
            Some(1_111_111_109 / 30)
        );
        assert_eq!(verify_totp(seed, "081804", 1_111_111_109 + 61), None);
        assert_eq!(verify_totp(seed, "08180", 1_111_111_109), None);
        assert_eq!(verify_totp(seed, "abcdef", 1_111_111_109), None);
    }

    #[test]
    fn provisioning_uri_names_issuer_account_and_secret() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let uri = provisioning_uri(&secret, "Tessera acme", "ana@acme.test").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Tessera%20acme:ana%40acme.test?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", secret_base32(&secret))),
            "{uri}"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised_for_hashing() {
        let codes = recovery_codes(RECOVERY_CODES).unwrap();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        let c = &codes[0];
        assert_eq!(c.len(), 19, "{c}");
        assert_eq!(
            recovery_code_hash(c),
            recovery_code_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_code_hash(c), recovery_code_hash(&codes[1]));
    }
}
