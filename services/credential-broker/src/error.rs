//! The one mapping from storage errors to the envelope (STYLE.md §3).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tessera_db::PoolError;
use tessera_http::ApiError;

/// Maps a diesel error: unique violation ⇒ 409, not found ⇒ 404 (`what` names the missing
/// thing), a lost connection ⇒ 503, anything else ⇒ 500.
pub fn db_error(e: DieselError, what: &str) -> ApiError {
    match e {
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
