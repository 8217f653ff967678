//! `POST /api/auth/token`, `DELETE /api/auth/token`, `GET /api/user` (seed 001 "Token Sanctum").

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_http::{ApiError, FieldErrors};
use utoipa::ToSchema;

use crate::caller::Caller;
use crate::db::personal_access_tokens;
use crate::db::users::ApiUser;
use crate::state::AppState;

/// `data` of `POST /api/auth/token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// `"{id}|{secret}"`, shown once.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The name given to the token.
    pub device_name: String,
}

/// `{"message", "data": IssuedToken}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// `Token created successfully.`
    pub message: &'static str,
    /// The token.
    pub data: IssuedToken,
}

/// `{"data": ApiUser}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// The user.
    pub data: ApiUser,
}

fn required_string(body: &Value, field: &str, max: usize, errors: &mut FieldErrors) -> String {
    match body.get(field).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => s.to_owned(),
        Some(s) if !s.is_empty() => {
            errors.insert(
                field.into(),
                vec![format!(
                    "The {field} field must not be greater than {max} characters."
                )],
            );
            String::new()
        }
        _ => {
            errors.insert(
                field.into(),
                vec![format!("The {field} field is required.")],
            );
            String::new()
        }
    }
}

/// Issues a personal access token for e-mail + password.
#[utoipa::path(post, path = "/api/auth/token", tag = "auth",
    request_body(content = Object, description = "`{email, password, device_name, expires_at?}` (`expires_at`: RFC 3339, in the future; the token stops working then)"),
    responses((status = 201, body = TokenCreated),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`validation_error`: a missing field, or wrong credentials (`errors.email`)")))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    crate::throttle::check(&state, &req, &Caller::default()).await?;
    let mut errors = FieldErrors::new();
    let email = required_string(&body, "email", 255, &mut errors).to_lowercase();
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if password.is_empty() {
        errors.insert(
            "password".into(),
            vec!["The password field is required.".into()],
        );
    }
    let device_name = required_string(&body, "device_name", 255, &mut errors);
    // Optional expiry (Sanctum's `createToken(…, $expiresAt)`): an RFC 3339 instant in the future.
    let expires_at = match body.get("expires_at") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
        {
            Some(t) if t > tessera_service::now() => Some(t),
            Some(_) => {
                errors.insert(
                    "expires_at".into(),
                    vec!["The expires_at field must be a date after now.".into()],
                );
                None
            }
            None => {
                errors.insert(
                    "expires_at".into(),
                    vec!["The expires_at field must be an RFC 3339 date-time.".into()],
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ));
    }
    let account = crate::caller::verify_credentials(&state, &email, password).await?;
    let Some(user) = account.map(|a| a.user) else {
        return Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::from([(
                "email".to_owned(),
                vec!["The provided credentials are incorrect.".to_owned()],
            )]),
        ));
    };
    let token = {
        let mut conn = state.pool.get().await?;
        personal_access_tokens::issue_until(&mut conn, user.id, &device_name, expires_at)
            .await
            .map_err(ApiError::internal)?
    };
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", tessera_http::extract::NO_STORE))
        .json(TokenCreated {
            message: "Token created successfully.",
            data: IssuedToken {
                token,
                token_type: "Bearer",
                device_name,
            },
        }))
}

/// Revokes the token that authenticates this request.
#[utoipa::path(delete, path = "/api/auth/token", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "`{\"message\": \"Token revoked successfully.\"}`"),
              (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    crate::throttle::check(&state, &req, &caller).await?;
    let id = caller.user()?.token_id;
    let mut conn = state.pool.get().await?;
    personal_access_tokens::revoke(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Token revoked successfully."})))
}

/// The token's user: `{id, name, email, is_admin, permissions}`.
#[utoipa::path(get, path = "/api/user", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    crate::throttle::check(&state, &req, &caller).await?;
    Ok(HttpResponse::Ok().json(UserResponse {
        data: caller.user()?.user.clone(),
    }))
}
