//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::EmbeddedMigrations;
use secrecy::ExposeSecret;
use tessera_db::sealed::SealingKey;
use tessera_service::{Foundation, Running};

use crate::config::{AppEnv, Config};
use crate::password::Hasher;
use crate::state::AppState;

/// Every migration the service runs: the shared outbox tables, then its own.
pub const MIGRATIONS: &[EmbeddedMigrations] = &[
    tessera_events::MIGRATIONS,
    tessera_db::attempts::MIGRATIONS,
    tessera_db::one_time::MIGRATIONS,
    diesel_migrations::embed_migrations!("../../migrations/identity"),
];

/// Migrates (when configured), connects, computes the dummy password hash, starts the outbox
/// relay and binds the listener.
///
/// # Errors
/// Invalid keys or Argon2 parameters, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Running> {
    let foundation = Foundation::start_for::<crate::cli::Identity>(&config.base).await?;
    let keys = config
        .keys
        .open(
            config.base.app_env == AppEnv::Production,
            config.session_timeout(),
        )
        .map_err(anyhow::Error::msg)?;
    keys.spawn_reloader(config.keys.reload_every());
    let mfa_key = SealingKey::from_base64(config.identity_mfa_encryption_key.expose_secret())
        .map_err(|e| {
            anyhow::anyhow!("invalid environment variable IDENTITY_MFA_ENCRYPTION_KEY: {e}")
        })?;
    let hasher = Hasher::new(&config.argon2)?;
    foundation.register(hasher.verifications())?;
    let logins = tessera_http::metrics::login_counter()?;
    foundation.register(logins.clone())?;
    tessera_db::attempts::spawn_purge(foundation.pool.clone());
    let state = web::Data::new(AppState {
        roles: config.roles(),
        pool: foundation.pool.clone(),
        hasher,
        keys,
        mfa_key: Arc::new(mfa_key),
        relay_wake: foundation.relay.notifier(),
        logins,
        config: Arc::new(config.clone()),
    });
    let app = foundation.serve_state(&config.base, state, crate::openapi::configure, None)?;
    tracing::info!(port = app.port(), issuer_base = %config.identity_issuer_base_url, "identity listening");
    Ok(app)
}
