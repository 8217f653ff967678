//! Who may call: the auth proxy (service credential `BROKER_CALLER_TOKEN`) on `/api/token`,
//! operators (`BROKER_ADMIN_TOKEN`) on the operator API. Compared in constant time.

use actix_web::HttpRequest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tessera_http::bearer_token;

/// Name recorded in the audit log for the authenticated auth proxy.
pub const PROXY: &str = "auth-proxy";
/// Name recorded for a caller without a valid credential.
pub const ANONYMOUS: &str = "anonymous";

/// Whether the request's bearer credential equals `expected` (constant time over SHA-256
/// digests, so neither content nor length leaks through timing).
pub fn presents(req: &HttpRequest, expected: &SecretString) -> bool {
    let Some(given) = bearer_token(req) else {
        return false;
    };
    let digest = |s: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    let (a, b) = (digest(&given), digest(expected.expose_secret()));
    a.as_ref().ct_eq(b.as_ref()).into()
}
