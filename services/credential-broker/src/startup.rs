//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::EmbeddedMigrations;
use secrecy::ExposeSecret;
use tessera_db::{DbPool, PoolSettings, build_pool};
use tessera_events::{Consumer, GroupCommitFactory};
use tessera_service::{Foundation, Running};

use crate::config::{Config, WalletBackend};
use crate::db::audit_log::AuditBatch;
use crate::state::AppState;
use crate::wallet::{OAuthWallet, Wallet};

/// Every migration the service runs: the shared outbox tables, then its own.
pub const MIGRATIONS: &[EmbeddedMigrations] = &[
    tessera_events::MIGRATIONS,
    diesel_migrations::embed_migrations!("../../migrations/credential-broker"),
];

/// Most audit rows per group commit.
const AUDIT_BATCH: usize = 256;
/// Group-commit writers (each with its own connection) per HTTP worker: one, so requests
/// waiting during a commit form the next batch (measured fastest for the control-plane's
/// outbox, the same pattern).
const AUDIT_WRITERS: usize = 1;

/// Migrates (when configured), connects, starts the outbox relay, the identity-event consumer
/// and the rate-window clean-up, and binds the listener.
///
/// # Errors
/// Invalid settings, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Running> {
    let foundation = Foundation::start_for::<crate::cli::CredentialBroker>(&config.base).await?;
    let pool = foundation.pool.clone();
    let relay = &foundation.relay;
    let consumer_pool = build_pool(
        &config.base.database_url,
        PoolSettings {
            max_size: 2,
            ..Default::default()
        },
    )?;
    let consumer = (!config.broker_identity_queue.is_empty()).then(|| {
        Consumer::new(
            consumer_pool.clone(),
            crate::consumer::config(&config.base, &config.broker_identity_queue),
            Arc::new(crate::consumer::FollowIdentity),
        )
        .spawn()
    });
    // The rate limit reads only the current and the previous window.
    tessera_db::spawn_purge(
        pool.clone(),
        Duration::from_secs(60),
        "rate-limit windows",
        |c| Box::pin(crate::db::rate_windows::purge_windows(c)),
    );
    // Each HTTP worker gets its own pools (a tokio-postgres connection is driven by the
    // runtime that opened it: sharing one pool across workers costs cross-thread wake-ups).
    let workers = config
        .base
        .app_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let per_worker = PoolSettings {
        max_size: config.base.db_pool_size.div_ceil(workers).max(2),
        ..Default::default()
    };
    let counters_url =
        tessera_db::with_session_setting(&config.base.database_url, "synchronous_commit", "off")?;
    let tokens = crate::routes::token::token_counter()?;
    foundation.register(tokens.clone())?;
    let factory = Arc::new(StateFactory {
        tokens,
        static_tokens: config.static_tokens()?,
        oauth: match config.wallet_backend {
            WalletBackend::Static => None,
            WalletBackend::Oauth => Some((Arc::new(config.wallet_key()?), config.oauth_clients()?)),
        },
        audit: GroupCommitFactory::with_batch(
            &config.base.database_url,
            Arc::new(AuditBatch),
            relay.notifier(),
            AUDIT_BATCH,
            AUDIT_WRITERS,
        )?,
        config: Arc::new(config.clone()),
        fallback_counters: build_pool(&counters_url, per_worker)?,
        fallback_pool: pool.clone(),
        counters_url,
        per_worker,
    });
    let app = foundation.serve(
        &config.base,
        move |c| {
            // Runs once per worker, on the worker's thread: its own pools and wallet.
            c.app_data(web::Data::new(factory.build()))
                .configure(crate::openapi::configure);
        },
        consumer,
    )?;
    tracing::info!(port = app.port(), "credential-broker listening");
    Ok(app)
}

/// Builds one worker's [`AppState`] (its own pools and wallet).
struct StateFactory {
    config: Arc<Config>,
    static_tokens: std::collections::BTreeMap<String, secrecy::SecretString>,
    oauth: Option<(
        Arc<tessera_db::sealed::SealingKey>,
        std::collections::BTreeMap<String, crate::wallet::OAuthClient>,
    )>,
    audit: GroupCommitFactory<AuditBatch>,
    tokens: tessera_http::metrics::prometheus::IntCounterVec,
    counters_url: String,
    per_worker: PoolSettings,
    /// Used if a worker's own pool cannot be built (the settings were validated with these).
    fallback_pool: DbPool,
    fallback_counters: DbPool,
}

impl StateFactory {
    fn build(&self) -> AppState {
        let pool = build_pool(&self.config.base.database_url, self.per_worker)
            .unwrap_or_else(|_| self.fallback_pool.clone());
        let counters = build_pool(&self.counters_url, self.per_worker)
            .unwrap_or_else(|_| self.fallback_counters.clone());
        let wallet = match &self.oauth {
            None => Wallet::Static {
                tokens: self.static_tokens.clone(),
                ttl: self.config.static_ttl(),
            },
            Some((key, clients)) => Wallet::OAuth(
                OAuthWallet::new(pool.clone(), Arc::clone(key), clients.clone())
                    .with_memory_ttl(Duration::from_secs(self.config.wallet_memory_cache_seconds)),
            ),
        };
        AppState {
            pool,
            counters,
            wallet,
            audit_key: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                self.config.broker_audit_hmac_key.expose_secret().as_bytes(),
            ),
            audit: self.audit.spawn(),
            tokens: self.tokens.clone(),
            config: Arc::clone(&self.config),
        }
    }
}
