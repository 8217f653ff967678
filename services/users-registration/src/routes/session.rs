//! `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout`.
//!
//! Refresh tokens are opaque (256 random bits, base64url), stored only as SHA-256, single use:
//! each refresh rotates the token, and presenting a rotated one again revokes its whole
//! session (RFC 9700 §4.14.2, refresh token rotation with reuse detection).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tessera_db::attempts::SignIn;
use tessera_http::ApiError;
use tessera_http::extract::NO_STORE;

use crate::auth::{self, Principal};
use crate::db::refresh_tokens::Rotation;
use crate::db::{refresh_tokens, sessions, users};
use crate::domain::{SessionId, UserStatus};
use crate::error::Error;
use crate::state::AppState;
use crate::validation::{LOGIN, REFRESH};
use crate::view::AuthToken;

#[derive(Debug, Deserialize)]
struct LoginRequest {
    email: String,
    password: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshRequest {
    refresh_token: SecretString,
}

/// A fresh refresh token and its stored hash.
fn new_refresh_token() -> Result<(String, Vec<u8>), ApiError> {
    tessera_db::one_time::new_token().map_err(|_| ApiError::internal("system RNG failed"))
}

fn ttl(state: &AppState) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(state.config.refresh_token_ttl_seconds).unwrap_or(i64::MAX))
}

fn tokens(access_token: String, refresh_token: String, expires_in: u64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", NO_STORE))
        .json(AuthToken {
            access_token,
            refresh_token,
            expires_in,
            token_type: "Bearer",
        })
}

/// The keys a login attempt for `email` from this request counts under (issue #17).
fn sign_in(state: &AppState, req: &HttpRequest, email: &str) -> SignIn {
    let c = &state.config;
    SignIn::new()
        .account(email, c.lockout.account_policy())
        .address(
            c.base.trusted_proxies.client_ip_of(req),
            c.lockout.address_policy(),
        )
}

/// The 429 of a locked account or address: the same whether the e-mail exists or not.
fn locked_out(seconds: u64) -> ApiError {
    tracing::info!(
        retry_after = seconds,
        "login refused: too many failed attempts"
    );
    ApiError::too_many_requests(seconds)
}

/// Logs in an `APPROVED` user with e-mail and password: a new session, an access token and
/// its refresh token. `AUTH_MAX_FAILED_ATTEMPTS` wrong passwords for one e-mail (known or not),
/// or `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS` from one client address, within
/// `AUTH_LOCKOUT_SECONDS` lock it for `AUTH_LOCKOUT_SECONDS`: 429 with `Retry-After`, even for
/// the right password, across replicas (`tessera_db::attempts`).
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    responses((status = 200, body = AuthToken),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error`"),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "`invalid_credentials`: the same for an unknown e-mail and a wrong password"),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`forbidden`, `reason` = `user_pending` or `user_rejected`: right password, not approved"),
              (status = 429, body = tessera_http::ErrorEnvelope, description = "`too_many_requests` with `Retry-After`: the e-mail or the client address is locked after too many wrong passwords")))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let result = sign_in_with(&state, &req, body.into_inner()).await;
    tessera_http::metrics::count_login(&state.logins, result)
}

/// [`login`]'s work, whose result `logins_total` counts.
async fn sign_in_with(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: Value,
) -> Result<HttpResponse, ApiError> {
    let r: LoginRequest = state.schemas.check(LOGIN, body)?;
    let email = r.email.trim().to_lowercase();
    let mut keys = sign_in(state, req, &email);
    let found = {
        let mut conn = state.pool.get().await?;
        if let Some(wait) = keys.locked(&mut conn, state.now()).await? {
            return Err(locked_out(wait));
        }
        users::user_by_email(&mut conn, &email).await?
    };
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    // An unknown e-mail, and a user who has not set a password yet (signed up without one),
    // cost the same hash as a wrong password and get the same answer.
    let matched = state
        .hasher
        .verify(r.password, hash)
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|_| matched) else {
        let mut conn = state.pool.get().await?;
        if let Some(wait) = keys.failed(&mut conn, state.now()).await? {
            return Err(locked_out(wait));
        }
        return Err(Error::InvalidCredentials.into());
    };
    {
        let mut conn = state.pool.get().await?;
        keys.succeeded(&mut conn).await?;
    }
    match user.status {
        UserStatus::Approved => {}
        UserStatus::Pending => {
            return Err(ApiError::forbidden(
                "user_pending",
                "This registration is still waiting for an analyst's approval.",
            ));
        }
        UserStatus::Rejected => {
            return Err(ApiError::forbidden(
                "user_rejected",
                "This registration was rejected.",
            ));
        }
    }
    let now = state.now();
    let (refresh, refresh_hash) = new_refresh_token()?;
    let session_id = SessionId::now_v7();
    {
        let mut conn = state.pool.get().await?;
        sessions::create_session(
            &mut conn,
            session_id,
            user.id,
            &refresh_hash,
            now,
            ttl(state),
        )
        .await?;
    }
    let role = user.role();
    let scopes = auth::effective_scopes(role, user.explicit_scopes().as_deref());
    let (access, expires_in) =
        auth::issue_access_token(state, user.id, session_id, role, &scopes, now)?;
    Ok(tokens(access, refresh, expires_in))
}

/// Exchanges a refresh token for a new pair; the presented one can never be used again.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    responses((status = 200, body = AuthToken),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error`"),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "`unauthenticated`: unknown, expired or revoked; `reason` = `refresh_token_reused` when a rotated token was presented (its session is now revoked)")))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let r: RefreshRequest = state.schemas.check(REFRESH, body.into_inner())?;
    let presented = tessera_db::one_time::hash(r.refresh_token.expose_secret());
    let (next, next_hash) = new_refresh_token()?;
    let now = state.now();
    let ttl = ttl(&state);
    let rotation = {
        let mut conn = state.pool.get().await?;
        conn.transaction::<Rotation, diesel::result::Error, _>(async |c| {
            refresh_tokens::rotate_refresh(c, &presented, &next_hash, now, ttl).await
        })
        .await?
    };
    match rotation {
        Rotation::Rotated(p) => {
            let (access, expires_in) =
                auth::issue_access_token(&state, p.user_id, p.session_id, p.role, &p.scopes, now)?;
            Ok(tokens(access, next, expires_in))
        }
        Rotation::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its session is revoked");
            Err(ApiError::unauthenticated(
                "This refresh token was already used; the session has been revoked.",
            )
            .with_reason("refresh_token_reused"))
        }
        Rotation::Invalid => Err(ApiError::unauthenticated(
            "The refresh token is invalid or expired.",
        )),
    }
}

/// Ends the caller's session (and the session of `refreshToken`, when it is the caller's):
/// its refresh tokens stop working and its access tokens are refused from now on.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 400, body = tessera_http::ErrorEnvelope),
              (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn logout(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let r: RefreshRequest = state.schemas.check(REFRESH, body.into_inner())?;
    let hash = tessera_db::one_time::hash(r.refresh_token.expose_secret());
    let now = state.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<(), diesel::result::Error, _>(async |c| {
        sessions::revoke_session(c, who.session_id, "logout", now).await?;
        if let Some(sid) = refresh_tokens::session_of_refresh(c, &hash).await?
            && sid != who.session_id
            && sessions::session_owner(c, sid).await? == Some(who.user_id)
        {
            sessions::revoke_session(c, sid, "logout", now).await?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
