//! Agents a tenant admin creates through the API (issue #20): `POST /tenants/{slug}/agents`
//! creates one without a password and answers its one-time enrollment link (shown once); the
//! agent sets its first password with `POST /tenants/{slug}/password`, then signs in. The link
//! is a `tessera_db::one_time` token (purpose `enrollment`, `IDENTITY_ENROLLMENT_TTL_SECONDS`),
//! the same mechanism as users-registration's set-password links.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tessera_http::email::Email;
use tessera_http::{ApiError, FieldErrors};
use utoipa::ToSchema;

use crate::auth::{self, Admin};
use crate::db::agents;
use crate::operations;
use crate::routes::agents::AgentRead;
use crate::routes::roles::agent_id;
use crate::routes::session::MAX_PASSWORD_BYTES;
use crate::state::AppState;

/// The fewest characters a new password may have (NIST SP 800-63B §3.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// `POST /tenants/{slug}/agents` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentCreate {
    /// The agent's e-mail, unique in the tenant (stored trimmed, lower case).
    #[schema(example = "ana@acme.example")]
    pub email: String,
    /// A role of `IDENTITY_ROLES` to assign at once.
    #[schema(example = "agent")]
    pub role: Option<String>,
}

/// The created agent and its enrollment link, shown once (`Cache-Control: no-store`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentCreated {
    /// The agent, without a password until it enrolls.
    pub agent: AgentRead,
    /// The role assigned, if any.
    pub role: Option<String>,
    /// `<IDENTITY_ENROLLMENT_URL>?tenant=<slug>#token=<token>`: give it to the agent; it works
    /// once, until `enrollment_expires_at`.
    pub enrollment_url: String,
    /// When the link stops working (RFC 3339).
    pub enrollment_expires_at: DateTime<Utc>,
}

/// `POST /tenants/{slug}/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// The token from the link's fragment (`#token=…`).
    #[schema(value_type = String)]
    pub token: SecretString,
    /// The agent's first password: 8 characters to 1024 bytes.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Creates an agent without a password and answers its one-time enrollment link; the agent
/// sets its password with `POST /tenants/{slug}/password` (`identity.agent.created`).
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/agents",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    request_body = AgentCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the link is shown once", body = AgentCreated),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "The tenant has an agent with this e-mail", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Invalid e-mail or unknown role", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn create_agent(
    state: web::Data<AppState>,
    Admin(who): Admin,
    body: web::Json<AgentCreate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    let email = Email::parse(&body.email);
    if email.is_err() {
        errors.insert(
            "email".into(),
            vec!["The email field must be a valid e-mail address.".into()],
        );
    }
    if let Some(role) = &body.role
        && !state.roles.contains(role)
    {
        errors.insert(
            "role".into(),
            vec![format!(
                "The role must be one of: {}.",
                state.roles.join(", ")
            )],
        );
    }
    ApiError::fail_if_any(errors)?;
    let email = email.map_err(|_| ApiError::internal("e-mail checked above"))?;
    let now = state.now();
    let expires_at = now + state.config.enrollment_ttl();
    let mut conn = state.pool.get().await?;
    let created = operations::create_agent(
        &mut conn,
        &who.tenant,
        &email,
        body.role.as_deref(),
        who.agent_id,
        now,
        expires_at,
    )
    .await?;
    state.relay_wake.notify_one();
    let agent = agents::agent_summary(&mut conn, who.tenant.id, created.agent_id)
        .await?
        .map(AgentRead::from)
        .ok_or_else(|| ApiError::internal("the agent just created is missing"))?;
    tracing::info!(agent_id = %agent.agent_id, tenant = %who.tenant.slug, by = %who.agent_id, "agent created; enrollment link issued");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(AgentCreated {
            agent,
            role: body.role,
            enrollment_url: state
                .config
                .enrollment_link(&who.tenant.slug, &created.token),
            enrollment_expires_at: created.expires_at,
        }))
}

/// A new enrollment link.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentLink {
    /// `<IDENTITY_ENROLLMENT_URL>?tenant=<slug>#token=<token>`, shown once.
    pub enrollment_url: String,
    /// When it stops working (RFC 3339).
    pub enrollment_expires_at: DateTime<Utc>,
}

/// Issues a new enrollment link for an agent that has not enrolled yet (the old one expired
/// or was lost); every older link of that agent stops working.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/enrollment",
    tag = "agents",
    params(
        ("tenant_slug" = String, Path, description = "Tenant slug"),
        ("agent_id" = String, Path, description = "Agent id (UUID)")
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new link, shown once", body = EnrollmentLink),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent (also an agent of another tenant)", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "The agent already has a password", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn reissue_enrollment(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let agent_id = agent_id(&path.1)?;
    let now = state.now();
    let expires_at = now + state.config.enrollment_ttl();
    let mut conn = state.pool.get().await?;
    let token =
        operations::reissue_enrollment(&mut conn, &who.tenant, agent_id, now, expires_at).await?;
    tracing::info!(agent_id = %agent_id, tenant = %who.tenant.slug, by = %who.agent_id, "enrollment link issued again");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(EnrollmentLink {
            enrollment_url: state.config.enrollment_link(&who.tenant.slug, &token),
            enrollment_expires_at: expires_at,
        }))
}

/// 422 naming the password when it is out of bounds.
fn check_password(password: &SecretString) -> Result<(), ApiError> {
    let text = password.expose_secret();
    let mut errors = FieldErrors::new();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > MAX_PASSWORD_BYTES {
        errors.insert(
            "password".into(),
            vec![format!(
                "The password field must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes."
            )],
        );
    }
    ApiError::fail_if_any(errors)
}

/// Sets the first password of an agent created through the API, with the one-time token of
/// its enrollment link; then `POST /tenants/{slug}/login` works with it
/// (`identity.agent.enrolled`). The link works once, before its expiry.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/password",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    request_body = EnrollmentRequest,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 400, description = "`invalid_token`: no such link (for this tenant)", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant", body = tessera_http::ErrorEnvelope),
        (status = 410, description = "`gone`, `reason` = `token_used` or `token_expired`", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "The password is too short or too long", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn enroll(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<EnrollmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    check_password(&body.password)?;
    let tenant = auth::tenant(&state, &path).await?;
    let token = body.token.expose_secret();
    let now = state.now();
    // Before hashing, so a made-up token costs no Argon2 run; checked again, locked, below.
    operations::check_enrollment(&mut *state.pool.get().await?, token, now).await?;
    let password_hash = state
        .hasher
        .hash(body.password)
        .await
        .map_err(ApiError::internal)?;
    // Taken after the hash: a request queued for the hasher holds no pooled connection.
    let mut conn = state.pool.get().await?;
    let agent_id = operations::enroll_agent(&mut conn, &tenant, token, &password_hash, now).await?;
    state.relay_wake.notify_one();
    tracing::info!(agent_id = %agent_id, tenant = %tenant.slug, "agent enrolled: first password set");
    Ok(HttpResponse::NoContent().finish())
}
