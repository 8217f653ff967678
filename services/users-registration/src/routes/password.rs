//! `POST /auth/password`: a user who signed up without a password (seed 004's own payload)
//! sets one with the one-time token of the link in their approval notification (issue #20).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tessera_http::{ApiError, ErrorCode};

use crate::db::password_setup_tokens::{self, Lookup};
use crate::db::users;
use crate::state::AppState;
use crate::validation::PASSWORD_SETUP;

/// The body, once it passed `docs/schemas/users-registration/password-setup.json`.
#[derive(Debug, Deserialize)]
struct PasswordSetupRequest {
    token: SecretString,
    password: SecretString,
}

/// Why a presented token does not set a password.
#[derive(Debug)]
enum Refusal {
    Token(Lookup),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// The answer for a token that is not usable: 400 `invalid_token` for one never issued, 410
/// `gone` with `reason` `token_used` or `token_expired`. None of them names a user.
fn refused(lookup: Lookup) -> ApiError {
    match lookup {
        Lookup::Used => ApiError::new(
            StatusCode::GONE,
            ErrorCode::Gone,
            "This link was already used.",
        )
        .with_reason("token_used"),
        Lookup::Expired => ApiError::new(
            StatusCode::GONE,
            ErrorCode::Gone,
            "This link has expired; ask for a new one.",
        )
        .with_reason("token_expired"),
        Lookup::Unknown | Lookup::Usable(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidToken,
            "This link is not valid.",
        ),
    }
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
    let token_hash = crate::opaque::hash(r.token.expose_secret());
    let now = state.now();
    let mut conn = state.pool.get().await?;
    // Checked before hashing, so a made-up token costs no Argon2 run; checked again, locked,
    // in the transaction that spends it.
    if let lookup @ (Lookup::Unknown | Lookup::Used | Lookup::Expired) =
        password_setup_tokens::lock(&mut conn, &token_hash, now).await?
    {
        return Err(refused(lookup));
    }
    let password_hash = state
        .hasher
        .hash(r.password)
        .await
        .map_err(ApiError::internal)?;
    let outcome = conn
        .transaction::<_, Refusal, _>(async |c| {
            let user_id = match password_setup_tokens::lock(c, &token_hash, now).await? {
                Lookup::Usable(user_id) => user_id,
                other => return Err(Refusal::Token(other)),
            };
            users::set_password(c, user_id, &password_hash, now).await?;
            password_setup_tokens::spend_all(c, user_id, now).await?;
            users::record_history(c, user_id, "password_set", None, None, now).await?;
            Ok(user_id)
        })
        .await;
    match outcome {
        Ok(user_id) => {
            tracing::info!(user.id = %user_id, "password set through a set-password link");
            Ok(HttpResponse::NoContent().finish())
        }
        Err(Refusal::Token(lookup)) => Err(refused(lookup)),
        Err(Refusal::Db(e)) => Err(e.into()),
    }
}
