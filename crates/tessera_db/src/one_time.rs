//! One-time tokens: links that do one thing once, before they expire — users-registration's
//! set-password links and identity's agent enrollment links (issue #20).
//!
//! A token is 256 random bits from the system RNG, base64url without padding (43 characters:
//! [`new_token`]). Only its SHA-256 ([`hash`]) is stored, in `one_time_tokens` ([`MIGRATIONS`]),
//! with the [`Purpose`] it was issued for and the id of its subject (a user, an agent), so a
//! copy of the database holds no usable token and a token of one purpose does nothing for
//! another. Redeeming is [`lock`] (the row locked `FOR UPDATE` inside the caller's transaction,
//! so two redemptions of one token cannot both see it usable) then [`spend_all`] (every unused
//! token of that subject and purpose: setting a password makes every older link dead).

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use uuid::Uuid;

/// The `one_time_tokens` table; a service that issues tokens runs these with its own.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/one_time_tokens");

mod schema {
    #![allow(missing_docs, reason = "diesel's generated column types")]
    diesel::table! {
        /// `one_time_tokens` (see the migration).
        one_time_tokens (token_hash) {
            token_hash -> Bytea,
            purpose -> Text,
            subject_id -> Uuid,
            created_at -> Timestamptz,
            expires_at -> Timestamptz,
            used_at -> Nullable<Timestamptz>,
        }
    }
}
use schema::one_time_tokens;

/// What a token is for, stored beside it (`one_time_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purpose(&'static str);

impl Purpose {
    /// users-registration: set the first password of a user who signed up without one.
    pub const PASSWORD_SETUP: Self = Self("password_setup");
    /// identity: an agent created through the API sets its first password.
    pub const ENROLLMENT: Self = Self("enrollment");

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// What a presented token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No such token for this purpose (never issued, or issued for another purpose).
    Unknown,
    /// Issued, but already used (or spent by another token of the same subject).
    Used,
    /// Issued, unused, but past its expiry.
    Expired,
    /// Usable now: the id of its subject.
    Usable(Uuid),
}

/// A fresh token and the hash to store: `(token, SHA-256(token))`.
///
/// # Errors
/// The system RNG failed.
pub fn new_token() -> Result<(String, Vec<u8>), aws_lc_rs::error::Unspecified> {
    let token = random_text::<32>()?;
    let hash = hash(&token);
    Ok((token, hash))
}

/// `N` bytes from the system RNG as base64url without padding (`⌈4N/3⌉` characters): a token's
/// text, or a generated first password (`tessera_service::InitialPassword`, 18 bytes).
///
/// # Errors
/// The system RNG failed.
pub fn random_text<const N: usize>() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a presented token: SHA-256 of its text (32 bytes).
pub fn hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The system RNG failed.
    #[error("the system RNG failed")]
    Rng,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Issues a token for `subject_id` (a `Uuid` or a service's id type over one, e.g. `AgentId`),
/// usable for `purpose` until `expires_at`; returns the token (to put in a link: it is not
/// stored).
///
/// # Errors
/// [`IssueError`].
pub async fn issue(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    subject_id: impl Into<Uuid>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<String, IssueError> {
    let subject_id: Uuid = subject_id.into();
    let (token, token_hash) = new_token().map_err(|_| IssueError::Rng)?;
    diesel::insert_into(one_time_tokens::table)
        .values((
            one_time_tokens::token_hash.eq(token_hash),
            one_time_tokens::purpose.eq(purpose.as_str()),
            one_time_tokens::subject_id.eq(subject_id),
            one_time_tokens::created_at.eq(now),
            one_time_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Finds the presented `token` of `purpose` and locks its row (`FOR UPDATE`: call it inside the
/// transaction that spends it; outside one it is a plain look-up).
///
/// # Errors
/// Database errors.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> QueryResult<Lookup> {
    let row: Option<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = one_time_tokens::table
        .find(hash(token))
        .filter(one_time_tokens::purpose.eq(purpose.as_str()))
        .select((
            one_time_tokens::subject_id,
            one_time_tokens::expires_at,
            one_time_tokens::used_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(match row {
        None => Lookup::Unknown,
        Some((_, _, Some(_))) => Lookup::Used,
        Some((_, expires_at, None)) if expires_at <= now => Lookup::Expired,
        Some((subject_id, _, None)) => Lookup::Usable(subject_id),
    })
}

/// Marks every unused token of `subject_id` (as in [`issue`]) for `purpose` used at `now`;
/// returns how many.
///
/// # Errors
/// Database errors.
pub async fn spend_all(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    subject_id: impl Into<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let subject_id: Uuid = subject_id.into();
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::purpose.eq(purpose.as_str()))
            .filter(one_time_tokens::subject_id.eq(subject_id))
            .filter(one_time_tokens::used_at.is_null()),
    )
    .set(one_time_tokens::used_at.eq(now))
    .execute(conn)
    .await
}

/// Redeems the presented `token` of `purpose` inside the caller's transaction: locks it and,
/// when usable, spends every unused token of its subject (this one included). `Ok(subject_id)`
/// then; `Err(lookup)` says why not (never [`Lookup::Usable`]).
///
/// # Errors
/// Database errors (the outer `Result`).
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> QueryResult<Result<Uuid, Lookup>> {
    match lock(conn, purpose, token, now).await? {
        Lookup::Usable(subject_id) => {
            spend_all(conn, purpose, subject_id, now).await?;
            Ok(Ok(subject_id))
        }
        other => Ok(Err(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_distinct_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert_eq!(ha, hash(&a));
        assert_eq!(ha.len(), 32);
    }
}
