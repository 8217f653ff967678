//! `GET /users` (the staff list), `GET /users/{id}`, `PATCH /users/{id}` (profile), `PATCH /users/{id}/status` (analyst
//! decision).

use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::Value;
use tessera_http::ApiError;

use crate::auth::{ADMIN_USERS, Principal, Role, USERS_READ, USERS_WRITE};
use crate::db::users;
use crate::db::users::ProfileChange;
use crate::db::users::StatusChange;
use crate::domain::{UserId, UserStatus};
use crate::error::Error;
use crate::operations;
use crate::routes::listing::{self, ListQuery, Page};
use crate::state::AppState;
use crate::validation::{STATUS_CHANGE, USER_UPDATE};
use crate::view::User;

fn user_id(path: &str) -> Result<UserId, Error> {
    path.parse().map_err(|_| Error::UserNotFound)
}

/// Lists users for analysts and auditors, newest first, filtered by `status`, `role`, creation
/// time (`from`, `to`), a search in name and e-mail (`q`) and an exact `documentId` (through its
/// blind index). Documents are in clear only for analysts, as in `GET /users/{id}`.
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Page<User>),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error` naming the parameter"),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "No or invalid token"),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`reason` = `staff_only` (a producer) or `missing_scope`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut r = listing::parse(&who, &req, &state.documents)?;
    (r.filter.created_from, r.filter.created_to) = r.range;
    let mut conn = state.pool.get().await?;
    let (rows, total) =
        crate::db::user_filter::list(&mut conn, &r.filter, r.limit, r.offset).await?;
    let data = rows
        .into_iter()
        .map(|row| User::of(row, &who, &state.documents))
        .collect::<Result<_, _>>()?;
    let meta = r.meta(total);
    Ok(tessera_http::pagination::page_response(&req, &meta).json(Page { data, meta }))
}

/// A user's profile: producers read their own; analysts and auditors anyone's. The document
/// is in clear only for analysts.
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = User),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "No or invalid token"),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`reason` = `missing_scope` or `not_owner`"),
              (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(USERS_READ)?;
    let id = user_id(&path)?;
    if !who.may_read(id) {
        return Err(Error::NotOwner.into());
    }
    let mut conn = state.pool.get().await?;
    let row = users::user(&mut conn, id)
        .await?
        .ok_or(Error::UserNotFound)?;
    Ok(HttpResponse::Ok().json(User::of(row, &who, &state.documents)?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserUpdate {
    #[serde(default)]
    name: Option<String>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    farm_data: Option<Option<Value>>,
}

/// Distinguishes a `null` member (`Some(None)`) from an absent one (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Changes profile fields (`name`, `farmData`): a user its own (with `users:write`), analysts
/// anyone's.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = User),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error`"),
              (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`reason` = `missing_scope` or `not_owner`"),
              (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn update(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    who.require(USERS_WRITE)?;
    let id = user_id(&path)?;
    if id != who.user_id && who.role != Role::Analyst {
        return Err(Error::NotOwner.into());
    }
    let u: UserUpdate = state.schemas.check(USER_UPDATE, body.into_inner())?;
    let change = ProfileChange {
        name: u.name.map(|n| n.trim().to_owned()),
        farm_data: u.farm_data,
    };
    let now = state.now();
    let mut conn = state.pool.get().await?;
    let row = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let row = users::update_profile(c, id, &change, now).await?;
            if row.is_some() {
                users::record_history(c, id, "updated", Some(who.user_id), None, now).await?;
            }
            Ok(row)
        })
        .await?
        .ok_or(Error::UserNotFound)?;
    Ok(HttpResponse::Ok().json(User::of(row, &who, &state.documents)?))
}

#[derive(Debug, Deserialize)]
struct StatusRequest {
    status: UserStatus,
    #[serde(default)]
    reason: Option<String>,
}

/// An analyst's decision on a `PENDING` user (`admin:users`): `APPROVED`, or `REJECTED` with
/// a reason. Publishes `users.user.approved` / `users.user.rejected`; the user is notified.
#[utoipa::path(patch, path = "/users/{id}/status", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = User),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error` (a rejection without `reason`, an unknown status)"),
              (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`reason` = `missing_scope`: no `admin:users`"),
              (status = 404, body = tessera_http::ErrorEnvelope),
              (status = 409, body = tessera_http::ErrorEnvelope, description = "`reason` = `invalid_status_transition`: the user is not PENDING")))]
pub async fn change_status(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    who.require(ADMIN_USERS)?;
    let id = user_id(&path)?;
    let r: StatusRequest = state.schemas.check(STATUS_CHANGE, body.into_inner())?;
    let reason = r.reason.map(|s| s.trim().to_owned());
    let now = state.now();
    let mut conn = state.pool.get().await?;
    let outcome = operations::decide_registration(
        &mut conn,
        id,
        r.status,
        reason.as_deref(),
        who.user_id,
        now,
    )
    .await?;
    match outcome {
        StatusChange::Changed(row) => {
            state.relay_wake.notify_one();
            Ok(HttpResponse::Ok().json(User::of(*row, &who, &state.documents)?))
        }
        StatusChange::NotPending(current) => Err(Error::NotPending(current).into()),
        StatusChange::NotFound => Err(Error::UserNotFound.into()),
    }
}
