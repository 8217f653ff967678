//! Password hashing: [`tessera_password`] (Argon2id, OWASP parameters, dedicated threads) with
//! the `ARGON2_*` settings of [`crate::config::Config::argon2`].

pub use tessera_password::{HashError, HashSettings, Hasher};
