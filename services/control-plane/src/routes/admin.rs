//! The operator API (bearer `CP_ADMIN_TOKEN`): white labels, relationships, API keys.
//!
//! Bodies are camelCase; one resource under a named key, lists as a plural key plus `meta`.
//! Every change clears this replica's registry cache at once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::pagination::{PageMeta, PageParams};
use tessera_http::{ApiError, FieldErrors};

use crate::auth::Admin;
use crate::error::{db_error, pool_error};
use crate::registry::{
    self, ACTIVE, ApiKeyInfo, Relationship, WhiteLabel, valid_status, valid_wl_id,
};
use crate::scopes;
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
    pub status: Option<String>,
}

/// `PATCH /wls/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateWlRequest {
    /// New display name.
    pub name: Option<String>,
    /// `active` | `inactive`.
    pub status: Option<String>,
}

/// `PUT /wls/{importerId}/relationships/{targetId}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RelationshipRequest {
    /// Scopes the importer may request for the target (known scopes only, non-empty).
    #[schema(required = true, example = json!(["offers:sync", "trader:purchase"]))]
    pub scopes: Option<Vec<String>>,
    /// `active` (default) or `inactive`.
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

/// `{"relationship": …}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelationshipResponse {
    /// The relationship.
    pub relationship: Relationship,
}

/// `{"relationships": […], "meta": …}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelationshipListResponse {
    /// One page of the importer's relationships.
    pub relationships: Vec<Relationship>,
    /// Pagination.
    pub meta: PageMeta,
}

/// `{"apiKey": …, "secret": "cpk_…"}`: the secret is shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKeyResponse {
    /// Metadata.
    pub api_key: ApiKeyInfo,
    /// The key itself; store it now, it cannot be shown again.
    pub secret: String,
}

/// `{"apiKeys": […]}` (newest 100).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyListResponse {
    /// Metadata only.
    pub api_keys: Vec<ApiKeyInfo>,
}

fn meta(p: &PageParams, total: i64) -> PageMeta {
    PageMeta {
        page: p.page.unwrap_or(1),
        per_page: p
            .per_page
            .unwrap_or(tessera_http::pagination::DEFAULT_PER_PAGE),
        total,
    }
}

fn check_status(status: Option<&str>, errors: &mut FieldErrors) {
    if let Some(s) = status
        && !valid_status(s)
    {
        errors
            .entry("status".to_owned())
            .or_default()
            .push("The status must be active or inactive.".to_owned());
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
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    match body.id.as_deref() {
        None => errors.entry("id".into()).or_default().push("The id field is required.".into()),
        Some(id) if !valid_wl_id(id) => errors
            .entry("id".into())
            .or_default()
            .push("The id must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.".into()),
        Some(_) => {}
    }
    match body.name.as_deref().map(str::trim) {
        None | Some("") => errors
            .entry("name".into())
            .or_default()
            .push("The name field is required.".into()),
        Some(n) if n.chars().count() > 200 => errors
            .entry("name".into())
            .or_default()
            .push("The name may not exceed 200 characters.".into()),
        Some(_) => {}
    }
    check_status(body.status.as_deref(), &mut errors);
    ApiError::fail_if_any(errors)?;
    let (Some(id), Some(name)) = (body.id, body.name) else {
        return Err(ApiError::internal(std::io::Error::other(
            "validated fields missing",
        )));
    };
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let wl = registry::create_wl(
        &mut conn,
        &id,
        name.trim(),
        body.status.as_deref().unwrap_or(ACTIVE),
    )
    .await
    .map_err(|e| db_error(e, "A white label with this id"))?;
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
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let (rows, total) = registry::list_wls(&mut conn, limit, offset)
        .await
        .map_err(|e| db_error(e, "White label"))?;
    Ok(HttpResponse::Ok().json(WlListResponse {
        white_labels: rows,
        meta: meta(&page, total),
    }))
}

/// One white label.
#[utoipa::path(get, path = "/wls/{id}", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 200, body = WlResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn get_wl(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let wl = registry::get_wl(&mut conn, &id)
        .await
        .map_err(|e| db_error(e, "White label"))?
        .ok_or_else(|| ApiError::not_found("White label not found."))?;
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
    check_status(body.status.as_deref(), &mut errors);
    if let Some(n) = body.name.as_deref()
        && (n.trim().is_empty() || n.chars().count() > 200)
    {
        errors
            .entry("name".into())
            .or_default()
            .push("The name must be 1-200 characters.".into());
    }
    ApiError::fail_if_any(errors)?;
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let wl = registry::update_wl(
        &mut conn,
        &id,
        body.name.as_deref().map(str::trim),
        body.status.as_deref(),
    )
    .await
    .map_err(|e| db_error(e, "White label"))?
    .ok_or_else(|| ApiError::not_found("White label not found."))?;
    state.registry.invalidate();
    tracing::info!(wl.id = %wl.id, status = %wl.status, "white label updated");
    Ok(HttpResponse::Ok().json(WlResponse { white_label: wl }))
}

/// Creates or replaces the importer → target relationship (201 created, 200 replaced).
#[utoipa::path(put, path = "/wls/{importerId}/relationships/{targetId}", tag = "operator",
    params(("importerId" = String, Path), ("targetId" = String, Path)), request_body = RelationshipRequest, security(("adminToken" = [])),
    responses((status = 200, body = RelationshipResponse), (status = 201, body = RelationshipResponse), (status = 401, body = tessera_http::ErrorEnvelope),
        (status = 404, body = tessera_http::ErrorEnvelope), (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn put_relationship(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<RelationshipRequest>,
) -> Result<HttpResponse, ApiError> {
    let (importer, target) = path.into_inner();
    let mut errors = FieldErrors::new();
    let scopes = match scopes::parse(body.scopes.as_deref(), &state.known_scopes) {
        Ok(list) => {
            if !list.unknown.is_empty() {
                errors.insert("scopes".into(), scopes::unknown_messages(&list.unknown));
            }
            list.known
        }
        Err(message) => {
            errors.insert("scopes".into(), vec![message.to_owned()]);
            Vec::new()
        }
    };
    check_status(body.status.as_deref(), &mut errors);
    if importer == target {
        errors
            .entry("targetId".into())
            .or_default()
            .push("A white label cannot import from itself.".into());
    }
    ApiError::fail_if_any(errors)?;
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let (rel, created) = registry::upsert_relationship(
        &mut conn,
        &importer,
        &target,
        &scopes,
        body.status.as_deref().unwrap_or(ACTIVE),
    )
    .await
    .map_err(|e| db_error(e, "Relationship"))?;
    state.registry.invalidate();
    tracing::info!(importer = %importer, target = %target, scopes = ?rel.scopes, "relationship set");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(RelationshipResponse { relationship: rel }))
}

/// Lists an importer's relationships.
#[utoipa::path(get, path = "/wls/{importerId}/relationships", tag = "operator", params(("importerId" = String, Path), PageParams),
    security(("adminToken" = [])), responses((status = 200, body = RelationshipListResponse), (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn list_relationships(
    _: Admin,
    state: web::Data<AppState>,
    importer: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let (rows, total) = registry::list_relationships(&mut conn, &importer, limit, offset)
        .await
        .map_err(|e| db_error(e, "Relationship"))?;
    Ok(HttpResponse::Ok().json(RelationshipListResponse {
        relationships: rows,
        meta: meta(&page, total),
    }))
}

/// Deletes a relationship.
#[utoipa::path(delete, path = "/wls/{importerId}/relationships/{targetId}", tag = "operator",
    params(("importerId" = String, Path), ("targetId" = String, Path)), security(("adminToken" = [])),
    responses((status = 204), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn delete_relationship(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (importer, target) = path.into_inner();
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    if !registry::delete_relationship(&mut conn, &importer, &target)
        .await
        .map_err(|e| db_error(e, "Relationship"))?
    {
        return Err(ApiError::not_found("Relationship not found."));
    }
    state.registry.invalidate();
    Ok(HttpResponse::NoContent().finish())
}

/// Issues an API key for a white label (the secret is in this response only).
#[utoipa::path(post, path = "/wls/{id}/api-keys", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 201, body = NewApiKeyResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn issue_api_key(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let key = registry::issue_api_key(&mut conn, &id)
        .await
        .map_err(|e| db_error(e, "API key"))?;
    tracing::info!(wl.id = %id, key.id = %key.info.id, "API key issued");
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(NewApiKeyResponse {
            api_key: key.info,
            secret: key.plaintext,
        }))
}

/// Lists a white label's API keys (metadata only).
#[utoipa::path(get, path = "/wls/{id}/api-keys", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 200, body = ApiKeyListResponse), (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn list_api_keys(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    let keys = registry::list_api_keys(&mut conn, &id)
        .await
        .map_err(|e| db_error(e, "API key"))?;
    Ok(HttpResponse::Ok().json(ApiKeyListResponse { api_keys: keys }))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/wls/{id}/api-keys/{keyId}", tag = "operator", params(("id" = String, Path), ("keyId" = uuid::Uuid, Path)),
    security(("adminToken" = [])),
    responses((status = 204), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn revoke_api_key(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, uuid::Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (wl, key_id) = path.into_inner();
    let mut conn = state.registry.pool().get().await.map_err(pool_error)?;
    if !registry::revoke_api_key(&mut conn, &wl, key_id)
        .await
        .map_err(|e| db_error(e, "API key"))?
    {
        return Err(ApiError::not_found("API key not found."));
    }
    state.registry.invalidate();
    tracing::info!(wl.id = %wl, key.id = %key_id, "API key revoked");
    Ok(HttpResponse::NoContent().finish())
}
