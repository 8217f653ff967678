//! `white_labels`: the registry's white labels.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_http::db::is_unique_violation;

use crate::db::schema::white_labels;
use crate::domain::{Status, WlId};
use crate::error::Error;

/// A white label.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = white_labels)]
#[serde(rename_all = "camelCase")]
pub struct WhiteLabel {
    /// Stable public id, e.g. `wl-a`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active` | `inactive`.
    pub status: Status,
    /// Creation time (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    pub updated_at: DateTime<Utc>,
}

/// A white label to create (validated by the caller: see `routes::white_labels`).
#[derive(Debug, Clone)]
pub struct NewWhiteLabel<'a> {
    /// Its id.
    pub id: &'a WlId,
    /// Display name, trimmed, 1–200 characters.
    pub name: &'a str,
    /// Initial status.
    pub status: Status,
}

impl NewWhiteLabel<'_> {
    /// Creates it.
    ///
    /// # Errors
    /// [`Error::WhiteLabelExists`] when the id is taken; database errors.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> Result<WhiteLabel, Error> {
        diesel::insert_into(white_labels::table)
            .values((
                white_labels::id.eq(self.id.as_str()),
                white_labels::name.eq(self.name),
                white_labels::status.eq(self.status),
            ))
            .returning(WhiteLabel::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::WhiteLabelExists
                } else {
                    e.into()
                }
            })
    }
}

/// A change to a white label: `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhiteLabelChange<'a> {
    /// New display name.
    pub name: Option<&'a str>,
    /// New status.
    pub status: Option<Status>,
}

/// One page of white labels by id, and the total.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<WhiteLabel>, i64)> {
    tessera_db::page::load(
        conn,
        white_labels::table
            .order(white_labels::id.asc())
            .select(WhiteLabel::as_select()),
        white_labels::table.count(),
        limit,
        offset,
    )
    .await
}

/// One white label, if it exists.
///
/// # Errors
/// Database errors.
pub async fn find(conn: &mut AsyncPgConnection, id: &str) -> QueryResult<Option<WhiteLabel>> {
    white_labels::table
        .find(id)
        .select(WhiteLabel::as_select())
        .first(conn)
        .await
        .optional()
}

/// Applies `change` to white label `id` at `now`.
///
/// # Errors
/// [`Error::WhiteLabelNotFound`] when it does not exist; database errors.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: &str,
    change: &WhiteLabelChange<'_>,
    now: DateTime<Utc>,
) -> Result<WhiteLabel, Error> {
    #[derive(AsChangeset)]
    #[diesel(table_name = white_labels)]
    struct Row<'a> {
        name: Option<&'a str>,
        status: Option<Status>,
        updated_at: DateTime<Utc>,
    }
    diesel::update(white_labels::table.find(id))
        .set(Row {
            name: change.name,
            status: change.status,
            updated_at: now,
        })
        .returning(WhiteLabel::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(Error::WhiteLabelNotFound)
}
