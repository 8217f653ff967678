//! `POST /wls/{importerId}/peer-token` (seed 000 T1–T4; docs/control-plane/api.md).
//!
//! Checks, in order: caller authenticated (401) → body well-formed and valid (422
//! `validation_error` / `unknown_scope`) → caller is the importer (403 `caller_not_importer`,
//! before any look-up, so a WL's key learns nothing about other WLs: issue #17) → importer
//! exists (404, only for a certificate naming an unregistered WL) → importer active (403 `importer_inactive`) → target exists (404) →
//! target active (403 `target_inactive`) → active relationship (403 `no_relationship`) → every
//! scope allowed by it (403 `scope_not_allowed`). Then the token is signed, the
//! `PEER_TOKEN_ISSUED` event is committed to the outbox, and only then is the token returned.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{SecondsFormat, TimeDelta};
use serde::{Deserialize, Serialize};
use tessera_events::{EventEnvelope, OutboxMessage, OutboxWriter};
use tessera_http::{ApiError, ErrorCode, FieldErrors, RequestId};

use crate::auth::{AuthMethod, Caller};
use crate::domain::{Status, WlId};
use crate::scopes;
use crate::state::AppState;

/// Routing key (and envelope `type`) of the issuance event; the seed calls it `PEER_TOKEN_ISSUED`.
pub const PEER_TOKEN_ISSUED: &str = "control-plane.peer_token.issued";

/// JWT `typ` of peer tokens (RFC 9068 §2.1).
pub const TOKEN_TYPE_HEADER: &str = "at+jwt";

/// Request body. Every field is checked by the handler so one 422 names every problem.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerTokenRequest {
    /// The WL the token is for (becomes `sub` and `aud`).
    #[schema(required = true, example = "wl-b")]
    pub target_wl_id: Option<String>,
    /// Non-empty list from the known scopes (`offers:sync`, `trader:purchase`); duplicates are folded.
    #[schema(required = true, example = json!(["offers:sync"]))]
    pub scopes: Option<Vec<String>>,
    /// Lifetime in seconds, 1..=`PEER_TOKEN_MAX_TTL_SECONDS` (default `PEER_TOKEN_TTL_SECONDS`, 300).
    #[schema(example = 300)]
    pub ttl_seconds: Option<i64>,
}

/// Response body (201).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerTokenResponse {
    /// The signed JWT (RFC 9068 access token).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Expiry instant (RFC 3339, UTC).
    pub expires_at: String,
    /// The granted scopes (deduplicated, in request order).
    pub scopes: Vec<String>,
    /// The target WL.
    pub target_wl_id: String,
}

/// RFC 8705 §3.1 confirmation: the token is bound to this certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Confirmation {
    /// base64url SHA-256 of the client certificate's DER.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// The peer token's claims (seed 000 T2; RFC 7519 §4.1, RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerTokenClaims {
    /// Issuer: the control plane's URL (`CP_ISSUER`).
    pub iss: String,
    /// Subject: the target WL (as the seed fixes).
    pub sub: String,
    /// Audience: the target WL.
    pub aud: String,
    /// The importer WL (seed claim).
    #[serde(rename = "wlId")]
    pub wl_id: String,
    /// The importer WL (RFC 9068 `client_id`).
    pub client_id: String,
    /// Scopes as an array (seed claim).
    pub scopes: Vec<String>,
    /// Scopes space-separated (RFC 9068 `scope`).
    pub scope: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (= `iat`).
    pub nbf: i64,
    /// Expiry (`iat` + ttl).
    pub exp: i64,
    /// Unique token id (UUID v4).
    pub jti: String,
    /// Certificate binding, when the caller used mTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// `data` of the `PEER_TOKEN_ISSUED` event (never the token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedEvent<'a> {
    wl_id: &'a str,
    target_wl_id: &'a str,
    scopes: &'a [String],
    ttl: u64,
    jti: &'a str,
    issued_at: String,
}

struct Valid {
    target: String,
    scopes: Vec<String>,
    ttl: u64,
}

fn validate(body: PeerTokenRequest, state: &AppState) -> Result<Valid, ApiError> {
    let target = match body.target_wl_id.as_deref().map(str::trim) {
        None | Some("") => Err("The targetWlId field is required.".to_owned()),
        Some(t) if !WlId::is_valid(t) => Err("The targetWlId must be a white-label id.".to_owned()),
        Some(t) => Ok(t.to_owned()),
    };
    let scopes = scopes::parse(body.scopes.as_deref(), &state.known_scopes)
        .map_err(|message| message.to_owned());
    let max = state.config.peer_token_max_ttl_seconds;
    let ttl = match body.ttl_seconds {
        None => Ok(state.config.peer_token_ttl_seconds),
        Some(t) => u64::try_from(t)
            .ok()
            .filter(|t| (1..=max).contains(t))
            .ok_or_else(|| format!("The ttlSeconds field must be between 1 and {max}.")),
    };
    let (target, scopes, ttl) = match (target, scopes, ttl) {
        (Ok(target), Ok(scopes), Ok(ttl)) => (target, scopes, ttl),
        (target, scopes, ttl) => {
            // One 422 names every field in error.
            let errors: FieldErrors = [
                ("targetWlId", target.err()),
                ("scopes", scopes.err()),
                ("ttlSeconds", ttl.err()),
            ]
            .into_iter()
            .filter_map(|(field, message)| Some((field.to_owned(), vec![message?])))
            .collect();
            return Err(ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            ));
        }
    };
    if !scopes.unknown.is_empty() {
        let mut errors = FieldErrors::new();
        errors.insert(
            "scopes".to_owned(),
            scopes::unknown_messages(&scopes.unknown),
        );
        let message = format!(
            "Unknown scope requested. Known scopes: {}.",
            state.known_scopes.join(", ")
        );
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnknownScope,
            message,
        )
        .with_errors(errors));
    }
    Ok(Valid {
        target,
        scopes: scopes.known,
        ttl,
    })
}

fn deny(state: &AppState, status: StatusCode, reason: &str, message: &str) -> ApiError {
    state.metrics.denied(reason);
    let code = if status == StatusCode::NOT_FOUND {
        ErrorCode::NotFound
    } else {
        ErrorCode::Forbidden
    };
    ApiError::new(status, code, message).with_reason(reason)
}

/// Issues a peer token.
#[utoipa::path(
    post,
    path = "/wls/{importerId}/peer-token",
    tag = "peer tokens",
    params(("importerId" = String, Path, description = "The importer WL; must be the caller")),
    request_body = PeerTokenRequest,
    security(("wlApiKey" = []), ("mtls" = [])),
    responses(
        (status = 201, description = "Token issued", body = PeerTokenResponse),
        (status = 401, description = "No or bad caller credentials (`unauthenticated`)", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not allowed; `reason` says why", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Importer or target unknown (`not_found`)", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Invalid body (`validation_error`, `unknown_scope`)", body = tessera_http::ErrorEnvelope),
        (status = 503, description = "Database unavailable; no token issued", body = tessera_http::ErrorEnvelope),
    )
)]
pub async fn issue_peer_token(
    state: web::Data<AppState>,
    outbox: web::Data<OutboxWriter>,
    importer: web::Path<String>,
    caller: Caller,
    body: web::Json<PeerTokenRequest>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let importer = importer.into_inner();
    let valid = validate(body.into_inner(), &state).inspect_err(|e| {
        state
            .metrics
            .denied(if e.code() == ErrorCode::UnknownScope {
                "unknown_scope"
            } else {
                "validation"
            });
    })?;
    // The caller first: another WL's id answers the same whether it exists or not.
    if caller.wl_id != importer {
        return Err(deny(
            &state,
            StatusCode::FORBIDDEN,
            "caller_not_importer",
            "The caller is not the importer white label.",
        ));
    }
    let pair = state
        .registry
        .pair(&importer, &valid.target)
        .await
        .map_err(|e| ApiError::unavailable(std::io::Error::other(e.to_string())))?;

    let Some(importer_status) = pair.importer_status else {
        return Err(deny(
            &state,
            StatusCode::NOT_FOUND,
            "importer_not_found",
            "Importer white label not found.",
        ));
    };
    if importer_status != Status::Active {
        return Err(deny(
            &state,
            StatusCode::FORBIDDEN,
            "importer_inactive",
            "The importer white label is inactive.",
        ));
    }
    let Some(target_status) = pair.target_status else {
        return Err(deny(
            &state,
            StatusCode::NOT_FOUND,
            "target_not_found",
            "Target white label not found.",
        ));
    };
    if target_status != Status::Active {
        return Err(deny(
            &state,
            StatusCode::FORBIDDEN,
            "target_inactive",
            "The target white label is inactive.",
        ));
    }
    let allowed = match (pair.relationship_status, pair.relationship_scopes.as_ref()) {
        (Some(Status::Active), Some(allowed)) => allowed,
        _ => {
            return Err(deny(
                &state,
                StatusCode::FORBIDDEN,
                "no_relationship",
                "The importer has no active relationship with the target.",
            ));
        }
    };
    let refused: Vec<&str> = valid
        .scopes
        .iter()
        .filter(|s| !allowed.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        let message = format!("The relationship does not allow: {}.", refused.join(", "));
        return Err(deny(
            &state,
            StatusCode::FORBIDDEN,
            "scope_not_allowed",
            &message,
        ));
    }

    let now = state.now();
    let ttl = TimeDelta::seconds(i64::try_from(valid.ttl).unwrap_or(i64::MAX));
    let expires = now + ttl;
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = PeerTokenClaims {
        iss: state.config.cp_issuer.clone(),
        sub: valid.target.clone(),
        aud: valid.target.clone(),
        wl_id: importer.clone(),
        client_id: importer.clone(),
        scope: valid.scopes.join(" "),
        scopes: valid.scopes.clone(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: expires.timestamp(),
        jti: jti.clone(),
        cnf: match caller.method {
            AuthMethod::Mtls => caller
                .cert_thumbprint
                .clone()
                .map(|x5t_s256| Confirmation { x5t_s256 }),
            AuthMethod::ApiKey => None,
        },
    };
    let token = state
        .keys
        .get()
        .sign(TOKEN_TYPE_HEADER, &claims, now)
        .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))?;

    let event = EventEnvelope::new(
        "control-plane",
        PEER_TOKEN_ISSUED,
        IssuedEvent {
            wl_id: &importer,
            target_wl_id: &valid.target,
            scopes: &valid.scopes,
            ttl: valid.ttl,
            jti: &jti,
            issued_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
        Some(request_id.0.clone()),
        now,
    );
    let headers: HashMap<String, String> = tessera_telemetry::trace_headers();
    let message = OutboxMessage::new(&event, headers).map_err(ApiError::internal)?;
    // The token leaves only once its event is durable (group commit; see tessera_events).
    outbox.write(message).await.map_err(ApiError::unavailable)?;

    state.metrics.issued(&valid.scopes);
    tracing::info!(
        wl_id = %importer,
        target_wl_id = %valid.target,
        scopes = %claims.scope,
        ttl = valid.ttl,
        jti = %jti,
        auth = ?caller.method,
        "peer token issued"
    );
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(PeerTokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: valid.ttl,
            expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
            scopes: valid.scopes,
            target_wl_id: valid.target,
        }))
}
