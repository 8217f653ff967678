//! `POST /api/token` (seed 003): the auth proxy asks for the upstream access token of the user
//! who owns a sandbox. Checks run in order and each fails closed:
//!
//! 1. the caller presents `BROKER_CALLER_TOKEN` — else 401 `caller_unauthenticated`;
//! 2. the sandbox has an active, unexpired binding — else 403 `binding_not_found` / `binding_inactive`;
//! 3. `upstream_host` (lower-cased, exact, no trailing dot or port) is allowed — else 403 `upstream_not_allowed`;
//! 4. every scope is allowed for that upstream — else 403 `scope_not_allowed`;
//! 5. the sandbox is under `TOKEN_RATE_LIMIT_PER_MINUTE` — else 429 `rate_limited` with `Retry-After`;
//! 6. the wallet has a token — else 403 `wallet_credential_missing`, 502 `upstream_error`
//!    (the token endpoint refused) or 503 `upstream_unavailable`;
//! 7. the audit row and the `credential-broker.token.requested` event commit — else 503, and
//!    no token is returned.
//!
//! Every outcome, refusals included, is audited (never the token: its HMAC-SHA256 at most).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tessera_events::{EventEnvelope, OutboxMessage};
use tessera_http::extract::NO_STORE;
use tessera_http::{ApiError, ErrorCode, FieldErrors};
use utoipa::ToSchema;

use crate::auth::{self, ANONYMOUS, PROXY};
use crate::db::audit_log::AuditEntry;
use crate::db::rate_windows;
use crate::domain::AuditOutcome;
use crate::hosts;
use crate::state::AppState;
use crate::wallet::WalletError;

/// Routing key of the audit event.
pub const TOKEN_REQUESTED: &str = "credential-broker.token.requested";

/// The request (seed 003).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The sandbox asking.
    #[schema(example = "kata-sandbox-abc123")]
    pub sandbox_id: String,
    /// The upstream API host.
    #[schema(example = "graph.microsoft.com")]
    pub upstream_host: String,
    /// Scopes wanted (1..=50), each allowed for the upstream.
    #[schema(example = json!(["https://graph.microsoft.com/.default"]))]
    pub scopes: Vec<String>,
}

/// The response (seed 003).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The upstream access token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// When it expires (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// Payload of `credential-broker.token.requested` (never the token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequested<'a> {
    sandbox_id: &'a str,
    upstream_host: &'a str,
    scopes: &'a [String],
    outcome: AuditOutcome,
    reason: Option<&'a str>,
}

fn validate(body: &TokenRequest) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    if body.sandbox_id.trim().is_empty() || body.sandbox_id.len() > 200 {
        errors.insert(
            "sandbox_id".into(),
            vec!["The sandbox_id field must be 1 to 200 characters.".into()],
        );
    }
    if body.upstream_host.trim().is_empty() || body.upstream_host.len() > 253 {
        errors.insert(
            "upstream_host".into(),
            vec!["The upstream_host field must be 1 to 253 characters.".into()],
        );
    }
    if body.scopes.is_empty()
        || body.scopes.len() > 50
        || body.scopes.iter().any(|s| s.is_empty() || s.len() > 512)
    {
        errors.insert(
            "scopes".into(),
            vec!["The scopes field must list 1 to 50 non-empty scopes.".into()],
        );
    }
    ApiError::fail_if_any(errors)
}

/// Stores the audit row and the event through the audit log's group commit (one commit for
/// every request waiting on this worker; the relay is woken after it); returns once committed.
async fn record(state: &AppState, entry: AuditEntry, now: DateTime<Utc>) -> Result<(), ApiError> {
    let event = EventEnvelope::new(
        "credential-broker",
        TOKEN_REQUESTED,
        TokenRequested {
            sandbox_id: &entry.sandbox_id,
            upstream_host: &entry.upstream_host,
            scopes: &entry.scopes,
            outcome: entry.outcome,
            reason: entry.reason.as_deref(),
        },
        entry.request_id.clone(),
        now,
    );
    let message = OutboxMessage::new(&event, tessera_telemetry::trace_headers())
        .map_err(ApiError::internal)?;
    state.audit.write((entry, message)).await.map_err(|e| {
        tracing::error!(error = %e, "audit write failed: refusing the request");
        ApiError::unavailable(e)
    })
}

/// Every outcome of `POST /api/token`: `issued` and each refusal's `reason`.
pub const TOKEN_OUTCOMES: [&str; 10] = [
    "issued",
    "caller_unauthenticated",
    "binding_not_found",
    "binding_inactive",
    "upstream_not_allowed",
    "scope_not_allowed",
    "rate_limited",
    "wallet_credential_missing",
    "upstream_error",
    "upstream_unavailable",
];

/// `broker_tokens_total{outcome}`: token requests decided, by outcome ([`TOKEN_OUTCOMES`], each
/// present from the start). A request refused before a decision (a malformed body, a database
/// outage) is not counted.
///
/// # Errors
/// A programming error in the name.
pub fn token_counter() -> Result<
    tessera_http::metrics::prometheus::IntCounterVec,
    tessera_http::metrics::prometheus::Error,
> {
    tessera_http::metrics::outcome_counter(
        "broker_tokens_total",
        "Upstream token requests decided, by outcome",
        "outcome",
        &TOKEN_OUTCOMES,
    )
}

/// Audits a refusal, then returns `error` (or 503 if the audit could not be written).
async fn refuse(
    state: &AppState,
    mut entry: AuditEntry,
    outcome: AuditOutcome,
    reason: &str,
    error: ApiError,
    now: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    state.tokens.with_label_values(&[reason]).inc();
    entry.outcome = outcome;
    entry.reason = Some(reason.to_owned());
    let (sandbox_id, upstream_host) = (entry.sandbox_id.clone(), entry.upstream_host.clone());
    record(state, entry, now).await?;
    tracing::info!(%sandbox_id, %upstream_host, reason, "token request refused");
    Err(error)
}

/// Audits a failed check as `denied`, then returns 403 naming it in `reason`.
async fn deny(
    state: &AppState,
    entry: AuditEntry,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    let e = ApiError::forbidden(reason, "The token request was refused.");
    refuse(state, entry, AuditOutcome::Denied, reason, e, now).await
}

/// Issues the upstream access token of the sandbox's owner.
#[utoipa::path(
    post,
    path = "/api/token",
    tag = "tokens",
    security(("callerToken" = [])),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The upstream token (audited, never stored)", body = TokenResponse),
        (status = 401, description = "`caller_unauthenticated`", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "`reason`: binding_not_found, binding_inactive, upstream_not_allowed, scope_not_allowed, wallet_credential_missing", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Malformed body", body = tessera_http::ErrorEnvelope),
        (status = 429, description = "`rate_limited`; `Retry-After` in seconds", body = tessera_http::ErrorEnvelope),
        (status = 502, description = "`upstream_error`: the upstream token endpoint refused (e.g. the refresh token was revoked)", body = tessera_http::ErrorEnvelope),
        (status = 503, description = "`upstream_unavailable`: the token endpoint is unreachable or failing; or the database is unavailable or the audit row could not be written: no token", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    validate(&body)?;
    let now = state.now();
    let host = hosts::normalise(body.upstream_host.trim());
    let entry = AuditEntry {
        request_id: tessera_http::request_id::current(),
        caller: ANONYMOUS.to_owned(),
        sandbox_id: body.sandbox_id.clone(),
        upstream_host: host.clone().unwrap_or_else(|| body.upstream_host.clone()),
        scopes: body.scopes.clone(),
        outcome: AuditOutcome::Denied,
        reason: None,
        token_hmac: None,
    };
    // 1. The caller.
    if !auth::presents(&req, &state.config.broker_caller_token) {
        let e = ApiError::unauthenticated("The caller credential is missing or invalid.")
            .with_reason("caller_unauthenticated");
        return refuse(
            &state,
            entry,
            AuditOutcome::Denied,
            "caller_unauthenticated",
            e,
            now,
        )
        .await;
    }
    let mut entry = AuditEntry {
        caller: PROXY.to_owned(),
        ..entry
    };
    // 2.–4. The binding, the upstream and the scopes, and (only when they pass) the request
    // counted in the sandbox's rate window: one statement.
    // A host that does not normalise is looked up as "", which no upstream is: the statement
    // still tells a missing binding from a refused host.
    let checked = {
        let mut conn = state.counters.get().await?;
        let lookup = host.as_deref().unwrap_or_default();
        rate_windows::check(&mut conn, &body.sandbox_id, lookup, &body.scopes, now)
            .await
            .map_err(ApiError::unavailable)?
    };
    // 2. The binding.
    let Some(checked) = checked else {
        return deny(&state, entry, "binding_not_found", now).await;
    };
    let binding = checked.binding;
    if !checked.usable {
        return deny(&state, entry, "binding_inactive", now).await;
    }
    // 3. The upstream.
    let (Some(host), Some(allowed)) = (host, checked.allowed_scopes) else {
        return deny(&state, entry, "upstream_not_allowed", now).await;
    };
    // 4. The scopes.
    if !body.scopes.iter().all(|s| allowed.contains(s)) {
        return deny(&state, entry, "scope_not_allowed", now).await;
    }
    // 5. The rate limit (counted by the check above: the database agrees with 2–4).
    let Some(counts) = checked.counts else {
        // The statement counts exactly when 2–4 pass on the row it read, which is the row
        // checked above; should the two ever disagree, fail closed.
        return deny(&state, entry, "binding_inactive", now).await;
    };
    let (recent, retry_after) = rate_windows::rate_estimate(counts, now);
    if recent > f64::from(state.config.token_rate_limit_per_minute) {
        let e = ApiError::too_many_requests(retry_after).with_reason("rate_limited");
        return refuse(&state, entry, AuditOutcome::Denied, "rate_limited", e, now).await;
    }
    // 6. The wallet.
    let token = match state
        .wallet
        .token(binding.agent_id, &host, &body.scopes, now)
        .await
    {
        Ok(t) => t,
        Err(WalletError::NoCredential) => {
            return deny(&state, entry, "wallet_credential_missing", now).await;
        }
        Err(WalletError::Upstream(msg)) => {
            tracing::warn!(upstream_host = %host, error = %msg, "upstream token endpoint failed");
            let e = ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::UpstreamError,
                "The upstream token endpoint failed.",
            )
            .with_reason("upstream_error");
            return refuse(&state, entry, AuditOutcome::Error, "upstream_error", e, now).await;
        }
        Err(WalletError::Unavailable(msg) | WalletError::Storage(msg)) => {
            tracing::warn!(upstream_host = %host, error = %msg, "wallet unavailable");
            let e = ApiError::unavailable(std::io::Error::other("wallet unavailable"))
                .with_reason("upstream_unavailable");
            return refuse(
                &state,
                entry,
                AuditOutcome::Error,
                "upstream_unavailable",
                e,
                now,
            )
            .await;
        }
    };
    // 7. The audit row, before the token leaves.
    entry.outcome = AuditOutcome::Issued;
    entry.token_hmac = Some(
        hmac::sign(&state.audit_key, token.value.expose_secret().as_bytes())
            .as_ref()
            .to_vec(),
    );
    record(&state, entry, now).await?;
    state.tokens.with_label_values(&["issued"]).inc();
    tracing::info!(sandbox_id = %body.sandbox_id, upstream_host = %host, "upstream token issued");
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, NO_STORE))
        .json(TokenResponse {
            access_token: token.value.expose_secret().to_owned(),
            token_type: "bearer",
            expires_at: token.expires_at,
        }))
}
