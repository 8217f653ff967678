//! The `Authorization: Bearer` credential (RFC 6750 §2.1) and comparing shared secrets.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use aws_lc_rs::digest::{SHA256, digest};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// 401 `unauthenticated` for a bearer access token that is missing, malformed, badly signed or
/// expired: one message for all of them (RFC 6750 §3.1 `invalid_token`), so a caller learns
/// nothing about which check failed.
pub fn invalid_token() -> ApiError {
    ApiError::unauthenticated("The access token is missing, invalid or expired.")
}

/// The subject and the session of a verified access token (its `sub` and `sid` claims) as the
/// service's id types (e.g. `AgentId`, `SessionId`). A claim that does not parse is
/// [`invalid_token`], like any other bad token: a signed token with a malformed subject is not
/// a credential.
///
/// # Errors
/// [`invalid_token`].
pub fn subject_and_session<U: std::str::FromStr, S: std::str::FromStr>(
    sub: &str,
    sid: &str,
) -> Result<(U, S), ApiError> {
    match (sub.parse(), sid.parse()) {
        (Ok(subject), Ok(session)) => Ok((subject, session)),
        _ => Err(invalid_token()),
    }
}

/// Whether two shared secrets are equal, in constant time: their SHA-256 digests are compared,
/// so neither the content nor the length of the expected secret leaks through timing.
pub fn secrets_equal(expected: &[u8], presented: &[u8]) -> bool {
    let (e, p) = (digest(&SHA256, expected), digest(&SHA256, presented));
    e.as_ref().ct_eq(p.as_ref()).into()
}

/// Whether the request's bearer credential equals `expected` ([`secrets_equal`]); false when
/// there is none, or when `expected` is empty (an unset secret never matches).
pub fn bearer_matches(req: &HttpRequest, expected: &str) -> bool {
    !expected.is_empty()
        && bearer_token(req)
            .is_some_and(|given| secrets_equal(expected.as_bytes(), given.as_bytes()))
}

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
    fn a_subject_or_session_that_does_not_parse_is_invalid_token() {
        let ok: (u64, u32) = subject_and_session("7", "9").unwrap();
        assert_eq!(ok, (7, 9));
        for (sub, sid) in [("x", "9"), ("7", "x"), ("", "")] {
            let e = subject_and_session::<u64, u32>(sub, sid).unwrap_err();
            assert_eq!(e.status(), actix_web::http::StatusCode::UNAUTHORIZED);
            assert_eq!(e.code(), invalid_token().code());
        }
    }

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
