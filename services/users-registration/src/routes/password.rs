//! `POST /auth/password`: a user who signed up without a password (seed 004's own payload)
//! sets one with the one-time token of the link in their approval notification (issue #20).

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tessera_db::one_time::{self, Lookup, Purpose};
use tessera_http::ApiError;
use tessera_service::one_time::refused;

use crate::db::users;
use crate::domain::UserId;
use crate::state::AppState;
use crate::validation::PASSWORD_SETUP;

/// The body, once it passed `docs/schemas/users-registration/password-setup.json`.
#[derive(Debug, Deserialize)]
struct PasswordSetupRequest {
    token: SecretString,
    password: SecretString,
}

/// Sets the password of the user a set-password token was issued to. The token works once,
/// before its expiry (`PASSWORD_SETUP_TTL_SECONDS`, 72 h by default); setting the password
/// spends every other link of that user. Then `POST /auth/login` works with it.
#[utoipa::path(post, path = "/auth/password", tag = "auth",
    responses((status = 204, description = "Password set; log in with it"),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error` (every failing field in `errors`), or `invalid_token`: no such link"),
              (status = 410, body = tessera_http::ErrorEnvelope, description = "`gone`, `reason` = `token_used` or `token_expired`")))]
pub async fn set_password(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let r: PasswordSetupRequest = state.schemas.check(PASSWORD_SETUP, body.into_inner())?;
    let token = r.token.expose_secret();
    let now = state.now();
    // Checked before hashing, so a made-up token costs no Argon2 run; checked again, locked,
    // in the transaction that spends it.
    if let lookup @ (Lookup::Unknown | Lookup::Used | Lookup::Expired) = one_time::lock(
        &mut *state.pool.get().await?,
        Purpose::PASSWORD_SETUP,
        token,
        now,
    )
    .await?
    {
        return Err(refused(lookup));
    }
    let password_hash = state
        .hasher
        .hash(r.password)
        .await
        .map_err(ApiError::internal)?;
    // Taken after the hash: a request queued for the hasher holds no pooled connection.
    let mut conn = state.pool.get().await?;
    let user_id = conn
        .transaction::<_, ApiError, _>(async |c| {
            let user_id = UserId::from(
                one_time::redeem(c, Purpose::PASSWORD_SETUP, token, now)
                    .await?
                    .map_err(refused)?,
            );
            users::set_password(c, user_id, &password_hash, now).await?;
            users::record_history(c, user_id, "password_set", None, None, now).await?;
            Ok(user_id)
        })
        .await?;
    tracing::info!(user.id = %user_id, "password set through a set-password link");
    Ok(HttpResponse::NoContent().finish())
}
