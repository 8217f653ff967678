//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::EmbeddedMigrations;
use secrecy::ExposeSecret;
use tessera_db::{PoolSettings, build_pool};
use tessera_events::Consumer;
use tessera_jwt::{KeySet, SigningKey};
use tessera_password::Hasher;
use tessera_service::{Foundation, Running};

use crate::config::Config;
use crate::document::DocumentKeys;
use crate::state::AppState;
use crate::validation::Schemas;

/// Every migration the service runs: the shared outbox tables, then its own.
pub const MIGRATIONS: &[EmbeddedMigrations] = &[
    tessera_events::MIGRATIONS,
    tessera_db::attempts::MIGRATIONS,
    tessera_db::one_time::MIGRATIONS,
    diesel_migrations::embed_migrations!("../../migrations/users-registration"),
];

/// Migrates (when configured), connects, compiles the request schemas, starts the outbox relay,
/// the notification dispatcher (when `NOTIFY_ENDPOINT` is set) and the idempotency-key purge,
/// and binds the listener.
///
/// # Errors
/// Invalid settings or schemas, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Running> {
    let foundation = Foundation::start_for::<crate::cli::UsersRegistration>(&config.base).await?;
    let secret = config.jwt_secret.expose_secret().as_bytes();
    let keys = KeySet::new(
        vec![SigningKey::hmac(
            secret,
            &config
                .jwt_key_id
                .clone()
                .filter(|k| !k.trim().is_empty())
                .unwrap_or_else(|| format!("hs256-{}", uuid::Uuid::new_v4().simple())),
        )],
        Duration::ZERO,
        config.access_ttl(),
    );
    let verifier = crate::auth::verifier(secret, &config.jwt_issuer);
    let documents = DocumentKeys::from_base64(config.document_encryption_key.expose_secret())
        .map_err(|e| {
            anyhow::anyhow!("invalid environment variable DOCUMENT_ENCRYPTION_KEY: {e}")
        })?;
    let hasher = Hasher::new(&config.argon2)?;
    foundation.register(hasher.verifications())?;
    let logins = tessera_http::metrics::login_counter()?;
    foundation.register(logins.clone())?;
    let dispatcher = match crate::notify::from_config(&config)? {
        Some(d) => {
            let pool = build_pool(
                &config.base.database_url,
                PoolSettings {
                    max_size: 2,
                    ..Default::default()
                },
            )?;
            let consumer_config = crate::notify::config(
                &config.base,
                &config.notify_queue,
                config.notify_max_attempts,
                Duration::from_millis(config.notify_backoff_ms),
            );
            let consumer = Consumer::new(pool, consumer_config, d);
            // The queue exists before the first event can be published.
            consumer.declare_now(Duration::from_secs(5)).await;
            Some(consumer.spawn())
        }
        None => None,
    };
    let hour = Duration::from_secs(3600);
    tessera_db::spawn_purge(
        foundation.pool.clone(),
        hour,
        "expired Idempotency-Key rows",
        |c| Box::pin(crate::idempotency::purge_expired(c, tessera_service::now())),
    );
    tessera_db::attempts::spawn_purge(foundation.pool.clone());
    let state = web::Data::new(AppState {
        pool: foundation.pool.clone(),
        hasher,
        keys: Arc::new(keys),
        verifier: Arc::new(verifier),
        documents: Arc::new(documents),
        schemas: Arc::new(Schemas::compile()?),
        relay_wake: foundation.relay.notifier(),
        logins,
        config: Arc::new(config.clone()),
    });
    let app = foundation.serve_state(&config.base, state, crate::openapi::configure, dispatcher)?;
    tracing::info!(
        port = app.port(),
        notify = config.notify_url().is_some(),
        "users-registration listening"
    );
    Ok(app)
}
