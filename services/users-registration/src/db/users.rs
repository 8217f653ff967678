//! `users` and its history, `user_events`: a sign-up's account, its profile and status
//! (`PENDING` → `APPROVED` | `REJECTED`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::domain::{UserId, UserStatus};

use crate::db::schema::{user_events, users};
use crate::document::StoredDocument;
use crate::domain::Role;

/// `PENDING`: submitted, waiting for an analyst.
pub const PENDING: &str = "PENDING";

/// `APPROVED`: may log in.
pub const APPROVED: &str = "APPROVED";

/// `REJECTED`: refused, with a reason.
pub const REJECTED: &str = "REJECTED";

/// A `users` row without its password hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Name.
    pub name: String,
    /// Normalised e-mail.
    pub email: String,
    /// `producer` | `analyst` | `auditor`.
    pub role: Role,
    /// Legacy plaintext (rows not yet backfilled).
    pub document_id: Option<String>,
    /// Sealed normalised document.
    pub document_id_sealed: Option<Vec<u8>>,
    /// `PENDING` | `APPROVED` | `REJECTED`.
    pub status: UserStatus,
    /// The analyst's reason for the last status change.
    pub status_reason: Option<String>,
    /// Explicit scopes; `None` = the role's defaults.
    pub scopes: Option<Vec<String>>,
    /// Farm data.
    pub farm_data: Option<Value>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl UserRow {
    /// The role (a CHECK constraint keeps it one of three).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The explicit scopes, if any.
    pub fn explicit_scopes(&self) -> Option<Vec<String>> {
        self.scopes.clone()
    }
}

/// A new user (and, for a sign-up, its registration).
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Id.
    pub id: UserId,
    /// Name.
    pub name: &'a str,
    /// Normalised e-mail.
    pub email: &'a str,
    /// Role.
    pub role: Role,
    /// The normalised document, for the legacy-uniqueness check.
    pub document_normalised: &'a str,
    /// Sealed value and blind index.
    pub document: &'a StoredDocument,
    /// PHC string; `None` for a sign-up without a password (seed 004's own payload): the
    /// user sets one through the link of their approval notification.
    pub password_hash: Option<&'a str>,
    /// Initial status.
    pub status: UserStatus,
    /// Explicit scopes.
    pub scopes: Option<&'a [String]>,
    /// Farm data.
    pub farm_data: Option<&'a Value>,
    /// When.
    pub now: DateTime<Utc>,
}

/// The condition "this row still holds, in plaintext, the normalised document that follows"
/// (rows written before encryption; `users_document_id_legacy_key` indexes the expression): the
/// SQL before the bound document.
pub const LEGACY_DOCUMENT_IS: &str =
    "document_id IS NOT NULL AND regexp_replace(upper(document_id), '[^0-9A-Z]', '', 'g') = ";

/// Why a user could not be inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The e-mail is registered.
    Email,
    /// The document is registered.
    Document,
}

/// Inserts a user unless its e-mail or document is taken (`ON CONFLICT DO NOTHING` on both
/// unique indexes, so concurrent sign-ups cannot both win).
///
/// # Errors
/// Database errors.
pub async fn insert_user(
    conn: &mut AsyncPgConnection,
    u: &NewUser<'_>,
) -> Result<Result<(), Taken>, DbError> {
    let legacy: i64 = users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(LEGACY_DOCUMENT_IS)
                .bind::<diesel::sql_types::Text, _>(u.document_normalised),
        )
        .count()
        .get_result(conn)
        .await?;
    if legacy > 0 {
        return Ok(Err(Taken::Document));
    }
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(u.id),
            users::name.eq(u.name),
            users::email.eq(u.email),
            users::role.eq(u.role),
            users::document_id_sealed.eq(&u.document.sealed),
            users::document_id_index.eq(&u.document.index),
            users::password_hash.eq(u.password_hash),
            users::status.eq(u.status),
            users::scopes.eq(u.scopes),
            users::farm_data.eq(u.farm_data),
            users::created_at.eq(u.now),
            users::updated_at.eq(u.now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Ok(()));
    }
    which_taken(conn, u.email).await.map(Err)
}

/// After an insert of a user with `email` did nothing: whether the e-mail or the document
/// (the other unique index) was taken.
///
/// # Errors
/// Database errors.
pub async fn which_taken(conn: &mut AsyncPgConnection, email: &str) -> Result<Taken, DbError> {
    let email_taken: i64 = users::table
        .filter(users::email.eq(email))
        .count()
        .get_result(conn)
        .await?;
    Ok(if email_taken > 0 {
        Taken::Email
    } else {
        Taken::Document
    })
}

/// Appends to `user_events`, the user's lifecycle history.
///
/// # Errors
/// Database errors.
pub async fn record_history(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    kind: &str,
    actor_id: Option<UserId>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(user_events::table)
        .values((
            user_events::user_id.eq(user_id),
            user_events::kind.eq(kind),
            user_events::actor_id.eq(actor_id),
            user_events::reason.eq(reason),
            user_events::occurred_at.eq(at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A user by id.
///
/// # Errors
/// Database errors.
pub async fn user(conn: &mut AsyncPgConnection, id: UserId) -> Result<Option<UserRow>, DbError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A user by normalised e-mail, with its password hash (`None`: no password set yet).
///
/// # Errors
/// Database errors.
pub async fn user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<(UserRow, Option<String>)>, DbError> {
    users::table
        .filter(users::email.eq(email))
        .select((UserRow::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

/// Whether user `id` has a password (`false` also for an unknown id).
///
/// # Errors
/// Database errors.
pub async fn has_password(conn: &mut AsyncPgConnection, id: UserId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        users::table
            .find(id)
            .filter(users::password_hash.is_not_null()),
    ))
    .get_result(conn)
    .await
}

/// Sets user `id`'s password hash (a PHC string) and `updated_at`.
///
/// # Errors
/// Database errors.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    /// New name.
    pub name: Option<String>,
    /// New farm data (`Some(None)` clears it).
    pub farm_data: Option<Option<Value>>,
}

/// Applies `change` to user `id`; `None` when there is no such user.
///
/// # Errors
/// Database errors.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: UserId,
    change: &ProfileChange,
    now: DateTime<Utc>,
) -> Result<Option<UserRow>, DbError> {
    let target = users::table.find(id);
    let row = match (&change.name, &change.farm_data) {
        (Some(n), Some(f)) => {
            diesel::update(target)
                .set((
                    users::name.eq(n),
                    users::farm_data.eq(f),
                    users::updated_at.eq(now),
                ))
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await
        }
        (Some(n), None) => {
            diesel::update(target)
                .set((users::name.eq(n), users::updated_at.eq(now)))
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await
        }
        (None, Some(f)) => {
            diesel::update(target)
                .set((users::farm_data.eq(f), users::updated_at.eq(now)))
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await
        }
        (None, None) => return user(conn, id).await,
    };
    row.optional()
}

/// What a status change did.
#[derive(Debug)]
pub enum StatusChange {
    /// Changed from `PENDING`.
    Changed(Box<UserRow>),
    /// The user is not `PENDING` (its current status).
    NotPending(UserStatus),
    /// No such user.
    NotFound,
}

/// `PENDING` → `status` for user `id` (a single conditional UPDATE, so two analysts deciding
/// at once cannot both win), with the history row.
///
/// # Errors
/// Database errors.
pub async fn change_status(
    conn: &mut AsyncPgConnection,
    id: UserId,
    status: UserStatus,
    reason: Option<&str>,
    actor_id: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<StatusChange, DbError> {
    let updated = diesel::update(
        users::table
            .find(id)
            .filter(users::status.eq(UserStatus::Pending)),
    )
    .set((
        users::status.eq(status),
        users::status_reason.eq(reason),
        users::updated_at.eq(now),
    ))
    .returning(UserRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    match updated {
        Some(row) => {
            record_history(
                conn,
                id,
                &status.as_str().to_ascii_lowercase(),
                actor_id,
                reason,
                now,
            )
            .await?;
            Ok(StatusChange::Changed(Box::new(row)))
        }
        None => Ok(match user(conn, id).await? {
            Some(u) => StatusChange::NotPending(u.status),
            None => StatusChange::NotFound,
        }),
    }
}
