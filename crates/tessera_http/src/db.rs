//! Storage errors as the envelope (feature `db`): `From` conversions so that `?` works on
//! diesel and pool results in handlers, as crates.io's `src/util/errors.rs` does (STYLE.md §3).
//!
//! The mapping is generic on purpose: a message never names a table. A handler that can meet
//! a missing row says so itself (`.optional()?` then [`ApiError::not_found`] with the
//! resource's name), and so does one whose conflict is part of its contract.
//!
//! | storage error | status | `error_code` |
//! |---|---|---|
//! | pool timeout, database unreachable ([`PoolError`]) | 503 | `service_unavailable` |
//! | lost connection, broken transaction manager | 503 | `service_unavailable` |
//! | [`DieselError::NotFound`] | 404 | `not_found` |
//! | unique violation | 409 | `conflict` |
//! | text PostgreSQL cannot store (NUL, U+0000: valid JSON, not valid `text` or `jsonb`) | 422 | `validation_error` |
//! | anything else | 500 | `internal_error` (cause logged once, never sent) |

use diesel::result::DatabaseErrorKind;
pub use diesel::result::Error as DieselError;
pub use diesel_async::pooled_connection::deadpool::PoolError;

use crate::{ApiError, ErrorCode, StatusCode};

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        match e {
            ref e if is_nul_in_text(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationError,
                "Text must not contain the NUL character (U+0000).",
            ),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::conflict("The resource already exists.")
            }
            DieselError::NotFound => ApiError::not_found("Resource not found."),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | DieselError::BrokenTransactionManager => ApiError::unavailable(e),
            other => ApiError::internal(other),
        }
    }
}

/// Pool exhausted or database unreachable ⇒ 503.
impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        ApiError::unavailable(e)
    }
}

/// A storage failure: the one variant a service's error enum keeps for the database
/// (`Store(StoreError)`), whose `From` conversions [`store_error!`](crate::store_error) writes,
/// so that `?` works on diesel and pool results inside operations. Mapped as the table above
/// says (503 when the database is unreachable, else 500, …).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DieselError),
    /// No connection could be had.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(e) => e.into(),
            StoreError::Pool(e) => e.into(),
        }
    }
}

/// Writes `From<DieselError>` and `From<PoolError>` for a service's error enum, through its
/// [`StoreError`] variant: `store_error!(Error::Store)`. A service that reads some database
/// errors as its own failures (control-plane's foreign-key violation) writes
/// `From<DieselError>` itself and asks for the pool's only: `store_error!(Error::Store, pool)`.
#[macro_export]
macro_rules! store_error {
    ($error:ident :: $variant:ident) => {
        impl ::std::convert::From<$crate::db::DieselError> for $error {
            fn from(e: $crate::db::DieselError) -> Self {
                Self::$variant(e.into())
            }
        }
        $crate::store_error!($error::$variant, pool);
    };
    ($error:ident :: $variant:ident, pool) => {
        impl ::std::convert::From<$crate::db::PoolError> for $error {
            fn from(e: $crate::db::PoolError) -> Self {
                Self::$variant(e.into())
            }
        }
    };
}

/// Declares a service's error enum (STYLE.md §3): the service's own variants as written, then
/// the one storage variant every service keeps, `Store(StoreError)` (`#[error(transparent)]`),
/// with `#[derive(Debug, thiserror::Error)]` and the `From` conversions of [`store_error!`]
/// (crate::store_error), so `?` works on diesel and pool results. The service writes its own
/// `From<Error> for ApiError`, whose `Error::Store(e) => e.into()` arm maps storage failures as
/// [`StoreError`] does. A service that reads some database errors as its own failures
/// (control-plane's foreign-key violation) adds `own_diesel_errors` after the enum and writes
/// `From<DieselError>` itself. The calling crate depends on `thiserror`.
///
/// ```text
/// tessera_http::service_error! {
///     /// An operation's failure.
///     pub enum Error {
///         /// No such binding: 404.
///         #[error("Binding not found.")]
///         BindingNotFound,
///     }
/// }
/// ```
#[macro_export]
macro_rules! service_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($variants:tt)* }
        $($own:ident)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, ::thiserror::Error)]
        $vis enum $name {
            $($variants)*
            /// The database or its pool failed (`tessera_http::db::StoreError`: 503 when
            /// unreachable, else 500).
            #[error(transparent)]
            Store($crate::db::StoreError),
        }
        $crate::service_error!(@conversions $name $($own)?);
    };
    (@conversions $name:ident) => {
        $crate::store_error!($name::Store);
    };
    (@conversions $name:ident own_diesel_errors) => {
        $crate::store_error!($name::Store, pool);
    };
}

/// Whether `e` is PostgreSQL's refusal of a NUL character (U+0000): in `text` ("invalid byte sequence for
/// encoding \"UTF8\": 0x00") and in `jsonb` ("unsupported Unicode escape sequence", whose detail
/// is "\u0000 cannot be converted to text"; the only escape a UTF-8 database refuses).
pub fn is_nul_in_text(e: &DieselError) -> bool {
    let DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) = e else {
        return false;
    };
    let message = info.message();
    (message.contains("invalid byte sequence") && message.contains("0x00"))
        || message.contains("unsupported Unicode escape sequence")
}

/// Whether `e` is a unique violation, for a handler whose contract names the conflict.
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_to_their_statuses() {
        let not_found = ApiError::from(DieselError::NotFound);
        assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
        assert_eq!(not_found.code(), ErrorCode::NotFound);
        let broken = ApiError::from(DieselError::BrokenTransactionManager);
        assert_eq!(broken.status(), StatusCode::SERVICE_UNAVAILABLE);
        let other = ApiError::from(DieselError::RollbackTransaction);
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.code(), ErrorCode::InternalError);
    }

    #[derive(Debug, thiserror::Error)]
    enum Failure {
        #[error(transparent)]
        Store(StoreError),
    }

    crate::store_error!(Failure::Store);

    fn lookup(found: bool) -> Result<(), DieselError> {
        if found {
            Ok(())
        } else {
            Err(DieselError::NotFound)
        }
    }

    fn operation(found: bool) -> Result<(), Failure> {
        lookup(found)?;
        Ok(())
    }

    #[test]
    fn store_error_lets_question_mark_convert_and_maps_like_its_cause() {
        assert!(operation(true).is_ok());
        let Err(Failure::Store(e)) = operation(false) else {
            panic!("a diesel error converts into the Store variant");
        };
        assert!(matches!(e, StoreError::Database(DieselError::NotFound)));
        assert_eq!(ApiError::from(e).status(), StatusCode::NOT_FOUND);
        let Failure::Store(pool) = Failure::from(PoolError::Closed);
        assert!(matches!(pool, StoreError::Pool(PoolError::Closed)));
        let unavailable = ApiError::from(pool);
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.code(), ErrorCode::ServiceUnavailable);
    }

    crate::service_error! {
        /// A service's own failure, and the storage variant the macro appends.
        enum Declared {
            /// Its own.
            #[error("Gone.")]
            Gone,
        }
    }

    #[test]
    fn service_error_keeps_the_own_variants_and_appends_store_with_its_conversions() {
        assert_eq!(Declared::Gone.to_string(), "Gone.");
        let from_diesel = Declared::from(DieselError::NotFound);
        assert!(matches!(
            from_diesel,
            Declared::Store(StoreError::Database(DieselError::NotFound))
        ));
        let from_pool = Declared::from(PoolError::Closed);
        // Transparent: the cause's own message.
        assert_eq!(from_pool.to_string(), PoolError::Closed.to_string());
        assert!(matches!(
            from_pool,
            Declared::Store(StoreError::Pool(PoolError::Closed))
        ));
    }

    #[test]
    fn a_nul_character_is_a_validation_error_in_text_and_in_jsonb() {
        for message in [
            "invalid byte sequence for encoding \"UTF8\": 0x00",
            "unsupported Unicode escape sequence",
        ] {
            let e = ApiError::from(DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            ));
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
            assert_eq!(e.code(), ErrorCode::ValidationError);
        }
        let other = ApiError::from(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("division by zero".to_owned()),
        ));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
