//! Operator provisioning: users created directly (analysts and auditors, seed 004's roles that
//! never sign up publicly), and the `backfill` of rows written before encryption.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Role, SCOPES};
use crate::config::Config;
use crate::db::schema;
use crate::db::users;
use crate::db::users::NewUser;
use crate::db::users::Taken;
use crate::document::{self, DocumentKeys};
use crate::domain::{UserId, UserStatus};

/// What `user create` prints.
#[derive(Debug, Serialize)]
pub struct CreatedUser {
    /// The new user's id.
    pub user_id: UserId,
    /// E-mail (normalised).
    pub email: String,
    /// Role.
    pub role: Role,
    /// Always `APPROVED`: an operator-created user may log in at once.
    pub status: UserStatus,
    /// Effective scopes.
    pub scopes: Vec<String>,
}

/// A user to create from the CLI.
#[derive(Debug)]
pub struct UserSpec<'a> {
    /// Display name.
    pub name: &'a str,
    /// E-mail.
    pub email: &'a str,
    /// Role.
    pub role: Role,
    /// Document number.
    pub document_id: &'a str,
    /// Explicit scopes (`None`: the role's defaults).
    pub scopes: Option<Vec<String>>,
    /// Password.
    pub password: SecretString,
}

/// Creates an `APPROVED` user.
///
/// # Errors
/// An unknown scope, a taken e-mail or document, or storage failures.
pub async fn create_user(
    config: &Config,
    conn: &mut AsyncPgConnection,
    spec: UserSpec<'_>,
) -> anyhow::Result<CreatedUser> {
    if let Some(unknown) = spec
        .scopes
        .iter()
        .flatten()
        .find(|s| !SCOPES.contains(&s.as_str()))
    {
        anyhow::bail!("unknown scope {unknown:?}; known: {}", SCOPES.join(", "));
    }
    let keys = DocumentKeys::from_base64(secrecy::ExposeSecret::expose_secret(
        &config.document_encryption_key,
    ))?;
    let hasher = tessera_password::Hasher::new(&config.argon2)?;
    let hash = hasher.hash(spec.password).await?;
    let id = UserId::now_v7();
    let normalised = document::normalise(spec.document_id);
    if normalised.is_empty() {
        anyhow::bail!("--document-id has no letters or digits");
    }
    let stored = keys.protect(id, &normalised)?;
    let email = spec.email.trim().to_lowercase();
    let now = tessera_service::now();
    let user = NewUser {
        id,
        name: spec.name.trim(),
        email: &email,
        role: spec.role,
        document_normalised: &normalised,
        document: &stored,
        password_hash: Some(&hash),
        status: UserStatus::Approved,
        scopes: spec.scopes.as_deref(),
        farm_data: None,
        now,
    };
    match users::insert_user(conn, &user).await? {
        Ok(()) => {}
        Err(Taken::Email) => anyhow::bail!("the e-mail {email} is already registered"),
        Err(Taken::Document) => anyhow::bail!("that document is already registered"),
    }
    users::record_history(conn, id, "created", None, Some("operator CLI"), now).await?;
    Ok(CreatedUser {
        user_id: id,
        email,
        role: spec.role,
        status: UserStatus::Approved,
        scopes: crate::auth::effective_scopes(spec.role, spec.scopes.as_deref()),
    })
}

/// What `backfill` did.
#[derive(Debug, Default, Serialize)]
pub struct BackfillReport {
    /// Rows sealed and indexed (plaintext cleared).
    pub encrypted: u64,
    /// Rows left as they were because another row has the same document (ids): resolve by hand.
    pub conflicts: Vec<Uuid>,
}

/// Seals and indexes every row that still holds a plaintext `document_id`, `batch` rows per
/// transaction (`FOR UPDATE SKIP LOCKED`, so it can run while the service serves and be
/// re-run after an interruption), clearing the plaintext in the same update.
///
/// # Errors
/// Storage or crypto failures (rows already done stay done).
pub async fn backfill(
    keys: &DocumentKeys,
    conn: &mut AsyncPgConnection,
    batch: i64,
) -> anyhow::Result<BackfillReport> {
    let mut report = BackfillReport::default();
    loop {
        let skip = report.conflicts.clone();
        let done = conn
            .transaction::<(u64, Vec<Uuid>, usize), anyhow::Error, _>(async |c| {
                let rows: Vec<(Uuid, String)> = schema::users::table
                    .filter(schema::users::document_id.is_not_null())
                    .filter(schema::users::document_id_sealed.is_null())
                    .filter(schema::users::id.ne_all(&skip))
                    .select((
                        schema::users::id,
                        schema::users::document_id.assume_not_null(),
                    ))
                    .order(schema::users::id.asc())
                    .limit(batch.max(1))
                    .for_update()
                    .skip_locked()
                    .load(c)
                    .await?;
                let (mut encrypted, mut conflicts) = (0u64, Vec::new());
                for (id, plain) in &rows {
                    let normalised = document::normalise(plain);
                    let stored = keys.protect(UserId::from(*id), &normalised)?;
                    let clash: i64 = schema::users::table
                        .filter(schema::users::document_id_index.eq(&stored.index))
                        .count()
                        .get_result(c)
                        .await?;
                    if clash > 0 {
                        conflicts.push(*id);
                        continue;
                    }
                    diesel::update(schema::users::table.find(id))
                        .set((
                            schema::users::document_id_sealed.eq(&stored.sealed),
                            schema::users::document_id_index.eq(&stored.index),
                            schema::users::document_id.eq(None::<String>),
                        ))
                        .execute(c)
                        .await?;
                    encrypted += 1;
                }
                Ok((encrypted, conflicts, rows.len()))
            })
            .await?;
        let (encrypted, conflicts, seen) = done;
        report.encrypted += encrypted;
        report.conflicts.extend(conflicts);
        if seen == 0 {
            return Ok(report);
        }
    }
}
