//! `/dashboard/operations` and its auto-collect JSON routes (seed 001 "Dashboard de operacoes"):
//!
//! | route | body / query | success | failures |
//! |---|---|---|---|
//! | `GET /dashboard/operations/auto-collect` | — | 200 settings | 401, 403 |
//! | `PUT /dashboard/operations/auto-collect` | `{enabled, interval_minutes, symbols, provider}` | 200 settings | 419, 401, 403, 422 |
//! | `POST /dashboard/operations/auto-collect/run` | `{symbols?, provider?, dry_run?, force_provider?}` | 200 run report | 419, 401, 403, 422 |
//! | `GET /dashboard/operations/auto-collect/history` | `?limit=1..100` (20) | 200 `{data: [run]}` | 401, 403, 422 |
//!
//! Settings: `{enabled, interval_minutes, symbols, provider, available_providers,
//! cron_expression, requires_scheduler_restart, scheduler_restart_note}`. `symbols` is an array
//! or a CSV string of 1 to 50 valid symbols; `provider` may be empty or null to clear it;
//! booleans accept `true|false|1|0|"1"|"0"|"true"|"false"` and `interval_minutes` an integer or
//! integer string (Laravel's validation rules). The run report is [`crate::collect::Report`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde_json::{Value, json};
use tessera_http::{ApiError, FieldErrors};

use super::{PageAccess, csrf_json, dashboard_user, json_access, page_access, page_ctx, render};
use crate::collect::{self, MAX_SYMBOLS, Request, Settings, Trigger};
use crate::providers::Provider;
use crate::state::AppState;

/// `scheduler_restart_note`.
pub const RESTART_NOTE: &str = "No restart needed: every replica's scheduler reads these settings at its next tick, and only one replica runs each scheduled slot.";

/// The settings as the routes show them.
pub fn settings_json(s: &Settings) -> Value {
    json!({
        "enabled": s.enabled,
        "interval_minutes": s.interval_minutes,
        "symbols": s.symbols,
        "provider": s.provider.map(Provider::as_str),
        "available_providers": Provider::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "cron_expression": s.cron_expression(),
        "requires_scheduler_restart": false,
        "scheduler_restart_note": RESTART_NOTE,
    })
}

fn add(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_owned())
        .or_default()
        .push(message.into());
}

fn boolean(body: &Value, field: &str, default: Option<bool>, errors: &mut FieldErrors) -> bool {
    match body.get(field) {
        None | Some(Value::Null) => default.unwrap_or_else(|| {
            add(errors, field, format!("The {field} field is required."));
            false
        }),
        Some(Value::Bool(b)) => *b,
        Some(v) => match v
            .as_i64()
            .map(|n| n.to_string())
            .or_else(|| v.as_str().map(str::to_owned))
            .as_deref()
        {
            Some("1" | "true") => true,
            Some("0" | "false") => false,
            _ => {
                add(
                    errors,
                    field,
                    format!("The {field} field must be true or false."),
                );
                false
            }
        },
    }
}

fn symbols(
    state: &AppState,
    body: &Value,
    required: bool,
    errors: &mut FieldErrors,
) -> Option<Vec<String>> {
    let list = match body.get("symbols") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(collect::split_symbols(s)),
        Some(Value::Array(items)) => {
            let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            match strings {
                Some(s) => Some(collect::split_symbols(&s.join(","))),
                None => {
                    add(
                        errors,
                        "symbols",
                        "The symbols field must be an array of strings or a comma-separated string.",
                    );
                    return None;
                }
            }
        }
        Some(_) => {
            add(
                errors,
                "symbols",
                "The symbols field must be an array of strings or a comma-separated string.",
            );
            return None;
        }
    };
    let list = list.filter(|l| !l.is_empty());
    match list {
        None if required => {
            add(errors, "symbols", "The symbols field is required.");
            None
        }
        None => None,
        Some(l) if l.len() > MAX_SYMBOLS => {
            add(
                errors,
                "symbols",
                format!("The symbols field must not have more than {MAX_SYMBOLS} items."),
            );
            None
        }
        Some(l) => {
            for s in &l {
                if let Err(e) = state.market.resolve(s, None) {
                    add(errors, "symbols", e.0);
                }
            }
            Some(l)
        }
    }
}

fn provider(body: &Value, errors: &mut FieldErrors) -> Option<Provider> {
    match body.get("provider") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Provider::parse(s.trim()).or_else(|| {
            add(errors, "provider", "The selected provider is invalid (awesome_api, alpha_vantage, yahoo_finance, stooq).");
            None
        }),
        Some(_) => {
            add(errors, "provider", "The provider field must be a string.");
            None
        }
    }
}

fn interval(body: &Value, errors: &mut FieldErrors) -> u32 {
    let v = body.get("interval_minutes");
    let n = v.and_then(Value::as_i64).or_else(|| {
        v.and_then(Value::as_str)
            .and_then(|s| s.trim().parse().ok())
    });
    match (v, n) {
        (None | Some(Value::Null), _) => {
            add(
                errors,
                "interval_minutes",
                "The interval minutes field is required.",
            );
            1
        }
        (_, Some(n)) if (1..=59).contains(&n) => u32::try_from(n).unwrap_or(1),
        (_, Some(_)) => {
            add(
                errors,
                "interval_minutes",
                "The interval minutes field must be between 1 and 59.",
            );
            1
        }
        (_, None) => {
            add(
                errors,
                "interval_minutes",
                "The interval minutes field must be an integer.",
            );
            1
        }
    }
}

async fn settings(state: &AppState) -> Result<Settings, ApiError> {
    let mut conn = state.pool.get().await?;
    collect::load_settings(&mut conn, &state.config)
        .await
        .map_err(ApiError::from)
}

/// `GET /dashboard/operations`.
///
/// # Errors
/// 503 when the database is down.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let session = match page_access(&state, &req).await? {
        PageAccess::Granted(s, _) => s,
        PageAccess::Denied(r) => return Ok(r),
    };
    let current = settings(&state).await?;
    let history = {
        let mut conn = state.pool.get().await?;
        collect::history(&mut conn, 20).await?
    };
    let history: Vec<Value> = history
        .iter()
        .map(|r| {
            json!({"started_at": r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                "trigger": r.trigger, "status": r.status, "exit_code": r.exit_code,
                "symbols": r.symbols, "summary": r.summary})
        })
        .collect();
    let ctx = context! {
        settings => minijinja::Value::from(minijinja::value::Serde(settings_json(&current))),
        history => minijinja::Value::from(minijinja::value::Serde(&history)),
    };
    render(StatusCode::OK, "operations.html", page_ctx(&session, ctx))
}

/// `GET /dashboard/operations/auto-collect`.
///
/// # Errors
/// 401, 403, 503.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    json_access(&state, &req).await?;
    Ok(HttpResponse::Ok().json(settings_json(&settings(&state).await?)))
}

/// `PUT /dashboard/operations/auto-collect`.
///
/// # Errors
/// 419, 401, 403, 422, 503.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = csrf_json(&state, &req, &raw).await?;
    dashboard_user(&state, session)?;
    let mut errors = FieldErrors::new();
    let new = Settings {
        enabled: boolean(&body, "enabled", None, &mut errors),
        interval_minutes: interval(&body, &mut errors),
        symbols: symbols(&state, &body, true, &mut errors).unwrap_or_default(),
        provider: provider(&body, &mut errors),
    };
    ApiError::fail_if_any(errors)?;
    let mut conn = state.pool.get().await?;
    collect::save_settings(&mut conn, &new).await?;
    tracing::info!(
        enabled = new.enabled,
        interval = new.interval_minutes,
        "auto-collect settings saved"
    );
    Ok(HttpResponse::Ok().json(settings_json(&new)))
}

/// `POST /dashboard/operations/auto-collect/run`.
///
/// # Errors
/// 419, 401, 403, 422, 503.
pub async fn run(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = csrf_json(&state, &req, &raw).await?;
    dashboard_user(&state, session)?;
    let mut errors = FieldErrors::new();
    let given = symbols(&state, &body, false, &mut errors);
    let explicit = provider(&body, &mut errors);
    let dry_run = boolean(&body, "dry_run", Some(false), &mut errors);
    let force_provider = boolean(&body, "force_provider", Some(false), &mut errors);
    ApiError::fail_if_any(errors)?;
    let current = settings(&state).await?;
    let req = Request {
        symbols: given.unwrap_or(current.symbols),
        provider: explicit.or(current.provider),
        force_provider,
        dry_run,
        allow_partial_success: false,
        trigger: Trigger::Dashboard,
    };
    let deps = collect::Deps {
        pool: &state.pool,
        providers: &state.providers,
        market: &state.market,
        relay_wake: Some(&state.relay_wake),
    };
    let report = collect::run(deps, &req, None, |_, _, _| {})
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(report))
}

/// `?limit=`.
#[derive(Debug, serde::Deserialize)]
pub struct HistoryQuery {
    limit: Option<String>,
}

/// `GET /dashboard/operations/auto-collect/history`.
///
/// # Errors
/// 401, 403, 422, 503.
pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    json_access(&state, &req).await?;
    let limit = match q.limit.as_deref() {
        None => 20,
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_field(
                    "limit",
                    "The limit field must be an integer between 1 and 100.",
                ));
            }
        },
    };
    let mut conn = state.pool.get().await?;
    let runs = collect::history(&mut conn, limit).await?;
    Ok(HttpResponse::Ok().json(json!({"data": runs, "limit": limit})))
}
