//! HTTP routes (seed 001), one module per resource. Each operation is declared once, in
//! [`crate::openapi::ApiDoc`], and registered from there ([`crate::openapi::configure`]).

pub mod account;
pub mod history;
pub mod moderation;
pub mod pager;
pub mod quote;
pub mod user_tokens;

/// A numeric id of the path, or `not_found` (a malformed id is simply not found).
///
/// # Errors
/// `not_found`.
pub fn path_id(raw: &str, not_found: crate::error::Error) -> Result<i64, crate::error::Error> {
    raw.parse().map_err(|_| not_found)
}
