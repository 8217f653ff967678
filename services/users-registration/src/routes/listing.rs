//! What `GET /users` and `GET /registrations` share (issue #20, the analyst's queue): who may
//! list (analysts and auditors), the query string, and the page of answers.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use tessera_http::pagination::{PageMeta, PageParams};

use crate::auth::{Principal, Role, USERS_READ};
use crate::db::user_filter::UserFilter;
use crate::document::{self, DocumentKeys};
use crate::domain::UserStatus;

/// The query string of both lists: `?status=&role=&from=&to=&q=&documentId=&page=&per_page=`.
/// Unknown parameters are refused (a misspelt filter must not silently list everyone).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: Option<UserStatus>,
    /// `producer`, `analyst` or `auditor`.
    pub role: Option<Role>,
    /// RFC 3339: created (users) or submitted (registrations) at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339: created (users) or submitted (registrations) before this instant.
    pub to: Option<DateTime<Utc>>,
    /// 1 to 100 characters, found case-insensitively anywhere in the name or the e-mail.
    pub q: Option<String>,
    /// Exactly this document number (punctuation ignored), matched through its blind index:
    /// the sealed column is not decrypted to search.
    #[serde(rename = "documentId")]
    #[param(rename = "documentId")]
    pub document_id: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// One page of a list: `{data, meta: {page, per_page, total}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Where this page is.
    pub meta: PageMeta,
}

/// A parsed list request: the filter, the `(limit, offset)` and the page's `meta` builder.
#[derive(Debug)]
pub struct ListRequest {
    /// What to select.
    pub filter: UserFilter,
    /// `[from, to)` of the list's own date.
    pub range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    /// SQL `LIMIT`.
    pub limit: i64,
    /// SQL `OFFSET`.
    pub offset: i64,
    page: PageParams,
}

impl ListRequest {
    /// The `meta` of the page for `total` matching items.
    pub fn meta(&self, total: i64) -> PageMeta {
        self.page.meta(total)
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(
        StatusCode::BAD_REQUEST,
        [(field.to_owned(), vec![message.to_owned()])].into(),
    )
}

/// Checks that `who` may list users (analysts and auditors: the roles that see everyone, with
/// `users:read`) and parses the query string. Seed 004's validation status is 400.
///
/// # Errors
/// 403 `forbidden` (`missing_scope`, or `staff_only` for a producer); 400 `validation_error`
/// naming the parameter.
pub fn parse(
    who: &Principal,
    req: &HttpRequest,
    keys: &DocumentKeys,
) -> Result<ListRequest, ApiError> {
    who.require(USERS_READ)?;
    if !who.role.sees_everyone() {
        return Err(ApiError::forbidden(
            "staff_only",
            "Only analysts and auditors list users and registrations.",
        ));
    }
    let q = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| tessera_http::extract::query_error(&e, StatusCode::BAD_REQUEST))?
        .into_inner();
    let page = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let (limit, offset) = page.limit_offset_as(StatusCode::BAD_REQUEST)?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(invalid("to", "The to field must be after from."));
    }
    let search = match q.q.as_deref().map(str::trim) {
        Some(s) if s.is_empty() || s.chars().count() > 100 => {
            return Err(invalid("q", "The q field must have 1 to 100 characters."));
        }
        other => other.map(str::to_owned),
    };
    let document = match q.document_id.as_deref() {
        Some(d) => {
            let normalised = document::normalise(d);
            if normalised.is_empty() || normalised.len() > 32 {
                return Err(invalid(
                    "documentId",
                    "The documentId field must have 1 to 32 letters or digits.",
                ));
            }
            Some((keys.blind_index(&normalised), normalised))
        }
        None => None,
    };
    Ok(ListRequest {
        filter: UserFilter {
            status: q.status,
            role: q.role,
            created_from: None,
            created_to: None,
            search,
            document,
        },
        range: (q.from, q.to),
        limit,
        offset,
        page,
    })
}
