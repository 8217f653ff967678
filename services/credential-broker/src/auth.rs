//! Who may call: the auth proxy (service credential `BROKER_CALLER_TOKEN`) on `/api/token`,
//! operators (`BROKER_ADMIN_TOKEN`) on the operator API. Compared in constant time.

use actix_web::HttpRequest;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::state::AppState;

/// Name recorded in the audit log for the authenticated auth proxy.
pub const PROXY: &str = "auth-proxy";
/// Name recorded for a caller without a valid credential.
pub const ANONYMOUS: &str = "anonymous";

/// Whether the request's bearer credential equals `expected` (constant time, see
/// [`tessera_http::secrets_equal`]).
pub fn presents(req: &HttpRequest, expected: &SecretString) -> bool {
    tessera_http::bearer_matches(req, expected.expose_secret())
}

/// The operator API's guard: the request presents `BROKER_ADMIN_TOKEN` (unset: nobody may call).
///
/// # Errors
/// [`Error::NotOperator`] (401) otherwise.
pub fn operator(state: &AppState, req: &HttpRequest) -> Result<(), Error> {
    match &state.config.broker_admin_token {
        Some(t) if presents(req, t) => Ok(()),
        _ => Err(Error::NotOperator),
    }
}
