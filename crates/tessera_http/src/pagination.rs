//! Bounded pagination for list endpoints (ARCHITECTURE.md §2 "APIs": every list is paginated).

use serde::{Deserialize, Serialize};

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 100;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// `?page=&per_page=` (1-based page; `per_page` 1..=100, default 20).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Items per page, 1..=100.
    pub per_page: Option<u32>,
}

impl PageParams {
    /// Validated `(limit, offset)` for SQL, or the field that is out of range.
    ///
    /// # Errors
    /// `ApiError` 422 naming `page` or `per_page`.
    pub fn limit_offset(&self) -> Result<(i64, i64), crate::ApiError> {
        self.limit_offset_as(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// [`PageParams::limit_offset`] for a service whose validation status is not 422 (seed 004
    /// answers 400).
    ///
    /// # Errors
    /// `ApiError` `validation_status` naming `page` or `per_page`.
    pub fn limit_offset_as(
        &self,
        validation_status: actix_web::http::StatusCode,
    ) -> Result<(i64, i64), crate::ApiError> {
        let invalid = |field: &str, message: String| {
            crate::ApiError::validation(
                validation_status,
                crate::FieldErrors::from([(field.to_owned(), vec![message])]),
            )
        };
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(invalid(
                "per_page",
                format!("The per_page field must be between 1 and {MAX_PER_PAGE}."),
            ));
        }
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(invalid(
                "page",
                "The page field must be at least 1.".to_owned(),
            ));
        }
        Ok((
            i64::from(per_page),
            i64::from(page - 1) * i64::from(per_page),
        ))
    }

    /// The `meta` of this page of a list with `total` matching items.
    pub fn meta(&self, total: i64) -> PageMeta {
        PageMeta {
            page: self.page.unwrap_or(1),
            per_page: self.per_page.unwrap_or(DEFAULT_PER_PAGE),
            total,
        }
    }
}

/// `meta` of a paginated list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageMeta {
    /// Current page (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Total matching items.
    pub total: i64,
}

/// The last page of `total` items at `per_page` a page (1 when there is nothing).
pub fn last_page(total: i64, per_page: u32) -> u32 {
    let per_page = i64::from(per_page.max(1));
    u32::try_from((total.max(0) + per_page - 1) / per_page)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// An RFC 8288 `Link` header value of a page of a list from its pages' URLs:
/// `<first>; rel="first", <prev>; rel="prev", <next>; rel="next", <last>; rel="last"`, the
/// absent ones left out.
pub fn link_header(first: &str, prev: Option<&str>, next: Option<&str>, last: &str) -> String {
    [
        (Some(first), "first"),
        (prev, "prev"),
        (next, "next"),
        (Some(last), "last"),
    ]
    .into_iter()
    .filter_map(|(url, rel)| url.map(|u| format!("<{u}>; rel=\"{rel}\"")))
    .collect::<Vec<_>>()
    .join(", ")
}

impl PageMeta {
    /// The last page (1 when there is nothing).
    pub fn last_page(&self) -> u32 {
        last_page(self.total, self.per_page)
    }

    /// The [`link_header`] of this page of a list at `path` with the request's `query` string:
    /// `first` and `last` always, `prev` and `next` where they exist, each the same query
    /// (filters kept) with its own `page` and this `per_page`, e.g.
    /// `</wls?page=1&per_page=20>; rel="first", </wls?page=3&per_page=20>; rel="next", …`.
    pub fn link(&self, path: &str, query: &str) -> String {
        let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let url = |page: u32| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.extend_pairs(&kept);
            q.append_pair("page", &page.to_string());
            q.append_pair("per_page", &self.per_page.to_string());
            format!("{path}?{}", q.finish())
        };
        let last = self.last_page();
        let prev = (self.page > 1).then(|| url((self.page - 1).min(last)));
        let next = (self.page < last).then(|| url(self.page + 1));
        link_header(&url(1), prev.as_deref(), next.as_deref(), &url(last))
    }
}

/// `200 OK` for a page of a list, with its `Link` header ([`PageMeta::link`]); add the body with
/// `.json(…)`.
pub fn page_response(
    req: &actix_web::HttpRequest,
    meta: &PageMeta,
) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::Ok();
    response.insert_header((
        actix_web::http::header::LINK,
        meta.link(req.path(), req.query_string()),
    ));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_first_prev_next_last_and_keeps_the_filters() {
        let meta = PageMeta {
            page: 2,
            per_page: 10,
            total: 35,
        };
        assert_eq!(meta.last_page(), 4);
        assert_eq!(
            meta.link("/wls", "status=active&page=2&per_page=10"),
            "</wls?status=active&page=1&per_page=10>; rel=\"first\", \
             </wls?status=active&page=1&per_page=10>; rel=\"prev\", \
             </wls?status=active&page=3&per_page=10>; rel=\"next\", \
             </wls?status=active&page=4&per_page=10>; rel=\"last\""
        );
        let only = PageMeta {
            page: 1,
            per_page: 20,
            total: 0,
        };
        assert_eq!(
            only.link("/x", "q=a%20b"),
            "</x?q=a+b&page=1&per_page=20>; rel=\"first\", </x?q=a+b&page=1&per_page=20>; rel=\"last\""
        );
    }

    #[test]
    fn bounds_per_page_and_page() {
        let p = PageParams {
            page: Some(3),
            per_page: Some(10),
        };
        assert_eq!(p.limit_offset().ok(), Some((10, 20)));
        let p = PageParams {
            page: None,
            per_page: None,
        };
        assert_eq!(p.limit_offset().ok(), Some((20, 0)));
        assert!(
            PageParams {
                page: Some(0),
                per_page: None
            }
            .limit_offset()
            .is_err()
        );
        assert!(
            PageParams {
                page: None,
                per_page: Some(101)
            }
            .limit_offset()
            .is_err()
        );
        assert!(
            PageParams {
                page: None,
                per_page: Some(0)
            }
            .limit_offset()
            .is_err()
        );
    }
}
