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

use crate::tokens::sha256;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use minijinja::context;
use secrecy::SecretString;
use serde_json::Value;
use tessera_http::{ApiError, FieldErrors};

use super::session::{self, Session};
use super::{csrf_json, current_or_new, lifetime, page_ctx, redirect, render, secure_cookies};
use crate::db::schema::{password_reset_tokens, users};
use crate::state::AppState;

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
    } else if email.len() > 255 || email.parse::<lettre::Address>().is_err() {
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

async fn send_verification(
    state: &AppState,
    id: i64,
    name: &str,
    email: &str,
) -> anyhow::Result<()> {
    let expires = tessera_service::now().timestamp() + VERIFY_MINUTES * 60;
    let path = format!("/verify-email/{id}/{}", email_hash(email));
    let link = format!(
        "{}{}",
        state.config.app_url.trim_end_matches('/'),
        super::signed::sign(&state.signing_key, &path, expires)
    );
    let body = format!(
        "Hello {name},\n\nConfirm the e-mail address of your Tessera Quotations account by opening \
         this link (valid for {VERIFY_MINUTES} minutes):\n\n{link}\n\nIf you did not create an \
         account, ignore this message.\n"
    );
    state
        .mailer
        .send(email, "Verify your e-mail address", body)
        .await
}

struct Field {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
    autocomplete: &'static str,
}

fn fields(list: Vec<Field>) -> Vec<minijinja::Value> {
    list.into_iter()
        .map(|f| {
            context! { name => f.name, label => f.label, type => f.kind, value => f.value, autocomplete => f.autocomplete }
        })
        .collect()
}

fn input(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
) -> Field {
    Field {
        name,
        label,
        kind,
        value: String::new(),
        autocomplete,
    }
}

/// Query of the auth pages (`?verified=1`, `?reset=1`, `?email=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    verified: Option<String>,
    reset: Option<String>,
    email: Option<String>,
}

fn flash(q: &PageQuery) -> Option<&'static str> {
    if q.verified.is_some() {
        Some("Your e-mail address is verified.")
    } else if q.reset.is_some() {
        Some("Your password has been reset. Log in with the new one.")
    } else {
        None
    }
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
        crate::tokens::register_user(&mut conn, &name, &email, &hash).await?
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
        crate::throttle::key(&state, &req, &crate::auth::Caller::default())
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
    let Some(account) = crate::auth::verify_credentials(&state, &email, password).await? else {
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
    let token = crate::tokens::new_secret().map_err(ApiError::internal)?;
    let now = tessera_service::now();
    let issued = {
        let mut conn = state.pool.get().await?;
        let user = crate::tokens::user_by_email(&mut conn, &email).await?;
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
async fn reset_token_matches(state: &AppState, email: &str, token: &str) -> Result<bool, ApiError> {
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

/// `GET /verify-email`: the "check your mail" page.
///
/// # Errors
/// 503 when the database is down.
pub async fn verify_notice(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    match &s.user {
        None => Ok(redirect("/login")),
        Some(u) if u.email_verified => Ok(redirect("/dashboard")),
        Some(_) => render(
            StatusCode::OK,
            "verify_notice.html",
            page_ctx(&s, context! { minutes => VERIFY_MINUTES }),
        ),
    }
}

/// `?expires=&signature=` of a verification link.
#[derive(Debug, serde::Deserialize)]
pub struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// `GET /verify-email/{id}/{hash}`: marks the e-mail verified.
///
/// # Errors
/// 503 when the database is down (a refused link is an HTML 403).
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<SignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, hash) = path.into_inner();
    let url_path = format!("/verify-email/{id}/{hash}");
    let s = current_or_new(&state, &req).await?;
    let refuse = |message: &str| {
        render(
            StatusCode::FORBIDDEN,
            "error.html",
            page_ctx(&s, context! { status => 403, message => message }),
        )
    };
    match super::signed::verify(
        &state.signing_key,
        &url_path,
        q.expires.as_deref(),
        q.signature.as_deref(),
        tessera_service::now().timestamp(),
    ) {
        Ok(()) => {}
        Err(super::signed::Invalid::Expired) => {
            return refuse("This verification link has expired. Log in and ask for a new one.");
        }
        Err(super::signed::Invalid::Signature) => return refuse("Invalid signature."),
    }
    let Ok(id) = id.parse::<i64>() else {
        return refuse("Invalid signature.");
    };
    let mut conn = state.pool.get().await?;
    let email: Option<String> = users::table
        .find(id)
        .select(users::email)
        .first(&mut conn)
        .await
        .optional()?;
    if email.as_deref().map(email_hash).as_deref() != Some(hash.as_str()) {
        return refuse("This link is not for this account.");
    }
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(tessera_service::now()))
    .execute(&mut conn)
    .await?;
    Ok(redirect(if s.user.is_some() {
        "/dashboard/quotations?verified=1"
    } else {
        "/login?verified=1"
    }))
}

/// `POST /email/verification-notification`.
///
/// # Errors
/// 419, 401, 429, 503.
pub async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (s, _) = csrf_json(&state, &req, &raw).await?;
    let Some(user) = s.and_then(|s| s.user) else {
        return Err(ApiError::unauthenticated("Unauthenticated."));
    };
    if user.email_verified {
        return Ok(HttpResponse::Ok()
            .json(serde_json::json!({"message": "Your e-mail address is already verified."})));
    }
    let now = tessera_service::now();
    let sent = {
        let mut conn = state.pool.get().await?;
        crate::throttle::hit(&mut conn, &format!("verify:{}", user.id), now).await?
    };
    if sent > RESEND_PER_MINUTE {
        return Err(ApiError::too_many_requests(
            crate::throttle::seconds_to_next_window(now),
        ));
    }
    send_verification(&state, user.id, &user.name, &user.email)
        .await
        .map_err(|e| ApiError::unavailable(e.into_boxed_dyn_error()))?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"message": "A new verification link has been sent."})))
}
