//! The pool, the migration runner and the per-test database harness, on the real server.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use tessera_db::testing::TestDatabase;
use tessera_db::{PoolSettings, build_pool, ping, run_migrations};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("tests/migrations");

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM widgets")
        .load(&mut conn)
        .await
        .unwrap();
    rows[0].n
}

#[tokio::test(flavor = "multi_thread")]
async fn each_test_database_is_fresh_migrated_and_isolated() {
    let a = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    let b = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    assert_ne!(a.name(), b.name());
    let mut conn = AsyncPgConnection::establish(a.url()).await.unwrap();
    diesel::sql_query("INSERT INTO widgets (name) VALUES ('x')")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(count(a.url()).await, 1);
    assert_eq!(count(b.url()).await, 0, "b is not affected by a");
    // Migrations already applied: nothing pending.
    assert!(
        run_migrations(a.url(), &[MIGRATIONS])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_removes_the_database() {
    let db = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    let url = db.url().to_owned();
    drop(db);
    assert!(AsyncPgConnection::establish(&url).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn pool_ping_reports_up_and_down() {
    let db = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    let pool = build_pool(db.url(), PoolSettings::default()).unwrap();
    assert_eq!(ping(&pool).await, Ok(()));
    let down = build_pool(
        "postgres://postgres@127.0.0.1:1/nothing",
        PoolSettings {
            create_timeout: std::time::Duration::from_millis(300),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(ping(&down).await.is_err());
}

/// The maintenance URL, and the name and URL of a database that does not exist yet.
fn unmade_database(prefix: &str) -> (String, String, String) {
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    (admin, name, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_a_missing_database_once() {
    let (admin, name, url) = unmade_database("t_create");
    assert!(tessera_db::create_database_if_missing(&url).await.unwrap());
    assert!(
        !tessera_db::create_database_if_missing(&url).await.unwrap(),
        "second call is a no-op"
    );
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        tessera_db::create_database_if_missing("postgres://postgres@127.0.0.1:5432/bad;name")
            .await
            .is_err()
    );
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// Checkouts are not verified with a query, yet a connection the server closed is not handed
/// out: the driver has seen the socket close, the pool discards the connection as broken and
/// opens a new one.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_closed_by_the_server_is_replaced_at_checkout() {
    let db = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    let pool = build_pool(
        db.url(),
        PoolSettings {
            max_size: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let pid = {
        let mut conn = pool.get().await.unwrap();
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(&mut conn)
            .await
            .unwrap()
            .pid
    };
    let mut admin = AsyncPgConnection::establish(db.url()).await.unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut admin)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut conn = pool.get().await.unwrap();
    let now = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut conn)
        .await
        .unwrap()
        .pid;
    assert_ne!(now, pid, "a new connection replaced the closed one");
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn session_settings_apply_to_every_connection_of_a_pool() {
    let db = TestDatabase::new("harness", &[MIGRATIONS]).await.unwrap();
    let url = tessera_db::with_session_setting(db.url(), "synchronous_commit", "off").unwrap();
    let pool = build_pool(&url, PoolSettings::default()).unwrap();
    let mut conn = pool.get().await.unwrap();
    let s: Setting = diesel::sql_query("SELECT current_setting('synchronous_commit') AS v")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(s.v, "off");
    let mut plain = AsyncPgConnection::establish(db.url()).await.unwrap();
    let s: Setting = diesel::sql_query("SELECT current_setting('synchronous_commit') AS v")
        .get_result(&mut plain)
        .await
        .unwrap();
    assert_eq!(s.v, "on");
}

/// Four replicas migrating one fresh database at once (each pod's `migrate` init container):
/// all succeed, and the migrations are applied exactly once (the advisory lock serialises them).
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_migrations_apply_once() {
    static SOURCES: [EmbeddedMigrations; 1] = [MIGRATIONS];
    let (admin, name, url) = unmade_database("t_concurrent");
    assert!(tessera_db::create_database_if_missing(&url).await.unwrap());
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { run_migrations(&url, &SOURCES).await })
        })
        .collect();
    let mut applied = Vec::new();
    for r in runs {
        applied.push(
            r.await
                .unwrap()
                .expect("every replica's migrate succeeds")
                .len(),
        );
    }
    applied.sort_unstable();
    assert_eq!(applied, vec![0, 0, 0, 1], "applied once");
    assert_eq!(count(&url).await, 0, "the table exists");
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// `migrate status` lists every migration as applied or pending; `migrate revert` runs the
/// newest applied one's `down.sql`, and applying again brings it back.
#[tokio::test(flavor = "multi_thread")]
async fn migration_status_and_revert() {
    static SOURCES: [EmbeddedMigrations; 1] = [MIGRATIONS];
    let (admin, name, url) = unmade_database("t_revert");
    assert!(tessera_db::create_database_if_missing(&url).await.unwrap());
    let status = tessera_db::migration_status(&url, &SOURCES).await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(!status[0].applied, "pending before migrating");
    assert!(status[0].name.contains("widgets"), "{:?}", status[0]);
    run_migrations(&url, &SOURCES).await.unwrap();
    assert!(tessera_db::migration_status(&url, &SOURCES).await.unwrap()[0].applied);
    assert_eq!(count(&url).await, 0, "the table exists");
    let reverted = tessera_db::revert_migrations(&url, &SOURCES, 5)
        .await
        .unwrap();
    assert_eq!(reverted.len(), 1, "only what was applied is reverted");
    assert!(!tessera_db::migration_status(&url, &SOURCES).await.unwrap()[0].applied);
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let gone: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'widgets'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(gone[0].n, 0, "down.sql ran");
    assert_eq!(run_migrations(&url, &SOURCES).await.unwrap().len(), 1);
    drop(conn);
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
