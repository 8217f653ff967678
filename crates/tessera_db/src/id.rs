//! [`uuid_id!`](macro@crate::uuid_id): a table's `UUID` key as a type of its own.
//!
//! A query function that takes `(tenant_id: Uuid, agent_id: Uuid)` compiles with its arguments
//! swapped; one that takes `(TenantId, AgentId)` does not (STYLE.md §2, Lemmy's `newtypes.rs`).
//! The macro writes a `Copy` newtype over [`uuid::Uuid`] that is a column value for diesel
//! (`ToSql`/`FromSql` for `Uuid` on PostgreSQL, nullable columns included), is the bare UUID
//! string for serde (so a path segment or an event field reads and writes as before), and
//! converts from and into `Uuid`. Any UUID is a valid id: the type says whose id it is, not that
//! the row exists.

/// Declares an id newtype over a `UUID` column (module docs). The caller depends on `diesel`,
/// `serde` and `uuid`.
///
/// ```
/// tessera_db::uuid_id! {
///     /// An agent's id (`agents.id`).
///     pub struct AgentId;
/// }
/// let raw = uuid::Uuid::nil();
/// let id = AgentId::from(raw);
/// assert_eq!(uuid::Uuid::from(id), raw);
/// assert_eq!(id.to_string(), raw.to_string());
/// assert_eq!(id.as_bytes(), raw.as_bytes());
/// assert_eq!(raw.to_string().parse::<AgentId>().unwrap(), id);
/// assert!("not-a-uuid".parse::<AgentId>().is_err());
/// assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{raw}\""));
/// assert_eq!(serde_json::from_str::<AgentId>(&format!("\"{raw}\"")).unwrap(), id);
/// ```
///
/// Two ids of different tables do not stand in for each other:
///
/// ```compile_fail
/// tessera_db::uuid_id! { pub struct TenantId; }
/// tessera_db::uuid_id! { pub struct AgentId; }
/// fn agent(_tenant: TenantId, _agent: AgentId) {}
/// let (tenant, agent_id) = (TenantId::now_v7(), AgentId::now_v7());
/// agent(agent_id, tenant); // swapped: error[E0308]
/// ```
#[macro_export]
macro_rules! uuid_id {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
            serde::Serialize, serde::Deserialize,
        )]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[serde(transparent)]
        $vis struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), for a row about to be inserted.
            pub fn now_v7() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// The id's 16 bytes, big-endian (e.g. as AEAD associated data, binding a sealed
            /// value to its row).
            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        /// Parses the UUID's text forms ([`uuid::Uuid::parse_str`]): a path segment, a `sub`.
        impl ::std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl ::std::convert::From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl ::std::convert::From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <uuid::Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(
                    &self.0, out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <uuid::Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes)
                    .map(Self)
            }
        }
    };
}
