//! Role assignments (seed 002): list, create-or-update, delete. Every call needs a fully
//! authenticated `admin` of the same tenant. Changes publish `identity.role.assigned` /
//! `identity.role.revoked` through the outbox in the same transaction.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use tessera_http::pagination::PageParams;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{ADMIN_ROLE, Admin};
use crate::db::role_assignments::RoleRow;
use crate::db::{agents, role_assignments};
use crate::domain::AgentId;
use crate::events::{self, AgentEvent};
use crate::state::AppState;

/// `RoleAssignmentRead`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleAssignmentRead {
    /// The agent.
    pub agent_id: Uuid,
    /// The agent's e-mail.
    pub agent_email: String,
    /// The role.
    pub role: String,
    /// When it was (last) assigned.
    pub assigned_at: DateTime<Utc>,
}

impl From<RoleRow> for RoleAssignmentRead {
    fn from(r: RoleRow) -> Self {
        Self {
            agent_id: r.agent_id.into(),
            agent_email: r.agent_email,
            role: r.role,
            assigned_at: r.assigned_at,
        }
    }
}

/// `RoleAssignmentUpdate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentUpdate {
    /// One of `IDENTITY_ROLES` (default `admin`, `supervisor`, `agent`, `viewer`, `moderator`).
    #[schema(example = "supervisor")]
    pub role: String,
}

/// Errors a role transaction can end with.
enum TxError {
    Db(diesel::result::Error),
    LastAdmin,
    NotFound,
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl TxError {
    fn into_api(self) -> ApiError {
        match self {
            Self::Db(e) => ApiError::from(e),
            Self::LastAdmin => {
                ApiError::conflict("The tenant's last active admin cannot lose the admin role.")
            }
            Self::NotFound => ApiError::not_found("Role assignment not found."),
        }
    }
}

/// Parses an agent id of the path; a malformed one is simply not found.
pub fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("Agent not found."))
}

/// Lists the tenant's role assignments, oldest first: a JSON array (seed 002's shape), paged
/// with `?page=&per_page=` (default 20, at most 100); `X-Total-Count` gives the total and
/// `Link` (RFC 8288) the `first`/`prev`/`next`/`last` pages.
#[utoipa::path(
    get,
    path = "/tenants/{tenant_slug}/roles",
    tag = "roles",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of assignments", body = [RoleAssignmentRead],
         headers(("X-Total-Count" = i64, description = "Total assignments"), ("Link" = String, description = "RFC 8288 first, prev, next and last pages"))),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant, or a token of another tenant", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Bad page parameters", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn list_roles(
    state: web::Data<AppState>,
    Admin(who): Admin,
    page: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.pool.get().await?;
    let (rows, total) =
        role_assignments::list_roles(&mut conn, who.tenant.id, limit, offset).await?;
    let items: Vec<RoleAssignmentRead> = rows.into_iter().map(Into::into).collect();
    let mut resp = tessera_http::pagination::page_response(&req, &page.meta(total));
    resp.insert_header((
        HeaderName::from_static("x-total-count"),
        HeaderValue::from(total),
    ));
    Ok(resp.json(items))
}

/// Gives an agent of the tenant a role (creating or replacing its assignment).
#[utoipa::path(
    put,
    path = "/tenants/{tenant_slug}/roles/{agent_id}",
    tag = "roles",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    request_body = RoleAssignmentUpdate,
    responses(
        (status = 200, description = "The assignment", body = RoleAssignmentRead),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent (also an agent of another tenant)", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "Would leave the tenant without an active admin", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Unknown role", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn put_role(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
    body: web::Json<RoleAssignmentUpdate>,
) -> Result<HttpResponse, ApiError> {
    let agent_id = agent_id(&path.1)?;
    let role = body.into_inner().role;
    if !state.roles.contains(&role) {
        return Err(ApiError::invalid_field(
            "role",
            format!("The role must be one of: {}.", state.roles.join(", ")),
        ));
    }
    let now = state.now();
    let mut conn = state.pool.get().await?;
    let agent = agents::agent(&mut conn, who.tenant.id, agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found."))?;
    let tenant = who.tenant.clone();
    let actor = who.agent_id;
    let row = conn
        .transaction::<RoleRow, TxError, _>(async |c| {
            let (row, previous) = role_assignments::put_role(c, &agent, &role, actor, now).await?;
            if previous.as_deref() == Some(ADMIN_ROLE)
                && role != ADMIN_ROLE
                && role_assignments::count_active_with_role(c, tenant.id, ADMIN_ROLE).await? == 0
            {
                return Err(TxError::LastAdmin);
            }
            if previous.as_deref() != Some(role.as_str()) {
                let data = AgentEvent {
                    tenant: tenant.slug.clone(),
                    agent_id: agent.id,
                    role: Some(role.clone()),
                };
                events::OUTBOX
                    .enqueue(c, events::ROLE_ASSIGNED, data, now)
                    .await?;
                events::revoke_live_sessions(
                    c,
                    &tenant.slug,
                    agent.id,
                    events::RevocationReason::RoleChanged,
                    now,
                )
                .await?;
            }
            Ok(row)
        })
        .await
        .map_err(TxError::into_api)?;
    state.relay_wake.notify_one();
    Ok(HttpResponse::Ok().json(RoleAssignmentRead::from(row)))
}

/// Removes an agent's role assignment.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant_slug}/roles/{agent_id}",
    tag = "roles",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "No assignment for this agent in this tenant", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "Would leave the tenant without an active admin", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn delete_role(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let agent_id: AgentId = path
        .1
        .parse()
        .map_err(|_| ApiError::not_found("Role assignment not found."))?;
    let now = state.now();
    let tenant = who.tenant.clone();
    let mut conn = state.pool.get().await?;
    conn.transaction::<(), TxError, _>(async |c| {
        let role = role_assignments::delete_role(c, tenant.id, agent_id)
            .await?
            .ok_or(TxError::NotFound)?;
        if role == ADMIN_ROLE
            && role_assignments::count_active_with_role(c, tenant.id, ADMIN_ROLE).await? == 0
        {
            return Err(TxError::LastAdmin);
        }
        let data = AgentEvent {
            tenant: tenant.slug.clone(),
            agent_id,
            role: Some(role),
        };
        events::OUTBOX
            .enqueue(c, events::ROLE_REVOKED, data, now)
            .await?;
        events::revoke_live_sessions(
            c,
            &tenant.slug,
            agent_id,
            events::RevocationReason::RoleChanged,
            now,
        )
        .await?;
        Ok(())
    })
    .await
    .map_err(TxError::into_api)?;
    state.relay_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}
