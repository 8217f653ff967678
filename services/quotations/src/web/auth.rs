//! Web session auth (seed 001 "Autenticacao web (sessao)", issue #7): register, login, logout,
//! forgot/reset password, e-mail verification — each `POST` behind the CSRF check (419).
//!
//! | route | success | failures |
//! |---|---|---|
//! | `POST /register` `{name, email, password, password_confirmation}` | 201 `{data: user}`, signed in, verification mail sent | 422 (fields; e-mail taken) |
//! | `POST /login` `{email, password}` | 200 `{data: user}` (new session) | 422 missing fields; 401 wrong e-mail or password (one message); 429 after `QUOTATIONS_LOGIN_MAX_ATTEMPTS` failures per e-mail + client address per minute |
//! | `POST /logout` | 200 | 401 not signed in |
//! | `POST /forgot-password` `{email}` | 200 whether or not the account exists (no enumeration); at most one mail per e-mail per 60 s | 422 bad e-mail |
//! | `POST /reset-password` `{token, email, password, password_confirmation}` | 200, every session of the user ended | 422 (fields; token invalid or older than 60 minutes) |
//! | `GET /verify-email/{id}/{hash}?expires&signature` | 302 to the dashboard (or login) | 403 bad signature, expired, or hash not the user's |
//! | `POST /email/verification-notification` | 200 | 401 not signed in; 429 over 6 per minute |
//!
//! Reset tokens are 40 random characters, stored as SHA-256 only. Passwords are Argon2id
//! (`tessera_password`), 8 to 1,024 characters.

use crate::db::personal_access_tokens::sha256;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use minijinja::context;
use secrecy::SecretString;
use serde_json::Value;
use tessera_http::{ApiError, FieldErrors};

use super::session::{self, Session};
use super::{csrf_json, current_or_new, lifetime, page_ctx, redirect, render, secure_cookies};
use crate::state::AppState;

mod password_reset;
pub use password_reset::*;
mod verification;
pub use verification::*;
mod pages;
pub use pages::*;

/// Minutes a reset token stays valid (Laravel's `auth.passwords.users.expire`).
pub const RESET_MINUTES: i64 = 60;

/// Minutes a verification link stays valid (Laravel's `auth.verification.expire`).
pub const VERIFY_MINUTES: i64 = 60;

/// Verification mails per user per minute.
pub const RESEND_PER_MINUTE: i32 = 6;

/// The `{hash}` of a verification link: base64url SHA-256 of the e-mail.
pub fn email_hash(email: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(email))
}

fn field(errors: &mut FieldErrors, name: &str, message: impl Into<String>) {
    errors
        .entry(name.to_owned())
        .or_default()
        .push(message.into());
}

fn text<'a>(body: &'a Value, name: &str) -> &'a str {
    body.get(name).and_then(Value::as_str).unwrap_or("")
}

fn email_field(body: &Value, errors: &mut FieldErrors) -> String {
    let email = text(body, "email").trim().to_lowercase();
    if email.is_empty() {
        field(errors, "email", "The email field is required.");
    } else if tessera_http::email::Email::parse(&email).is_err() {
        field(
            errors,
            "email",
            "The email field must be a valid email address.",
        );
    }
    email
}

fn new_password_field(body: &Value, errors: &mut FieldErrors) -> String {
    let password = text(body, "password");
    let n = password.chars().count();
    if n == 0 {
        field(errors, "password", "The password field is required.");
    } else if !(8..=1024).contains(&n) {
        field(
            errors,
            "password",
            "The password field must be between 8 and 1024 characters.",
        );
    } else if text(body, "password_confirmation") != password {
        field(
            errors,
            "password",
            "The password field confirmation does not match.",
        );
    }
    password.to_owned()
}

/// Replaces the request's session with one for `user_id` (or a guest's): no fixation.
async fn replace_session(
    state: &AppState,
    req: &HttpRequest,
    old: Option<&Session>,
    user_id: Option<i64>,
) -> Result<Session, ApiError> {
    let mut conn = state.pool.get().await?;
    if let Some(old) = old {
        session::end(&mut conn, &old.id_hash).await?;
    }
    session::start(
        &mut conn,
        req,
        user_id,
        lifetime(state),
        secure_cookies(state),
    )
    .await
    .map_err(ApiError::internal)
}

fn user_json(u: &session::WebUser) -> Value {
    serde_json::json!({"data": {"id": u.id, "name": u.name, "email": u.email,
        "email_verified": u.email_verified, "is_admin": u.is_admin}})
}

/// `GET /register`.
///
/// # Errors
/// 503 when the database is down.
pub async fn register_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    if s.user.is_some() {
        return Ok(redirect("/dashboard"));
    }
    let ctx = context! {
        heading => "Create an account", action => "/register", redirect => "/verify-email",
        form_id => "register", submit => "Register",
        fields => fields(vec![
            input("name", "Name", "text", "name"),
            input("email", "E-mail", "email", "email"),
            input("password", "Password (8 characters or more)", "password", "new-password"),
            input("password_confirmation", "Confirm password", "password", "new-password"),
        ]),
        links => vec![context! { href => "/login", text => "Already registered? Log in" }],
    };
    render(StatusCode::OK, "auth_form.html", page_ctx(&s, ctx))
}

/// `POST /register`.
///
/// # Errors
/// 419, 422, 503 per the module table.
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (old, body) = csrf_json(&state, &req, &raw).await?;
    let mut errors = FieldErrors::new();
    let name = text(&body, "name").trim().to_owned();
    if name.is_empty() {
        field(&mut errors, "name", "The name field is required.");
    } else if name.chars().count() > 255 {
        field(
            &mut errors,
            "name",
            "The name field must not be greater than 255 characters.",
        );
    }
    let email = email_field(&body, &mut errors);
    let password = new_password_field(&body, &mut errors);
    ApiError::fail_if_any(errors)?;
    let hash = state
        .hasher
        .hash(SecretString::from(password))
        .await
        .map_err(ApiError::internal)?;
    let id = {
        let mut conn = state.pool.get().await?;
        crate::db::users::register_user(&mut conn, &name, &email, &hash).await?
    };
    let Some(id) = id else {
        return Err(ApiError::invalid_field(
            "email",
            "The email has already been taken.",
        ));
    };
    let _ = replace_session(&state, &req, old.as_ref(), Some(id)).await?;
    // The account exists either way; the user can ask for the link again.
    if let Err(e) = send_verification(&state, id, &name, &email).await {
        tracing::warn!(error = %e, "verification mail not sent");
    }
    let user = session::WebUser {
        id,
        name,
        email,
        email_verified: false,
        is_admin: false,
    };
    let mut out = user_json(&user);
    if let Some(m) = out.as_object_mut() {
        m.insert(
            "message".into(),
            "Registered. Open the link we e-mailed you to verify your address.".into(),
        );
    }
    Ok(HttpResponse::Created().json(out))
}

/// `GET /login`.
///
/// # Errors
/// 503 when the database is down.
pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    if s.user.is_some() {
        return Ok(redirect("/dashboard"));
    }
    let ctx = context! {
        heading => "Log in", action => "/login", redirect => "/dashboard", form_id => "login",
        submit => "Log in", flash => flash(&q),
        fields => fields(vec![
            input("email", "E-mail", "email", "email"),
            input("password", "Password", "password", "current-password"),
        ]),
        links => vec![
            context! { href => "/register", text => "Create an account" },
            context! { href => "/forgot-password", text => "Forgot your password?" },
        ],
    };
    render(StatusCode::OK, "auth_form.html", page_ctx(&s, ctx))
}

/// `POST /login`.
///
/// # Errors
/// 419, 422, 401, 429, 503 per the module table.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (old, body) = csrf_json(&state, &req, &raw).await?;
    let mut errors = FieldErrors::new();
    let email = text(&body, "email").trim().to_lowercase();
    if email.is_empty() {
        field(&mut errors, "email", "The email field is required.");
    }
    let password = text(&body, "password").to_owned();
    if password.is_empty() {
        field(&mut errors, "password", "The password field is required.");
    }
    ApiError::fail_if_any(errors)?;
    let key = format!(
        "login:{email}|{}",
        crate::throttle::key(&state, &req, &crate::caller::Caller::default())
    );
    let now = tessera_service::now();
    let failures = {
        let mut conn = state.pool.get().await?;
        crate::throttle::peek(&mut conn, &key, now).await?
    };
    if u32::try_from(failures).unwrap_or(u32::MAX) >= state.config.quotations_login_max_attempts {
        return Err(ApiError::too_many_requests(
            crate::throttle::seconds_to_next_window(now),
        ));
    }
    let Some(account) = crate::caller::verify_credentials(&state, &email, password).await? else {
        let mut conn = state.pool.get().await?;
        crate::throttle::hit(&mut conn, &key, now).await?;
        return Err(ApiError::unauthenticated(
            "These credentials do not match our records.",
        ));
    };
    if failures > 0 {
        let mut conn = state.pool.get().await?;
        crate::throttle::clear(&mut conn, &key).await?;
    }
    let user = account.user;
    let _ = replace_session(&state, &req, old.as_ref(), Some(user.id)).await?;
    Ok(HttpResponse::Ok().json(user_json(&session::WebUser {
        id: user.id,
        name: user.name,
        email: user.email,
        email_verified: account.email_verified,
        is_admin: user.is_admin,
    })))
}

/// `POST /logout`.
///
/// # Errors
/// 419, 401, 503.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (old, _) = csrf_json(&state, &req, &raw).await?;
    if old.as_ref().and_then(|s| s.user.as_ref()).is_none() {
        return Err(ApiError::unauthenticated("Unauthenticated."));
    }
    let _ = replace_session(&state, &req, old.as_ref(), None).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"message": "Logged out."})))
}
