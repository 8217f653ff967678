//! Signing keys, key sets, rotation and JWKS (RFC 7517, RFC 7518 §3, RFC 7638, RFC 8037).
//!
//! ## Rotation
//! A key's life: *published* from `activates_at - publish_lead` (relying parties cache the
//! JWKS, so they must see a key before any token carries its `kid`), *signing* from
//! `activates_at` until `retires_at`, still *published* until `retires_at + max_token_ttl`
//! (tokens it signed may still be in flight), then gone.
//!
//! ## Key directory
//! `KeySet::load_dir(dir)` reads `*.pem` (PKCS#8 "PRIVATE KEY"; EC P-256 ⇒ ES256, Ed25519 ⇒
//! EdDSA, RSA ⇒ RS256). An optional `keys.json` gives the schedule:
//! `{"keys":[{"file":"2026-11-21T00-00-00Z.pem","activates_at":"2026-11-21T00:00:00Z","retires_at":null}]}`.
//! Without it every key is active from the epoch and the last file in name order signs.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

mod key_dir;
pub use key_dir::*;

/// Errors loading, generating or using keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM is not a PKCS#8 key of a supported type.
    #[error("unsupported or malformed key in {0}")]
    Unsupported(String),
    /// Reading or writing the key directory failed.
    #[error("key directory: {0}")]
    Io(#[from] std::io::Error),
    /// `keys.json` is malformed.
    #[error("keys.json: {0}")]
    Manifest(#[from] serde_json::Error),
    /// No key is active at the requested time.
    #[error("no signing key is active")]
    NoActiveKey,
    /// No key directory was configured and an ephemeral key is not allowed (production).
    #[error("no key directory configured (JWT_SIGNING_KEYS_DIR is required in production)")]
    NoKey,
    /// The crypto library refused.
    #[error("crypto: {0}")]
    Crypto(String),
}

impl From<jsonwebtoken::errors::Error> for KeyError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Self::Crypto(e.to_string())
    }
}

/// One signing key with its schedule.
#[derive(Clone, derive_more::Debug)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    #[debug(skip)]
    encoding: EncodingKey,
    #[debug(skip)]
    decoding: DecodingKey,
    /// Public JWK with `kid`, `alg`, `use: sig`; `None` for HS256 (a secret is never published).
    #[debug(skip)]
    public_jwk: Option<Jwk>,
    activates_at: DateTime<Utc>,
    retires_at: Option<DateTime<Utc>>,
}

/// A freshly generated private key as PKCS#8 PEM (write it to a file or a Secret).
#[derive(derive_more::Debug)]
#[debug("GeneratedPem(<redacted>)")]
pub struct GeneratedPem(pub String);

fn pem_encode(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

/// RFC 7638 thumbprint (SHA-256, base64url) of a public JWK; RFC 8037 §2 for OKP keys.
///
/// # Errors
/// When the JWK type has no thumbprint definition here.
pub fn thumbprint(jwk: &Jwk) -> Result<String, KeyError> {
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) => {
            // RFC 8037 §2: required members crv, kty, x in lexicographic order.
            let canonical = serde_json::json!({ "crv": p.curve, "kty": "OKP", "x": p.x });
            let bytes = serde_json::to_vec(&canonical)?;
            Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &bytes)))
        }
        _ => Ok(jwk.thumbprint(ThumbprintHash::SHA256)?),
    }
}

impl SigningKey {
    fn from_encoding(
        encoding: EncodingKey,
        alg: Algorithm,
        decoding: DecodingKey,
    ) -> Result<Self, KeyError> {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg)?;
        let kid = thumbprint(&jwk)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match alg {
            Algorithm::ES256 => KeyAlgorithm::ES256,
            Algorithm::EdDSA => KeyAlgorithm::EdDSA,
            _ => KeyAlgorithm::RS256,
        });
        Ok(Self {
            kid,
            alg,
            encoding,
            decoding,
            public_jwk: Some(jwk),
            activates_at: DateTime::<Utc>::UNIX_EPOCH,
            retires_at: None,
        })
    }

    /// A key from a PKCS#8 PEM; the algorithm follows the key type (EC P-256 ⇒ ES256,
    /// Ed25519 ⇒ EdDSA, RSA ⇒ RS256). Active from the epoch, never retired, until scheduled.
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] for anything else (`source` names the file for the message).
    pub fn from_pem(pem: &[u8], source: &str) -> Result<Self, KeyError> {
        crate::provider::install();
        let unsupported = || KeyError::Unsupported(source.to_owned());
        if let Ok(enc) = EncodingKey::from_ec_pem(pem) {
            let jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).map_err(|_| unsupported())?;
            let dec = DecodingKey::from_jwk(&jwk).map_err(|_| unsupported())?;
            return Self::from_encoding(enc, Algorithm::ES256, dec);
        }
        if let Ok(enc) = EncodingKey::from_ed_pem(pem)
            && let Ok(jwk) = Jwk::from_encoding_key(&enc, Algorithm::EdDSA)
        {
            let dec = DecodingKey::from_jwk(&jwk).map_err(|_| unsupported())?;
            return Self::from_encoding(enc, Algorithm::EdDSA, dec);
        }
        if let Ok(enc) = EncodingKey::from_rsa_pem(pem) {
            let jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256).map_err(|_| unsupported())?;
            let dec = DecodingKey::from_jwk(&jwk).map_err(|_| unsupported())?;
            return Self::from_encoding(enc, Algorithm::RS256, dec);
        }
        Err(unsupported())
    }

    /// Generates a new key: ES256 (P-256), EdDSA (Ed25519) or RS256 (2048-bit).
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] for HS* (use [`SigningKey::hmac`]); crypto failures.
    pub fn generate(alg: Algorithm) -> Result<(Self, GeneratedPem), KeyError> {
        let rng = SystemRandom::new();
        let crypto = |e: aws_lc_rs::error::Unspecified| KeyError::Crypto(e.to_string());
        let der: Vec<u8> = match alg {
            Algorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(crypto)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
                .map_err(crypto)?
                .as_ref()
                .to_vec(),
            Algorithm::RS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(crypto)?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = kp.as_der().map_err(crypto)?;
                der.as_ref().to_vec()
            }
            other => return Err(KeyError::Unsupported(format!("generation of {other:?}"))),
        };
        let pem = pem_encode(&der);
        let key = Self::from_pem(pem.as_bytes(), "generated key")?;
        Ok((key, GeneratedPem(pem)))
    }

    /// An HS256 key from a shared secret (only where a contract demands one, e.g. seed 004's
    /// `JWT_SECRET`), named `kid` (RFC 7515 §4.1.4). The `kid` is configured or random, never
    /// derived from the secret: an unsalted hash of it, published in every token's header,
    /// would let anyone test guesses of the secret offline (issue #17).
    pub fn hmac(secret: &[u8], kid: &str) -> Self {
        crate::provider::install();
        Self {
            kid: kid.to_owned(),
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            public_jwk: None,
            activates_at: DateTime::<Utc>::UNIX_EPOCH,
            retires_at: None,
        }
    }

    /// Sets the schedule: signs from `activates_at`, stops signing at `retires_at`.
    pub fn with_schedule(
        mut self,
        activates_at: DateTime<Utc>,
        retires_at: Option<DateTime<Utc>>,
    ) -> Self {
        self.activates_at = activates_at;
        self.retires_at = retires_at;
        self
    }

    /// The RFC 7638 thumbprint used as `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (none for HS256).
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public_jwk.as_ref()
    }

    /// The key for verifying this key's signatures.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// When it starts signing.
    pub fn activates_at(&self) -> DateTime<Utc> {
        self.activates_at
    }

    /// When it stops signing, if scheduled.
    pub fn retires_at(&self) -> Option<DateTime<Utc>> {
        self.retires_at
    }

    fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.activates_at <= now && self.retires_at.is_none_or(|r| now < r)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    #[test]
    fn generated_keys_have_rfc7638_kids_and_public_jwks() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
            let (key, pem) = SigningKey::generate(alg).unwrap();
            assert!(pem.0.starts_with("-----BEGIN PRIVATE KEY-----"));
            let jwk = key.public_jwk().unwrap();
            assert_eq!(jwk.common.key_id.as_deref(), Some(key.kid()));
            assert_eq!(thumbprint(jwk).unwrap(), key.kid());
            assert_eq!(key.kid().len(), 43, "base64url of 32 bytes");
            let reloaded = SigningKey::from_pem(pem.0.as_bytes(), "x").unwrap();
            assert_eq!(reloaded.kid(), key.kid());
            assert_eq!(reloaded.algorithm(), alg);
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1 example key.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rotation_publishes_before_signing_and_keeps_retired_keys_until_tokens_expire() {
        let (old, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let (new, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let old = old.with_schedule(t(0), Some(t(100)));
        let new = new.with_schedule(t(100), None);
        let set = KeySet::new(
            vec![old.clone(), new.clone()],
            Duration::from_secs(60),
            Duration::from_secs(300),
        );
        let kids = |now| -> Vec<String> {
            set.jwks(now)
                .keys
                .into_iter()
                .filter_map(|k| k.common.key_id)
                .collect()
        };
        assert_eq!(set.signing_key(t(10)).unwrap().kid(), old.kid());
        assert_eq!(
            kids(t(10)),
            vec![old.kid().to_owned()],
            "new key not yet published"
        );
        assert_eq!(kids(t(50)).len(), 2, "published 60 s before activation");
        assert_eq!(
            set.signing_key(t(50)).unwrap().kid(),
            old.kid(),
            "but not signing yet"
        );
        assert_eq!(set.signing_key(t(100)).unwrap().kid(), new.kid());
        assert_eq!(kids(t(399)).len(), 2, "old key kept while its tokens live");
        assert_eq!(kids(t(400)), vec![new.kid().to_owned()]);
    }

    #[test]
    fn hmac_keys_are_never_published() {
        let set = KeySet::new(
            vec![SigningKey::hmac(
                b"0123456789abcdef0123456789abcdef",
                "hs-1",
            )],
            Duration::ZERO,
            Duration::ZERO,
        );
        assert!(set.jwks(t(0)).keys.is_empty());
        assert_eq!(
            set.keys()[0].kid(),
            "hs-1",
            "the configured id, not a hash of the secret"
        );
        assert!(
            set.sign("JWT", &serde_json::json!({"sub": "x"}), t(0))
                .is_ok()
        );
    }

    #[test]
    fn rotate_dir_schedules_and_load_dir_follows() {
        let dir = tempfile::tempdir().unwrap();
        let first = rotate_dir(dir.path(), Algorithm::ES256, t(-1000), Duration::ZERO).unwrap();
        let second =
            rotate_dir(dir.path(), Algorithm::ES256, t(0), Duration::from_secs(60)).unwrap();
        let set = KeySet::load_dir(
            dir.path(),
            Duration::from_secs(60),
            Duration::from_secs(300),
        )
        .unwrap();
        assert_eq!(set.keys().len(), 2);
        assert_eq!(set.signing_key(t(30)).unwrap().kid(), first);
        assert_eq!(set.signing_key(t(60)).unwrap().kid(), second);
        assert_eq!(set.jwks(t(30)).keys.len(), 2);
    }
}
