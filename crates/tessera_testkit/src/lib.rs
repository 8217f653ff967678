#![doc = include_str!("../README.md")]

pub mod metrics;
pub mod otlp;

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use serde_json::Value;
use tessera_db::DbPool;
use tessera_db::testing::TestDatabase;
use tessera_service::Service;

/// A service under test (STYLE.md §9): its real server on a free port, over a fresh database
/// cloned from the service's migrated template, publishing to the real RabbitMQ. Each
/// service's `tests/integration/helpers.rs` wraps it with its own set-up.
pub struct Spawned<S: Service> {
    /// A client for the server.
    pub api: Api,
    /// The configuration it runs with (start a [`Spawned::replica`] with it).
    pub config: S::Config,
    /// The server's own pool (a test can read what the server wrote, through its pool).
    pub pool: DbPool,
    /// The test's database; dropping it drops the database.
    pub db: TestDatabase,
}

impl<S: Service> Spawned<S> {
    /// Creates the database, takes `S`'s test configuration over it and the local broker, lets
    /// `prepare` adjust it, and starts the server.
    ///
    /// # Panics
    /// When the database cannot be created or the server does not build: a test failure.
    #[expect(
        clippy::panic,
        reason = "test support: a failed set-up is a failed test"
    )]
    pub async fn spawn(prepare: impl FnOnce(&mut S::Config, &TestDatabase)) -> Self {
        tessera_telemetry::init_for_test();
        let db = TestDatabase::new(S::NAME, S::MIGRATIONS)
            .await
            .unwrap_or_else(|e| panic!("test database for {}: {e}", S::NAME));
        let mut config = S::config_for_tests(db.url(), &tessera_events::testing::amqp_url())
            .unwrap_or_else(|e| panic!("test configuration of {}: {e}", S::NAME));
        prepare(&mut config, &db);
        let (api, pool) = start::<S>(&config).await;
        Self {
            api,
            config,
            pool,
            db,
        }
    }

    /// One more instance of the server on the same database (a replica).
    pub async fn replica(&self) -> Api {
        start::<S>(&self.config).await.0
    }

    /// A connection of the test's own to the test's database ([`connect`]).
    pub async fn conn(&self) -> AsyncPgConnection {
        connect(&self.db).await
    }
}

impl<S: Service> std::ops::Deref for Spawned<S> {
    type Target = Api;

    /// `spawned.call(…)` is its client's.
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A connection of the test's own to its database (to arrange rows or read what the server
/// wrote).
///
/// # Panics
/// When the database cannot be reached: a test failure.
#[expect(
    clippy::panic,
    reason = "test support: a failed set-up is a failed test"
)]
pub async fn connect(db: &TestDatabase) -> AsyncPgConnection {
    AsyncPgConnection::establish(db.url())
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"))
}

/// Builds `S` with `config` and runs it in the background: a client for it and its pool.
///
/// # Panics
/// When the server does not build: a test failure.
#[expect(
    clippy::panic,
    reason = "test support: a failed set-up is a failed test"
)]
pub async fn start<S: Service>(config: &S::Config) -> (Api, DbPool) {
    let app = S::build(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{} builds: {e:#}", S::NAME));
    let api = Api::new(format!("http://127.0.0.1:{}", app.port()));
    let pool = app.pool().clone();
    tokio::spawn(app.run_until_stopped());
    (api, pool)
}

/// A decoded HTTP response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON, or a JSON string holding the raw text when it is not JSON.
    pub body: Value,
}

impl Reply {
    /// The error envelope without its `request_id` (which differs per request), for comparing
    /// two refusals byte for byte.
    pub fn envelope_sans_request_id(&self) -> Value {
        let mut b = self.body.clone();
        if let Some(map) = b.as_object_mut() {
            map.remove("request_id");
        }
        b
    }
}

/// An HTTP client for one service under test.
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The client (keep-alive).
    pub client: reqwest::Client,
}

impl Api {
    /// A client for `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends one request: optional bearer token, JSON body and extra headers.
    ///
    /// # Panics
    /// When the request cannot be sent (the server is not there): a test failure.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => unreachable_server(&self.base, &e),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }
}

#[expect(clippy::panic, reason = "test support: a failed send is a failed test")]
fn unreachable_server(base: &str, e: &reqwest::Error) -> ! {
    panic!("request to {base} not sent: {e}")
}

/// A queue bound to one routing key on `tessera.events`, on the real broker.
#[derive(derive_more::Debug)]
#[debug("EventTap")]
pub struct EventTap {
    _conn: lapin::Connection,
    consumer: lapin::Consumer,
}

impl EventTap {
    /// Binds a fresh exclusive queue to `routing_key` (`TEST_AMQP_URL` or the local broker).
    ///
    /// # Errors
    /// The broker is unreachable.
    pub async fn bind(routing_key: &str) -> Result<Self, tessera_events::broker::BrokerError> {
        let (conn, consumer) =
            tessera_events::testing::tap(&tessera_events::testing::amqp_url(), routing_key).await?;
        Ok(Self {
            _conn: conn,
            consumer,
        })
    }

    /// The first event (envelope JSON) for which `matches` holds, with its AMQP properties,
    /// within `within`; others are acknowledged and skipped.
    pub async fn next_matching(
        &mut self,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<(Value, lapin::BasicProperties)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let delivery = tokio::time::timeout(left, self.consumer.next())
                .await
                .ok()??
                .ok()?;
            let _ = delivery.ack(BasicAckOptions::default()).await;
            let body: Value = serde_json::from_slice(&delivery.data).ok()?;
            if matches(&body) {
                return Some((body, delivery.properties));
            }
        }
    }
}

/// Segment `i` of a compact JWT (0 = header, 1 = payload) decoded as JSON, without verifying;
/// `Value::Null` when it is not there or not base64url JSON.
pub fn jwt_segment(token: &str, i: usize) -> Value {
    use base64::Engine;
    token
        .split('.')
        .nth(i)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// Runs the Node.js script `script` with `args` (an implementation independent of the
/// service's, e.g. Node's crypto verifying a JWT or computing a TOTP code) and returns its
/// stdout.
///
/// # Panics
/// When `node` is missing or the script exits unsuccessfully (its stderr is the message): a
/// test failure.
#[expect(
    clippy::expect_used,
    reason = "test support: a missing node or a failed script is a failed test"
)]
pub async fn node(script: &str, args: &[&str]) -> Vec<u8> {
    let out = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .output()
        .await
        .expect("node runs (install nodejs)");
    assert!(
        out.status.success(),
        "node {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
