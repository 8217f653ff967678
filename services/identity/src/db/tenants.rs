//! `tenants`: the tenants agents belong to, by URL slug.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::tenants;
use crate::domain::{TenantId, TenantStatus};

/// A tenant (`tenants` row).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// Id.
    pub id: TenantId,
    /// URL slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: TenantStatus,
}

/// The active tenant with this slug.
///
/// # Errors
/// Database errors.
pub async fn active_tenant(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<Tenant>> {
    tenants::table
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq(TenantStatus::Active))
        .select(Tenant::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates a tenant; returns it.
///
/// # Errors
/// Unique violation when the slug is taken.
pub async fn create_tenant(
    conn: &mut AsyncPgConnection,
    slug: &str,
    name: &str,
) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(TenantId::now_v7()),
            tenants::slug.eq(slug),
            tenants::name.eq(name),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .await
}
