//! `GET /healthz` (liveness) and `GET /readyz` (readiness), ARCHITECTURE.md §2 "Health".
//!
//! Liveness touches no dependency. Readiness runs every registered [`Probe`] concurrently,
//! each bounded by [`PROBE_TIMEOUT`], and answers 503 with the envelope naming what is down.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use futures_util::future::{BoxFuture, join_all};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};

/// Longest a single readiness probe may take before it counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// One readiness check: a name (`database`, `broker`) and an async check.
#[derive(Clone)]
pub struct Probe {
    name: &'static str,
    check: Arc<CheckFn>,
}

impl Probe {
    /// A probe from a closure returning a future; `Err(reason)` means down.
    pub fn new<F, Fut>(name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name,
            check: Arc::new(move || Box::pin(check())),
        }
    }

    /// A probe that reads a flag kept up to date elsewhere (e.g. the outbox relay's
    /// "connected to the broker"); down with `not connected` while it is false.
    pub fn flag(name: &'static str, up: Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self::new(name, move || {
            let ok = up.load(std::sync::atomic::Ordering::Relaxed);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("not connected".to_owned())
                }
            }
        })
    }
}

/// The set of probes `/readyz` runs; register it as `web::Data<Readiness>`.
#[derive(Clone, Default)]
pub struct Readiness {
    probes: Vec<Probe>,
    reported: Vec<Probe>,
}

impl Readiness {
    /// Adds a probe.
    pub fn with(mut self, probe: Probe) -> Self {
        self.probes.push(probe);
        self
    }

    /// Adds a dependency that is reported in `/healthz` (`checks`) but never makes the service
    /// unready: one the service rides out (the broker, behind the outbox; issue #18).
    pub fn reporting(mut self, probe: Probe) -> Self {
        self.reported.push(probe);
        self
    }

    /// The reported dependencies' states: `"ok"` or why not.
    pub async fn report(&self) -> std::collections::BTreeMap<String, String> {
        let results = join_all(self.reported.iter().map(|p| async move {
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, (p.check)()).await;
            let state = match outcome {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(reason)) => reason,
                Err(_) => "timed out".to_owned(),
            };
            (p.name.to_owned(), state)
        }))
        .await;
        results.into_iter().collect()
    }

    /// Runs all probes; returns the names (and reasons) of those that failed.
    pub async fn failures(&self) -> Vec<(&'static str, String)> {
        let results = join_all(self.probes.iter().map(|p| async move {
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, (p.check)()).await;
            match outcome {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some((p.name, reason)),
                Err(_) => Some((p.name, "timed out".to_owned())),
            }
        }))
        .await;
        results.into_iter().flatten().collect()
    }
}

/// `{"status": "ok", "checks"?: {"broker": "ok" | "<why not>"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    /// Always `ok`.
    pub status: &'static str,
    /// `/healthz` only: the dependencies the service rides out (reported, never a reason to
    /// stop serving), each `ok` or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /healthz`: 200 while the process serves requests (liveness), with the state of the
/// dependencies it rides out (`checks`, [`Readiness::reporting`]).
pub async fn healthz(readiness: Option<web::Data<Readiness>>) -> HttpResponse {
    let checks = match readiness {
        Some(r) if !r.reported.is_empty() => Some(r.report().await),
        _ => None,
    };
    HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        checks,
    })
}

/// `GET /readyz`: 200 `{"status":"ok"}`, or 503 `service_unavailable` naming the failed probes
/// (`details` lists the reasons when `APP_DEBUG=true`).
pub async fn readyz(readiness: Option<web::Data<Readiness>>) -> Result<HttpResponse, ApiError> {
    let failures = match readiness {
        Some(r) => r.failures().await,
        None => Vec::new(),
    };
    if failures.is_empty() {
        return Ok(HttpResponse::Ok().json(HealthStatus {
            status: "ok",
            checks: None,
        }));
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| *n).collect();
    tracing::warn!(down = ?failures, "not ready");
    let details: serde_json::Map<String, serde_json::Value> = failures
        .iter()
        .map(|(n, r)| ((*n).to_owned(), serde_json::Value::String(r.clone())))
        .collect();
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServiceUnavailable,
        format!("Not ready: {} unavailable.", names.join(", ")),
    )
    .with_reason(&names.join(","))
    .with_details(serde_json::Value::Object(details)))
}

/// Registers `/healthz` and `/readyz`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}
