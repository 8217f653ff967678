//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::EmbeddedMigrations;
use tessera_events::service::{Foundation, FoundationSettings, Running};

use crate::config::Config;
use crate::providers::Providers;
use crate::state::AppState;

/// The service's own migrations.
pub const SERVICE_MIGRATIONS: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../../migrations/quotations");

/// Every migration the service runs: the shared outbox tables, then its own.
pub static MIGRATIONS: &[EmbeddedMigrations] = &[tessera_events::MIGRATIONS, SERVICE_MIGRATIONS];

/// A built, bound, not yet running quotations service.
pub type Application = Running;

/// Migrates (when configured), connects, loads the market data, builds the provider clients and
/// binds the listener.
///
/// # Errors
/// Invalid settings, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let foundation = Foundation::start(FoundationSettings::new(
        "quotations",
        &config.base,
        MIGRATIONS,
    ))
    .await?;
    crate::throttle::spawn_cleanup(foundation.pool.clone());
    let state = web::Data::new(AppState {
        pool: foundation.pool.clone(),
        market: Arc::new(config.market_data()?),
        providers: Providers::new(config.providers())?,
        counts: crate::counts::CountCache::new(std::time::Duration::from_secs(
            config.quotations_list_count_cache_seconds,
        )),
        hasher: tessera_password::Hasher::new(&config.argon2)?,
        relay_wake: foundation.relay.notifier(),
        config: Arc::new(config.clone()),
    });
    let app = foundation.serve(
        &config.base,
        config.app_port,
        move |c| {
            c.app_data(state.clone())
                .configure(crate::routes::configure);
        },
        None,
    )?;
    tracing::info!(port = app.port(), "quotations listening");
    Ok(app)
}
