#![doc = include_str!("../README.md")]

use std::time::Duration;

use anyhow::Context;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

pub mod attempts;
pub mod id;
pub mod one_time;
pub mod page;
pub mod prepared;
pub mod sealed;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text_enum;

pub use diesel_async::pooled_connection::deadpool::PoolError;
pub use prepared::{Prepared, prepared, set_local};

/// The connection pool every service uses.
pub type DbPool = Pool<AsyncPgConnection>;
/// A pooled connection.
pub type DbConn = Object<AsyncPgConnection>;

/// Pool sizing and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Maximum open connections.
    pub max_size: usize,
    /// Longest a request waits for a free connection before a 503.
    pub wait_timeout: Duration,
    /// Longest opening a connection may take.
    pub create_timeout: Duration,
    /// Longest the liveness check of a reused connection may take.
    pub recycle_timeout: Duration,
    /// Run a test query (`SELECT 1`) every time a connection is taken from the pool. Off by
    /// default: it costs one round trip per checkout (measured: a login did 2 extra round trips
    /// for 2 real ones). Without it, a connection whose socket the server closed is still
    /// discarded at checkout (the driver has seen the close; tested); one that died silently (a
    /// network partition) fails the one request that gets it (a 503) and is then discarded.
    pub verify_on_checkout: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 10,
            wait_timeout: Duration::from_secs(5),
            create_timeout: Duration::from_secs(5),
            recycle_timeout: Duration::from_secs(2),
            verify_on_checkout: false,
        }
    }
}

/// Builds a pool for `database_url`; connections open lazily, so this succeeds while the
/// database is down (readiness reports it).
///
/// # Errors
/// Only when the pool configuration is invalid.
pub fn build_pool(database_url: &str, settings: PoolSettings) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = if settings.verify_on_checkout {
        RecyclingMethod::Verified
    } else {
        RecyclingMethod::Fast
    };
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.create_timeout))
        .recycle_timeout(Some(settings.recycle_timeout))
        .build()
        .context("building the database pool")
}

/// The `pg_advisory_lock` key migrations hold (an arbitrary constant, "tessera\0m" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x7465_7373_6572_616d;

/// Runs every pending migration of each source, in order; returns the versions applied.
///
/// Holds the session-level advisory lock [`MIGRATION_LOCK`] while it runs, so replicas that
/// start together (each pod's `migrate` init container in Kubernetes) migrate one after
/// another: the first applies, the others find nothing pending.
///
/// # Errors
/// Connection or migration failures, with the migration named.
pub async fn run_migrations(
    database_url: &str,
    sources: &'static [EmbeddedMigrations],
) -> anyhow::Result<Vec<String>> {
    with_migration_lock(database_url, move |conn| {
        let mut applied = Vec::new();
        for source in sources {
            let done = conn
                .run_pending_migrations(Source(source))
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
            applied.extend(done.into_iter().map(|v| v.to_string()));
        }
        Ok(applied)
    })
    .await
}

/// Creates the database named in `database_url` if it does not exist, connecting to the
/// server's `postgres` maintenance database (for `migrate --create-database` and `make up`).
/// Returns whether it was created.
///
/// # Errors
/// When the server is unreachable or refuses.
pub async fn create_database_if_missing(database_url: &str) -> anyhow::Result<bool> {
    use diesel::sql_types::Text;
    use diesel_async::AsyncConnection;
    let target = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    let name = target.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "DATABASE_URL must name a database of [A-Za-z0-9_-]"
    );
    let mut admin = target.clone();
    admin.set_path("postgres");
    let mut conn = AsyncPgConnection::establish(admin.as_str())
        .await
        .context("connecting to the postgres database")?;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[expect(dead_code, reason = "only its presence matters")]
        one: i32,
    }
    let found: Vec<Found> =
        diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(&name)
            .load(&mut conn)
            .await?;
    if !found.is_empty() {
        return Ok(false);
    }
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    Ok(true)
}

/// A borrowed embedded source (diesel wants a `MigrationSource` by value; the embedded one is not `Clone`).
struct Source(&'static EmbeddedMigrations);

impl diesel::migration::MigrationSource<diesel::pg::Pg> for Source {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>>> {
        self.0.migrations()
    }
}

/// Every source's migrations, in order, as one source (for reverting across sources: the
/// latest applied migration may belong to any of them).
struct AllSources(&'static [EmbeddedMigrations]);

impl diesel::migration::MigrationSource<diesel::pg::Pg> for AllSources {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>>> {
        let mut all = Vec::new();
        for source in self.0 {
            all.extend(source.migrations()?);
        }
        Ok(all)
    }
}

/// One migration and whether it is applied (`migrate status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// The migration's directory name (`2026-11-22-000100-0000_identity`).
    pub name: String,
    /// Applied to the database.
    pub applied: bool,
}

/// The state of every migration of `sources`, in order (`migrate status`), under the migration
/// lock.
///
/// # Errors
/// Connection failures.
pub async fn migration_status(
    database_url: &str,
    sources: &'static [EmbeddedMigrations],
) -> anyhow::Result<Vec<MigrationState>> {
    with_migration_lock(database_url, move |conn| {
        let applied: std::collections::HashSet<String> = conn
            .applied_migrations()
            .map_err(|e| anyhow::anyhow!("reading the applied migrations: {e}"))?
            .into_iter()
            .map(|v| v.to_string())
            .collect();
        let all =
            diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&AllSources(sources))
                .map_err(|e| anyhow::anyhow!("reading the migrations: {e}"))?;
        Ok(all
            .iter()
            .map(|m| MigrationState {
                name: m.name().to_string(),
                applied: applied.contains(&m.name().version().to_string()),
            })
            .collect())
    })
    .await
}

/// Reverts the last `steps` applied migrations, newest first, whichever source they belong to
/// (`migrate revert`); returns their names.
///
/// # Errors
/// Connection failures, or a `down.sql` that fails (that migration stays applied).
pub async fn revert_migrations(
    database_url: &str,
    sources: &'static [EmbeddedMigrations],
    steps: usize,
) -> anyhow::Result<Vec<String>> {
    with_migration_lock(database_url, move |conn| {
        let mut reverted = Vec::new();
        for _ in 0..steps {
            if conn
                .applied_migrations()
                .map_err(|e| anyhow::anyhow!("reading the applied migrations: {e}"))?
                .is_empty()
            {
                break;
            }
            let version = conn
                .revert_last_migration(AllSources(sources))
                .map_err(|e| anyhow::anyhow!("reverting failed: {e}"))?;
            reverted.push(version.to_string());
        }
        Ok(reverted)
    })
    .await
}

/// Runs `work` on a blocking connection holding [`MIGRATION_LOCK`].
async fn with_migration_lock<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut AsyncConnectionWrapper<AsyncPgConnection>) -> anyhow::Result<T>
    + Send
    + 'static,
) -> anyhow::Result<T> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<T> {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            diesel::Connection::establish(&url).context("connecting to the database")?;
        diesel::RunQueryDsl::execute(
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK),
            &mut conn,
        )
        .context("taking the migration lock")?;
        work(&mut conn)
    })
    .await
    .context("migration task")?
}

/// The future a [`spawn_purge`] job returns: the rows it removed.
pub type PurgeFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = diesel::QueryResult<usize>> + Send + 'c>>;

/// Runs `purge` on a pooled connection every `period` (the first run at once), in the background
/// for the life of the runtime: the housekeeping deletes of expired rows (idempotency keys, web
/// sessions, rate-limit windows). Rows removed are logged at debug; a failure (or no connection)
/// is logged as a warning naming `what` and tried again a period later.
///
/// ```text
/// tessera_db::spawn_purge(pool, Duration::from_secs(3600), "idempotency keys",
///     |c| Box::pin(idempotency::purge_expired(c, now())));
/// ```
pub fn spawn_purge<F>(pool: DbPool, period: Duration, what: &'static str, purge: F)
where
    F: for<'c> Fn(&'c mut AsyncPgConnection) -> PurgeFuture<'c> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let result = match pool.get().await {
                Ok(mut conn) => purge(&mut conn).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(removed) => tracing::debug!(removed, what, "purged"),
                Err(error) => tracing::warn!(%error, what, "purge failed"),
            }
        }
    });
}

/// Readiness probe: a pooled connection answers `SELECT 1`.
///
/// # Errors
/// A short reason (`"pool timeout"`, the driver's message) — never credentials.
pub async fn ping(pool: &DbPool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| match e {
        PoolError::Timeout(_) => "pool timeout".to_owned(),
        other => other.to_string(),
    })?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A `LIKE`/`ILIKE` pattern matching `text` anywhere: `%text%`, with `\\`, `%` and `_` in
/// `text` escaped (PostgreSQL's default escape character), so a user's search is plain text
/// (`"50%"` finds "50%", not everything starting with "50").
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `DATABASE_URL` from the environment, for the commands that need nothing else.
///
/// # Errors
/// `missing environment variable DATABASE_URL`.
pub fn database_url_from_env() -> anyhow::Result<String> {
    std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("missing environment variable DATABASE_URL"))
}

/// The `migrate [--create-database]` subcommand every service shares: reads `DATABASE_URL`,
/// optionally creates the database, applies `migrations` in order and prints what it did.
///
/// # Errors
/// A missing `DATABASE_URL`, an unreachable server, or a failing migration.
pub async fn migrate_command(
    create_database: bool,
    migrations: &'static [EmbeddedMigrations],
) -> anyhow::Result<()> {
    let url = database_url_from_env()?;
    if create_database && create_database_if_missing(&url).await? {
        println!("created the database");
    }
    let applied = run_migrations(&url, migrations).await?;
    println!("applied {} migration(s)", applied.len());
    Ok(())
}

/// `database_url` with a PostgreSQL run-time setting applied to every session opened with it
/// (the `options=-c name=value` connection parameter), e.g. `synchronous_commit=off` for a
/// pool whose writes need not wait for the WAL flush (counters that may lose their last few
/// increments in a crash).
///
/// # Errors
/// When `database_url` is not a URL.
pub fn with_session_setting(database_url: &str, name: &str, value: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(database_url).context("parsing the database URL")?;
    let existing: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "options")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let options = url
        .query_pairs()
        .find(|(k, _)| k == "options")
        .map(|(_, v)| format!("{v} -c {name}={value}"))
        .unwrap_or_else(|| format!("-c {name}={value}"));
    url.query_pairs_mut()
        .clear()
        .extend_pairs(existing)
        .append_pair("options", &options);
    // The form encoder writes spaces as `+`, which PostgreSQL's URL parser does not decode; a
    // literal `+` was already escaped as `%2B`, so every `+` left is a space.
    let query = url.query().map(|q| q.replace('+', "%20"));
    url.set_query(query.as_deref());
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_search_is_plain_text_inside_a_contains_pattern() {
        assert_eq!(super::contains_pattern("ana"), "%ana%");
        assert_eq!(super::contains_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }
}
