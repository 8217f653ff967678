//! Request bodies validated with the JSON Schemas committed under
//! `docs/schemas/users-registration/` (draft 2020-12, formats asserted), the same documents the
//! OpenAPI document publishes as its request-body schemas.
//!
//! A body that fails gets one 400 `validation_error` whose `errors` names every failing field
//! (`attachments.0.url`), with messages that never echo the submitted value (a password must
//! not come back in a response). Nothing is stored for an invalid body.

use actix_web::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_http::{ApiError, FieldErrors};

/// A committed schema: its name (file stem) and text.
#[derive(Debug, Clone, Copy)]
pub struct SchemaDoc {
    /// File stem under `docs/schemas/users-registration/`, e.g. `registration-request`.
    pub name: &'static str,
    /// The JSON text.
    pub text: &'static str,
}

macro_rules! schema_doc {
    ($name:literal) => {
        SchemaDoc {
            name: $name,
            text: include_str!(concat!(
                "../../../docs/schemas/users-registration/",
                $name,
                ".json"
            )),
        }
    };
}

/// `POST /registrations`.
pub const REGISTRATION: SchemaDoc = schema_doc!("registration-request");
/// `POST /auth/login`.
pub const LOGIN: SchemaDoc = schema_doc!("login-request");
/// `POST /auth/refresh`, `POST /auth/logout`.
pub const REFRESH: SchemaDoc = schema_doc!("refresh-request");
/// `PATCH /users/{id}`.
pub const USER_UPDATE: SchemaDoc = schema_doc!("user-update");
/// `PATCH /users/{id}/status`.
pub const STATUS_CHANGE: SchemaDoc = schema_doc!("status-change");

/// `POST /auth/password`.
pub const PASSWORD_SETUP: SchemaDoc = schema_doc!("password-setup");

/// Every request-body schema, in the order the OpenAPI document lists them.
pub const ALL: [SchemaDoc; 6] = [
    REGISTRATION,
    LOGIN,
    REFRESH,
    USER_UPDATE,
    STATUS_CHANGE,
    PASSWORD_SETUP,
];

/// The compiled validators, built once at start-up.
#[derive(derive_more::Debug)]
pub struct Schemas {
    #[debug(skip)]
    validators: Vec<(&'static str, jsonschema::Validator)>,
}

/// A schema that does not parse or compile (a defect in the committed files).
#[derive(Debug, thiserror::Error)]
#[error("schema {name}: {message}")]
pub struct SchemaError {
    name: &'static str,
    message: String,
}

impl Schemas {
    /// Compiles every schema of [`ALL`].
    ///
    /// # Errors
    /// [`SchemaError`] naming the schema that is not valid JSON Schema.
    pub fn compile() -> Result<Self, SchemaError> {
        let validators = ALL
            .iter()
            .map(|doc| {
                let err = |message: String| SchemaError {
                    name: doc.name,
                    message,
                };
                let value: Value =
                    serde_json::from_str(doc.text).map_err(|e| err(e.to_string()))?;
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&value)
                    .map_err(|e| err(e.to_string()))?;
                Ok((doc.name, validator))
            })
            .collect::<Result<_, SchemaError>>()?;
        Ok(Self { validators })
    }

    /// Validates `body` against `doc` and deserialises it.
    ///
    /// # Errors
    /// 400 `validation_error` naming every failing field.
    pub fn check<T: DeserializeOwned>(&self, doc: SchemaDoc, body: Value) -> Result<T, ApiError> {
        let validator = self
            .validators
            .iter()
            .find(|(name, _)| *name == doc.name)
            .map(|(_, v)| v)
            .ok_or_else(|| ApiError::internal(format!("schema {} not compiled", doc.name)))?;
        let errors = field_errors(validator, &body);
        if !errors.is_empty() {
            return Err(ApiError::validation(StatusCode::BAD_REQUEST, errors));
        }
        serde_json::from_value(body).map_err(|e| {
            ApiError::validation(
                StatusCode::BAD_REQUEST,
                FieldErrors::from([("body".to_owned(), vec![e.to_string()])]),
            )
        })
    }
}

/// `"/attachments/0/url"` → `"attachments.0.url"`; the root is `"body"`.
fn field_name(pointer: &str) -> String {
    let name = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|seg| seg.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".");
    if name.is_empty() {
        "body".to_owned()
    } else {
        name
    }
}

fn join(parent: &str, child: &str) -> String {
    if parent == "body" {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// Every error of `body` against `validator`, by field.
fn field_errors(validator: &jsonschema::Validator, body: &Value) -> FieldErrors {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut errors = FieldErrors::new();
    for e in validator.iter_errors(body) {
        let at = field_name(e.instance_path().as_str());
        match e.kind() {
            Kind::Required { property } => {
                let field = join(&at, property.as_str().unwrap_or_default());
                let message = format!("The {field} field is required.");
                errors.entry(field).or_default().push(message);
            }
            Kind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let field = join(&at, name);
                    let message = format!("The {field} field is not allowed.");
                    errors.entry(field).or_default().push(message);
                }
            }
            _ => {
                let message = format!("The {at} field is invalid: {}.", e.masked());
                errors.entry(at).or_default().push(message);
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({"name": "Ana", "email": "ana@example.com", "documentId": "123.456.789-01",
               "role": "producer", "password": "correct horse",
               "attachments": [{"type": "car", "url": "https://files.example.com/car.pdf"}]})
    }

    fn errors(body: Value) -> FieldErrors {
        let s = Schemas::compile().unwrap();
        match s.check::<Value>(REGISTRATION, body) {
            Ok(_) => FieldErrors::new(),
            Err(e) => e.envelope().errors.unwrap_or_default(),
        }
    }

    #[test]
    fn every_committed_schema_compiles_and_a_valid_body_passes() {
        assert!(errors(valid()).is_empty());
    }

    #[test]
    fn names_every_failing_field_without_echoing_values() {
        let mut body = valid();
        let obj = body.as_object_mut().unwrap();
        obj.remove("name");
        obj.remove("documentId");
        obj.insert("email".into(), json!("not-an-email"));
        obj.insert("password".into(), json!("short7!"));
        obj.insert("role".into(), json!("analyst"));
        obj.insert("extra".into(), json!(1));
        obj.insert(
            "attachments".into(),
            json!([{"type": "car", "url": "http://x"}]),
        );
        let e = errors(body);
        let fields: Vec<&str> = e.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "attachments.0.url",
                "documentId",
                "email",
                "extra",
                "name",
                "password",
                "role"
            ]
        );
        assert_eq!(e["name"], ["The name field is required."]);
        let all = serde_json::to_string(&e).unwrap();
        assert!(!all.contains("short7!"), "{all}");
        assert!(!all.contains("not-an-email"), "{all}");
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let s = Schemas::compile().unwrap();
        let e = s
            .check::<Value>(STATUS_CHANGE, json!({"status": "REJECTED"}))
            .unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.envelope().errors.unwrap().contains_key("reason"));
        assert!(
            s.check::<Value>(STATUS_CHANGE, json!({"status": "APPROVED"}))
                .is_ok()
        );
        assert!(
            s.check::<Value>(STATUS_CHANGE, json!({"status": "PENDING"}))
                .is_err()
        );
    }

    #[test]
    fn field_names_follow_the_pointer() {
        assert_eq!(field_name(""), "body");
        assert_eq!(field_name("/attachments/0/url"), "attachments.0.url");
        assert_eq!(join("body", "name"), "name");
    }
}
