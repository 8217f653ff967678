//! `GET /api/quotations`: the stored history, filtered, Laravel-style pagination (seed 001).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, FieldErrors};
use utoipa::{IntoParams, ToSchema};

use crate::counts::Lookup;
use crate::db::quotations::{self, Filters, Quotation};
use crate::domain::QuotationStatus;
use crate::market::AssetType;
use crate::providers::Provider;
use crate::state::AppState;

use super::pager::paginate;
pub use super::pager::{Links, Meta, ON_EACH_SIDE, PageLink, url_window};

/// The filters, as sent (validated by [`validate`]).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Exact symbol (`USD-BRL` and `USDBRL` are the same).
    pub symbol: Option<String>,
    /// `stock|crypto|currency`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `awesome_api|alpha_vantage|yahoo_finance|stooq`.
    pub source: Option<String>,
    /// `valid|invalid` (overrides `include_invalid`).
    pub status: Option<String>,
    /// `true|false|0|1`: also invalid quotations (default false).
    pub include_invalid: Option<String>,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub date_from: Option<String>,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub date_to: Option<String>,
    /// `1..100` (default 20).
    pub per_page: Option<String>,
    /// 1-based (default 1).
    pub page: Option<String>,
}

/// `{data, links, meta}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotationPage {
    /// The quotations, newest `quoted_at` first.
    pub data: Vec<Quotation>,
    /// Navigation.
    pub links: Links,
    /// Counts.
    pub meta: Meta,
}

fn bool_param(v: &str) -> Option<bool> {
    match v {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Validates the filters: `(filters, per_page, page)`.
///
/// # Errors
/// 422 `validation_error` naming every bad filter.
pub fn validate(state: &AppState, q: &ListQuery) -> Result<(Filters, u32, u32), ApiError> {
    let mut errors = FieldErrors::new();
    let mut bad = |field: &str, msg: &str| {
        errors.insert(field.to_owned(), vec![msg.to_owned()]);
    };
    let present = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let mut f = Filters::default();
    if let Some(s) = present(&q.symbol) {
        match state.market.resolve(&s, None) {
            Ok(sym) => f.symbol = Some(sym.symbol),
            Err(_) => bad("symbol", "The symbol is not valid."),
        }
    }
    if let Some(k) = present(&q.kind) {
        match AssetType::parse(&k) {
            Some(k) => f.kind = Some(k.as_str().to_owned()),
            None => bad(
                "type",
                "The selected type is invalid (stock, crypto, currency).",
            ),
        }
    }
    if let Some(s) = present(&q.source) {
        match Provider::parse(&s) {
            Some(p) => f.source = Some(p.as_str().to_owned()),
            None => bad("source", "The selected source is invalid."),
        }
    }
    let include_invalid = match present(&q.include_invalid) {
        None => false,
        Some(v) => bool_param(&v).unwrap_or_else(|| {
            bad(
                "include_invalid",
                "The include_invalid field must be true, false, 0 or 1.",
            );
            false
        }),
    };
    f.statuses = match present(&q.status).map(|s| s.parse::<QuotationStatus>()) {
        Some(Ok(s)) => vec![s],
        Some(Err(_)) => {
            bad("status", "The selected status is invalid (valid, invalid).");
            Vec::new()
        }
        None if include_invalid => QuotationStatus::ALL.to_vec(),
        None => vec![QuotationStatus::Valid],
    };
    let date = |field: &str, v: &Option<String>, bad: &mut dyn FnMut(&str, &str)| {
        present(v).and_then(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok().or_else(|| {
                bad(
                    field,
                    &format!("The {field} field must be a date in the format YYYY-MM-DD."),
                );
                None
            })
        })
    };
    f.date_from = date("date_from", &q.date_from, &mut bad);
    f.date_to = date("date_to", &q.date_to, &mut bad);
    if let (Some(a), Some(b)) = (f.date_from, f.date_to)
        && a > b
    {
        bad(
            "date_to",
            "The date_to field must be a date after or equal to date_from.",
        );
    }
    let per_page = match present(&q.per_page) {
        None => 20,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .unwrap_or_else(|| {
                bad(
                    "per_page",
                    "The per_page field must be an integer between 1 and 100.",
                );
                20
            }),
    };
    let page = match present(&q.page) {
        None => 1,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .unwrap_or_else(|| {
                bad("page", "The page field must be an integer of at least 1.");
                1
            }),
    };
    if errors.is_empty() {
        Ok((f, per_page, page))
    } else {
        Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ))
    }
}

/// Recounts `filters` off the request path and stores the total (on failure `stale` is stored
/// again, so the next expiry tries again).
fn spawn_recount(state: web::Data<AppState>, key: String, filters: Filters, stale: i64) {
    actix_web::rt::spawn(async move {
        let counted = match state.pool.get().await {
            Ok(mut conn) => quotations::count(&mut conn, &filters).await.ok(),
            Err(_) => None,
        };
        if counted.is_none() {
            tracing::warn!("recounting a list total failed; keeping the previous one");
        }
        state.counts.put(key, counted.unwrap_or(stale));
    });
}

/// The stored quotations, newest first; only `valid` ones unless asked.
#[utoipa::path(get, path = "/api/quotations", tag = "quotations", params(ListQuery),
    responses((status = 200, body = QuotationPage),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`validation_error`: a bad filter")))]
pub async fn index(
    state: web::Data<AppState>,
    caller: crate::caller::Caller,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::quote::require_auth(&state, &caller)?;
    crate::throttle::check(&state, &req, &caller).await?;
    let (filters, per_page, page) = validate(&state, &query)?;
    let limit = i64::from(per_page);
    let offset = i64::from(page - 1) * limit;
    let (rows, total) = {
        let mut conn = state.pool.get().await?;
        let rows = quotations::page(&mut conn, &filters, limit, offset).await?;
        let key = format!("{filters:?}");
        let total = match state.counts.lookup(&key) {
            Lookup::Total(n) => n,
            Lookup::Recount(n) => {
                spawn_recount(state.clone(), key, filters, n);
                n
            }
            Lookup::Missing => {
                let n = quotations::count(&mut conn, &filters).await?;
                state.counts.put(key, n);
                n
            }
        };
        (rows, total)
    };
    // Absolute links come from the configured public URL (`APP_URL`), never from `Host` or
    // `X-Forwarded-Host`, which a client chooses.
    let path = format!(
        "{}{}",
        state.config.app_url.trim_end_matches('/'),
        req.path()
    );
    let others: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url_for = |n: u32| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &others {
            q.append_pair(k, v);
        }
        q.append_pair("page", &n.to_string());
        format!("{path}?{}", q.finish())
    };
    let (links, meta) = paginate(&path, page, per_page, total, rows.len(), &url_for);
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::LINK, links.header()))
        .json(QuotationPage {
            data: rows,
            links,
            meta,
        }))
}
