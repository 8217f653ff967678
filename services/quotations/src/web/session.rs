//! Server-side web sessions in PostgreSQL and their CSRF tokens (issue #7).
//!
//! The cookie `quotations_session` holds 32 random bytes (base64url); the `web_sessions` row is
//! keyed by their SHA-256, so a database read does not yield usable cookies. The cookie is
//! `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` outside `APP_ENV=local`; a session
//! expires after `SESSION_LIFETIME_MINUTES` without a request (sliding, refreshed at most once a
//! minute). Logging in or out replaces the session (no fixation); resetting a password ends
//! every session of the user.
//!
//! Every state-changing web route checks the session's CSRF token, sent as the `X-CSRF-TOKEN`
//! (or `X-XSRF-TOKEN`) header or the `_token` member of the body; a missing session or a
//! mismatch is 419 `csrf_mismatch` (seed 001 catalogue). Pages carry the token in
//! `<meta name="csrf-token">`.

use crate::db::personal_access_tokens::sha256;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tessera_http::{ApiError, ErrorCode};

use crate::db::schema::{users, web_sessions};

/// The session cookie's name.
pub const COOKIE: &str = "quotations_session";

/// The user of an authenticated session.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebUser {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Whether the e-mail is verified.
    pub email_verified: bool,
    /// Administrator.
    pub is_admin: bool,
}

/// A loaded session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: Vec<u8>,
    /// The CSRF token.
    pub csrf_token: String,
    /// The signed-in user.
    pub user: Option<WebUser>,
}

/// A cookie to set on the response (put in the request's extensions; the web scope's
/// middleware adds it).
#[derive(Debug, Clone)]
pub struct SetCookie(pub Cookie<'static>);

/// 419 `csrf_mismatch`.
pub fn csrf_mismatch() -> ApiError {
    ApiError::new(
        StatusCode::from_u16(419).unwrap_or(StatusCode::FORBIDDEN),
        ErrorCode::CsrfMismatch,
        "CSRF token mismatch.",
    )
}

/// Loads the session of the request's cookie, if it is live. Touches it at most once a minute.
///
/// # Errors
/// Database errors.
pub async fn load(
    conn: &mut AsyncPgConnection,
    req: &HttpRequest,
    lifetime: TimeDelta,
) -> Result<Option<Session>, diesel::result::Error> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let id_hash = sha256(cookie.value());
    let now = tessera_service::now();
    type Row = (
        String,
        DateTime<Utc>,
        Option<(i64, String, String, Option<DateTime<Utc>>, bool)>,
    );
    let row: Option<Row> = web_sessions::table
        .left_join(users::table)
        .filter(web_sessions::id_hash.eq(&id_hash))
        .filter(web_sessions::expires_at.gt(now))
        .select((
            web_sessions::csrf_token,
            web_sessions::last_seen_at,
            (
                users::id,
                users::name,
                users::email,
                users::email_verified_at,
                users::is_admin,
            )
                .nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((csrf_token, last_seen, user)) = row else {
        return Ok(None);
    };
    if now - last_seen > TimeDelta::minutes(1) {
        diesel::update(web_sessions::table.find(&id_hash))
            .set((
                web_sessions::last_seen_at.eq(now),
                web_sessions::expires_at.eq(now + lifetime),
            ))
            .execute(conn)
            .await?;
    }
    Ok(Some(Session {
        id_hash,
        csrf_token,
        user: user.map(|(id, name, email, verified, is_admin)| WebUser {
            id,
            name,
            email,
            email_verified: verified.is_some(),
            is_admin,
        }),
    }))
}

/// Starts a session (for `user_id`, or a guest's) and queues its cookie on `req`'s response.
///
/// # Errors
/// Database errors or an RNG failure.
pub async fn start(
    conn: &mut AsyncPgConnection,
    req: &HttpRequest,
    user_id: Option<i64>,
    lifetime: TimeDelta,
    secure: bool,
) -> anyhow::Result<Session> {
    let value = crate::db::personal_access_tokens::new_secret()?;
    let csrf_token = crate::db::personal_access_tokens::new_secret()?;
    let id_hash = sha256(&value);
    let now = tessera_service::now();
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::id_hash.eq(&id_hash),
            web_sessions::user_id.eq(user_id),
            web_sessions::csrf_token.eq(&csrf_token),
            web_sessions::expires_at.eq(now + lifetime),
        ))
        .execute(conn)
        .await?;
    let cookie = Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(lifetime.num_seconds()))
        .finish();
    req.extensions_mut().insert(SetCookie(cookie));
    Ok(Session {
        id_hash,
        csrf_token,
        user: None,
    })
}

/// Ends a session.
///
/// # Errors
/// Database errors.
pub async fn end(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
) -> Result<(), diesel::result::Error> {
    diesel::delete(web_sessions::table.find(id_hash))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends every session of a user (password reset).
///
/// # Errors
/// Database errors.
pub async fn end_all(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> Result<(), diesel::result::Error> {
    diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes expired sessions.
///
/// # Errors
/// Database errors.
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> Result<usize, diesel::result::Error> {
    diesel::delete(web_sessions::table.filter(web_sessions::expires_at.le(tessera_service::now())))
        .execute(conn)
        .await
}

/// The CSRF token the request presents: the `X-CSRF-TOKEN` / `X-XSRF-TOKEN` header, else the
/// body's `_token`.
pub fn presented_token<'a>(
    req: &'a HttpRequest,
    body: Option<&'a serde_json::Value>,
) -> Option<&'a str> {
    ["x-csrf-token", "x-xsrf-token"]
        .iter()
        .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()))
        .or_else(|| {
            body.and_then(|b| b.get("_token"))
                .and_then(serde_json::Value::as_str)
        })
}

/// 419 unless a live session exists and the request presents its CSRF token.
///
/// # Errors
/// 419 `csrf_mismatch`.
pub fn verify_csrf<'s>(
    session: Option<&'s Session>,
    req: &HttpRequest,
    body: Option<&serde_json::Value>,
) -> Result<&'s Session, ApiError> {
    let session = session.ok_or_else(csrf_mismatch)?;
    match presented_token(req, body) {
        Some(t) if tessera_http::secrets_equal(session.csrf_token.as_bytes(), t.as_bytes()) => {
            Ok(session)
        }
        _ => Err(csrf_mismatch()),
    }
}
