//! `users`: the API's and the web pages' accounts (seed 001 "Autenticacao"), with the admin
//! flag and permissions read on every request.

use crate::db::schema::users;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// Permission to soft-delete quotations (admins have it implicitly).
pub const DELETE_QUOTATIONS: &str = "delete_quotations";

/// A user as `GET /api/user` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiUser {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Administrator (may delete quotations).
    pub is_admin: bool,
    /// Named permissions: `{"delete_quotations": bool}`.
    #[schema(value_type = Object)]
    pub permissions: serde_json::Value,
}

pub(crate) fn view(
    id: i64,
    name: String,
    email: String,
    is_admin: bool,
    perms: serde_json::Value,
) -> ApiUser {
    let delete = is_admin
        || perms
            .get(DELETE_QUOTATIONS)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
    ApiUser {
        id,
        name,
        email,
        is_admin,
        permissions: serde_json::json!({ DELETE_QUOTATIONS: delete }),
    }
}

/// A user with what signing in needs.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user.
    pub user: ApiUser,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The e-mail address is verified.
    pub email_verified: bool,
}

/// A user by normalised e-mail, with its password hash and verification state.
///
/// # Errors
/// Database errors.
pub async fn user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<Account>, diesel::result::Error> {
    type Row = (i64, String, String, bool, serde_json::Value, String, bool);
    let row: Option<Row> = users::table
        .filter(users::email.eq(email))
        .select((
            users::id,
            users::name,
            users::email,
            users::is_admin,
            users::permissions,
            users::password_hash,
            users::email_verified_at.is_not_null(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(id, n, e, a, p, h, v)| Account {
        user: view(id, n, e, a, p),
        password_hash: h,
        email_verified: v,
    }))
}

/// Registers a user with an unverified e-mail; `None` when the e-mail is taken.
///
/// # Errors
/// Database errors.
pub async fn register_user(
    conn: &mut AsyncPgConnection,
    name: &str,
    email: &str,
    password_hash: &str,
) -> Result<Option<i64>, diesel::result::Error> {
    diesel::insert_into(users::table)
        .values((
            users::name.eq(name),
            users::email.eq(email),
            users::password_hash.eq(password_hash),
        ))
        .on_conflict_do_nothing()
        .returning(users::id)
        .get_result(conn)
        .await
        .optional()
}

/// Creates a user (or updates the name, hash and admin flag of the one with that e-mail).
///
/// # Errors
/// Database errors.
pub async fn upsert_user(
    conn: &mut AsyncPgConnection,
    name: &str,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<i64, diesel::result::Error> {
    diesel::insert_into(users::table)
        .values((
            users::name.eq(name),
            users::email.eq(email),
            users::password_hash.eq(password_hash),
            users::is_admin.eq(is_admin),
            users::email_verified_at.eq(tessera_service::now()),
        ))
        .on_conflict(users::email)
        .do_update()
        .set((
            users::name.eq(name),
            users::password_hash.eq(password_hash),
            users::is_admin.eq(is_admin),
            users::updated_at.eq(tessera_service::now()),
        ))
        .returning(users::id)
        .get_result(conn)
        .await
}
