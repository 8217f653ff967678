//! `GET /dashboard/quotations/series` (issue #20): one symbol's price series for the dashboard's
//! charts (`assets/charts.js` draws it with uPlot), over a range the page's selector picks.
//!
//! ```text
//! GET /dashboard/quotations/series?symbol=BTC&range=7d
//! 200 {"symbol":"BTC","range":"7d","points":[[1764720000,84123.5],…],"thinned":false}
//! ```
//!
//! `points` are `[quoted_at as Unix seconds, price]`, oldest first: real quotations (the
//! history's, `GET /api/quotations`), at most [`MAX_POINTS`]; a longer range keeps every k-th
//! counted from the newest and says `"thinned": true`. Errors: 401/403 as every dashboard JSON
//! route (a session of a verified user), 422 `validation_error` naming `symbol` or `range`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;

use super::json_access;
use crate::db::quotations;
use crate::state::AppState;

/// Most points one chart is sent.
pub const MAX_POINTS: i64 = 1000;

/// The range selector's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Range {
    /// The last 24 hours.
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days (the default).
    #[serde(rename = "7d")]
    Week,
    /// The last 30 days.
    #[serde(rename = "30d")]
    Month,
    /// Everything there is.
    #[serde(rename = "all")]
    All,
}

impl Range {
    /// `24h`, `7d`, `30d` or `all`; anything else `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "24h" => Some(Self::Day),
            "7d" => Some(Self::Week),
            "30d" => Some(Self::Month),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// How far back the range reaches (`None`: all).
    pub fn span(self) -> Option<TimeDelta> {
        match self {
            Self::Day => Some(TimeDelta::hours(24)),
            Self::Week => Some(TimeDelta::days(7)),
            Self::Month => Some(TimeDelta::days(30)),
            Self::All => None,
        }
    }
}

/// The query: `symbol` (required, as `GET /api/quotations` spells it) and `range`.
#[derive(Debug, Deserialize)]
pub struct SeriesQuery {
    symbol: Option<String>,
    range: Option<String>,
}

#[derive(Debug, Serialize)]
struct Series {
    symbol: String,
    range: Range,
    points: Vec<(i64, f64)>,
    thinned: bool,
}

/// `GET /dashboard/quotations/series` (module docs).
///
/// # Errors
/// 401, 403, 422, 503.
pub async fn series(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    json_access(&state, &req).await?;
    let q = q.into_inner();
    let range = match q.range.as_deref().filter(|r| !r.is_empty()) {
        None => Range::Week,
        Some(r) => Range::parse(r).ok_or_else(|| {
            ApiError::invalid_field("range", "The range must be one of 24h, 7d, 30d, all.")
        })?,
    };
    let symbol = q
        .symbol
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid_field("symbol", "The symbol field is required."))?;
    let symbol = state
        .market
        .resolve(symbol, None)
        .map_err(|_| ApiError::invalid_field("symbol", "The symbol is not valid."))?
        .symbol;
    let since = range.span().map(|span| tessera_service::now() - span);
    let mut conn = state.pool.get().await?;
    let points = quotations::series_since(&mut conn, &symbol, since, MAX_POINTS).await?;
    drop(conn);
    let thinned = points.first().is_some_and(|p| p.total > MAX_POINTS);
    Ok(HttpResponse::Ok().json(Series {
        symbol,
        range,
        points: points
            .iter()
            .map(|p| (p.quoted_at.timestamp(), p.price))
            .collect(),
        thinned,
    }))
}
