//! `gateway-auth`: the gateway's bearer-token check (ARCHITECTURE.md §3).
//!
//! The gateway (nginx `auth_request` locally; the ingress controller's `auth-url` in a cluster)
//! asks `GET /verify` with the client's `Authorization` header before forwarding a request:
//!
//! - no bearer token, or a bearer that is not a JWT from a trusted issuer (a personal access
//!   token, an API key, a users-registration HS256 token): **200** with no identity headers —
//!   the service behind decides;
//! - a JWT whose `iss` is a trusted identity tenant (`{prefix}{tenant-slug}`) that verifies
//!   (signature against that tenant's JWKS, `iss`, `aud`, `exp`/`nbf`, algorithm allow-list;
//!   `tessera_jwt`): **200** with `X-Gateway-Auth: jwt`, `X-Auth-Subject` (`sub`),
//!   `X-Auth-Roles` (`roles`, comma-separated) and `X-Auth-Tenant` (`tenant`); the gateway
//!   copies them onto the forwarded request (after stripping any the client sent);
//! - such a JWT that does not verify: **401** `unauthenticated` with
//!   `WWW-Authenticate: Bearer` (RFC 6750 §3), and the gateway refuses the request;
//! - the tenant's JWKS cannot be fetched: **503** `service_unavailable`.

mod server;
pub use server::*;

pub mod config;

pub mod revocation;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tessera_http::ApiError;
use tessera_http::gateway::GATEWAY_SECRET_HEADER;
use tessera_jwt::verify::{RemoteJwks, Verifier, VerifierConfig, VerifyError};
use uuid::Uuid;

pub use config::{Config, TrustedIssuer};
pub use revocation::{Judgement, Revocations};

/// `X-Gateway-Auth`: how the gateway authenticated the caller (`jwt`).
pub const GATEWAY_AUTH: &str = "x-gateway-auth";

/// `X-Auth-Subject`: the verified token's `sub`.
pub const AUTH_SUBJECT: &str = "x-auth-subject";

/// `X-Auth-Roles`: the verified token's `roles`, comma-separated.
pub const AUTH_ROLES: &str = "x-auth-roles";

/// `X-Auth-Tenant`: the verified token's `tenant`.
pub const AUTH_TENANT: &str = "x-auth-tenant";

/// `X-Auth-Reason` (on 401): the failed check, for the gateway's own error body.
pub const AUTH_REASON: &str = "x-auth-reason";

/// How long an unreachable tenant key set (5xx, timeout) is remembered before it is asked again.
pub const UNAVAILABLE_CACHE: Duration = Duration::from_secs(1);

/// Most unknown or unreachable issuers remembered at once (each entry is small; evicted first
/// when full, so a flood of forged issuers costs identity at most one request per issuer per
/// `GATEWAY_NEGATIVE_CACHE_SECONDS` while it fits).
pub const MAX_REMEMBERED_FAILURES: u64 = 10_000;

/// Most identity answers about individual tokens kept at once.
pub const MAX_ANSWERS: u64 = 100_000;

/// The identity the gateway vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `sub`.
    pub subject: String,
    /// `roles` (only `[A-Za-z0-9_.:-]` names; others are dropped).
    pub roles: Vec<String>,
    /// `tenant`, when present.
    pub tenant: Option<String>,
}

/// Why the gateway refuses a trusted issuer's token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A check of the token itself failed (signature, claims, unknown tenant, …).
    #[error(transparent)]
    Invalid(#[from] VerifyError),
    /// Its session was revoked (logout, agent disabled) or its `roles` are stale.
    #[error("token revoked")]
    Revoked,
    /// identity could not be asked whether the token still holds: not vouched for (503).
    #[error("identity unavailable: {0}")]
    IdentityUnavailable(String),
}

/// The claims read from an identity access token.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    tenant: Option<String>,
    sid: Option<String>,
    #[serde(default)]
    iat: i64,
    jti: Option<String>,
}

/// Only the issuer, read before verification to pick the key set.
#[derive(Debug, Deserialize)]
struct Issuer {
    iss: Option<String>,
}

/// identity's answer about one session (`GET /tenants/{slug}/session`).
#[derive(Debug, Deserialize)]
struct SessionRead {
    #[serde(default)]
    roles: Vec<String>,
}

/// One tenant: its verifier and where identity answers about its sessions.
struct Tenant {
    verifier: Verifier,
    session_url: String,
}

/// What identity said about a token, and when.
#[derive(Debug, Clone, Copy)]
struct Answer {
    checked_at: DateTime<Utc>,
    live: bool,
}

/// Verifies bearer JWTs of the trusted issuers: one verifier per tenant, cached only after
/// the tenant's key set was fetched and valid (bounded, with eviction); unknown or unreachable
/// issuers are remembered briefly so strangers cannot make every request cost a fetch.
#[derive(derive_more::Debug)]
pub struct Authenticator {
    issuers: Vec<TrustedIssuer>,
    #[debug(skip)]
    gateway_secret: Option<HeaderValue>,
    audience: String,
    #[debug(skip)]
    tenants: moka::future::Cache<String, Arc<Tenant>>,
    #[debug(skip)]
    failures: moka::future::Cache<String, VerifyError>,
    #[debug(skip)]
    revocations: Arc<Revocations>,
    #[debug(skip)]
    answers: moka::future::Cache<String, Answer>,
    #[debug(skip)]
    client: tessera_telemetry::http::HttpClient,
}

/// A tenant slug as identity makes them: 1–63 of `[a-z0-9-]`, starting alphanumeric.
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn is_role_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn same_roles(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut b: Vec<&str> = b.iter().map(String::as_str).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

impl Authenticator {
    /// From the configuration, reading `revocations` (filled by [`revocation::spawn_feed`]).
    pub fn new(config: &Config, revocations: Arc<Revocations>) -> Self {
        let max = u64::try_from(config.gateway_max_tenants.max(1)).unwrap_or(u64::MAX);
        Self {
            issuers: config.trusted_issuers(),
            gateway_secret: config
                .gateway_secret
                .as_ref()
                .and_then(|s| HeaderValue::from_str(s.expose_secret()).ok())
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                }),
            audience: config.gateway_audience.clone(),
            tenants: moka::future::Cache::builder().max_capacity(max).build(),
            failures: moka::future::Cache::builder()
                .max_capacity(MAX_REMEMBERED_FAILURES)
                .expire_after(FailureExpiry {
                    unknown: Duration::from_secs(config.gateway_negative_cache_seconds),
                })
                .build(),
            revocations,
            answers: moka::future::Cache::builder()
                .max_capacity(MAX_ANSWERS)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            client: tessera_telemetry::http::traced(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .build()
                    .unwrap_or_default(),
            ),
        }
    }

    /// How many tenants' verifiers are cached (after pending evictions ran).
    pub async fn cached_tenants(&self) -> u64 {
        self.tenants.run_pending_tasks().await;
        self.tenants.entry_count()
    }

    /// The outcome for a bearer token (`tessera_http::bearer_token`) at `now`: `Ok(None)` =
    /// nothing to vouch for (no bearer, or not a JWT naming a trusted issuer's tenant).
    ///
    /// # Errors
    /// [`Refusal`] for a trusted issuer's token that fails a check, is revoked, or cannot be
    /// checked (key set or identity unavailable).
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Verified>, Refusal> {
        let Some(token) = token else {
            return Ok(None);
        };
        // Not a JWS compact serialisation, or no `iss`: not ours to judge.
        let Ok(Issuer { iss: Some(iss) }) =
            jsonwebtoken::dangerous::insecure_decode_claims::<Issuer>(token)
        else {
            return Ok(None);
        };
        let Some(tenant) = self.tenant(&iss).await? else {
            return Ok(None);
        };
        let claims: Claims = tenant.verifier.verify(token, now).await?;
        if HeaderValue::from_str(&claims.sub).is_err() || claims.sub.is_empty() {
            return Err(VerifyError::Malformed.into());
        }
        let sid = claims
            .sid
            .as_deref()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(VerifyError::Malformed)?;
        match self.revocations.judge(sid, claims.iat) {
            Judgement::Revoked => return Err(Refusal::Revoked),
            Judgement::Clear => {}
            Judgement::Unknown => {
                let key = claims.jti.clone().unwrap_or_else(|| sid.to_string());
                let answer = match self.answers.get(&key).await {
                    Some(a) if self.revocations.answer_holds(a.checked_at, now) => a,
                    _ => {
                        let a = self
                            .ask_identity(&tenant, token, &claims.roles, now)
                            .await?;
                        self.answers.insert(key, a).await;
                        a
                    }
                };
                if !answer.live {
                    return Err(Refusal::Revoked);
                }
            }
        }
        let tenant_claim = claims.tenant.filter(|t| {
            is_slug(t)
                && iss
                    .strip_suffix(t.as_str())
                    .is_some_and(|rest| rest.ends_with('/'))
        });
        Ok(Some(Verified {
            subject: claims.sub,
            roles: claims
                .roles
                .into_iter()
                .filter(|r| is_role_name(r))
                .collect(),
            tenant: tenant_claim,
        }))
    }

    /// The JWKS and session URLs of `iss` when it is `{prefix}{slug}` for a trusted prefix.
    fn tenant_urls(&self, iss: &str) -> Option<(String, String)> {
        self.issuers.iter().find_map(|t| {
            let slug = iss.strip_prefix(t.issuer_prefix.as_str())?;
            is_slug(slug).then(|| {
                (
                    format!("{}{slug}/.well-known/jwks.json", t.jwks_prefix),
                    format!("{}{slug}/session", t.jwks_prefix),
                )
            })
        })
    }

    /// The tenant of `iss`: `None` when `iss` is not under a trusted prefix. Cached (only
    /// trusted issuers ever are, so a hit needs no other check, and no URL is formatted); else
    /// its key set fetched now, cached when valid. An unknown tenant (404) or an unreachable key
    /// set is remembered as such for a while, uncached.
    async fn tenant(&self, iss: &str) -> Result<Option<Arc<Tenant>>, VerifyError> {
        if let Some(t) = self.tenants.get(iss).await {
            return Ok(Some(t));
        }
        let Some((jwks_url, session_url)) = self.tenant_urls(iss) else {
            return Ok(None);
        };
        if let Some(e) = self.failures.get(iss).await {
            return Err(e);
        }
        let config = VerifierConfig {
            issuer: Some(iss.to_owned()),
            audience: Some(self.audience.clone()),
            ..VerifierConfig::default()
        };
        let loaded = self
            .tenants
            .try_get_with(iss.to_owned(), async move {
                let remote = RemoteJwks::new(jwks_url);
                remote.load().await?;
                Ok::<_, VerifyError>(Arc::new(Tenant {
                    verifier: Verifier::with_remote(config, remote),
                    session_url,
                }))
            })
            .await;
        match loaded {
            Ok(t) => Ok(Some(t)),
            Err(e) => {
                let e = VerifyError::clone(&e);
                tracing::info!(error = %e, "tenant key set not loaded; remembered briefly");
                self.failures.insert(iss.to_owned(), e.clone()).await;
                Err(e)
            }
        }
    }

    /// Asks identity whether `token`'s session is live and its roles current.
    async fn ask_identity(
        &self,
        tenant: &Tenant,
        token: &str,
        roles: &[String],
        now: DateTime<Utc>,
    ) -> Result<Answer, Refusal> {
        let unavailable = |e: String| Refusal::IdentityUnavailable(e);
        let resp = self
            .client
            .get(&tenant.session_url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| unavailable(tessera_telemetry::http::error_text(e)))?;
        let live = match resp.status().as_u16() {
            200 => {
                let session: SessionRead = resp
                    .json()
                    .await
                    .map_err(|e| unavailable(e.without_url().to_string()))?;
                same_roles(&session.roles, roles)
            }
            401 | 403 | 404 => false,
            other => return Err(unavailable(format!("identity answered {other}"))),
        };
        Ok(Answer {
            checked_at: now,
            live,
        })
    }
}

/// Unknown issuers are remembered for `GATEWAY_NEGATIVE_CACHE_SECONDS`; unreachable key sets
/// for [`UNAVAILABLE_CACHE`].
struct FailureExpiry {
    unknown: Duration,
}

impl moka::Expiry<String, VerifyError> for FailureExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &VerifyError,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(match value {
            VerifyError::KeySetUnavailable(_) => UNAVAILABLE_CACHE,
            _ => self.unknown,
        })
    }
}
