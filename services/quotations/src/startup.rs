//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::EmbeddedMigrations;
use tessera_service::{Foundation, Running};

use crate::config::Config;
use crate::providers::Providers;
use crate::state::AppState;

/// Every migration the service runs: the shared outbox tables, then its own.
pub const MIGRATIONS: &[EmbeddedMigrations] = &[
    tessera_events::MIGRATIONS,
    diesel_migrations::embed_migrations!("../../migrations/quotations"),
];

/// Migrates (when configured), connects, loads the market data, builds the provider clients and
/// binds the listener.
///
/// # Errors
/// Invalid settings, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Running> {
    let foundation = Foundation::start_for::<crate::cli::Quotations>(&config.base).await?;
    let minute = std::time::Duration::from_secs(60);
    tessera_db::spawn_purge(foundation.pool.clone(), minute, "throttle windows", |c| {
        Box::pin(crate::throttle::purge_windows(c))
    });
    tessera_db::spawn_purge(foundation.pool.clone(), 10 * minute, "web sessions", |c| {
        Box::pin(crate::web::session::purge_expired(c))
    });
    let local = matches!(
        config.base.app_env,
        crate::config::AppEnv::Local | crate::config::AppEnv::Testing
    );
    let app_key = match &config.app_key {
        Some(k) => secrecy::ExposeSecret::expose_secret(k).as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "APP_KEY is not set: verification links are signed with a random key and stop working at restart"
            );
            crate::db::personal_access_tokens::new_secret()?.into_bytes()
        }
    };
    let market = Arc::new(config.market_data()?);
    let providers = Providers::new(config.providers())?;
    foundation.register(providers.fetches())?;
    let config_arc = Arc::new(config.clone());
    crate::scheduler::Scheduler {
        pool: foundation.pool.clone(),
        providers: providers.clone(),
        market: market.clone(),
        config: config_arc.clone(),
        relay_wake: foundation.relay.notifier(),
    }
    .spawn();
    let state = web::Data::new(AppState {
        pool: foundation.pool.clone(),
        market,
        providers,
        mailer: crate::mail::Mailer::new(&config.mail, local)?,
        signing_key: crate::web::signed::key(&app_key)
            .map_err(|_| anyhow::anyhow!("deriving the link-signing key from APP_KEY failed"))?,
        counts: crate::counts::CountCache::new(std::time::Duration::from_secs(
            config.quotations_list_count_cache_seconds,
        )),
        hasher: tessera_password::Hasher::new(&config.argon2)?,
        relay_wake: foundation.relay.notifier(),
        config: config_arc,
    });
    let app = foundation.serve_state(&config.base, state, routes, None)?;
    tracing::info!(port = app.port(), "quotations listening");
    Ok(app)
}

/// Every route: the API's operations, `/openapi.json` and `/docs`, then the web pages (health,
/// readiness and metrics are added by the foundation).
fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    crate::openapi::configure(cfg);
    cfg.configure(crate::web::configure);
}
