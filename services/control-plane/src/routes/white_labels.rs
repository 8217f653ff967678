//! `/wls` and `/wls/{id}` (operator, bearer `CP_ADMIN_TOKEN`): create, list, read, rename,
//! activate and deactivate white labels.
//!
//! Bodies are camelCase; one resource under a named key, lists as a plural key plus `meta`.
//! Every change clears this replica's registry cache at once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::pagination::{PageMeta, PageParams};
use tessera_http::{ApiError, FieldErrors};

use super::status_field;
use crate::auth::Admin;
use crate::db::white_labels::{self, NewWhiteLabel, WhiteLabel, WhiteLabelChange};
use crate::domain::{STATUS_MESSAGE, Status, WlId};
use crate::error::Error;
use crate::state::AppState;

/// `POST /wls` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateWlRequest {
    /// Stable id: 1–63 chars of `[a-z0-9._-]`.
    #[schema(required = true, example = "wl-a")]
    pub id: Option<String>,
    /// Display name (1–200 chars).
    #[schema(required = true, example = "White Label A")]
    pub name: Option<String>,
    /// `active` (default) or `inactive`.
    #[schema(example = "active")]
    pub status: Option<String>,
}

/// `PATCH /wls/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateWlRequest {
    /// New display name.
    #[schema(example = "White Label A (EU)")]
    pub name: Option<String>,
    /// `active` | `inactive`.
    #[schema(example = "inactive")]
    pub status: Option<String>,
}

/// `{"whiteLabel": …}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WlResponse {
    /// The white label.
    pub white_label: WhiteLabel,
}

/// `{"whiteLabels": […], "meta": …}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WlListResponse {
    /// One page of white labels, by id.
    pub white_labels: Vec<WhiteLabel>,
    /// Pagination.
    pub meta: PageMeta,
}

/// A `POST /wls` body that passed validation.
#[derive(Debug)]
pub struct ValidCreate {
    id: WlId,
    name: String,
    status: Status,
}

impl TryFrom<CreateWlRequest> for ValidCreate {
    type Error = ApiError;

    fn try_from(body: CreateWlRequest) -> Result<Self, ApiError> {
        let id = match body.id.as_deref().map(WlId::parse) {
            None => Err("The id field is required.".to_owned()),
            Some(parsed) => parsed.map_err(|e| e.to_string()),
        };
        let name = match body.name.as_deref().map(str::trim) {
            None | Some("") => Err("The name field is required.".to_owned()),
            Some(n) if n.chars().count() > 200 => {
                Err("The name may not exceed 200 characters.".to_owned())
            }
            Some(n) => Ok(n.to_owned()),
        };
        let status = match body.status.as_deref() {
            None => Ok(Status::Active),
            Some(raw) => raw.parse().map_err(|_| STATUS_MESSAGE.to_owned()),
        };
        match (id, name, status) {
            (Ok(id), Ok(name), Ok(status)) => Ok(Self { id, name, status }),
            (id, name, status) => {
                // One 422 names every field in error.
                let errors: FieldErrors = [
                    ("id", id.err()),
                    ("name", name.err()),
                    ("status", status.err()),
                ]
                .into_iter()
                .filter_map(|(field, message)| Some((field.to_owned(), vec![message?])))
                .collect();
                Err(ApiError::validation(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    errors,
                ))
            }
        }
    }
}

/// Creates a white label.
#[utoipa::path(post, path = "/wls", tag = "operator", request_body = CreateWlRequest, security(("adminToken" = [])),
    responses((status = 201, body = WlResponse), (status = 401, body = tessera_http::ErrorEnvelope),
        (status = 409, description = "Id taken", body = tessera_http::ErrorEnvelope), (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn create_wl(
    _: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateWlRequest>,
) -> Result<HttpResponse, ApiError> {
    let valid = ValidCreate::try_from(body.into_inner())?;
    let mut conn = state.registry.pool().get().await?;
    let wl = NewWhiteLabel {
        id: &valid.id,
        name: &valid.name,
        status: valid.status,
    }
    .insert(&mut conn)
    .await?;
    state.registry.invalidate();
    tracing::info!(wl.id = %wl.id, "white label created");
    Ok(HttpResponse::Created().json(WlResponse { white_label: wl }))
}

/// Lists white labels.
#[utoipa::path(get, path = "/wls", tag = "operator", params(PageParams), security(("adminToken" = [])),
    responses((status = 200, body = WlListResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn list_wls(
    _: Admin,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.registry.pool().get().await?;
    let (rows, total) = white_labels::list(&mut conn, limit, offset).await?;
    let meta = page.meta(total);
    Ok(
        tessera_http::pagination::page_response(&req, &meta).json(WlListResponse {
            white_labels: rows,
            meta,
        }),
    )
}

/// One white label.
#[utoipa::path(get, path = "/wls/{id}", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 200, body = WlResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn get_wl(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await?;
    let wl = white_labels::find(&mut conn, &id)
        .await?
        .ok_or(Error::WhiteLabelNotFound)?;
    Ok(HttpResponse::Ok().json(WlResponse { white_label: wl }))
}

/// Renames, activates or deactivates a white label.
#[utoipa::path(patch, path = "/wls/{id}", tag = "operator", params(("id" = String, Path)), request_body = UpdateWlRequest, security(("adminToken" = [])),
    responses((status = 200, body = WlResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope),
        (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn update_wl(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<UpdateWlRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let status = status_field(body.status.as_deref(), &mut errors);
    if let Some(n) = body.name.as_deref()
        && (n.trim().is_empty() || n.chars().count() > 200)
    {
        errors
            .entry("name".into())
            .or_default()
            .push("The name must be 1-200 characters.".into());
    }
    ApiError::fail_if_any(errors)?;
    let change = WhiteLabelChange {
        name: body.name.as_deref().map(str::trim),
        status,
    };
    let mut conn = state.registry.pool().get().await?;
    let wl = white_labels::update(&mut conn, &id, &change, state.now()).await?;
    state.registry.invalidate();
    tracing::info!(wl.id = %wl.id, status = %wl.status, "white label updated");
    Ok(HttpResponse::Ok().json(WlResponse { white_label: wl }))
}
