//! The operator API's bindings (bearer `BROKER_ADMIN_TOKEN`): which sandbox may obtain which
//! agent's upstream tokens, and their suspension.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use tessera_http::pagination::{PageMeta, PageParams};
use tessera_http::{ApiError, FieldErrors};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::operator;
use crate::db::binding_status::{self, OperatorChange};
use crate::db::bindings;
use crate::db::bindings::{BindingFilter, BindingView, UpstreamView};
use crate::domain::BindingStatus;
use crate::error::Error;
use crate::hosts;
use crate::state::AppState;

/// `POST /api/bindings` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingCreate {
    /// Sandbox id (`[A-Za-z0-9][A-Za-z0-9._-]{0,199}`).
    pub sandbox_id: String,
    /// Owner's identity tenant slug.
    pub tenant: String,
    /// Owner's identity agent id.
    pub agent_id: Uuid,
    /// Optional expiry.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed upstreams (1..=20), each with 1..=50 scopes.
    pub upstreams: Vec<UpstreamView>,
}

/// A page of bindings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingList {
    /// The bindings.
    pub data: Vec<BindingView>,
    /// Page metadata.
    pub meta: PageMeta,
}

fn validate(body: &BindingCreate) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let mut errors = FieldErrors::new();
    let id_ok = !body.sandbox_id.is_empty()
        && body.sandbox_id.len() <= 200
        && body
            .sandbox_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && body
            .sandbox_id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !id_ok {
        errors.insert(
            "sandbox_id".into(),
            vec!["The sandbox_id must match [A-Za-z0-9][A-Za-z0-9._-]{0,199}.".into()],
        );
    }
    if body.tenant.trim().is_empty() {
        errors.insert(
            "tenant".into(),
            vec!["The tenant field is required.".into()],
        );
    }
    let mut ups = Vec::new();
    if body.upstreams.is_empty() || body.upstreams.len() > 20 {
        errors.insert("upstreams".into(), vec!["List 1 to 20 upstreams.".into()]);
    }
    for (i, u) in body.upstreams.iter().enumerate() {
        match hosts::normalise(&u.host) {
            Some(h)
                if !u.scopes.is_empty()
                    && u.scopes.len() <= 50
                    && u.scopes.iter().all(|s| !s.is_empty()) =>
            {
                ups.push((h, u.scopes.clone()));
            }
            Some(_) => {
                errors.insert(
                    format!("upstreams.{i}.scopes"),
                    vec!["List 1 to 50 non-empty scopes.".into()],
                );
            }
            None => {
                errors.insert(
                    format!("upstreams.{i}.host"),
                    vec!["A plain lower-case host name, no port or trailing dot.".into()],
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(ups)
    } else {
        Err(ApiError::validation(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ))
    }
}

/// Creates a binding (409 if the sandbox is already bound).
#[utoipa::path(post, path = "/api/bindings", tag = "operator", security(("adminToken" = [])), request_body = BindingCreate,
    responses((status = 201, body = BindingView), (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 409, body = tessera_http::ErrorEnvelope), (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn create_binding(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<BindingCreate>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let ups = validate(&body)?;
    let mut conn = state.pool.get().await?;
    let id = body.sandbox_id.clone();
    conn.transaction::<(), diesel::result::Error, _>(async |c| {
        if bindings::binding(c, &id).await?.is_some() {
            return Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                Box::new(String::from("binding exists")),
            ));
        }
        bindings::put_binding(c, &id, &body.tenant, body.agent_id, body.expires_at, &ups).await
    })
    .await?;
    Ok(HttpResponse::Created().json(view_of(&mut conn, &id).await?))
}

/// The operator's view of binding `sandbox_id`.
async fn view_of(
    conn: &mut diesel_async::AsyncPgConnection,
    sandbox_id: &str,
) -> Result<BindingView, ApiError> {
    Ok(bindings::view(conn, sandbox_id)
        .await?
        .ok_or(Error::BindingNotFound)?)
}

/// `?sandbox_id=&status=&tenant=&agent_id=&upstream_host=&page=&per_page=`: filters combine
/// with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BindingQuery {
    /// Only this sandbox.
    pub sandbox_id: Option<String>,
    /// Only this status: `active`, `suspended` or `revoked`.
    pub status: Option<BindingStatus>,
    /// Only this identity tenant.
    pub tenant: Option<String>,
    /// Only this identity agent.
    pub agent_id: Option<Uuid>,
    /// Only bindings allowing this upstream host (compared normalised: case, trailing dot).
    pub upstream_host: Option<String>,
    /// 1-based page number.
    pub page: Option<u32>,
    /// Items per page, 1..=100 (default 20).
    pub per_page: Option<u32>,
}

/// `POST /api/bindings/{sandbox_id}/suspend` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why (1 to 500 characters), shown as the binding's `status_reason`.
    pub reason: String,
}

/// Sets binding `sandbox_id`'s status as an operator (`reason`: suspend with it; `None`:
/// reactivate) and answers with its view: 404 for no such binding, 409 for a revoked one.
async fn operator_set_status(
    state: &AppState,
    sandbox_id: &str,
    reason: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    match binding_status::operator_set_status(&mut conn, sandbox_id, reason).await? {
        OperatorChange::Changed => {}
        OperatorChange::NotFound => return Err(Error::BindingNotFound.into()),
        OperatorChange::Revoked => return Err(Error::BindingRevoked.into()),
    }
    Ok(HttpResponse::Ok().json(view_of(&mut conn, sandbox_id).await?))
}

/// Suspends a binding: its sandbox gets no tokens until an operator reactivates it (identity
/// events never bring back a binding an operator suspended).
#[utoipa::path(post, path = "/api/bindings/{sandbox_id}/suspend", tag = "operator", security(("adminToken" = [])),
    params(("sandbox_id" = String, Path)), request_body = SuspendRequest,
    responses((status = 200, body = BindingView, description = "Suspended (`suspended_by`: `operator`)"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope),
              (status = 409, body = tessera_http::ErrorEnvelope, description = "`reason` = `binding_revoked`"),
              (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn suspend_binding(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SuspendRequest>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid_field(
            "reason",
            "The reason field must have 1 to 500 characters.",
        ));
    }
    operator_set_status(&state, &path, Some(reason)).await
}

/// Reactivates a suspended binding, whoever suspended it (an operator, the agent's
/// disablement, or role revocations); an active one stays active.
#[utoipa::path(post, path = "/api/bindings/{sandbox_id}/reactivate", tag = "operator", security(("adminToken" = [])),
    params(("sandbox_id" = String, Path)),
    responses((status = 200, body = BindingView, description = "Active"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope),
              (status = 409, body = tessera_http::ErrorEnvelope, description = "`reason` = `binding_revoked`")))]
pub async fn reactivate_binding(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    operator_set_status(&state, &path, None).await
}

/// Lists bindings by sandbox id, filtered by sandbox, status, tenant, agent and upstream host.
#[utoipa::path(get, path = "/api/bindings", tag = "operator", security(("adminToken" = [])), params(BindingQuery),
    responses((status = 200, body = BindingList), (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "A parameter out of range or unknown")))]
pub async fn list_bindings(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<BindingQuery>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let query = query.into_inner();
    let page = PageParams {
        page: query.page,
        per_page: query.per_page,
    };
    let (limit, offset) = page.limit_offset()?;
    let upstream_host = match &query.upstream_host {
        Some(h) => Some(hosts::normalise(h).ok_or_else(|| {
            ApiError::invalid_field("upstream_host", "A plain host name, no port or path.")
        })?),
        None => None,
    };
    let filter = BindingFilter {
        sandbox_id: query.sandbox_id,
        status: query.status,
        tenant: query.tenant,
        agent_id: query.agent_id,
        upstream_host,
    };
    let mut conn = state.pool.get().await?;
    let (data, total) = bindings::list_bindings(&mut conn, &filter, limit, offset).await?;
    let meta = page.meta(total);
    Ok(tessera_http::pagination::page_response(&req, &meta).json(BindingList { data, meta }))
}

/// Deletes a binding: its sandbox gets no more tokens.
#[utoipa::path(delete, path = "/api/bindings/{sandbox_id}", tag = "operator", security(("adminToken" = [])),
    params(("sandbox_id" = String, Path)),
    responses((status = 204), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn delete_binding(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let mut conn = state.pool.get().await?;
    if bindings::delete_binding(&mut conn, &path).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(Error::BindingNotFound.into())
    }
}
