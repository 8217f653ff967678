//! What quotations' API operations fail with (STYLE.md §3), and the one `From` into the
//! envelope (seed 001 §4's codes). Handlers name the failure (`Error::QuotationNotFound`) and
//! `?` converts it; a provider chain's failure keeps its own type ([`crate::quote::QuoteError`],
//! with the providers' outcomes as details).

use tessera_http::{ApiError, ErrorCode, StatusCode};

tessera_http::service_error! {
    /// An API operation's failure.
    pub enum Error {
        /// No live quotation with this id (or a malformed id): 404.
        #[error("Quotation not found.")]
        QuotationNotFound,
        /// No soft-deleted quotation with this id: 404.
        #[error("Deleted quotation not found.")]
        DeletedQuotationNotFound,
        /// None of the caller's personal access tokens has this id: 404.
        #[error("Token not found.")]
        TokenNotFound,
        /// Restoring would duplicate a live equivalent (symbol, source, time, price): 409.
        #[error("An equivalent quotation is live; restoring this one would duplicate it.")]
        RestoreWouldDuplicate,
        /// The path's symbol is not one quotations knows: 422 `invalid_symbol`, with the reason.
        #[error("{0}")]
        InvalidSymbol(String),
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::QuotationNotFound | Error::DeletedQuotationNotFound | Error::TokenNotFound => {
                ApiError::not_found(e.to_string())
            }
            Error::RestoreWouldDuplicate => ApiError::conflict(e.to_string()),
            Error::InvalidSymbol(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidSymbol,
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
    fn each_error_has_the_seeds_status_and_code() {
        let cases = [
            (Error::QuotationNotFound, 404, ErrorCode::NotFound),
            (Error::DeletedQuotationNotFound, 404, ErrorCode::NotFound),
            (Error::TokenNotFound, 404, ErrorCode::NotFound),
            (Error::RestoreWouldDuplicate, 409, ErrorCode::Conflict),
            (
                Error::InvalidSymbol("Unknown symbol.".into()),
                422,
                ErrorCode::InvalidSymbol,
            ),
            (
                Error::from(diesel::result::Error::RollbackTransaction),
                500,
                ErrorCode::InternalError,
            ),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(e);
            assert_eq!((api.status().as_u16(), api.code()), (status, code));
        }
    }
}
