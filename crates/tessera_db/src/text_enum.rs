//! [`text_enum!`](macro@crate::text_enum): a closed set of values stored in a `TEXT` column.
//!
//! Tessera's tables keep statuses, roles and outcomes as `TEXT` with a `CHECK (… IN (…))`
//! constraint, which keeps migrations plain and the rows readable in `psql`. In Rust they are
//! enums, so an impossible value cannot be written and every `match` is exhaustive. The macro
//! writes the enum, its wire string (`as_str`, `Display`, `FromStr`) and diesel's `ToSql` /
//! `FromSql` for `Text` on PostgreSQL. [`wire_enum!`](macro@crate::wire_enum) declares one that
//! is also in JSON bodies and OpenAPI documents, its serde name being its stored string.

/// The error of parsing a [`text_enum!`](macro@crate::text_enum) from a string the set does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of {expected}")]
pub struct UnknownVariant {
    /// What was given.
    pub value: String,
    /// The accepted values, separated by `|`.
    pub expected: &'static str,
}

/// Declares an enum stored as `TEXT` (module docs): each variant names its stored string.
///
/// ```
/// tessera_db::text_enum! {
///     /// A white label's status.
///     pub enum Status {
///         /// In use.
///         Active = "active",
///         /// Switched off.
///         Inactive = "inactive",
///     }
/// }
/// assert_eq!(Status::Active.as_str(), "active");
/// assert_eq!("inactive".parse::<Status>(), Ok(Status::Inactive));
/// assert!("paused".parse::<Status>().is_err());
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and wire) string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with a stored (wire) string: `status == "active"`.
        impl ::std::cmp::PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownVariant;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::text_enum::UnknownVariant {
                        value: other.to_owned(),
                        expected: concat!($($text, "|"),+).trim_end_matches('|'),
                    }),
                }
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    &mut out.reborrow(),
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            /// Parsed from the value's bytes in place (no `String` per row).
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                Ok(::std::str::from_utf8(bytes.as_bytes())?.parse::<Self>()?)
            }
        }
    };
}

/// Declares a [`text_enum!`](macro@crate::text_enum) that is also on the wire: it derives serde's
/// `Serialize`/`Deserialize` and utoipa's `ToSchema` with each variant renamed to its stored
/// string, so JSON bodies, the OpenAPI document's `enum` and the database hold the same strings
/// (the caller depends on `serde` and `utoipa`). Each string is taken as a plain token (`tt`):
/// utoipa does not read a `rename` whose value comes wrapped as a macro `literal` fragment.
///
/// ```
/// tessera_db::wire_enum! {
///     /// A user's status.
///     pub enum UserStatus {
///         /// Waiting.
///         Pending = "PENDING",
///         /// May sign in.
///         Approved = "APPROVED",
///     }
/// }
/// assert_eq!(serde_json::to_string(&UserStatus::Pending).unwrap(), r#""PENDING""#);
/// assert_eq!(serde_json::from_str::<UserStatus>(r#""APPROVED""#).unwrap(), UserStatus::Approved);
/// assert!(serde_json::from_str::<UserStatus>(r#""approved""#).is_err());
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $crate::text_enum! {
            $(#[$meta])*
            #[derive(::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
            $vis enum $name {
                $( $(#[$vmeta])* #[serde(rename = $text)] $variant = $text ),+
            }
        }
    };
}
