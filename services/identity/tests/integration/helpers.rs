//! The real server on a free port, over a fresh database on the real PostgreSQL server,
//! publishing to the real RabbitMQ.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use secrecy::SecretString;
use serde_json::{Value, json};
use tessera_db::testing::TestDatabase;
use tessera_events::testing::amqp_url;
use tessera_identity::config::Config;
use tessera_identity::provision::{self, CreatedAgent};
use tessera_identity::startup::{Application, MIGRATIONS};
use tessera_identity::store;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub config: Config,
    pub keys_dir: tempfile::TempDir,
    pub db: TestDatabase,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The envelope without its `request_id` (which differs per request).
    pub fn envelope_sans_request_id(&self) -> Value {
        let mut b = self.body.clone();
        b.as_object_mut().unwrap().remove("request_id");
        b
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        tessera_telemetry::init_for_test();
        let db = TestDatabase::new("identity", MIGRATIONS)
            .await
            .expect("test database");
        let keys_dir = tempfile::tempdir().unwrap();
        tessera_jwt::rotate_dir(
            keys_dir.path(),
            tessera_jwt::Algorithm::ES256,
            chrono::Utc::now(),
            Duration::ZERO,
        )
        .unwrap();
        let mut config = Config::for_tests(db.url(), &amqp_url());
        config.jwt_signing_keys_dir = Some(keys_dir.path().to_path_buf());
        configure(&mut config);
        let address = Self::start(&config).await;
        Self {
            address,
            client: reqwest::Client::new(),
            config,
            keys_dir,
            db,
        }
    }

    /// Starts one more instance of the service on the same database and keys (a replica).
    pub async fn replica(&self) -> String {
        Self::start(&self.config).await
    }

    async fn start(config: &Config) -> String {
        let app = Application::build(config.clone())
            .await
            .expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(self.db.url()).await.unwrap()
    }

    pub async fn tenant(&self, slug: &str) -> store::Tenant {
        let mut c = self.conn().await;
        store::create_tenant(&mut c, slug, &format!("Tenant {slug}"))
            .await
            .unwrap()
    }

    pub async fn agent(
        &self,
        tenant: &str,
        email: &str,
        mfa: bool,
        role: Option<&str>,
    ) -> CreatedAgent {
        let mut c = self.conn().await;
        provision::create_agent(
            &self.config,
            &mut c,
            tenant,
            email,
            SecretString::from(PASSWORD),
            mfa,
            role.map(str::to_owned),
        )
        .await
        .unwrap()
    }

    pub async fn call_at(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{base}{path}"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
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

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.call_at(&self.address, method, path, bearer, body)
            .await
    }

    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> Reply {
        self.login_at(&self.address, tenant, email, password).await
    }

    pub async fn login_at(&self, base: &str, tenant: &str, email: &str, password: &str) -> Reply {
        self.call_at(
            base,
            reqwest::Method::POST,
            &format!("/tenants/{tenant}/login"),
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Logs in an agent without MFA and returns its access token.
    pub async fn token(&self, tenant: &str, email: &str) -> String {
        let r = self.login(tenant, email, PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["mfa_required"], false);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn verify(&self, tenant: &str, session_id: &str, code: &str, method: &str) -> Reply {
        self.call(
            reqwest::Method::POST,
            &format!("/tenants/{tenant}/mfa/verify"),
            None,
            Some(json!({"session_id": session_id, "code": code, "method": method})),
        )
        .await
    }

    /// Signs arbitrary claims with the service's own key (to forge what a client cannot).
    pub fn sign(&self, claims: &Value) -> String {
        let set = tessera_jwt::KeySet::load_dir(
            self.keys_dir.path(),
            Duration::ZERO,
            Duration::from_secs(3600),
        )
        .unwrap();
        set.sign("at+jwt", claims, chrono::Utc::now()).unwrap()
    }
}

/// The current TOTP code of a base32 secret, computed by Node's crypto (an implementation
/// independent of the service's).
pub async fn totp_code(secret_base32: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/totp.mjs");
    let out = tokio::process::Command::new("node")
        .args([script, secret_base32])
        .output()
        .await
        .expect("node runs (install nodejs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A queue bound to `key` on `tessera.events`.
pub struct EventTap {
    _conn: lapin::Connection,
    consumer: lapin::Consumer,
}

impl EventTap {
    pub async fn bind(key: &str) -> Self {
        let (conn, consumer) = tessera_events::testing::tap(&amqp_url(), key)
            .await
            .expect("broker");
        Self {
            _conn: conn,
            consumer,
        }
    }

    /// The first event whose `data.agentId` is `agent_id`, within 10 s.
    pub async fn for_agent(&mut self, agent_id: &str) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let delivery = tokio::time::timeout(left, self.consumer.next())
                .await
                .ok()??
                .ok()?;
            let _ = delivery.ack(BasicAckOptions::default()).await;
            let body: Value = serde_json::from_slice(&delivery.data).ok()?;
            if body["data"]["agentId"] == agent_id {
                return Some(body);
            }
        }
    }
}
