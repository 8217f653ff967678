//! Storage errors as the envelope (feature `db`): `From` conversions so that `?` works on
//! diesel and pool results in handlers, as crates.io's `src/util/errors.rs` does (STYLE.md §3).
//!
//! The mapping is generic on purpose: a message never names a table. A handler that can meet
//! a missing row says so itself (`.optional()?` then [`ApiError::not_found`] with the
//! resource's name), and so does one whose conflict is part of its contract.
//!
//! | storage error | status | `error_code` |
//! |---|---|---|
//! | pool timeout, database unreachable ([`PoolError`]) | 503 | `service_unavailable` |
//! | lost connection, broken transaction manager | 503 | `service_unavailable` |
//! | [`DieselError::NotFound`] | 404 | `not_found` |
//! | unique violation | 409 | `conflict` |
//! | text PostgreSQL cannot store (NUL, U+0000: valid JSON, not valid `text`) | 422 | `validation_error` |
//! | anything else | 500 | `internal_error` (cause logged once, never sent) |

use diesel::result::{DatabaseErrorKind, Error as DieselError};
pub use diesel_async::pooled_connection::deadpool::PoolError;

use crate::{ApiError, ErrorCode, StatusCode};

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("invalid byte sequence")
                    && info.message().contains("0x00") =>
            {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::ValidationError,
                    "Text must not contain the NUL character (U+0000).",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::conflict("The resource already exists.")
            }
            DieselError::NotFound => ApiError::not_found("Resource not found."),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | DieselError::BrokenTransactionManager => ApiError::unavailable(e),
            other => ApiError::internal(other),
        }
    }
}

/// Pool exhausted or database unreachable ⇒ 503.
impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        ApiError::unavailable(e)
    }
}

/// Whether `e` is a unique violation, for a handler whose contract names the conflict.
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_to_their_statuses() {
        let not_found = ApiError::from(DieselError::NotFound);
        assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
        assert_eq!(not_found.code(), ErrorCode::NotFound);
        let broken = ApiError::from(DieselError::BrokenTransactionManager);
        assert_eq!(broken.status(), StatusCode::SERVICE_UNAVAILABLE);
        let other = ApiError::from(DieselError::RollbackTransaction);
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.code(), ErrorCode::InternalError);
    }
}
