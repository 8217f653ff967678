//! Forgotten passwords (seed 001, Laravel Breeze's flow): `GET|POST /forgot-password` mails a
//! single-use reset link valid `RESET_MINUTES`; `GET|POST /reset-password/{token}` sets the new
//! password.

use super::session::{self};
use super::*;
use super::{csrf_json, current_or_new, page_ctx, render};
use crate::db::personal_access_tokens::sha256;
use crate::db::schema::{password_reset_tokens, users};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use diesel_async::{AsyncConnection, RunQueryDsl};
use minijinja::context;
use secrecy::SecretString;
use tessera_http::{ApiError, FieldErrors};

/// `GET /forgot-password`.
///
/// # Errors
/// 503 when the database is down.
pub async fn forgot_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    let ctx = context! {
        heading => "Forgot your password?", action => "/forgot-password", form_id => "forgot",
        intro => "Give us your e-mail and we will send a link to choose a new password.",
        submit => "E-mail me a reset link",
        fields => fields(vec![input("email", "E-mail", "email", "email")]),
        links => vec![context! { href => "/login", text => "Back to log in" }],
    };
    render(StatusCode::OK, "auth_form.html", page_ctx(&s, ctx))
}

/// `POST /forgot-password`.
///
/// # Errors
/// 419, 422, 503.
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, body) = csrf_json(&state, &req, &raw).await?;
    let mut errors = FieldErrors::new();
    let email = email_field(&body, &mut errors);
    ApiError::fail_if_any(errors)?;
    let token = crate::db::personal_access_tokens::new_secret().map_err(ApiError::internal)?;
    let now = tessera_service::now();
    let issued = {
        let mut conn = state.pool.get().await?;
        let user = crate::db::users::user_by_email(&mut conn, &email).await?;
        match user {
            None => false,
            Some(_) => {
                // One row per e-mail; replaced unless the last one is under 60 s old.
                let n = diesel::sql_query(
                    "INSERT INTO password_reset_tokens (email, token_hash, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE \
                     SET token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at \
                     WHERE password_reset_tokens.created_at < $3 - interval '60 seconds'",
                )
                .bind::<diesel::sql_types::Text, _>(&email)
                .bind::<diesel::sql_types::Bytea, _>(sha256(&token))
                .bind::<diesel::sql_types::Timestamptz, _>(now)
                .execute(&mut conn)
                .await?;
                n == 1
            }
        }
    };
    if issued {
        let link = format!(
            "{}/reset-password/{token}?email={}",
            state.config.app_url.trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
        );
        let body = format!(
            "Someone asked to reset the password of your Tessera Quotations account.\n\nChoose a \
             new password here (valid for {RESET_MINUTES} minutes):\n\n{link}\n\nIf it was not \
             you, ignore this message; your password stays as it is.\n"
        );
        if let Err(e) = state.mailer.send(&email, "Reset your password", body).await {
            tracing::warn!(error = %e, "password reset mail not sent");
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "message": "If an account exists for that e-mail, a reset link is on its way."
    })))
}

/// `GET /reset-password/{token}?email=`.
///
/// # Errors
/// 503 when the database is down.
pub async fn reset_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    let mut email = input("email", "E-mail", "email", "email");
    email.value = q.email.clone().unwrap_or_default();
    let mut hidden = input("token", "", "hidden", "");
    hidden.value = token.into_inner();
    let ctx = context! {
        heading => "Choose a new password", action => "/reset-password", redirect => "/login?reset=1",
        form_id => "reset", submit => "Reset password",
        fields => fields(vec![
            hidden,
            email,
            input("password", "New password (8 characters or more)", "password", "new-password"),
            input("password_confirmation", "Confirm password", "password", "new-password"),
        ]),
    };
    render(StatusCode::OK, "auth_form.html", page_ctx(&s, ctx))
}

/// `POST /reset-password`.
///
/// # Errors
/// 419, 422, 503.
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, body) = csrf_json(&state, &req, &raw).await?;
    let mut errors = FieldErrors::new();
    let token = text(&body, "token").to_owned();
    if token.is_empty() {
        field(&mut errors, "token", "The token field is required.");
    }
    let email = email_field(&body, &mut errors);
    let password = new_password_field(&body, &mut errors);
    ApiError::fail_if_any(errors)?;
    let invalid = || ApiError::invalid_field("email", "This password reset token is invalid.");
    // Check the token before paying for a hash (re-checked under a row lock below).
    if !reset_token_matches(&state, &email, &token).await? {
        return Err(invalid());
    }
    let hash = state
        .hasher
        .hash(SecretString::from(password))
        .await
        .map_err(ApiError::internal)?;
    let mut conn = state.pool.get().await?;
    let now = tessera_service::now();
    let done = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            // Consuming the token is the check: one of two concurrent resets deletes it.
            let consumed = diesel::delete(
                password_reset_tokens::table
                    .find(&email)
                    .filter(password_reset_tokens::token_hash.eq(sha256(&token)))
                    .filter(
                        password_reset_tokens::created_at
                            .gt(now - TimeDelta::minutes(RESET_MINUTES)),
                    ),
            )
            .execute(c)
            .await?;
            if consumed != 1 {
                return Ok(false);
            }
            let id: i64 = diesel::update(users::table.filter(users::email.eq(&email)))
                .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
                .returning(users::id)
                .get_result(c)
                .await?;
            session::end_all(c, id).await?;
            Ok(true)
        })
        .await?;
    if !done {
        return Err(invalid());
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"message": "Your password has been reset."})))
}

/// Whether `token` is the live reset token of `email` (compared in constant time).
pub(super) async fn reset_token_matches(
    state: &AppState,
    email: &str,
    token: &str,
) -> Result<bool, ApiError> {
    let mut conn = state.pool.get().await?;
    let stored: Option<Vec<u8>> = password_reset_tokens::table
        .find(email)
        .filter(
            password_reset_tokens::created_at
                .gt(tessera_service::now() - TimeDelta::minutes(RESET_MINUTES)),
        )
        .select(password_reset_tokens::token_hash)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(stored.is_some_and(|s| tessera_http::secrets_equal(&s, &sha256(token))))
}
