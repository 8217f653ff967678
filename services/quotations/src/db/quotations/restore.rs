//! Restoring soft-deleted quotations (one, or every one matching the bulk filters), unless a
//! live equivalent exists.

use super::*;
use crate::db::schema::quotations;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// What restoring a quotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// It is live again.
    Restored,
    /// No soft-deleted quotation has that id.
    NotFound,
    /// An equivalent quotation (same symbol, source, time and price) is live: restoring would
    /// duplicate it.
    Duplicate,
}

/// Restores the soft-deleted rows among `ids` that have no live equivalent (and, among several
/// deleted equivalents, only the newest); returns the ids restored. One statement, so it cannot
/// race a collect into a duplicate (the dedup index would refuse it).
pub(super) async fn restore_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<Vec<i64>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE quotations q SET deleted_at = NULL \
         WHERE q.id = ANY($1) AND q.deleted_at IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM quotations l WHERE l.deleted_at IS NULL \
                 AND l.symbol = q.symbol AND l.source = q.source \
                 AND l.quoted_at = q.quoted_at AND l.price = q.price) \
           AND q.id = (SELECT max(d.id) FROM quotations d WHERE d.deleted_at IS NOT NULL \
                 AND d.id = ANY($1) AND d.symbol = q.symbol AND d.source = q.source \
                 AND d.quoted_at = q.quoted_at AND d.price = q.price) \
         RETURNING q.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Restores soft-deleted quotation `id`.
///
/// # Errors
/// Database errors.
pub async fn restore(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Restore, diesel::result::Error> {
    if !restore_ids(conn, &[id]).await?.is_empty() {
        return Ok(Restore::Restored);
    }
    let deleted: Option<i64> = quotations::table
        .find(id)
        .filter(quotations::deleted_at.is_not_null())
        .select(quotations::id)
        .first(conn)
        .await
        .optional()?;
    Ok(if deleted.is_some() {
        Restore::Duplicate
    } else {
        Restore::NotFound
    })
}

/// Restores every soft-deleted quotation matching `f` that has no live equivalent; returns
/// (restored, skipped as duplicates).
///
/// # Errors
/// Database errors.
pub async fn restore_matching(
    conn: &mut AsyncPgConnection,
    f: &Filters,
) -> Result<(usize, usize), diesel::result::Error> {
    let ids: Vec<i64> = matching(f, true).select(quotations::id).load(conn).await?;
    let restored = restore_ids(conn, &ids).await?.len();
    Ok((restored, ids.len() - restored))
}
