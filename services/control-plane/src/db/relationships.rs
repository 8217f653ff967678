//! `wl_relationships`: which white label may ask for peer tokens to which, with which scopes
//! (seed 000 "visibility"), and the one-round-trip look-up of the peer-token hot path.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::wl_relationships;
use crate::domain::Status;
use crate::error::Error;

/// An importer → target relationship and the scopes it allows.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = wl_relationships)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The WL that imports offers and asks for peer tokens.
    pub importer_id: String,
    /// The WL the tokens are for.
    pub target_id: String,
    /// Scopes the importer may request for this target.
    pub scopes: Vec<String>,
    /// `active` | `inactive`.
    pub status: Status,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Creates or replaces the importer → target relationship; `true` when it was created.
///
/// # Errors
/// [`Error::WhiteLabelNotFound`] when either white label does not exist; database errors.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
    scopes: &[String],
    status: Status,
) -> Result<(Relationship, bool), Error> {
    let existed: bool = diesel::select(diesel::dsl::exists(
        wl_relationships::table.find((importer, target)),
    ))
    .get_result(conn)
    .await?;
    let row = diesel::insert_into(wl_relationships::table)
        .values((
            wl_relationships::importer_id.eq(importer),
            wl_relationships::target_id.eq(target),
            wl_relationships::scopes.eq(scopes),
            wl_relationships::status.eq(status),
        ))
        .on_conflict((wl_relationships::importer_id, wl_relationships::target_id))
        .do_update()
        .set((
            wl_relationships::scopes.eq(scopes),
            wl_relationships::status.eq(status),
            wl_relationships::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Relationship::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, !existed))
}

/// One page of an importer's relationships, and the total.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut AsyncPgConnection,
    importer: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Relationship>, i64)> {
    let of_importer = || wl_relationships::table.filter(wl_relationships::importer_id.eq(importer));
    tessera_db::page::load(
        conn,
        of_importer()
            .order(wl_relationships::target_id.asc())
            .select(Relationship::as_select()),
        of_importer().count(),
        limit,
        offset,
    )
    .await
}

/// Deletes a relationship.
///
/// # Errors
/// [`Error::RelationshipNotFound`] when there was none; database errors.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
) -> Result<(), Error> {
    let n = diesel::delete(wl_relationships::table.find((importer, target)))
        .execute(conn)
        .await?;
    if n == 0 {
        return Err(Error::RelationshipNotFound);
    }
    Ok(())
}

/// Everything the peer-token endpoint needs about (importer, target), in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct PairView {
    /// Importer's status, `None` when unknown.
    #[diesel(sql_type = Nullable<Text>)]
    pub importer_status: Option<Status>,
    /// Target's status, `None` when unknown.
    #[diesel(sql_type = Nullable<Text>)]
    pub target_status: Option<Status>,
    /// Relationship status, `None` when there is none.
    #[diesel(sql_type = Nullable<Text>)]
    pub relationship_status: Option<Status>,
    /// Scopes the relationship allows.
    #[diesel(sql_type = Nullable<Array<Text>>)]
    pub relationship_scopes: Option<Vec<String>>,
}

/// Loads the [`PairView`] of (importer, target).
///
/// # Errors
/// Database errors.
pub async fn resolve_pair(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
) -> QueryResult<PairView> {
    tessera_db::prepared(
        diesel::sql_query(
            "SELECT i.status AS importer_status, t.status AS target_status, \
                r.status AS relationship_status, r.scopes AS relationship_scopes \
         FROM (SELECT 1) AS one \
         LEFT JOIN white_labels i ON i.id = $1 \
         LEFT JOIN white_labels t ON t.id = $2 \
         LEFT JOIN wl_relationships r ON r.importer_id = $1 AND r.target_id = $2",
        )
        .bind::<Text, _>(importer)
        .bind::<Text, _>(target),
    )
    .get_result(conn)
    .await
}
