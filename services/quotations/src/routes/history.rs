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

/// A link of `meta.links`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageLink {
    /// Target, or null.
    pub url: Option<String>,
    /// `&laquo; Previous`, a page number, `Next &raquo;`.
    pub label: String,
    /// Whether it is the current page.
    pub active: bool,
}

/// `links` of a Laravel paginator.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    /// First page.
    pub first: String,
    /// Last page.
    pub last: String,
    /// Previous page, if any.
    pub prev: Option<String>,
    /// Next page, if any.
    pub next: Option<String>,
}

impl Links {
    /// The same links as an RFC 8288 `Link` header: `<url>; rel="first", …` (first, prev,
    /// next, last; the absent ones left out).
    pub fn header(&self) -> String {
        [
            (Some(&self.first), "first"),
            (self.prev.as_ref(), "prev"),
            (self.next.as_ref(), "next"),
            (Some(&self.last), "last"),
        ]
        .into_iter()
        .filter_map(|(url, rel)| url.map(|u| format!("<{u}>; rel=\"{rel}\"")))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// `meta` of a Laravel paginator.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Current page.
    pub current_page: u32,
    /// 1-based index of the first item on this page (null when empty).
    pub from: Option<i64>,
    /// Last page (at least 1).
    pub last_page: u32,
    /// Page links.
    pub links: Vec<PageLink>,
    /// The list's URL without query.
    pub path: String,
    /// Page size.
    pub per_page: u32,
    /// Index of the last item on this page (null when empty).
    pub to: Option<i64>,
    /// Matching items.
    pub total: i64,
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

/// Laravel's `LengthAwarePaginator::$onEachSide` default.
pub const ON_EACH_SIDE: u32 = 3;

/// The page numbers `meta.links` shows between "Previous" and "Next", `None` for a `"..."`
/// separator: Laravel's `UrlWindow` (`Illuminate\Pagination\UrlWindow::get`) as
/// `AbstractPaginator::elements()` lays it out. Fewer than `2 × on_each_side + 8` pages: all of
/// them. Otherwise, with `window = on_each_side + 4`: near the start, pages
/// `1..=window + on_each_side`, "...", the last two; near the end, the first two, "...", the last
/// `window + on_each_side` pages; elsewhere the first two, "...", `on_each_side` pages either
/// side of the current one, "...", the last two.
pub fn url_window(page: u32, last_page: u32, on_each_side: u32) -> Vec<Option<u32>> {
    let all = |a: u32, b: u32| (a..=b).map(Some).collect::<Vec<_>>();
    if last_page < on_each_side * 2 + 8 {
        return all(1, last_page);
    }
    let window = on_each_side + 4;
    let start = all(1, 2);
    let finish = all(last_page - 1, last_page);
    let parts: Vec<Vec<Option<u32>>> = if page <= window {
        vec![all(1, window + on_each_side), vec![None], finish]
    } else if page > last_page - window {
        vec![
            start,
            vec![None],
            all(last_page - (window + on_each_side - 1), last_page),
        ]
    } else {
        vec![
            start,
            vec![None],
            all(page - on_each_side, page + on_each_side),
            vec![None],
            finish,
        ]
    };
    parts.concat()
}

/// Laravel's `links` and `meta` for `page` of `total` items at `per_page`; `url_for(n)` is the
/// URL of page `n` (the request's query with `page=n`).
fn paginate(
    path: &str,
    page: u32,
    per_page: u32,
    total: i64,
    shown: usize,
    url_for: &dyn Fn(u32) -> String,
) -> (Links, Meta) {
    let last_page = u32::try_from((total.max(0) + i64::from(per_page) - 1) / i64::from(per_page))
        .unwrap_or(u32::MAX)
        .max(1);
    let first_item = i64::from(page - 1) * i64::from(per_page) + 1;
    let (from, to) = if shown == 0 {
        (None, None)
    } else {
        (
            Some(first_item),
            Some(first_item + i64::try_from(shown).unwrap_or(0) - 1),
        )
    };
    let prev = (page > 1).then(|| url_for(page - 1));
    let next = (page < last_page).then(|| url_for(page + 1));
    let mut links = vec![PageLink {
        url: prev.clone(),
        label: "&laquo; Previous".to_owned(),
        active: false,
    }];
    links.extend(
        url_window(page, last_page, ON_EACH_SIDE)
            .into_iter()
            .map(|slot| match slot {
                Some(n) => PageLink {
                    url: Some(url_for(n)),
                    label: n.to_string(),
                    active: n == page,
                },
                None => PageLink {
                    url: None,
                    label: "...".to_owned(),
                    active: false,
                },
            }),
    );
    links.push(PageLink {
        url: next.clone(),
        label: "Next &raquo;".to_owned(),
        active: false,
    });
    (
        Links {
            first: url_for(1),
            last: url_for(last_page),
            prev,
            next,
        },
        Meta {
            current_page: page,
            from,
            last_page,
            links,
            path: path.to_owned(),
            per_page,
            to,
            total,
        },
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `page` of `last_page` as Laravel 11 renders `links` between "Previous" and "Next":
    /// fixtures written from `LengthAwarePaginator::linkCollection()` with `onEachSide = 3`.
    const LARAVEL: &[(u32, u32, &str)] = &[
        (1, 1, "1"),
        (1, 5, "1 2 3 4 5"),
        (7, 13, "1 2 3 4 5 6 7 8 9 10 11 12 13"),
        (1, 14, "1 2 3 4 5 6 7 8 9 10 ... 13 14"),
        (7, 14, "1 2 3 4 5 6 7 8 9 10 ... 13 14"),
        (8, 14, "1 2 ... 5 6 7 8 9 10 11 12 13 14"),
        (1, 96, "1 2 3 4 5 6 7 8 9 10 ... 95 96"),
        (7, 96, "1 2 3 4 5 6 7 8 9 10 ... 95 96"),
        (8, 96, "1 2 ... 5 6 7 8 9 10 11 ... 95 96"),
        (50, 96, "1 2 ... 47 48 49 50 51 52 53 ... 95 96"),
        (89, 96, "1 2 ... 86 87 88 89 90 91 92 ... 95 96"),
        (90, 96, "1 2 ... 87 88 89 90 91 92 93 94 95 96"),
        (96, 96, "1 2 ... 87 88 89 90 91 92 93 94 95 96"),
    ];

    #[test]
    fn the_window_is_laravels() {
        for (page, last, expected) in LARAVEL {
            let got: Vec<String> = url_window(*page, *last, ON_EACH_SIDE)
                .into_iter()
                .map(|p| p.map_or_else(|| "...".to_owned(), |n| n.to_string()))
                .collect();
            assert_eq!(got.join(" "), *expected, "page {page} of {last}");
        }
    }

    #[test]
    fn links_mark_the_current_page_and_separators_have_no_url() {
        let url = |n: u32| format!("/api/quotations?page={n}");
        let (_, meta) = paginate("/api/quotations", 50, 10, 960, 10, &url);
        let labels: Vec<&str> = meta.links.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels.first(), Some(&"&laquo; Previous"));
        assert_eq!(labels.last(), Some(&"Next &raquo;"));
        let active: Vec<&str> = meta
            .links
            .iter()
            .filter(|l| l.active)
            .map(|l| l.label.as_str())
            .collect();
        assert_eq!(active, vec!["50"]);
        assert!(
            meta.links
                .iter()
                .filter(|l| l.label == "...")
                .all(|l| l.url.is_none())
        );
        assert_eq!(meta.links.iter().filter(|l| l.label == "...").count(), 2);
    }
}
