//! HTTP routes, one module per resource. Each operation is declared once, in
//! [`crate::openapi::ApiDoc`], and registered from there ([`crate::openapi::configure`]).

pub mod api_keys;
pub mod jwks;
pub mod peer_token;
pub mod relationships;
pub mod white_labels;

use tessera_http::FieldErrors;

use crate::domain::{STATUS_MESSAGE, Status};

/// Parses an optional `status` field, adding its message to `errors` when it is neither
/// `active` nor `inactive`.
fn status_field(raw: Option<&str>, errors: &mut FieldErrors) -> Option<Status> {
    let parsed = raw?.parse::<Status>();
    if parsed.is_err() {
        errors
            .entry("status".to_owned())
            .or_default()
            .push(STATUS_MESSAGE.to_owned());
    }
    parsed.ok()
}
