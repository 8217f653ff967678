//! The operator API's audit log (bearer `BROKER_ADMIN_TOKEN`): every token request, newest
//! first.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use tessera_http::pagination::{PageMeta, PageParams};
use utoipa::{IntoParams, ToSchema};

use crate::auth::operator;
use crate::db::audit_log;
use crate::db::audit_log::AuditView;
use crate::state::AppState;

/// A page of audit rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Rows, newest first.
    pub data: Vec<AuditView>,
    /// Page metadata.
    pub meta: PageMeta,
}

/// `?sandbox_id=&page=&per_page=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SandboxFilter {
    /// Only this sandbox.
    pub sandbox_id: Option<String>,
    /// 1-based page number.
    pub page: Option<u32>,
    /// Items per page, 1..=100 (default 20).
    pub per_page: Option<u32>,
}

impl SandboxFilter {
    fn page(&self) -> PageParams {
        PageParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// The audit log, newest first (optionally one sandbox's).
#[utoipa::path(get, path = "/api/audit", tag = "operator", security(("adminToken" = [])), params(SandboxFilter),
    responses((status = 200, body = AuditList), (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn list_audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<SandboxFilter>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let page = filter.page();
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.pool.get().await?;
    let (data, total) =
        audit_log::list_audit(&mut conn, filter.sandbox_id.as_deref(), limit, offset).await?;
    let meta = page.meta(total);
    Ok(tessera_http::pagination::page_response(&req, &meta).json(AuditList { data, meta }))
}
