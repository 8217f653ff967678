//! Serving a JWK Set (RFC 7517 §5) the same way in every service.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use serde::Serialize;

/// `200 application/jwk-set+json` with `Cache-Control: public, max-age=<max_age_seconds>`, so
/// relying parties cache it (and refetch on an unknown `kid`).
pub fn jwks_response<T: Serialize>(set: &T, max_age_seconds: u64) -> HttpResponse {
    let cache = format!("public, max-age={max_age_seconds}");
    HttpResponse::Ok()
        .insert_header((
            CACHE_CONTROL,
            HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static("no-cache")),
        ))
        .content_type("application/jwk-set+json")
        .json(set)
}
