//! The `Authorization: Bearer` credential (RFC 6750 §2.1).

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, token
/// trimmed); `None` when the header is absent, not UTF-8, another scheme, or empty.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn reads_only_non_empty_bearer_credentials() {
        let r = |v: &str| {
            TestRequest::default()
                .insert_header((AUTHORIZATION, v))
                .to_http_request()
        };
        assert_eq!(bearer_token(&r("Bearer abc")).as_deref(), Some("abc"));
        assert_eq!(bearer_token(&r("bearer  abc ")).as_deref(), Some("abc"));
        assert_eq!(bearer_token(&r("Basic abc")), None);
        assert_eq!(bearer_token(&r("Bearer ")), None);
        assert_eq!(
            bearer_token(&TestRequest::default().to_http_request()),
            None
        );
    }
}
