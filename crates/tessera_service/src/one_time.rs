//! The HTTP answer for a one-time token (`tessera_db::one_time`) that is not usable, the same
//! in every service that redeems one (users-registration's `POST /auth/password`, identity's
//! `POST /tenants/{slug}/password`).

use actix_web::http::StatusCode;
use tessera_db::one_time::Lookup;
use tessera_http::{ApiError, ErrorCode};

/// 400 `invalid_token` for a token never issued (for this purpose), 410 `gone` with `reason`
/// `token_used` or `token_expired`. None of them names the subject.
pub fn refused(lookup: Lookup) -> ApiError {
    match lookup {
        Lookup::Used => ApiError::new(
            StatusCode::GONE,
            ErrorCode::Gone,
            "This link was already used.",
        )
        .with_reason("token_used"),
        Lookup::Expired => ApiError::new(
            StatusCode::GONE,
            ErrorCode::Gone,
            "This link has expired; ask for a new one.",
        )
        .with_reason("token_expired"),
        Lookup::Unknown | Lookup::Usable(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidToken,
            "This link is not valid.",
        ),
    }
}
