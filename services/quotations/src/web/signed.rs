//! Signed, expiring links (the e-mail verification link of issue #7, as Laravel's
//! `URL::temporarySignedRoute`): `{path}?expires={unix seconds}&signature={s}` where `s` is the
//! base64url HMAC-SHA256, under a key derived from `APP_KEY` with HKDF, of `{path}?expires={unix seconds}`.
//! Verification is constant-time (`aws_lc_rs::hmac::verify`).

use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// No or a malformed `expires`/`signature`, or a signature that does not match.
    #[error("invalid signature")]
    Signature,
    /// Signed correctly, but `expires` has passed.
    #[error("link expired")]
    Expired,
}

/// The signing key: HMAC-SHA256 under a key derived from `app_key` with HKDF-SHA256 (RFC 5869;
/// salt `tessera-quotations`, info `signed-url`), so `APP_KEY` itself signs nothing.
///
/// # Errors
/// Only if HKDF refuses the output length (it cannot for 32 bytes).
pub fn key(app_key: &[u8]) -> Result<hmac::Key, aws_lc_rs::error::Unspecified> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tessera-quotations").extract(app_key);
    Ok(hmac::Key::from(
        prk.expand(&[b"signed-url"], hmac::HMAC_SHA256)?,
    ))
}

/// `path` with `expires` and its signature as query parameters.
pub fn sign(key: &hmac::Key, path: &str, expires: i64) -> String {
    let unsigned = format!("{path}?expires={expires}");
    let tag = hmac::sign(key, unsigned.as_bytes());
    format!(
        "{unsigned}&signature={}",
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// Checks a link's `expires` and `signature` against `path` at `now` (unix seconds).
///
/// # Errors
/// [`Invalid`].
pub fn verify(
    key: &hmac::Key,
    path: &str,
    expires: Option<&str>,
    signature: Option<&str>,
    now: i64,
) -> Result<(), Invalid> {
    let expires_at: i64 = expires
        .and_then(|e| e.parse().ok())
        .ok_or(Invalid::Signature)?;
    let tag = signature
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or(Invalid::Signature)?;
    let unsigned = format!("{path}?expires={expires_at}");
    hmac::verify(key, unsigned.as_bytes(), &tag).map_err(|_| Invalid::Signature)?;
    if now > expires_at {
        return Err(Invalid::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_verifies_until_it_expires_and_not_when_changed() {
        let Ok(k) = key(b"0123456789abcdef0123456789abcdef") else {
            unreachable!("HKDF expands 32 bytes")
        };
        let link = sign(&k, "/verify-email/7/abc", 1_000);
        let (path, query) = link.split_once('?').unwrap_or_default();
        let params: std::collections::HashMap<_, _> =
            url::form_urlencoded::parse(query.as_bytes()).collect();
        let (exp, sig) = (
            params.get("expires").map(|v| v.as_ref()),
            params.get("signature").map(|v| v.as_ref()),
        );
        assert_eq!(verify(&k, path, exp, sig, 999), Ok(()));
        assert_eq!(verify(&k, path, exp, sig, 1_001), Err(Invalid::Expired));
        assert_eq!(
            verify(&k, "/verify-email/8/abc", exp, sig, 999),
            Err(Invalid::Signature)
        );
        assert_eq!(
            verify(&k, path, Some("2000"), sig, 999),
            Err(Invalid::Signature)
        );
        assert_eq!(
            verify(
                &key(b"another key, another key, another").unwrap_or_else(|_| unreachable!()),
                path,
                exp,
                sig,
                999
            ),
            Err(Invalid::Signature)
        );
        assert_eq!(verify(&k, path, exp, None, 999), Err(Invalid::Signature));
    }
}
