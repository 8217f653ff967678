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

#[cfg(test)]
mod tests {
    use super::*;

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
