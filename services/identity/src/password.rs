//! Password hashing: [`tessera_password`] (Argon2id, OWASP parameters, dedicated threads) with
//! the `ARGON2_*` settings of [`Config`].

pub use tessera_password::{HashError, HashSettings, Hasher};

use crate::config::Config;

impl Config {
    /// The `ARGON2_*` settings.
    pub fn hash_settings(&self) -> HashSettings {
        HashSettings {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
            max_concurrent: self.argon2_max_concurrent,
        }
    }
}
