//! The control plane's errors (STYLE.md §3): what an operation can fail with, and the one
//! `From` that turns each into the envelope.
//!
//! Handlers and the CLI call the same operations (`crate::db`), so a missing white label reads
//! the same everywhere: 404 `not_found` on the API, one line on the terminal.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tessera_http::ApiError;

tessera_http::service_error! {
    /// An operation's failure.
    pub enum Error {
        /// The white label (or one of the two a relationship names) does not exist: 404.
        #[error("White label not found.")]
        WhiteLabelNotFound,
        /// `POST /wls` with an id already taken: 409.
        #[error("A white label with this id already exists.")]
        WhiteLabelExists,
        /// No such relationship: 404.
        #[error("Relationship not found.")]
        RelationshipNotFound,
        /// No such unrevoked API key of this white label: 404.
        #[error("API key not found.")]
        ApiKeyNotFound,
    } own_diesel_errors
}

impl From<DieselError> for Error {
    /// A foreign-key violation means a white label the row points to is not there: every
    /// foreign key of this schema points to `white_labels`.
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Self::WhiteLabelNotFound
            }
            other => Self::Store(other.into()),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::WhiteLabelNotFound | Error::RelationshipNotFound | Error::ApiKeyNotFound => {
                ApiError::not_found(e.to_string())
            }
            Error::WhiteLabelExists => ApiError::conflict(e.to_string()),
            Error::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_http::{ErrorCode, StatusCode};

    use super::*;

    #[test]
    fn each_error_has_its_status() {
        let cases = [
            (Error::WhiteLabelNotFound, StatusCode::NOT_FOUND),
            (Error::RelationshipNotFound, StatusCode::NOT_FOUND),
            (Error::ApiKeyNotFound, StatusCode::NOT_FOUND),
            (Error::WhiteLabelExists, StatusCode::CONFLICT),
            (
                Error::from(DieselError::RollbackTransaction),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(ApiError::from(e).status(), status);
        }
        assert_eq!(
            ApiError::from(Error::WhiteLabelExists).code(),
            ErrorCode::Conflict
        );
    }
}
