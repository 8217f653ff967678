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

pub mod config;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tessera_http::ApiError;
use tessera_http::gateway::GATEWAY_SECRET_HEADER;
use tessera_jwt::verify::{RemoteJwks, Verifier, VerifierConfig, VerifyError};
use tokio::sync::RwLock;

pub use config::{Config, TrustedIssuer};

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

/// The claims read from an identity access token.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    tenant: Option<String>,
}

/// Only the issuer, read before verification to pick the key set.
#[derive(Debug, Deserialize)]
struct Issuer {
    iss: Option<String>,
}

/// Verifies bearer JWTs of the trusted issuers, one cached remote JWKS per tenant.
pub struct Authenticator {
    issuers: Vec<TrustedIssuer>,
    gateway_secret: Option<HeaderValue>,
    audience: String,
    max_tenants: usize,
    verifiers: RwLock<HashMap<String, Arc<Verifier>>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuers", &self.issuers)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
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

impl Authenticator {
    /// From the configuration.
    pub fn new(config: &Config) -> Self {
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
            max_tenants: config.gateway_max_tenants,
            verifiers: RwLock::new(HashMap::new()),
        }
    }

    /// The outcome for a bearer token (`tessera_http::bearer_token`) at `now`: `Ok(None)` =
    /// nothing to vouch for (no bearer, or not a trusted issuer's JWT).
    ///
    /// # Errors
    /// [`VerifyError`] for a trusted issuer's token that fails a check (or whose key set is
    /// unavailable), and [`VerifyError::Malformed`] for a `sub` that cannot be a header value.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Verified>, VerifyError> {
        let Some(token) = token else {
            return Ok(None);
        };
        // Not a JWS compact serialisation, or no `iss`: not ours to judge.
        let Ok(Issuer { iss: Some(iss) }) =
            jsonwebtoken::dangerous::insecure_decode_claims::<Issuer>(token)
        else {
            return Ok(None);
        };
        let Some(verifier) = self.verifier_for(&iss).await else {
            return Ok(None);
        };
        let claims: Claims = verifier.verify(token, now).await?;
        if HeaderValue::from_str(&claims.sub).is_err() || claims.sub.is_empty() {
            return Err(VerifyError::Malformed);
        }
        let tenant = claims.tenant.filter(|t| {
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
            tenant,
        }))
    }

    /// The verifier of `iss` when it is `{prefix}{slug}` for a trusted prefix; created on first
    /// use (at most `GATEWAY_MAX_TENANTS`, so forged issuers cannot grow the cache without bound).
    async fn verifier_for(&self, iss: &str) -> Option<Arc<Verifier>> {
        // Only trusted issuers are ever cached: a hit needs no further check.
        if let Some(v) = self.verifiers.read().await.get(iss) {
            return Some(Arc::clone(v));
        }
        let trusted = self.issuers.iter().find_map(|t| {
            let slug = iss.strip_prefix(t.issuer_prefix.as_str())?;
            is_slug(slug).then(|| format!("{}{slug}/.well-known/jwks.json", t.jwks_prefix))
        })?;
        let mut verifiers = self.verifiers.write().await;
        if let Some(v) = verifiers.get(iss) {
            return Some(Arc::clone(v));
        }
        if verifiers.len() >= self.max_tenants {
            tracing::warn!(
                max = self.max_tenants,
                "tenant verifier cache full: refusing a new issuer"
            );
            return None;
        }
        let verifier = Arc::new(Verifier::with_remote(
            VerifierConfig {
                issuer: Some(iss.to_owned()),
                audience: Some(self.audience.clone()),
                ..VerifierConfig::default()
            },
            RemoteJwks::new(trusted),
        ));
        verifiers.insert(iss.to_owned(), Arc::clone(&verifier));
        Some(verifier)
    }
}

/// `GET|… /verify` (any method: `auth_request` subrequests may keep the client's).
///
/// # Errors
/// 401 `unauthenticated` (`reason` = the failed check) or 503, per the module docs.
pub async fn verify(
    auth: web::Data<Authenticator>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = tessera_http::bearer_token(&req);
    let mut reply = HttpResponse::Ok();
    if let Some(secret) = &auth.gateway_secret {
        reply.insert_header((GATEWAY_SECRET_HEADER, secret.clone()));
    }
    match auth.authenticate(token.as_deref(), Utc::now()).await {
        Ok(None) => Ok(reply.finish()),
        Ok(Some(v)) => {
            reply
                .insert_header((GATEWAY_AUTH, "jwt"))
                .insert_header((AUTH_SUBJECT, v.subject))
                .insert_header((AUTH_ROLES, v.roles.join(",")));
            if let Some(t) = v.tenant {
                reply.insert_header((AUTH_TENANT, t));
            }
            Ok(reply.finish())
        }
        Err(VerifyError::KeySetUnavailable(e)) => {
            tracing::warn!(error = %e, "identity key set unavailable");
            Err(ApiError::unavailable(std::io::Error::other(
                "identity key set unavailable",
            )))
        }
        Err(e) => {
            tracing::info!(reason = %e, "bearer token refused at the gateway");
            let refused =
                ApiError::unauthenticated("The bearer token is invalid.").with_reason(reason(&e));
            let mut response = actix_web::ResponseError::error_response(&refused);
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static(AUTH_REASON),
                HeaderValue::from_static(reason(&e)),
            );
            Ok(response)
        }
    }
}

fn reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Malformed => "malformed_token",
        VerifyError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
        VerifyError::UnknownKey => "unknown_key",
        VerifyError::BadSignature => "invalid_signature",
        VerifyError::WrongIssuer => "wrong_issuer",
        VerifyError::WrongAudience => "wrong_audience",
        VerifyError::Expired => "token_expired",
        VerifyError::NotYetValid => "token_not_yet_valid",
        VerifyError::KeySetUnavailable(_) => "key_set_unavailable",
    }
}

/// The routes: `/verify`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/verify", web::route().to(verify));
}

/// Runs the service on `listener` until SIGTERM/SIGINT (actix drains in-flight requests for
/// up to 10 s). `workers`: HTTP worker threads (default: one per core).
///
/// # Errors
/// A listener that cannot be used, or metrics that cannot be registered.
pub fn serve(
    config: &Config,
    listener: std::net::TcpListener,
    workers: Option<usize>,
) -> anyhow::Result<actix_web::dev::Server> {
    let auth = web::Data::new(Authenticator::new(config));
    let prometheus =
        tessera_http::metrics::prometheus_metrics("gateway-auth").map_err(anyhow::Error::msg)?;
    let mut server = actix_web::HttpServer::new(move || {
        let auth = auth.clone();
        tessera_http::platform_app(
            move |c| {
                c.app_data(auth).configure(configure);
            },
            tessera_http::ExtractorOptions::default(),
            prometheus.clone(),
            tessera_http::gateway::GatewayGuard::default(),
        )
    })
    .shutdown_timeout(10);
    if let Some(n) = workers {
        server = server.workers(n.max(1));
    }
    Ok(server.listen(listener)?.run())
}
