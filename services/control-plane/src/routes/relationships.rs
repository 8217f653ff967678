//! `/wls/{importerId}/relationships[/{targetId}]` (operator): which white label may ask for
//! peer tokens to which, and with which scopes (seed 000 "visibility").

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::pagination::{PageMeta, PageParams};
use tessera_http::{ApiError, FieldErrors};

use super::status_field;
use crate::auth::Admin;
use crate::db::relationships::{self, Relationship};
use crate::domain::Status;
use crate::scopes;
use crate::state::AppState;

/// `PUT /wls/{importerId}/relationships/{targetId}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RelationshipRequest {
    /// Scopes the importer may request for the target (known scopes only, non-empty).
    #[schema(required = true, example = json!(["offers:sync", "trader:purchase"]))]
    pub scopes: Option<Vec<String>>,
    /// `active` (default) or `inactive`.
    #[schema(example = "active")]
    pub status: Option<String>,
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
    let status = status_field(body.status.as_deref(), &mut errors);
    if importer == target {
        errors
            .entry("targetId".into())
            .or_default()
            .push("A white label cannot import from itself.".into());
    }
    ApiError::fail_if_any(errors)?;
    let mut conn = state.registry.pool().get().await?;
    let (rel, created) = relationships::upsert(
        &mut conn,
        &importer,
        &target,
        &scopes,
        status.unwrap_or(Status::Active),
    )
    .await?;
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
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.registry.pool().get().await?;
    let (rows, total) = relationships::list(&mut conn, &importer, limit, offset).await?;
    let meta = page.meta(total);
    Ok(
        tessera_http::pagination::page_response(&req, &meta).json(RelationshipListResponse {
            relationships: rows,
            meta,
        }),
    )
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
    let mut conn = state.registry.pool().get().await?;
    relationships::delete(&mut conn, &importer, &target).await?;
    state.registry.invalidate();
    Ok(HttpResponse::NoContent().finish())
}
