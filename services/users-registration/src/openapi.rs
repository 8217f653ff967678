//! The OpenAPI 3.1 document: generated from the handlers' annotations, with the committed JSON
//! Schemas (`docs/schemas/users-registration/*.json`) inserted verbatim as the request-body
//! schemas (`#/components/schemas/<title>`), so the published contract is the validated one.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/users-registration.yaml`
//! (`users-registration openapi`, or `make openapi`); a test fails when they drift.

use serde_json::{Value, json};
use tessera_http::openapi::BAD_REQUEST;
use utoipa::OpenApi;

use crate::routes::{password, registrations, session, users};
use crate::validation::{self, SchemaDoc};

tessera_http::api! {
bearer = [("bearer", "An accessToken from POST /auth/login or /auth/refresh (HS256 JWT)", Some("JWT"))];
error_codes = [Conflict, InvalidCredentials, IdempotencyKeyReused, TooManyRequests, InvalidToken, Gone];
modifiers = [&BAD_REQUEST];
/// The generated part of the document.
#[openapi(
    info(
        title = "Tessera users-registration",
        description = "Rural-producer sign-up, analyst approval, JWT login, user events and notifications (seed 004). \
                       Errors use the platform envelope `{message, error_code, request_id, errors?, reason?, details?}`; \
                       a 400 `validation_error` names every failing field in `errors`. Every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::auth::AccessClaims, tessera_http::ErrorCode)),
    tags(
        (name = "registrations", description = "Producer sign-up"),
        (name = "auth", description = "Login, token refresh, logout, setting a first password"),
        (name = "users", description = "Profiles and analyst decisions")
    )
)]
pub struct ApiDoc;
operations = [
    registrations::{submit, list, get},
    session::{login, refresh, logout},
    password::{set_password},
    users::{list, get, update, change_status},
];
}

/// Which operation takes which committed schema as its JSON body.
const REQUEST_BODIES: [(&str, &str, SchemaDoc); 7] = [
    ("/registrations", "post", validation::REGISTRATION),
    ("/auth/login", "post", validation::LOGIN),
    ("/auth/refresh", "post", validation::REFRESH),
    ("/auth/logout", "post", validation::REFRESH),
    ("/auth/password", "post", validation::PASSWORD_SETUP),
    ("/users/{id}", "patch", validation::USER_UPDATE),
    ("/users/{id}/status", "patch", validation::STATUS_CHANGE),
];

/// The committed schema's `title`, its component name.
fn title(schema: &Value) -> String {
    schema
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("Body")
        .to_owned()
}

/// The whole document as JSON.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    for schema in validation::ALL {
        let value: Value = serde_json::from_str(schema.text).unwrap_or(Value::Null);
        if let Some(map) = doc
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
        {
            map.insert(title(&value), value);
        }
    }
    for (path, method, schema) in REQUEST_BODIES {
        let value: Value = serde_json::from_str(schema.text).unwrap_or(Value::Null);
        let pointer = format!("/paths/{}/{method}", path.replace('/', "~1"));
        if let Some(op) = doc.pointer_mut(&pointer).and_then(Value::as_object_mut) {
            op.insert(
                "requestBody".to_owned(),
                json!({
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "$ref": format!("#/components/schemas/{}", title(&value))
                    }}}
                }),
            );
        }
    }
    tessera_http::openapi::examples::add_to_document(&mut doc);
    doc
}

/// The document as YAML (what `docs/openapi/users-registration.yaml` holds).
///
/// # Errors
/// Serialisation failures.
pub fn yaml() -> anyhow::Result<String> {
    Ok(yaml_serde::to_string(&document())?)
}

/// Registers every route of the service: the operations of [`ApiDoc`], `/openapi.json` and the
/// API reference at `/docs` (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tessera_http::openapi::register_operations::<ApiDoc>(cfg);
    // The document merges the committed JSON Schemas of the bodies (`crate::openapi::document`).
    tessera_http::openapi::serve_document(cfg, "users-registration", &document());
}
