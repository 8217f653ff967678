//! What the broker's operator actions fail with (STYLE.md §3), and the one `From` into the
//! envelope. Handlers say which failure happened (`Err(Error::BindingNotFound)?`) and `?` does
//! the rest; request validation (bad fields) stays [`ApiError::invalid_field`] at the edge.

use tessera_http::ApiError;

tessera_http::service_error! {
    /// An operator action's failure.
    pub enum Error {
        /// No binding for this sandbox id: 404.
        #[error("Binding not found.")]
        BindingNotFound,
        /// The binding was revoked for good: 409, `reason` = `binding_revoked`.
        #[error("The binding is revoked for good; create it again instead.")]
        BindingRevoked,
        /// A wallet action on the static backend: 409.
        #[error("The wallet backend is static: credentials come from WALLET_STATIC_TOKENS.")]
        StaticWallet,
        /// The operator credential is missing or wrong: 401.
        #[error("The operator credential is missing or invalid.")]
        NotOperator,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::BindingNotFound => ApiError::not_found(e.to_string()),
            Error::BindingRevoked => {
                ApiError::conflict(e.to_string()).with_reason("binding_revoked")
            }
            Error::StaticWallet => ApiError::conflict(e.to_string()),
            Error::NotOperator => ApiError::unauthenticated(e.to_string()),
            Error::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_http::{ErrorCode, StatusCode};

    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (
                Error::BindingNotFound,
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                Error::BindingRevoked,
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
            ),
            (
                Error::StaticWallet,
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
            ),
            (
                Error::NotOperator,
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
            ),
            (
                Error::from(diesel::result::Error::RollbackTransaction),
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
            ),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(e);
            assert_eq!((api.status(), api.code()), (status, code));
        }
    }
}
