//! What identity's operations fail with (STYLE.md §3), and the one `From` into the envelope.

use tessera_http::ApiError;

tessera_http::service_error! {
    /// An operation's failure.
    pub enum Error {
        /// No such agent in the tenant (also an agent of another tenant): 404.
        #[error("Agent not found.")]
        AgentNotFound,
        /// The tenant already has an agent with this e-mail: 409.
        #[error("An agent with this e-mail already exists in the tenant.")]
        EmailTaken,
        /// The agent already set its password: no enrollment link to issue (409).
        #[error("The agent has already enrolled: it has a password.")]
        AlreadyEnrolled,
        /// A one-time link (enrollment) that is not usable: 400 or 410
        /// ([`tessera_service::one_time::refused`]).
        #[error("unusable one-time token: {0:?}")]
        Token(tessera_db::one_time::Lookup),
        /// The system RNG failed: 500.
        #[error("the system RNG failed")]
        Rng,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::AgentNotFound => ApiError::not_found(e.to_string()),
            Error::EmailTaken | Error::AlreadyEnrolled => ApiError::conflict(e.to_string()),
            Error::Token(lookup) => tessera_service::one_time::refused(lookup),
            Error::Rng => ApiError::internal(e),
            Error::Store(e) => e.into(),
        }
    }
}

impl From<tessera_db::one_time::IssueError> for Error {
    fn from(e: tessera_db::one_time::IssueError) -> Self {
        match e {
            tessera_db::one_time::IssueError::Rng => Error::Rng,
            tessera_db::one_time::IssueError::Database(e) => e.into(),
        }
    }
}
