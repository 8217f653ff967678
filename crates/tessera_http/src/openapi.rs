//! OpenAPI pieces every service's document shares.

use utoipa::Modify;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

/// One HTTP bearer security scheme (RFC 6750).
#[derive(Debug, Clone, Copy)]
pub struct Bearer {
    /// The scheme's name in `components.securitySchemes` (what `security((…))` refers to).
    pub name: &'static str,
    /// What the credential is.
    pub description: &'static str,
    /// `bearerFormat`, e.g. `JWT`.
    pub format: Option<&'static str>,
}

/// Adds bearer security schemes to a document: `modifiers(&BearerSchemes(&[Bearer { … }]))`.
#[derive(Debug, Clone, Copy)]
pub struct BearerSchemes(pub &'static [Bearer]);

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for b in self.0 {
            let mut http = Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(b.description));
            if let Some(format) = b.format {
                http = http.bearer_format(format);
            }
            components.add_security_scheme(b.name, SecurityScheme::Http(http.build()));
        }
    }
}
