//! The real server on a free port, over a fresh database on the real PostgreSQL server,
//! publishing to the real RabbitMQ.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_control_plane::cli::ControlPlane;
use tessera_control_plane::config::Config;
use tessera_db::DbPool;
use tessera_db::testing::TestDatabase;
use tessera_testkit::Spawned;

pub const ADMIN: &str = "test-admin-token";
pub const ISSUER: &str = "http://localhost:8081";

pub struct TestApp {
    pub address: String,
    /// The client of `address`; `app.call(…)` and `app.client` are its, through `Deref`.
    pub api: tessera_testkit::Api,
    pub pool: DbPool,
    pub _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = tessera_testkit::Api;

    fn deref(&self) -> &Self::Target {
        &self.api
    }
}

/// The seeded registry: wl-a imports from wl-b (offers:sync, trader:purchase); wl-c is unrelated.
pub struct Seed {
    pub key_a: String,
    pub key_b: String,
    pub key_a_id: String,
}

pub use tessera_testkit::{Reply, jwt_segment as segment};

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let s = Spawned::<ControlPlane>::spawn(|config, _| configure(config)).await;
        Self {
            address: s.api.base.clone(),
            api: s.api,
            pool: s.pool,
            _db: s.db,
        }
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(ADMIN), body, &[]).await
    }

    /// Activates or deactivates a WL through the operator API.
    pub async fn set_wl_status(&self, wl: &str, status: &str) {
        let r = self
            .admin(
                reqwest::Method::PATCH,
                &format!("/wls/{wl}"),
                Some(json!({"status": status})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn peer_token(&self, importer: &str, key: &str, body: Value) -> Reply {
        self.call(
            reqwest::Method::POST,
            &format!("/wls/{importer}/peer-token"),
            Some(key),
            Some(body),
            &[],
        )
        .await
    }

    pub async fn seed(&self) -> Seed {
        for (id, name) in [
            ("wl-a", "White Label A"),
            ("wl-b", "White Label B"),
            ("wl-c", "White Label C"),
        ] {
            let r = self
                .admin(
                    reqwest::Method::POST,
                    "/wls",
                    Some(json!({"id": id, "name": name})),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let r = self
            .admin(
                reqwest::Method::PUT,
                "/wls/wl-a/relationships/wl-b",
                Some(json!({"scopes": ["offers:sync", "trader:purchase"]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let a = self
            .admin(reqwest::Method::POST, "/wls/wl-a/api-keys", None)
            .await;
        let b = self
            .admin(reqwest::Method::POST, "/wls/wl-b/api-keys", None)
            .await;
        Seed {
            key_a: a.body["secret"].as_str().expect("secret").to_owned(),
            key_b: b.body["secret"].as_str().expect("secret").to_owned(),
            key_a_id: a.body["apiKey"]["id"].as_str().expect("id").to_owned(),
        }
    }

    /// Polls until `/readyz` is 200 and `/healthz` reports the broker connected (the relay
    /// connects shortly after start; readiness itself no longer waits for it, issue #18).
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self
            .call(reqwest::Method::GET, "/readyz", None, None, &[])
            .await
            .status
            != 200
            || self
                .call(reqwest::Method::GET, "/healthz", None, None, &[])
                .await
                .body["checks"]["broker"]
                != "ok"
        {
            assert!(tokio::time::Instant::now() < deadline, "never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.address)
    }
}

/// Verifies `token` with Node's crypto against the live JWKS; returns the script's verdict.
pub async fn verify_independently(jwks_url: &str, token: &str, aud: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/verify-jwt.mjs");
    let out = tessera_testkit::node(script, &[jwks_url, token, aud, ISSUER]).await;
    serde_json::from_slice(&out).expect("verdict JSON")
}

/// A queue bound to `key` on `tessera.events`, and a way to wait for a peer-token event.
pub struct EventTap(tessera_testkit::EventTap);

impl EventTap {
    pub async fn bind(key: &str) -> Self {
        Self(tessera_testkit::EventTap::bind(key).await.expect("broker"))
    }

    /// The first event whose `data.jti` is `jti`, within `within`.
    pub async fn event_with_jti(
        &mut self,
        jti: &str,
        within: Duration,
    ) -> Option<(Value, lapin::BasicProperties)> {
        self.0
            .next_matching(within, |e| e["data"]["jti"] == jti)
            .await
    }
}
