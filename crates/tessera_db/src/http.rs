//! The one mapping from storage errors to the platform envelope (STYLE.md §3), for services
//! (feature `http`).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tessera_http::ApiError;

use crate::PoolError;

/// Maps a diesel error: unique violation ⇒ 409 (`<what> already exists.`), not found ⇒ 404
/// (`<what> not found.`), a lost connection ⇒ 503, text PostgreSQL cannot store (a NUL
/// character, U+0000: valid JSON, not valid `text`) ⇒ 422 `validation_error`, anything else ⇒
/// 500 (cause logged, never sent).
pub fn db_error(e: DieselError, what: &str) -> ApiError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
            if info.message().contains("invalid byte sequence")
                && info.message().contains("0x00") =>
        {
            ApiError::new(
                tessera_http::StatusCode::UNPROCESSABLE_ENTITY,
                tessera_http::ErrorCode::ValidationError,
                "Text must not contain the NUL character (U+0000).",
            )
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            ApiError::conflict(format!("{what} already exists."))
        }
        DieselError::NotFound => ApiError::not_found(format!("{what} not found.")),
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::BrokenTransactionManager => ApiError::unavailable(e),
        other => ApiError::internal(other),
    }
}

/// Pool exhausted or database unreachable ⇒ 503.
pub fn pool_error(e: PoolError) -> ApiError {
    ApiError::unavailable(e)
}
