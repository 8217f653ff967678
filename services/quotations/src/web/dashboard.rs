//! `GET /dashboard/quotations` (issue #7): the latest quote per symbol, the filterable history
//! (the filters and validation of `GET /api/quotations`), and a price chart per symbol drawn as
//! inline SVG on the server (no script, no CDN).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use tessera_http::ApiError;

use super::{PageAccess, page_access, page_ctx, render};
use crate::db::quotations::{self, PricePoint};
use crate::domain::QuotationStatus;
use crate::providers::Provider;
use crate::routes::history::{ListQuery, validate};
use crate::state::AppState;

/// Symbols in the "latest" table.
pub const LATEST_SYMBOLS: i64 = 100;
/// Charts on the page (the first symbols of the latest table).
pub const CHARTS: usize = 12;
/// Points per chart.
pub const CHART_POINTS: i64 = 60;

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 100.0;

/// A chart's drawing: `points` is an SVG polyline `points` attribute in a `WIDTH`×`HEIGHT`
/// box (x by time, y by price, 5 % margin), `dots` the same points.
#[derive(Debug, serde::Serialize)]
pub struct Chart {
    symbol: String,
    count: usize,
    min: String,
    max: String,
    width: f64,
    height: f64,
    points: String,
    dots: Vec<(f64, f64)>,
    first_at: String,
    last_at: String,
}

/// Lays out one symbol's points (oldest first).
pub fn chart(symbol: &str, points: &[&PricePoint]) -> Option<Chart> {
    let (first, last) = (points.first()?, points.last()?);
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.price), hi.max(p.price))
        });
    let t0 = first.quoted_at.timestamp_millis() as f64;
    let span_t = (last.quoted_at.timestamp_millis() as f64 - t0).max(1.0);
    let span_p = if hi > lo { hi - lo } else { 1.0 };
    let n = points.len();
    let dots: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = if n == 1 {
                WIDTH / 2.0
            } else if span_t <= 1.0 {
                WIDTH * i as f64 / (n - 1) as f64
            } else {
                WIDTH * (p.quoted_at.timestamp_millis() as f64 - t0) / span_t
            };
            let y = if hi > lo {
                HEIGHT * 0.95 - (p.price - lo) / span_p * HEIGHT * 0.9
            } else {
                HEIGHT / 2.0
            };
            ((x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0)
        })
        .collect();
    let polyline = dots
        .iter()
        .map(|(x, y)| format!("{x},{y}"))
        .collect::<Vec<_>>()
        .join(" ");
    Some(Chart {
        symbol: symbol.to_owned(),
        count: n,
        min: format!("{lo}"),
        max: format!("{hi}"),
        width: WIDTH,
        height: HEIGHT,
        points: polyline,
        dots,
        first_at: first.quoted_at.format("%Y-%m-%d %H:%M").to_string(),
        last_at: last.quoted_at.format("%Y-%m-%d %H:%M").to_string(),
    })
}

fn page_link(q: &ListQuery, page: u32) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("symbol", &q.symbol),
        ("type", &q.kind),
        ("source", &q.source),
        ("date_from", &q.date_from),
        ("date_to", &q.date_to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.append_pair("page", &page.to_string());
    format!("?{}", s.finish())
}

/// `GET /dashboard/quotations`.
///
/// # Errors
/// 503 when the database is down.
pub async fn quotations(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (session, _) = match page_access(&state, &req).await? {
        PageAccess::Granted(s, u) => (s, u),
        PageAccess::Denied(r) => return Ok(r),
    };
    let q = query.into_inner();
    let (filters, per_page, page, filter_errors) = match validate(&state, &q) {
        Ok((f, per, page)) => (f, per, page, Vec::new()),
        Err(e) => {
            let env = e.envelope();
            let list: Vec<String> = env
                .errors
                .map(|m| m.into_values().flatten().collect())
                .unwrap_or_else(|| vec![env.message]);
            (
                quotations::Filters {
                    statuses: vec![QuotationStatus::Valid],
                    ..Default::default()
                },
                20,
                1,
                list,
            )
        }
    };
    let mut conn = state.pool.get().await?;
    let latest = quotations::latest_per_symbol(&mut conn, LATEST_SYMBOLS).await?;
    let limit = i64::from(per_page);
    let rows =
        quotations::page(&mut conn, &filters, limit + 1, i64::from(page - 1) * limit).await?;
    let has_next = rows.len() > usize::try_from(limit).unwrap_or(20);
    let rows: Vec<_> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(20))
        .collect();
    let chart_symbols: Vec<String> = match &filters.symbol {
        Some(s) => vec![s.clone()],
        None => latest
            .iter()
            .take(CHARTS)
            .map(|q| q.symbol.clone())
            .collect(),
    };
    let points = quotations::series(&mut conn, &chart_symbols, CHART_POINTS).await?;
    drop(conn);
    let charts: Vec<Chart> = chart_symbols
        .iter()
        .filter_map(|s| {
            let mine: Vec<&PricePoint> = points.iter().filter(|p| &p.symbol == s).collect();
            chart(s, &mine)
        })
        .collect();
    let view = |r: &quotations::Quotation| {
        context! { id => r.id, symbol => r.symbol.as_str(), kind => r.kind.as_str(), source => r.source.as_str(),
        price => crate::db::quotations::trim_price(&r.price), currency => r.currency.as_deref(), status => r.status.as_str(),
        quoted_at => r.quoted_at.format("%Y-%m-%d %H:%M:%S").to_string() }
    };
    let ctx = context! {
        latest => latest.iter().map(view).collect::<Vec<_>>(),
        rows => rows.iter().map(view).collect::<Vec<_>>(),
        charts => minijinja::Value::from(minijinja::value::Serde(&charts)),
        q => context! { symbol => q.symbol.as_deref(), kind => q.kind.as_deref(), source => q.source.as_deref(), date_from => q.date_from.as_deref(), date_to => q.date_to.as_deref() },
        providers => Provider::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        filter_errors => filter_errors,
        page => page,
        prev_page => (page > 1).then(|| page_link(&q, page - 1)),
        next_page => has_next.then(|| page_link(&q, page + 1)),
        flash => req.query_string().contains("verified=1").then_some("Your e-mail address is verified."),
    };
    render(StatusCode::OK, "quotations.html", page_ctx(&session, ctx))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn p(price: f64, minute: u32) -> PricePoint {
        PricePoint {
            symbol: "BTC".into(),
            price,
            quoted_at: Utc
                .with_ymd_and_hms(2026, 11, 22, 10, minute, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn a_chart_spans_the_box_by_time_and_price() {
        let pts = [p(10.0, 0), p(20.0, 30), p(15.0, 60 - 1)];
        let refs: Vec<&PricePoint> = pts.iter().collect();
        let c = chart("BTC", &refs).unwrap_or_else(|| unreachable!());
        assert_eq!(c.dots.first(), Some(&(0.0, 95.0)));
        assert_eq!(c.dots.get(1).map(|d| d.1), Some(5.0));
        assert_eq!(c.dots.last().map(|d| d.0), Some(300.0));
        assert_eq!(c.points.split(' ').count(), 3);
        assert_eq!((c.min.as_str(), c.max.as_str()), ("10", "20"));
    }
}
