//! Laravel's `LengthAwarePaginator` for `GET /api/quotations` (seed 001): `links`, `meta` and
//! the page window of `meta.links` (`UrlWindow`), as Laravel 11 renders them, and the same links
//! as an RFC 8288 `Link` header.

use serde::Serialize;
use utoipa::ToSchema;

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
    /// The same links as an RFC 8288 `Link` header ([`tessera_http::pagination::link_header`]).
    pub fn header(&self) -> String {
        tessera_http::pagination::link_header(
            &self.first,
            self.prev.as_deref(),
            self.next.as_deref(),
            &self.last,
        )
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
pub(super) fn paginate(
    path: &str,
    page: u32,
    per_page: u32,
    total: i64,
    shown: usize,
    url_for: &dyn Fn(u32) -> String,
) -> (Links, Meta) {
    let last_page = tessera_http::pagination::last_page(total, per_page);
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
