//! `POST /registrations` (public sign-up, idempotent), `GET /registrations` (the analyst's
//! queue) and `GET /registrations/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use diesel_async::AsyncConnection;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use tessera_http::ApiError;

use crate::auth::{Principal, Role};
use crate::db::registrations;
use crate::db::registrations::Attachment;
use crate::db::users::NewUser;
use crate::db::users::Taken;
use crate::document;
use crate::domain::{RegistrationId, UserId, UserStatus};
use crate::error::Error;
use crate::events::{self, Registered, UserCandidate};
use crate::idempotency::{self, StoredResponse};
use crate::routes::listing::{self, ListQuery, Page};
use crate::state::AppState;
use crate::validation::REGISTRATION;
use crate::view::{Registration, RegistrationCreated, RegistrationSummary, User};

/// The body, once it passed `docs/schemas/users-registration/registration-request.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationRequest {
    name: String,
    email: String,
    document_id: String,
    role: Role,
    /// Optional (seed 004's payload has none): without it, the approval notification carries
    /// a one-time set-password link.
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    farm_data: Option<Value>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

/// Why a registration was not created.
enum Refusal {
    Taken(Taken),
    Replay(StoredResponse),
    Api(ApiError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

fn replayed(stored: StoredResponse) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK))
        .insert_header((idempotency::REPLAYED_HEADER, "true"))
        .json(stored.body)
}

/// Submits a producer's registration: creates the user `PENDING` and publishes
/// `users.user.registered`. With `Idempotency-Key`, a retry returns the first response.
#[utoipa::path(post, path = "/registrations", tag = "registrations",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; the first response is stored 24 h and replayed for the same body")),
    responses(
        (status = 201, body = RegistrationCreated, description = "Created; `Location: /registrations/{id}`"),
        (status = 200, body = RegistrationCreated, description = "Never: a replay answers the stored status (201) with `Idempotent-Replayed: true`"),
        (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error`: every failing field in `errors`; nothing stored"),
        (status = 409, body = tessera_http::ErrorEnvelope, description = "`conflict`: `reason` = `email_already_registered`, `document_already_registered` or `idempotency_key_in_flight`"),
        (status = 422, body = tessera_http::ErrorEnvelope, description = "`idempotency_key_reused`: same key, different body")))]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let key = idempotency::key(&req)?;
    let fingerprint = idempotency::fingerprint(&body);
    let r: RegistrationRequest = state.schemas.check(REGISTRATION, body)?;
    let now = state.now();
    // A retry of a finished request is answered before any hashing. Without a password there
    // is none to spare: the claim below answers the retry in the same round trips.
    if r.password.is_some()
        && let Some(k) = &key
        && let Some(stored) =
            idempotency::replay(&mut *state.pool.get().await?, k, &fingerprint, now).await?
    {
        return Ok(replayed(stored));
    }
    let normalised = document::normalise(&r.document_id);
    let user_id = UserId::now_v7();
    let registration_id = RegistrationId::now_v7();
    let stored_document = state
        .documents
        .protect(user_id, &normalised)
        .map_err(ApiError::internal)?;
    let password_hash = match r.password.clone() {
        Some(p) => Some(state.hasher.hash(p).await.map_err(ApiError::internal)?),
        None => None,
    };
    let email = r.email.trim().to_lowercase();
    let name = r.name.trim().to_owned();
    let created = RegistrationCreated {
        registration_id: registration_id.into(),
        status: UserStatus::Pending,
    };
    let response = StoredResponse {
        status: 201,
        body: serde_json::to_value(&created).map_err(ApiError::internal)?,
    };
    let ttl =
        TimeDelta::seconds(i64::try_from(state.config.idempotency_ttl_seconds).unwrap_or(i64::MAX));
    let wait = state.config.idempotency_wait_seconds;
    // Taken after the hash: a sign-up queued for the hasher holds no pooled connection.
    let mut conn = state.pool.get().await?;
    let outcome = conn
        .transaction::<(), Refusal, _>(async |c| {
            if let Some(k) = &key
                && !idempotency::claim(c, k, &fingerprint, now, ttl, wait).await?
            {
                return Err(match idempotency::replay(c, k, &fingerprint, now).await {
                    Ok(Some(stored)) => Refusal::Replay(stored),
                    // The live row vanished between two statements (expired and purged):
                    // answer as if still in flight; the client retries.
                    Ok(None) => Refusal::Api(Error::IdempotencyKeyInFlight.into()),
                    Err(e) => Refusal::Api(e),
                });
            }
            let new_user = NewUser {
                id: user_id,
                name: &name,
                email: &email,
                role: r.role,
                document_normalised: &normalised,
                document: &stored_document,
                password_hash: password_hash.as_deref(),
                status: UserStatus::Pending,
                scopes: None,
                farm_data: r.farm_data.as_ref(),
                now,
            };
            let data = Registered {
                registration_id,
                user_candidate: UserCandidate {
                    name: name.clone(),
                    email: email.clone(),
                    document_id: document::mask(&normalised),
                    role: r.role,
                },
                submitted_at: now,
            };
            let event = events::OUTBOX.message(events::REGISTERED, data, now)?;
            let stored_status = i16::try_from(response.status).unwrap_or(500);
            registrations::submit(
                c,
                &registrations::Submission {
                    user: &new_user,
                    registration_id,
                    attachments: &r.attachments,
                    event: &event,
                    idempotency: key.as_deref().map(|k| (k, stored_status, &response.body)),
                },
            )
            .await?
            .map_err(Refusal::Taken)?;
            Ok(())
        })
        .await;
    match outcome {
        Ok(()) => {
            state.relay_wake.notify_one();
            Ok(HttpResponse::Created()
                .insert_header(("Location", format!("/registrations/{registration_id}")))
                .json(created))
        }
        Err(Refusal::Taken(t)) => Err(Error::from(t).into()),
        Err(Refusal::Replay(stored)) => Ok(replayed(stored)),
        Err(Refusal::Api(e)) => Err(e),
        Err(Refusal::Db(e)) if idempotency::is_lock_timeout(&e) => {
            Err(Error::IdempotencyKeyInFlight.into())
        }
        // Seed 004's validation status is 400, for text PostgreSQL cannot store as well.
        Err(Refusal::Db(e)) if tessera_http::db::is_nul_in_text(&e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            tessera_http::ErrorCode::ValidationError,
            "Text must not contain the NUL character (U+0000).",
        )),
        Err(Refusal::Db(e)) => Err(e.into()),
    }
}

/// Lists registrations for analysts and auditors, oldest first (the queue an analyst works
/// through: `?status=PENDING`), filtered like `GET /users`, with `from`/`to` on the submission
/// time.
#[utoipa::path(get, path = "/registrations", tag = "registrations", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Page<RegistrationSummary>),
              (status = 400, body = tessera_http::ErrorEnvelope, description = "`validation_error` naming the parameter"),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "No or invalid token"),
              (status = 403, body = tessera_http::ErrorEnvelope, description = "`reason` = `staff_only` (a producer) or `missing_scope`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let r = listing::parse(&who, &req, &state.documents)?;
    let mut conn = state.pool.get().await?;
    let (rows, total) =
        registrations::list(&mut conn, &r.filter, r.range, r.limit, r.offset).await?;
    let data = rows
        .into_iter()
        .map(|(id, submitted_at, user)| {
            Ok(RegistrationSummary {
                id: id.into(),
                user_candidate: User::of(user, &who, &state.documents)?,
                submitted_at,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let meta = r.meta(total);
    Ok(tessera_http::pagination::page_response(&req, &meta).json(Page { data, meta }))
}

/// A registration with its user and attachments: to its owner, analysts and auditors
/// (anyone else gets the same 404 as for an unknown id).
#[utoipa::path(get, path = "/registrations/{id}", tag = "registrations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Registration id")),
    responses((status = 200, body = Registration), (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: RegistrationId = path.parse().map_err(|_| Error::RegistrationNotFound)?;
    let mut conn = state.pool.get().await?;
    let found = registrations::registration(&mut conn, id).await?;
    let Some((id, submitted_at, user, attachments)) = found else {
        return Err(Error::RegistrationNotFound.into());
    };
    if !who.may_read(user.id) {
        return Err(Error::RegistrationNotFound.into());
    }
    Ok(HttpResponse::Ok().json(Registration {
        id: id.into(),
        user_candidate: User::of(user, &who, &state.documents)?,
        attachments,
        submitted_at,
    }))
}
