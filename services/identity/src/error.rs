//! Storage errors as the envelope: the shared mapping ([`tessera_db::http`]).

pub use tessera_db::http::{db_error, pool_error};
