//! Who is calling: a personal access token (`Authorization: Bearer {id}|{secret}`), and/or an
//! identity the trusted gateway vouches for (`X-Auth-Subject`, `X-Auth-Roles`, honoured only with
//! a valid `X-Gateway-Secret`; ARCHITECTURE.md §3).
//!
//! Admin actions (soft deletes) need a token user with `is_admin` (or the `delete_quotations`
//! permission), or a gateway identity with the role `moderator` (seed 001) issued by an identity
//! tenant named in `QUOTATIONS_MODERATOR_TENANTS` (`X-Auth-Tenant`; issue #17).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use tessera_http::{ApiError, GatewayTrust, bearer_token};

use crate::db::personal_access_tokens::TokenUser;
use crate::db::{personal_access_tokens, users};
use crate::state::AppState;

/// The gateway role allowed to delete quotations.
pub const MODERATOR_ROLE: &str = "moderator";

/// The caller of a request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The user of a valid personal access token, if one was presented.
    pub token: Option<TokenUser>,
    /// `X-Auth-Subject` from the trusted gateway.
    pub gateway_subject: Option<String>,
    /// `X-Auth-Roles` from the trusted gateway (comma- or space-separated).
    pub gateway_roles: Vec<String>,
    /// Whether `X-Auth-Tenant` from the trusted gateway (the identity tenant that issued the
    /// token) is one of `QUOTATIONS_MODERATOR_TENANTS`.
    pub gateway_tenant_trusted: bool,
}

fn unauthenticated() -> ApiError {
    ApiError::unauthenticated("Unauthenticated.")
}

impl Caller {
    /// Whether anyone is identified.
    pub fn identified(&self) -> bool {
        self.token.is_some() || self.gateway_subject.is_some()
    }

    /// The token user, or 401.
    ///
    /// # Errors
    /// 401 `unauthenticated`.
    pub fn user(&self) -> Result<&TokenUser, ApiError> {
        self.token.as_ref().ok_or_else(unauthenticated)
    }

    /// 401 unless someone is identified (`QUOTATIONS_REQUIRE_AUTH`).
    ///
    /// # Errors
    /// 401 `unauthenticated`.
    pub fn require_identified(&self) -> Result<(), ApiError> {
        if self.identified() {
            Ok(())
        } else {
            Err(unauthenticated())
        }
    }

    /// 401 without identity; 403 unless an admin (token) or a `moderator` (gateway) of a tenant
    /// in `QUOTATIONS_MODERATOR_TENANTS`.
    ///
    /// # Errors
    /// 401 `unauthenticated` or 403 `forbidden`.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_identified()?;
        let by_token = self.token.as_ref().is_some_and(|t| {
            t.user.is_admin
                || t.user
                    .permissions
                    .get(users::DELETE_QUOTATIONS)
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
        });
        let by_gateway =
            self.gateway_tenant_trusted && self.gateway_roles.iter().any(|r| r == MODERATOR_ROLE);
        if by_token || by_gateway {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "admin_required",
                "This action is reserved to administrators.",
            ))
        }
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn identify(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = tessera_http::extract::app_data::<AppState>(&req)?;
    let mut caller = Caller::default();
    if req
        .extensions()
        .get::<GatewayTrust>()
        .is_some_and(|t| t.trusted)
    {
        caller.gateway_subject = header(&req, "x-auth-subject");
        caller.gateway_roles = header(&req, "x-auth-roles")
            .map(|r| {
                r.split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        caller.gateway_tenant_trusted =
            header(&req, "x-auth-tenant").is_some_and(|t| state.config.trusts_moderators_of(&t));
    }
    if let Some(token) = bearer_token(&req).filter(|t| t.contains('|')) {
        let mut conn = state.pool.get().await?;
        caller.token =
            personal_access_tokens::authenticate(&mut conn, &token, tessera_service::now()).await?;
    }
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(identify(req.clone()))
    }
}

/// The account with `email` (normalised) when `password` is theirs. An unknown e-mail costs the
/// same Argon2id verification as a wrong password (no timing hint).
///
/// # Errors
/// 503 when the database is down; 500 when the hasher fails.
pub async fn verify_credentials(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<users::Account>, ApiError> {
    let found = {
        let mut conn = state.pool.get().await?;
        users::user_by_email(&mut conn, email).await?
    };
    let ok = state
        .hasher
        .verify(
            secrecy::SecretString::from(password),
            found.as_ref().map(|a| a.password_hash.clone()),
        )
        .await
        .map_err(ApiError::internal)?;
    Ok(found.filter(|_| ok))
}
