//! What identity's operations fail with (STYLE.md §3), and the one `From` into the envelope.

use tessera_http::ApiError;

/// An operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such agent in the tenant (also an agent of another tenant): 404.
    #[error("Agent not found.")]
    AgentNotFound,
    /// The database failed (mapped by [`tessera_http::db`]).
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::AgentNotFound => ApiError::not_found(e.to_string()),
            Error::Database(e) => e.into(),
        }
    }
}
