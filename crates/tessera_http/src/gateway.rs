//! Trust in the gateway (ARCHITECTURE.md §3).
//!
//! The gateway adds `X-Gateway-Secret` to what it forwards. [`GatewayGuard`] compares it in
//! constant time and records the outcome as [`GatewayTrust`] in the request extensions;
//! gateway-supplied identity headers (`X-Auth-*`, forwarded client certificates) may be read
//! only when it is `trusted`. With `GATEWAY_ENFORCE_SOURCE=true` a request without a valid
//! secret is refused with 403, except `/healthz`, `/readyz` and `/metrics`.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError};

use crate::error::ApiError;

/// `X-Gateway-Secret`.
pub const GATEWAY_SECRET_HEADER: &str = "x-gateway-secret";

/// Paths never subject to source enforcement (probes and scrapers call pods directly).
pub const EXEMPT_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Whether this request came through the gateway (valid secret). Extractor; never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GatewayTrust {
    /// `true` when `X-Gateway-Secret` matched.
    pub trusted: bool,
}

impl FromRequest for GatewayTrust {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<GatewayTrust>()
            .copied()
            .unwrap_or_default()))
    }
}

/// Middleware checking `X-Gateway-Secret` (`GATEWAY_SECRET`, `GATEWAY_ENFORCE_SOURCE`).
#[derive(Clone, Default)]
pub struct GatewayGuard {
    secret: Option<Rc<[u8]>>,
    enforce: bool,
}

impl GatewayGuard {
    /// `secret`: the shared secret (none or empty ⇒ nothing is trusted); `enforce`: refuse untrusted requests.
    pub fn new(secret: Option<&str>, enforce: bool) -> Self {
        Self {
            secret: secret
                .filter(|s| !s.is_empty())
                .map(|s| Rc::from(s.as_bytes())),
            enforce,
        }
    }
}

fn secret_matches(expected: Option<&[u8]>, presented: Option<&[u8]>) -> bool {
    match (expected, presented) {
        (Some(e), Some(p)) => crate::bearer::secrets_equal(e, p),
        _ => false,
    }
}

impl GatewayGuard {
    /// The middleware itself, for [`actix_web::middleware::from_fn`]:
    /// `.wrap(from_fn(move |req, next| guard.clone().check(req, next)))`, as
    /// [`platform_app`](crate::platform_app) does (a clone is two words). It compares the request's `X-Gateway-Secret`,
    /// records [`GatewayTrust`] in its extensions, and answers 403 `gateway_source_required`
    /// itself when enforcing and the request is untrusted (outside [`EXEMPT_PATHS`]).
    ///
    /// # Errors
    /// What the inner service fails with.
    pub async fn check(
        self,
        req: ServiceRequest,
        next: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<BoxBody>, Error> {
        let presented = req
            .headers()
            .get(GATEWAY_SECRET_HEADER)
            .map(|v| v.as_bytes());
        let trusted = secret_matches(self.secret.as_deref(), presented);
        req.extensions_mut().insert(GatewayTrust { trusted });
        let exempt = EXEMPT_PATHS.contains(&req.path());
        if self.enforce && !trusted && !exempt {
            let response = ApiError::forbidden(
                "gateway_source_required",
                "Requests must come through the gateway.",
            )
            .error_response();
            let (http_req, _) = req.into_parts();
            return Ok(ServiceResponse::new(http_req, response));
        }
        Ok(next.call(req).await?.map_into_boxed_body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_secrets() {
        assert!(secret_matches(Some(b"s3cret"), Some(b"s3cret")));
        assert!(!secret_matches(Some(b"s3cret"), Some(b"s3cre")));
        assert!(!secret_matches(Some(b"s3cret"), None));
        assert!(!secret_matches(None, Some(b"anything")));
    }
}
