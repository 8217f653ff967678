//! What every service's configuration shares (ARCHITECTURE.md §2 "Configuration"): the
//! `APP_ENV` enum and reading a settings struct from the environment with errors that name
//! the variable.

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// `APP_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine (`make up`): ephemeral keys allowed, migrations at start-up.
    Local,
    /// Automated tests.
    Testing,
    /// Production: keys and secrets must be configured.
    Production,
}

impl AppEnv {
    /// `local` when unset.
    pub fn default_local() -> Self {
        Self::Local
    }
}

/// Reads `T` from the process environment: each field is the upper-cased variable name.
///
/// # Errors
/// One line naming the missing variable (`missing environment variable DATABASE_URL`) or the
/// invalid one.
pub fn from_env<T: DeserializeOwned>() -> Result<T, String> {
    envy::from_env().map_err(|e| match e {
        envy::Error::MissingValue(field) => {
            format!("missing environment variable {}", field.to_uppercase())
        }
        envy::Error::Custom(msg) => format!("invalid environment variable: {msg}"),
    })
}
