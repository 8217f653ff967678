//! A fresh database per test on the real PostgreSQL server.
//!
//! nextest runs every test in its own process, so the template is shared through the server,
//! not through memory: under a PostgreSQL advisory lock, the first test of a build creates
//! `tpl_<service>_<fingerprint>` (migrated in a `_building` database, then renamed, so a crash
//! never leaves a half-migrated template), and every test clones it. The fingerprint changes
//! whenever the test binary is rebuilt (and so whenever an embedded migration changes).
//! Test databases are named `t_<service>_<pid>_<random>`; those of dead processes are dropped
//! the next time a harness starts.

use std::hash::{Hash, Hasher};

use anyhow::Context;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::EmbeddedMigrations;

/// The admin URL variable; default `postgres://postgres@127.0.0.1:5432/postgres`.
pub const TEST_DATABASE_URL_VAR: &str = "TEST_DATABASE_URL";

/// A database that exists for the lifetime of this value.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

#[derive(QueryableByName)]
struct Datname {
    #[diesel(sql_type = Text)]
    datname: String,
}

fn admin_url() -> String {
    std::env::var(TEST_DATABASE_URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(admin: &str, db: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(admin).context("TEST_DATABASE_URL is not a URL")?;
    u.set_path(db);
    Ok(u.to_string())
}

fn fingerprint(service: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    service.hash(&mut h);
    if let Ok(exe) = std::env::current_exe() {
        exe.hash(&mut h);
        if let Ok(meta) = std::fs::metadata(&exe)
            && let Ok(modified) = meta.modified()
        {
            modified.hash(&mut h);
        }
    }
    format!("{:016x}", h.finish())
}

fn process_alive(pid: &str) -> bool {
    std::path::Path::new("/proc").join(pid).exists()
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<()> {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .with_context(|| format!("running `{sql}`"))?;
    Ok(())
}

async fn database_names(conn: &mut AsyncPgConnection, like: &str) -> anyhow::Result<Vec<String>> {
    let rows: Vec<Datname> =
        diesel::sql_query("SELECT datname::text AS datname FROM pg_database WHERE datname LIKE $1")
            .bind::<Text, _>(like)
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|r| r.datname).collect())
}

impl TestDatabase {
    /// Creates a fresh database for `service` with all `migrations` applied.
    ///
    /// # Errors
    /// When the server is unreachable or a migration fails.
    pub async fn new(
        service: &str,
        migrations: &'static [EmbeddedMigrations],
    ) -> anyhow::Result<Self> {
        let service = service.replace('-', "_");
        let admin = admin_url();
        let mut conn = AsyncPgConnection::establish(&admin)
            .await
            .with_context(|| format!("connecting to PostgreSQL via {TEST_DATABASE_URL_VAR}"))?;
        let template = format!("tpl_{service}_{}", fingerprint(&service));
        // One creator at a time per service; the others wait and then find the template.
        exec(
            &mut conn,
            &format!("SELECT pg_advisory_lock(hashtext('{template}'))"),
        )
        .await?;
        let result =
            Self::ensure_template(&mut conn, &admin, &service, &template, migrations).await;
        exec(
            &mut conn,
            &format!("SELECT pg_advisory_unlock(hashtext('{template}'))"),
        )
        .await?;
        result?;

        let name = format!(
            "t_{service}_{}_{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        exec(
            &mut conn,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\" STRATEGY = FILE_COPY"),
        )
        .await?;
        Ok(Self {
            url: with_database(&admin, &name)?,
            name,
            admin_url: admin,
        })
    }

    async fn ensure_template(
        conn: &mut AsyncPgConnection,
        admin: &str,
        service: &str,
        template: &str,
        migrations: &'static [EmbeddedMigrations],
    ) -> anyhow::Result<()> {
        if !database_names(conn, template).await?.is_empty() {
            return Ok(());
        }
        // Sweep: older templates of this service and databases of dead test processes.
        for old in database_names(conn, &format!("tpl_{service}_%")).await? {
            exec(
                conn,
                &format!("DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)"),
            )
            .await?;
        }
        for db in database_names(conn, &format!("t_{service}_%")).await? {
            let pid = db
                .trim_start_matches(&format!("t_{service}_"))
                .split('_')
                .next()
                .unwrap_or("");
            if !process_alive(pid) {
                exec(
                    conn,
                    &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
                )
                .await?;
            }
        }
        let building = format!("{template}_building");
        exec(
            conn,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await?;
        exec(conn, &format!("CREATE DATABASE \"{building}\"")).await?;
        crate::run_migrations(&with_database(admin, &building)?, migrations).await?;
        exec(
            conn,
            &format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
        )
        .await?;
        Ok(())
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop may run inside a runtime: do the async work on a thread with its own.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = AsyncPgConnection::establish(&admin).await {
                    let _ = diesel::sql_query(sql).execute(&mut conn).await;
                }
            });
        });
        let _ = handle.join();
    }
}
