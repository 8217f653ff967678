//! Verifying JWTs (RFC 7519 §7.2, RFC 8725 best practices).
//!
//! Order of checks: header parses → `alg` on the allow-list (RFC 8725 §3.1; `none` never
//! parses, HS* is refused unless the key source is a shared secret) → `kid` resolves (remote
//! JWKS refetched on an unknown `kid`, rate-limited) → key type matches `alg` → signature →
//! `iss` → `aud` (string or array) → `exp` (required) and `nbf` with `leeway`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, RwLock};

/// Why a token was refused. The `Display` text is safe to log (never the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWS compact serialisation, or claims that are not JSON.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is not allowed here.
    #[error("algorithm {0} not allowed")]
    AlgorithmNotAllowed(String),
    /// No `kid`, or a `kid` not in the key set even after a refetch.
    #[error("unknown key id")]
    UnknownKey,
    /// Signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the expected audience.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` missing or in the past (beyond leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` in the future (beyond leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// The JWKS could not be fetched.
    #[error("key set unavailable: {0}")]
    KeySetUnavailable(String),
    /// The issuer has no key set: its JWKS URL answered 404 or 410 (an unknown tenant).
    #[error("unknown issuer")]
    UnknownIssuer,
    /// The token is bound to a certificate (`cnf.x5t#S256`, RFC 8705 §3) and the caller did
    /// not present that certificate.
    #[error("certificate-bound token presented without its certificate")]
    CertificateMismatch,
}

/// What a relying party expects of a token.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required member of `aud`, if any (a target WL's own id, for peer tokens).
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`.
    pub leeway: Duration,
    /// Accepted `alg`s. Default: ES256, EdDSA, RS256.
    pub algorithms: Vec<Algorithm>,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway: Duration::from_secs(30),
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256],
        }
    }
}

#[derive(Debug)]
struct Cached {
    set: JwkSet,
    expires: Instant,
    fetched: Option<Instant>,
}

/// A remote JWKS (`https://…/.well-known/jwks.json`) with caching.
///
/// Cached for the response's `Cache-Control: max-age` (else `default_max_age`); an unknown
/// `kid` triggers a refetch at most once per `min_refetch_interval`, so a flood of forged
/// `kid`s cannot turn into a flood of requests to the issuer.
#[derive(Debug)]
pub struct RemoteJwks {
    url: String,
    client: tessera_telemetry::http::HttpClient,
    cache: RwLock<Cached>,
    refetch: Mutex<()>,
    default_max_age: Duration,
    min_refetch_interval: Duration,
}

impl RemoteJwks {
    /// A cache for `url` (10 s fetch timeout, 5 min default max-age, 10 s between refetches).
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_settings(url, Duration::from_secs(300), Duration::from_secs(10))
    }

    /// A cache with explicit `default_max_age` and `min_refetch_interval`.
    pub fn with_settings(
        url: impl Into<String>,
        default_max_age: Duration,
        min_refetch_interval: Duration,
    ) -> Self {
        Self {
            url: url.into(),
            client: tessera_telemetry::http::traced(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
            ),
            cache: RwLock::new(Cached {
                set: JwkSet { keys: Vec::new() },
                expires: Instant::now(),
                fetched: None,
            }),
            refetch: Mutex::new(()),
            default_max_age,
            min_refetch_interval,
        }
    }

    async fn fetch(&self) -> Result<(), VerifyError> {
        let unavailable =
            |e: reqwest::Error| VerifyError::KeySetUnavailable(e.without_url().to_string());
        let resp =
            self.client.get(&self.url).send().await.map_err(|e| {
                VerifyError::KeySetUnavailable(tessera_telemetry::http::error_text(e))
            })?;
        if matches!(
            resp.status(),
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE
        ) {
            return Err(VerifyError::UnknownIssuer);
        }
        let resp = resp.error_for_status().map_err(unavailable)?;
        let max_age = resp
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age)
            .unwrap_or(self.default_max_age);
        let set: JwkSet = resp.json().await.map_err(unavailable)?;
        let now = Instant::now();
        *self.cache.write().await = Cached {
            set,
            expires: now + max_age,
            fetched: Some(now),
        };
        Ok(())
    }

    /// Fetches the key set now (whatever the cache holds), so a caller can tell a usable issuer
    /// from an unknown or unreachable one before trusting it.
    ///
    /// # Errors
    /// [`VerifyError::UnknownIssuer`] on 404/410; [`VerifyError::KeySetUnavailable`] when the
    /// request fails, another status comes back, or the body is not a JWK Set.
    pub async fn load(&self) -> Result<(), VerifyError> {
        let _one_at_a_time = self.refetch.lock().await;
        self.fetch().await
    }

    /// The key for `kid`: from cache when fresh; fetched when stale or unknown (rate-limited).
    async fn key(&self, kid: &str) -> Result<Option<jsonwebtoken::jwk::Jwk>, VerifyError> {
        {
            let c = self.cache.read().await;
            if c.expires > Instant::now()
                && let Some(k) = c.set.find(kid)
            {
                return Ok(Some(k.clone()));
            }
        }
        let _one_at_a_time = self.refetch.lock().await;
        let (stale, recently) = {
            let c = self.cache.read().await;
            if let Some(k) = c.set.find(kid)
                && c.expires > Instant::now()
            {
                return Ok(Some(k.clone()));
            }
            let recently = c
                .fetched
                .is_some_and(|f| f.elapsed() < self.min_refetch_interval);
            (c.expires <= Instant::now(), recently)
        };
        if stale || !recently {
            self.fetch().await?;
        }
        Ok(self.cache.read().await.set.find(kid).cloned())
    }
}

/// `x5t#S256` (base64url SHA-256 of the DER, RFC 8705 §3.1) of `der`.
pub fn certificate_thumbprint(der: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der))
}

/// Whether `expected` is the thumbprint of `der`, compared in constant time.
fn thumbprint_matches(expected: &str, der: &[u8]) -> bool {
    let actual = certificate_thumbprint(der);
    aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), actual.as_bytes())
        .is_ok()
}

/// `max-age=N` from a `Cache-Control` value.
fn parse_max_age(value: &str) -> Option<Duration> {
    value
        .split(',')
        .find_map(|d| {
            d.trim()
                .strip_prefix("max-age=")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(Duration::from_secs)
}

enum Source {
    Static(JwkSet),
    Remote(RemoteJwks),
    Secret(DecodingKey),
}

/// A verifier over a static JWKS, a [`RemoteJwks`], or an HS256 shared secret.
#[derive(derive_more::Debug)]
pub struct Verifier {
    config: VerifierConfig,
    #[debug(skip)]
    source: Source,
}

impl Verifier {
    /// Verifies against a fixed JWKS.
    pub fn with_jwks(config: VerifierConfig, jwks: JwkSet) -> Self {
        crate::provider::install();
        Self {
            config,
            source: Source::Static(jwks),
        }
    }

    /// Verifies against a remote JWKS.
    pub fn with_remote(config: VerifierConfig, remote: RemoteJwks) -> Self {
        crate::provider::install();
        Self {
            config,
            source: Source::Remote(remote),
        }
    }

    /// Verifies HS256 tokens with a shared secret; the allow-list becomes exactly `[HS256]`.
    pub fn with_secret(mut config: VerifierConfig, secret: &[u8]) -> Self {
        crate::provider::install();
        config.algorithms = vec![Algorithm::HS256];
        Self {
            config,
            source: Source::Secret(DecodingKey::from_secret(secret)),
        }
    }

    /// Verifies `token` at `now` and returns its claims.
    ///
    /// # Errors
    /// The first failed check, per the module docs.
    pub async fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<C, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let alg = header.alg;
        let is_hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
        let secret_source = matches!(self.source, Source::Secret(_));
        if !self.config.algorithms.contains(&alg) || is_hmac != secret_source {
            return Err(VerifyError::AlgorithmNotAllowed(format!("{alg:?}")));
        }
        let key = match &self.source {
            Source::Secret(k) => k.clone(),
            Source::Static(set) => {
                let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
                let jwk = set.find(kid).ok_or(VerifyError::UnknownKey)?;
                DecodingKey::from_jwk(jwk).map_err(|_| VerifyError::UnknownKey)?
            }
            Source::Remote(remote) => {
                let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
                let jwk = remote.key(kid).await?.ok_or(VerifyError::UnknownKey)?;
                DecodingKey::from_jwk(&jwk).map_err(|_| VerifyError::UnknownKey)?
            }
        };
        // jsonwebtoken checks the signature and that the key family matches `alg`;
        // time, issuer and audience are checked below against `now`.
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => VerifyError::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    VerifyError::AlgorithmNotAllowed(format!("{alg:?}"))
                }
                _ => VerifyError::Malformed,
            },
        )?;
        let claims = data.claims;
        self.check_registered(&claims, now)?;
        serde_json::from_value(claims).map_err(|_| VerifyError::Malformed)
    }

    /// [`verify`](Self::verify), then the certificate binding of RFC 8705 §3: a token whose
    /// claims carry `cnf.x5t#S256` is accepted only when `presented_certificate` (the DER of the
    /// client certificate the caller presented on this connection) hashes to it (base64url
    /// SHA-256, §3.1). A token without `cnf` is accepted as a plain bearer token; a receiving
    /// WL that wants only bound tokens checks that `cnf` is present itself.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and [`VerifyError::CertificateMismatch`] when the token is
    /// bound and no certificate, or another one, was presented.
    pub async fn verify_bound<C: DeserializeOwned>(
        &self,
        token: &str,
        now: DateTime<Utc>,
        presented_certificate: Option<&[u8]>,
    ) -> Result<C, VerifyError> {
        let claims: serde_json::Value = self.verify(token, now).await?;
        if let Some(cnf) = claims.get("cnf") {
            let expected = cnf
                .get("x5t#S256")
                .and_then(serde_json::Value::as_str)
                .ok_or(VerifyError::CertificateMismatch)?;
            let presented = presented_certificate.ok_or(VerifyError::CertificateMismatch)?;
            if !thumbprint_matches(expected, presented) {
                return Err(VerifyError::CertificateMismatch);
            }
        }
        serde_json::from_value(claims).map_err(|_| VerifyError::Malformed)
    }

    fn check_registered(
        &self,
        claims: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        if let Some(iss) = &self.config.issuer
            && claims.get("iss").and_then(|v| v.as_str()) != Some(iss.as_str())
        {
            return Err(VerifyError::WrongIssuer);
        }
        if let Some(aud) = &self.config.audience {
            let ok = match claims.get("aud") {
                Some(serde_json::Value::String(s)) => s == aud,
                Some(serde_json::Value::Array(a)) => {
                    a.iter().any(|v| v.as_str() == Some(aud.as_str()))
                }
                _ => false,
            };
            if !ok {
                return Err(VerifyError::WrongAudience);
            }
        }
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        let now = now.timestamp();
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(VerifyError::Expired)?;
        if now > exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        if let Some(nbf) = claims.get("nbf").and_then(serde_json::Value::as_i64)
            && now < nbf.saturating_sub(leeway)
        {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeySet, SigningKey};
    use chrono::TimeZone;
    use serde_json::json;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn claims(exp: i64, nbf: i64) -> serde_json::Value {
        json!({"iss": "https://cp", "aud": "wl-b", "sub": "wl-b", "exp": t(exp).timestamp(), "nbf": t(nbf).timestamp()})
    }

    fn setup() -> (KeySet, Verifier) {
        let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let set = KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(300));
        let cfg = VerifierConfig {
            issuer: Some("https://cp".into()),
            audience: Some("wl-b".into()),
            leeway: Duration::from_secs(5),
            ..Default::default()
        };
        let v = Verifier::with_jwks(cfg, set.jwks(t(0)));
        (set, v)
    }

    #[tokio::test]
    async fn accepts_a_good_token_and_checks_time_with_leeway() {
        let (set, v) = setup();
        let tok = set.sign("at+jwt", &claims(100, 0), t(0)).unwrap();
        let c: serde_json::Value = v.verify(&tok, t(1)).await.unwrap();
        assert_eq!(c["sub"], "wl-b");
        assert!(
            v.verify::<serde_json::Value>(&tok, t(104)).await.is_ok(),
            "within leeway"
        );
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(106)).await,
            Err(VerifyError::Expired)
        );
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(-6)).await,
            Err(VerifyError::NotYetValid)
        );
    }

    #[tokio::test]
    async fn refuses_wrong_issuer_audience_and_missing_exp() {
        let (set, v) = setup();
        let mut c = claims(100, 0);
        c["aud"] = json!(["wl-c"]);
        let tok = set.sign("at+jwt", &c, t(0)).unwrap();
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(1)).await,
            Err(VerifyError::WrongAudience)
        );
        let mut c = claims(100, 0);
        c["iss"] = json!("https://evil");
        let tok = set.sign("at+jwt", &c, t(0)).unwrap();
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(1)).await,
            Err(VerifyError::WrongIssuer)
        );
        let mut c = claims(100, 0);
        c.as_object_mut().unwrap().remove("exp");
        let tok = set.sign("at+jwt", &c, t(0)).unwrap();
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(1)).await,
            Err(VerifyError::Expired)
        );
    }

    #[tokio::test]
    async fn refuses_none_hs256_confusion_foreign_keys_and_tampering() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let (set, v) = setup();
        let body = B64.encode(serde_json::to_vec(&claims(100, 0)).unwrap());
        // alg=none
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none","typ":"JWT"}"#), body);
        assert_eq!(
            v.verify::<serde_json::Value>(&none, t(1)).await,
            Err(VerifyError::Malformed)
        );
        // HS256 signed with the public key's JSON as the secret (the classic confusion attack).
        let kid = set.keys()[0].kid().to_owned();
        let public = serde_json::to_vec(set.keys()[0].public_jwk().unwrap()).unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(kid);
        let forged = jsonwebtoken::encode(
            &header,
            &claims(100, 0),
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert!(matches!(
            v.verify::<serde_json::Value>(&forged, t(1)).await,
            Err(VerifyError::AlgorithmNotAllowed(_))
        ));
        // A token from another key with no matching kid.
        let (other, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let other_set = KeySet::new(vec![other], Duration::ZERO, Duration::ZERO);
        let tok = other_set.sign("at+jwt", &claims(100, 0), t(0)).unwrap();
        assert_eq!(
            v.verify::<serde_json::Value>(&tok, t(1)).await,
            Err(VerifyError::UnknownKey)
        );
        // Tampered payload.
        let tok = set.sign("at+jwt", &claims(100, 0), t(0)).unwrap();
        let parts: Vec<&str> = tok.split('.').collect();
        let mut evil = claims(100, 0);
        evil["sub"] = json!("wl-evil");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&evil).unwrap()),
            parts[2]
        );
        assert_eq!(
            v.verify::<serde_json::Value>(&tampered, t(1)).await,
            Err(VerifyError::BadSignature)
        );
    }

    #[tokio::test]
    async fn a_certificate_bound_token_needs_its_certificate() {
        let (set, v) = setup();
        let cert = b"the DER of the WL's client certificate";
        let mut c = claims(100, 0);
        c["cnf"] = json!({"x5t#S256": certificate_thumbprint(cert)});
        let bound = set.sign("at+jwt", &c, t(0)).unwrap();
        let ok: serde_json::Value = v.verify_bound(&bound, t(1), Some(cert)).await.unwrap();
        assert_eq!(ok["sub"], "wl-b");
        // Stolen and replayed without the certificate, or with another one.
        assert_eq!(
            v.verify_bound::<serde_json::Value>(&bound, t(1), None)
                .await,
            Err(VerifyError::CertificateMismatch)
        );
        assert_eq!(
            v.verify_bound::<serde_json::Value>(&bound, t(1), Some(b"another certificate"))
                .await,
            Err(VerifyError::CertificateMismatch)
        );
        // A `cnf` without x5t#S256 is not a binding this verifier can check: refused.
        let mut c = claims(100, 0);
        c["cnf"] = json!({"jkt": "abc"});
        let other = set.sign("at+jwt", &c, t(0)).unwrap();
        assert_eq!(
            v.verify_bound::<serde_json::Value>(&other, t(1), Some(cert))
                .await,
            Err(VerifyError::CertificateMismatch)
        );
        // An unbound token stays a bearer token; the usual checks still run first.
        let plain = set.sign("at+jwt", &claims(100, 0), t(0)).unwrap();
        assert!(
            v.verify_bound::<serde_json::Value>(&plain, t(1), None)
                .await
                .is_ok()
        );
        assert_eq!(
            v.verify_bound::<serde_json::Value>(&bound, t(200), Some(cert))
                .await,
            Err(VerifyError::Expired)
        );
    }

    #[test]
    fn parses_max_age() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_max_age("no-cache"), None);
    }
}
