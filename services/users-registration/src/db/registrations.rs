//! `registrations` and `user_attachments`: what a sign-up submitted (seed 004).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{registrations, user_attachments, users};
use crate::db::users::UserRow;

/// An attachment of a registration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Kind of document, e.g. `car`, `ccir`, `photo`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://` link to it.
    pub url: String,
}

/// Inserts the registration of `user_id` with its attachments, and the `registered` history row.
///
/// # Errors
/// Database errors.
pub async fn insert_registration(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
    user_id: Uuid,
    attachments: &[Attachment],
    submitted_at: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(registrations::table)
        .values((
            registrations::id.eq(registration_id),
            registrations::user_id.eq(user_id),
            registrations::submitted_at.eq(submitted_at),
        ))
        .execute(conn)
        .await?;
    let rows: Vec<_> = attachments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                user_attachments::registration_id.eq(registration_id),
                user_attachments::position.eq(i16::try_from(i).unwrap_or(i16::MAX)),
                user_attachments::kind.eq(&a.kind),
                user_attachments::url.eq(&a.url),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(user_attachments::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    crate::db::users::record_history(conn, user_id, "registered", None, None, submitted_at).await
}

/// A registration with its user and attachments (in order).
///
/// # Errors
/// Database errors.
pub async fn registration(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, DateTime<Utc>, UserRow, Vec<Attachment>)>, DbError> {
    let found: Option<(Uuid, DateTime<Utc>, UserRow)> = registrations::table
        .inner_join(users::table)
        .filter(registrations::id.eq(id))
        .select((
            registrations::id,
            registrations::submitted_at,
            UserRow::as_select(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((id, submitted_at, user)) = found else {
        return Ok(None);
    };
    let attachments = user_attachments::table
        .filter(user_attachments::registration_id.eq(id))
        .order(user_attachments::position.asc())
        .select((user_attachments::kind, user_attachments::url))
        .load::<(String, String)>(conn)
        .await?
        .into_iter()
        .map(|(kind, url)| Attachment { kind, url })
        .collect();
    Ok(Some((id, submitted_at, user, attachments)))
}

/// One page of the registrations whose users `f` selects and that were submitted in
/// `[from, to)`, oldest first (an analyst's queue), with how many there are in all:
/// `(registration id, submitted at, user)`.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut AsyncPgConnection,
    f: &crate::db::user_filter::UserFilter,
    submitted: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    limit: i64,
    offset: i64,
) -> Result<(Vec<(Uuid, DateTime<Utc>, UserRow)>, i64), DbError> {
    let query = || {
        let mut q = registrations::table
            .inner_join(users::table)
            .filter(
                registrations::user_id
                    .eq_any(crate::db::user_filter::filtered(f).select(users::id)),
            )
            .into_boxed();
        if let Some(from) = submitted.0 {
            q = q.filter(registrations::submitted_at.ge(from));
        }
        if let Some(to) = submitted.1 {
            q = q.filter(registrations::submitted_at.lt(to));
        }
        q
    };
    let total: i64 = query().count().get_result(conn).await?;
    let rows = query()
        .order((registrations::submitted_at.asc(), registrations::id.asc()))
        .limit(limit)
        .offset(offset)
        .select((
            registrations::id,
            registrations::submitted_at,
            UserRow::as_select(),
        ))
        .load(conn)
        .await?;
    Ok((rows, total))
}
