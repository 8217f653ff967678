//! Database access (diesel DSL over diesel-async). Functions take a connection so callers
//! decide the transaction; none of them commits on its own.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{Principal, Role, effective_scopes};
use crate::db::schema::{
    refresh_tokens, registrations, sessions, user_attachments, user_events, users,
};
use crate::document::StoredDocument;

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
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Normalised e-mail.
    pub email: String,
    /// `producer` | `analyst` | `auditor`.
    pub role: String,
    /// Legacy plaintext (rows not yet backfilled).
    pub document_id: Option<String>,
    /// Sealed normalised document.
    pub document_id_sealed: Option<Vec<u8>>,
    /// `PENDING` | `APPROVED` | `REJECTED`.
    pub status: String,
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
    /// The role (a CHECK constraint keeps it one of three; anything else reads as producer,
    /// the least privileged).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Producer)
    }

    /// The explicit scopes, if any.
    pub fn explicit_scopes(&self) -> Option<Vec<String>> {
        self.scopes.clone()
    }
}

/// An attachment of a registration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Kind of document, e.g. `car`, `ccir`, `photo`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://` link to it.
    pub url: String,
}

/// A new user (and, for a sign-up, its registration).
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Id.
    pub id: Uuid,
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
    /// PHC string.
    pub password_hash: &'a str,
    /// Initial status.
    pub status: &'a str,
    /// Explicit scopes.
    pub scopes: Option<&'a [String]>,
    /// Farm data.
    pub farm_data: Option<&'a Value>,
    /// When.
    pub now: DateTime<Utc>,
}

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
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "document_id IS NOT NULL AND regexp_replace(upper(document_id), '[^0-9A-Z]', '', 'g') = ",
            )
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
            users::role.eq(u.role.as_str()),
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
    let email_taken: i64 = users::table
        .filter(users::email.eq(u.email))
        .count()
        .get_result(conn)
        .await?;
    Ok(Err(if email_taken > 0 {
        Taken::Email
    } else {
        Taken::Document
    }))
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
    record_history(conn, user_id, "registered", None, None, submitted_at).await
}

/// Appends to `user_events`, the user's lifecycle history.
///
/// # Errors
/// Database errors.
pub async fn record_history(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    kind: &str,
    actor_id: Option<Uuid>,
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
pub async fn user(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<UserRow>, DbError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A user by normalised e-mail, with its password hash.
///
/// # Errors
/// Database errors.
pub async fn user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<(UserRow, String)>, DbError> {
    users::table
        .filter(users::email.eq(email))
        .select((UserRow::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
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
    id: Uuid,
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
    NotPending(String),
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
    id: Uuid,
    status: &str,
    reason: Option<&str>,
    actor_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<StatusChange, DbError> {
    let updated = diesel::update(users::table.find(id).filter(users::status.eq(PENDING)))
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
                &status.to_ascii_lowercase(),
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

/// Starts a login session for `user_id` with its first refresh token (stored as its SHA-256).
///
/// # Errors
/// Database errors.
pub async fn create_session(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
    refresh_hash: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<(), DbError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;
    insert_refresh(conn, session_id, refresh_hash, now, ttl).await
}

async fn insert_refresh(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    refresh_hash: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<(), DbError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(refresh_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// Rotated: the new token is stored; the caller's session and user.
    Rotated(Principal),
    /// The token was already rotated: it leaked or was replayed, so its session (the whole
    /// family) is now revoked.
    Reused,
    /// Unknown, expired, or its session or user is no longer valid.
    Invalid,
}

/// Rotates the refresh token whose hash is `presented` into `next` (RFC 9700 §4.14.2: refresh
/// token rotation with reuse detection). Run inside a transaction.
///
/// # Errors
/// Database errors.
pub async fn rotate_refresh(
    conn: &mut AsyncPgConnection,
    presented: &[u8],
    next: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<Rotation, DbError> {
    let rotated: Option<Uuid> = diesel::update(
        refresh_tokens::table
            .find(presented)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    )
    .set(refresh_tokens::rotated_at.eq(now))
    .returning(refresh_tokens::session_id)
    .get_result(conn)
    .await
    .optional()?;
    let Some(session_id) = rotated else {
        let known: Option<(Uuid, Option<DateTime<Utc>>)> = refresh_tokens::table
            .find(presented)
            .select((refresh_tokens::session_id, refresh_tokens::rotated_at))
            .first(conn)
            .await
            .optional()?;
        return Ok(match known {
            Some((session_id, Some(_))) => {
                revoke_session(conn, session_id, "refresh_token_reused", now).await?;
                Rotation::Reused
            }
            _ => Rotation::Invalid,
        });
    };
    let Some(principal) = session_principal(conn, session_id, now).await? else {
        return Ok(Rotation::Invalid);
    };
    insert_refresh(conn, session_id, next, now, ttl).await?;
    Ok(Rotation::Rotated(principal))
}

/// Revokes session `id` (every refresh token of its family, and its access tokens at their
/// next use). Returns whether it was live.
///
/// # Errors
/// Database errors.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The session of a refresh token.
///
/// # Errors
/// Database errors.
pub async fn session_of_refresh(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> Result<Option<Uuid>, DbError> {
    refresh_tokens::table
        .find(token_hash)
        .select(refresh_tokens::session_id)
        .first(conn)
        .await
        .optional()
}

/// The caller behind session `id` when the session is live and its user `APPROVED`: one query.
///
/// # Errors
/// Database errors.
pub async fn session_principal(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, DbError> {
    let found: Option<(Uuid, String, Option<Vec<String>>)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(users::status.eq(APPROVED))
        .select((users::id, users::role, users::scopes))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(user_id, role, scopes)| {
        let role = Role::parse(&role).unwrap_or(Role::Producer);
        Principal {
            user_id,
            session_id: id,
            role,
            scopes: effective_scopes(role, scopes.as_deref()),
        }
    }))
}

/// The user of session `id`.
///
/// # Errors
/// Database errors.
pub async fn session_owner(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Uuid>, DbError> {
    sessions::table
        .find(id)
        .select(sessions::user_id)
        .first(conn)
        .await
        .optional()
}
