//! `DELETE /api/quotations/{quotation}` and `POST /api/quotations/bulk-delete` (seed 001): soft
//! deletes, admin only (token user with `is_admin`, or gateway role `moderator`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_db::http::{db_error, pool_error};
use tessera_http::{ApiError, FieldErrors};

use crate::auth::Caller;
use crate::routes::history::{ListQuery, validate};
use crate::state::AppState;
use crate::store;

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
    crate::throttle::check(&state, &req, &caller).await?;
    caller.require_admin()?;
    let not_found = || ApiError::not_found("Quotation not found.");
    let id: i64 = path.parse().map_err(|_| not_found())?;
    let mut conn = state.pool.get().await.map_err(pool_error)?;
    if !store::soft_delete(&mut conn, id)
        .await
        .map_err(|e| db_error(e, "Quotation"))?
    {
        return Err(not_found());
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
    crate::throttle::check(&state, &req, &caller).await?;
    caller.require_admin()?;
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
    let mut errors = match validate(&state, &query) {
        Ok(_) => FieldErrors::new(),
        Err(e) => e.envelope().errors.unwrap_or_default(),
    };
    let confirm = flag("confirm");
    if confirm != Some(true) {
        errors.insert(
            "confirm".into(),
            vec!["The confirm field must be true.".into()],
        );
    }
    let delete_all = flag("delete_all");
    let has_filter = ["symbol", "type", "source", "status", "date_from", "date_to"]
        .iter()
        .any(|k| text(k).is_some_and(|v| !v.is_empty()));
    match delete_all {
        None => {
            errors.insert(
                "delete_all".into(),
                vec!["The delete_all field must be true or false.".into()],
            );
        }
        Some(false) if !has_filter => {
            errors.insert(
                "delete_all".into(),
                vec!["Without filters, delete_all must be true to delete every quotation.".into()],
            );
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ));
    }
    let (filters, _, _) = validate(&state, &query)?;
    let mut conn = state.pool.get().await.map_err(pool_error)?;
    let n = store::soft_delete_matching(&mut conn, &filters)
        .await
        .map_err(|e| db_error(e, "Quotation"))?;
    Ok(HttpResponse::Ok()
        .json(json!({"message": "Quotations deleted successfully.", "data": {"deleted": n}})))
}
