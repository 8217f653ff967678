//! The one mapping from storage errors to the envelope (STYLE.md §3): the shared mapping
//! ([`tessera_db::http`]) with the control plane's one special case.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
pub use tessera_db::http::pool_error;
use tessera_http::ApiError;

/// Maps a diesel error: a foreign-key violation or a missing row means the white label is not
/// there (404 "White label not found."); everything else as [`tessera_db::http::db_error`]
/// (unique violation ⇒ 409, lost connection ⇒ 503, else 500).
pub fn db_error(e: DieselError, what: &str) -> ApiError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
        | DieselError::NotFound => ApiError::not_found("White label not found."),
        other => tessera_db::http::db_error(other, what),
    }
}
