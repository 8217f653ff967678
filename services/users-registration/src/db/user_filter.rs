//! The staff lists' selection of `users` (issue #20, the analyst's queue): one filter that
//! `GET /users` pages directly and `GET /registrations` uses as a sub-select.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::AsyncPgConnection;

use crate::db::schema::users;
use crate::db::users::UserRow;
use crate::domain::{Role, UserStatus};

/// What a staff list of users (or of their registrations) is narrowed to; every field is
/// optional and they combine with AND (issue #20, the analyst's queue).
#[derive(Debug, Default)]
pub struct UserFilter {
    /// Only this status.
    pub status: Option<UserStatus>,
    /// Only this role.
    pub role: Option<Role>,
    /// `created_at >= from`.
    pub created_from: Option<DateTime<Utc>>,
    /// `created_at < to`.
    pub created_to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the name or the e-mail (plain text: `%` and `_` match
    /// themselves).
    pub search: Option<String>,
    /// Exactly this document: its blind index and its normalised text (for rows not yet
    /// backfilled). The sealed column is never opened to search.
    pub document: Option<(Vec<u8>, String)>,
}

/// The users `f` selects, as a boxed query (no order, no page).
pub fn filtered(f: &UserFilter) -> users::BoxedQuery<'static, diesel::pg::Pg> {
    let mut q = users::table.into_boxed();
    if let Some(status) = f.status {
        q = q.filter(users::status.eq(status));
    }
    if let Some(role) = f.role {
        q = q.filter(users::role.eq(role));
    }
    if let Some(from) = f.created_from {
        q = q.filter(users::created_at.ge(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(users::created_at.lt(to));
    }
    if let Some(search) = &f.search {
        let pattern = tessera_db::contains_pattern(search);
        q = q.filter(
            users::name
                .ilike(pattern.clone())
                .or(users::email.ilike(pattern)),
        );
    }
    if let Some((index, normalised)) = &f.document {
        q = q.filter(
            users::document_id_index.eq(index.clone()).or(diesel::dsl::sql::<
                diesel::sql_types::Bool,
            >(
                "document_id IS NOT NULL AND regexp_replace(upper(document_id), '[^0-9A-Z]', '', 'g') = ",
            )
            .bind::<diesel::sql_types::Text, _>(normalised.clone())),
        );
    }
    q
}

/// One page of the users `f` selects, newest first, and how many there are in all.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut AsyncPgConnection,
    f: &UserFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserRow>, i64), DbError> {
    tessera_db::page::load(
        conn,
        filtered(f)
            .order((users::created_at.desc(), users::id.desc()))
            .select(UserRow::as_select()),
        filtered(f).count(),
        limit,
        offset,
    )
    .await
}
