//! Moderation of quotations (seed 001): soft deletes, admin only (a token user with
//! `is_admin`, or the gateway role `moderator`) — `DELETE /api/quotations/{quotation}` and
//! `POST /api/quotations/bulk-delete` — and their undo with the same authorization,
//! `POST /api/quotations/{quotation}/restore` and `POST /api/quotations/bulk-restore`
//! (issue #20).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_http::{ApiError, FieldErrors};

use crate::caller::Caller;
use crate::db::quotations;
use crate::error::Error;
use crate::routes::history::{ListQuery, validate};
use crate::state::AppState;

/// What every delete and restore checks first: the API throttle, then an admin (401/403).
async fn admitted(state: &AppState, req: &HttpRequest, caller: &Caller) -> Result<(), ApiError> {
    crate::throttle::check(state, req, caller).await?;
    caller.require_admin()
}

/// Soft-deletes one quotation.
#[utoipa::path(delete, path = "/api/quotations/{quotation}", tag = "quotations", security(("bearer" = [])),
    params(("quotation" = i64, Path, description = "Quotation id")),
    responses((status = 200, description = "`{\"message\", \"data\": {\"id\", \"deleted\": true}}`"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 403, body = tessera_http::ErrorEnvelope),
              (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admitted(&state, &req, &caller).await?;
    let id = crate::routes::path_id(&path, Error::QuotationNotFound)?;
    let mut conn = state.pool.get().await?;
    if !quotations::soft_delete(&mut conn, id).await? {
        return Err(Error::QuotationNotFound.into());
    }
    Ok(HttpResponse::Ok().json(
        json!({"message": "Quotation deleted successfully.", "data": {"id": id, "deleted": true}}),
    ))
}

/// Soft-deletes every live quotation matching the filters (`symbol`, `type`, `source`,
/// `status`, `date_from`, `date_to`; both statuses unless `status` is given). `confirm` must be
/// `true`; without any filter, `delete_all` must be `true` as well.
#[utoipa::path(post, path = "/api/quotations/bulk-delete", tag = "quotations", security(("bearer" = [])),
    request_body(content = Object, description = "`{confirm: true, delete_all?, symbol?, type?, source?, status?, date_from?, date_to?}`"),
    responses((status = 200, description = "`{\"message\", \"data\": {\"deleted\": n}}`"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 403, body = tessera_http::ErrorEnvelope),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`confirm`/`delete_all`/filters")))]
pub async fn bulk(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    admitted(&state, &req, &caller).await?;
    let filters = bulk_filters(&state, &body, "delete_all", "delete every quotation")?;
    let mut conn = state.pool.get().await?;
    let n = quotations::soft_delete_matching(&mut conn, &filters).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"message": "Quotations deleted successfully.", "data": {"deleted": n}})))
}

/// The filters of a bulk request (`symbol`, `type`, `source`, `status`, `date_from`,
/// `date_to`), with `confirm: true` required and, without any filter, `<all_flag>: true` too.
///
/// # Errors
/// 422 naming every bad field.
fn bulk_filters(
    state: &AppState,
    body: &Value,
    all_flag: &str,
    everything: &str,
) -> Result<crate::db::quotations::Filters, ApiError> {
    let text = |k: &str| {
        body.get(k).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
    };
    let flag = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "true" || s == "1" => Some(true),
        Some(Value::String(s)) if s == "false" || s == "0" => Some(false),
        Some(Value::Number(n)) => n.as_i64().map(|n| n == 1),
        Some(_) => None,
    };
    let query = ListQuery {
        symbol: text("symbol"),
        kind: text("type"),
        source: text("source"),
        status: text("status"),
        include_invalid: Some("true".to_owned()),
        date_from: text("date_from"),
        date_to: text("date_to"),
        per_page: None,
        page: None,
    };
    let (filters, mut errors) = match validate(state, &query) {
        Ok((filters, _, _)) => (Some(filters), FieldErrors::new()),
        Err(e) => (None, e.envelope().errors.unwrap_or_default()),
    };
    if flag("confirm") != Some(true) {
        errors.insert(
            "confirm".into(),
            vec!["The confirm field must be true.".into()],
        );
    }
    let has_filter = ["symbol", "type", "source", "status", "date_from", "date_to"]
        .iter()
        .any(|k| text(k).is_some_and(|v| !v.is_empty()));
    match flag(all_flag) {
        None => {
            errors.insert(
                all_flag.into(),
                vec![format!("The {all_flag} field must be true or false.")],
            );
        }
        Some(false) if !has_filter => {
            errors.insert(
                all_flag.into(),
                vec![format!(
                    "Without filters, {all_flag} must be true to {everything}."
                )],
            );
        }
        _ => {}
    }
    match filters {
        Some(filters) if errors.is_empty() => Ok(filters),
        _ => Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        )),
    }
}

/// Restores one soft-deleted quotation (same authorization as deleting it).
#[utoipa::path(post, path = "/api/quotations/{quotation}/restore", tag = "quotations", security(("bearer" = [])),
    params(("quotation" = i64, Path, description = "Quotation id")),
    responses((status = 200, description = "`{\"message\", \"data\": {\"id\", \"deleted\": false}}`"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 403, body = tessera_http::ErrorEnvelope),
              (status = 404, body = tessera_http::ErrorEnvelope, description = "`not_found`: no soft-deleted quotation with that id"),
              (status = 409, body = tessera_http::ErrorEnvelope, description = "`conflict`: an equivalent quotation (symbol, source, time, price) is live")))]
pub async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admitted(&state, &req, &caller).await?;
    let id = crate::routes::path_id(&path, Error::DeletedQuotationNotFound)?;
    let mut conn = state.pool.get().await?;
    match quotations::restore(&mut conn, id)
        .await?
    {
        quotations::Restore::Restored => Ok(HttpResponse::Ok().json(
            json!({"message": "Quotation restored successfully.", "data": {"id": id, "deleted": false}}),
        )),
        quotations::Restore::NotFound => Err(Error::DeletedQuotationNotFound.into()),
        quotations::Restore::Duplicate => Err(Error::RestoreWouldDuplicate.into()),
    }
}

/// Restores every soft-deleted quotation matching the filters (as `bulk-delete`'s; `confirm`
/// must be `true`, and without any filter `restore_all` too). One with a live equivalent is
/// skipped (and, among several deleted equivalents, only the newest is restored).
#[utoipa::path(post, path = "/api/quotations/bulk-restore", tag = "quotations", security(("bearer" = [])),
    request_body(content = Object, description = "`{confirm: true, restore_all?, symbol?, type?, source?, status?, date_from?, date_to?}`"),
    responses((status = 200, description = "`{\"message\", \"data\": {\"restored\": n, \"skipped\": n}}`"),
              (status = 401, body = tessera_http::ErrorEnvelope), (status = 403, body = tessera_http::ErrorEnvelope),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`confirm`/`restore_all`/filters")))]
pub async fn bulk_restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    admitted(&state, &req, &caller).await?;
    let filters = bulk_filters(&state, &body, "restore_all", "restore every quotation")?;
    let mut conn = state.pool.get().await?;
    let (restored, skipped) = quotations::restore_matching(&mut conn, &filters).await?;
    Ok(
        HttpResponse::Ok().json(json!({"message": "Quotations restored successfully.",
        "data": {"restored": restored, "skipped": skipped}})),
    )
}
