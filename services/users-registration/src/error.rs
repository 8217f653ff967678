//! What users-registration's operations fail with (STYLE.md §3), and the one `From` into the
//! envelope (seed 004's codes and reasons). Handlers name the failure (`Error::UserNotFound`)
//! and `?` converts it; request validation stays at the edge (`crate::validation`).

use tessera_http::{ApiError, ErrorCode, StatusCode};

use crate::db::users::Taken;
use crate::domain::UserStatus;

tessera_http::service_error! {
    /// An operation's failure.
    pub enum Error {
        /// No such user, or one the caller may not see: 404.
        #[error("User not found.")]
        UserNotFound,
        /// No such registration, or one the caller may not see: 404.
        #[error("Registration not found.")]
        RegistrationNotFound,
        /// A producer reaching for another user: 403, `reason` = `not_owner`.
        #[error("You may only access your own user.")]
        NotOwner,
        /// Sign-up with a registered e-mail: 409, `reason` = `email_already_registered`.
        #[error("This e-mail is already registered.")]
        EmailTaken,
        /// Sign-up with a registered document: 409, `reason` = `document_already_registered`.
        #[error("This document is already registered.")]
        DocumentTaken,
        /// Approval or rejection of a user that is not `PENDING`: 409, `reason` =
        /// `invalid_status_transition`.
        #[error("Only a PENDING user can be approved or rejected; this one is {0}.")]
        NotPending(UserStatus),
        /// The Idempotency-Key was used with another body: 422 `idempotency_key_reused`.
        #[error("This Idempotency-Key was already used with a different request body.")]
        IdempotencyKeyReused,
        /// The request holding this Idempotency-Key is still running: 409, `reason` =
        /// `idempotency_key_in_flight`.
        #[error("A request with this Idempotency-Key is still being processed; retry later.")]
        IdempotencyKeyInFlight,
        /// Wrong e-mail or password (or an account that cannot sign in yet): 401
        /// `invalid_credentials`.
        #[error("The e-mail or password is incorrect.")]
        InvalidCredentials,
    }
}

impl From<Taken> for Error {
    fn from(t: Taken) -> Self {
        match t {
            Taken::Email => Self::EmailTaken,
            Taken::Document => Self::DocumentTaken,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::UserNotFound | Error::RegistrationNotFound => ApiError::not_found(e.to_string()),
            Error::NotOwner => ApiError::forbidden("not_owner", e.to_string()),
            Error::EmailTaken => {
                ApiError::conflict(e.to_string()).with_reason("email_already_registered")
            }
            Error::DocumentTaken => {
                ApiError::conflict(e.to_string()).with_reason("document_already_registered")
            }
            Error::NotPending(_) => {
                ApiError::conflict(e.to_string()).with_reason("invalid_status_transition")
            }
            Error::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
                e.to_string(),
            ),
            Error::IdempotencyKeyInFlight => {
                ApiError::conflict(e.to_string()).with_reason("idempotency_key_in_flight")
            }
            Error::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                e.to_string(),
            ),
            Error::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_seeds_status_code_and_reason() {
        let cases = [
            (Error::UserNotFound, 404, ErrorCode::NotFound, None),
            (Error::RegistrationNotFound, 404, ErrorCode::NotFound, None),
            (
                Error::NotOwner,
                403,
                ErrorCode::Forbidden,
                Some("not_owner"),
            ),
            (
                Taken::Email.into(),
                409,
                ErrorCode::Conflict,
                Some("email_already_registered"),
            ),
            (
                Taken::Document.into(),
                409,
                ErrorCode::Conflict,
                Some("document_already_registered"),
            ),
            (
                Error::NotPending(UserStatus::Approved),
                409,
                ErrorCode::Conflict,
                Some("invalid_status_transition"),
            ),
            (
                Error::IdempotencyKeyReused,
                422,
                ErrorCode::IdempotencyKeyReused,
                None,
            ),
            (
                Error::IdempotencyKeyInFlight,
                409,
                ErrorCode::Conflict,
                Some("idempotency_key_in_flight"),
            ),
            (
                Error::InvalidCredentials,
                401,
                ErrorCode::InvalidCredentials,
                None,
            ),
        ];
        for (e, status, code, reason) in cases {
            let api = ApiError::from(e);
            assert_eq!(api.status().as_u16(), status);
            assert_eq!(api.code(), code);
            assert_eq!(api.reason(), reason);
        }
    }
}
