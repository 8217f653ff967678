//! `registrations` and `user_attachments`: what a sign-up submitted (seed 004).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use tessera_events::outbox::OutboxMessage;

use crate::db::schema::{registrations, user_attachments, users};
use crate::db::users::{LEGACY_DOCUMENT_IS, NewUser, Taken, UserRow};
use crate::domain::RegistrationId;

/// An attachment of a registration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Kind of document, e.g. `car`, `ccir`, `photo`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `https://` link to it.
    pub url: String,
}

/// A registration with its user and attachments (in order).
///
/// # Errors
/// Database errors.
pub async fn registration(
    conn: &mut AsyncPgConnection,
    id: RegistrationId,
) -> Result<Option<(RegistrationId, DateTime<Utc>, UserRow, Vec<Attachment>)>, DbError> {
    let found: Option<(RegistrationId, DateTime<Utc>, UserRow)> = registrations::table
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
) -> Result<(Vec<(RegistrationId, DateTime<Utc>, UserRow)>, i64), DbError> {
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
    tessera_db::page::load(
        conn,
        query()
            .order((registrations::submitted_at.asc(), registrations::id.asc()))
            .select((
                registrations::id,
                registrations::submitted_at,
                UserRow::as_select(),
            )),
        query().count(),
        limit,
        offset,
    )
    .await
}

/// Everything a sign-up writes ([`submit`]).
#[derive(Debug)]
pub struct Submission<'a> {
    /// The user, `PENDING`.
    pub user: &'a NewUser<'a>,
    /// The registration's id.
    pub registration_id: RegistrationId,
    /// Its attachments, in order.
    pub attachments: &'a [Attachment],
    /// `users.user.registered`, for the outbox.
    pub event: &'a OutboxMessage,
    /// The claimed `Idempotency-Key` and the response to store under it (status, body).
    pub idempotency: Option<(&'a str, i16, &'a serde_json::Value)>,
}

#[derive(QueryableByName)]
struct Submitted {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    inserted: i64,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    legacy: i64,
}

/// [`submit`]'s statement; `$5` is the normalised document. The data-modifying parts run
/// whether or not they are read; `o` is a `SELECT` (of `tessera_events`' `outbox_enqueue`), which
/// PostgreSQL runs only when read, hence `events` in the result.
static SUBMIT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH legacy AS ( \
           SELECT 1 FROM users WHERE {LEGACY_DOCUMENT_IS} $5 \
         ), u AS ( \
           INSERT INTO users (id, name, email, role, document_id_sealed, document_id_index, \
                              password_hash, status, scopes, farm_data, created_at, updated_at) \
           SELECT $1, $2, $3, $4, $6, $7, $8, $9, $10, $11, $12, $12 \
           WHERE NOT EXISTS (SELECT 1 FROM legacy) \
           ON CONFLICT DO NOTHING RETURNING id \
         ), r AS ( \
           INSERT INTO registrations (id, user_id, submitted_at) \
           SELECT $13, id, $12 FROM u RETURNING id \
         ), a AS ( \
           INSERT INTO user_attachments (registration_id, position, type, url) \
           SELECT r.id, (x.n - 1)::int2, x.kind, x.url \
           FROM r, unnest($14::text[], $15::text[]) WITH ORDINALITY AS x(kind, url, n) \
           RETURNING 1 \
         ), h AS ( \
           INSERT INTO user_events (user_id, kind, occurred_at) \
           SELECT id, 'registered', $12 FROM u RETURNING 1 \
         ), o AS ( \
           SELECT outbox_enqueue(ARRAY[$16]::uuid[], ARRAY[$17]::text[], ARRAY[$18]::text[], \
                                 ARRAY[$19]::jsonb[]) AS n FROM u \
         ), k AS ( \
           UPDATE idempotency_keys SET response_status = $20, response_body = $21 \
           WHERE key = $22 AND EXISTS (SELECT 1 FROM u) RETURNING 1 \
         ) \
         SELECT (SELECT count(*) FROM u) AS inserted, (SELECT count(*) FROM legacy) AS legacy, \
                (SELECT count(*) FROM o) AS events",
    )
});

/// A sign-up in one statement (one round trip, issue #20's password-less target): the user
/// unless its e-mail or document is taken (`ON CONFLICT DO NOTHING` on both unique indexes, and
/// no row still holding that document in plaintext), then — only if it was inserted — the
/// registration, its attachments, the `registered` history row, the outbox event and the stored
/// idempotent response. Nothing is written when the user is not. Run inside the transaction
/// that claimed the key.
///
/// # Errors
/// Database errors.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    s: &Submission<'_>,
) -> Result<Result<(), Taken>, DbError> {
    use diesel::sql_types::{Array, Bytea, Int2, Jsonb, Nullable, Text, Timestamptz};
    let u = s.user;
    let (kinds, urls): (Vec<&str>, Vec<&str>) = s
        .attachments
        .iter()
        .map(|a| (a.kind.as_str(), a.url.as_str()))
        .unzip();
    let (key, status, body) = match s.idempotency {
        Some((k, status, body)) => (Some(k), status, Some(body)),
        None => (None, 0, None),
    };
    let done: Submitted = tessera_db::prepared(
        diesel::sql_query(SUBMIT.as_str())
            .bind::<diesel::sql_types::Uuid, _>(u.id)
            .bind::<Text, _>(u.name)
            .bind::<Text, _>(u.email)
            .bind::<Text, _>(u.role)
            .bind::<Text, _>(u.document_normalised)
            .bind::<Bytea, _>(&u.document.sealed)
            .bind::<Bytea, _>(&u.document.index)
            .bind::<Nullable<Text>, _>(u.password_hash)
            .bind::<Text, _>(u.status)
            .bind::<Nullable<Array<Text>>, _>(u.scopes)
            .bind::<Nullable<Jsonb>, _>(u.farm_data)
            .bind::<Timestamptz, _>(u.now)
            .bind::<diesel::sql_types::Uuid, _>(s.registration_id)
            .bind::<Array<Text>, _>(&kinds)
            .bind::<Array<Text>, _>(&urls)
            .bind::<diesel::sql_types::Uuid, _>(s.event.id)
            .bind::<Text, _>(&s.event.routing_key)
            .bind::<Text, _>(&s.event.body)
            .bind::<Jsonb, _>(&s.event.headers)
            .bind::<Int2, _>(status)
            .bind::<Nullable<Jsonb>, _>(body)
            .bind::<Nullable<Text>, _>(key),
    )
    .get_result(conn)
    .await?;
    if done.inserted == 1 {
        return Ok(Ok(()));
    }
    if done.legacy > 0 {
        return Ok(Err(Taken::Document));
    }
    crate::db::users::which_taken(conn, u.email).await.map(Err)
}
