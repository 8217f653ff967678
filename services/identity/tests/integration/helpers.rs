//! The real server on a free port, over a fresh database on the real PostgreSQL server,
//! publishing to the real RabbitMQ.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use secrecy::SecretString;
use serde_json::{Value, json};
use tessera_db::testing::TestDatabase;
use tessera_identity::cli::Identity;
use tessera_identity::config::Config;
use tessera_identity::db::tenants;
use tessera_identity::provision::{self, CreatedAgent};
use tessera_testkit::Spawned;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub config: Config,
    pub keys_dir: tempfile::TempDir,
    pub db: TestDatabase,
}

pub use tessera_testkit::{EventTap, Reply};

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let keys_dir = tempfile::tempdir().unwrap();
        tessera_jwt::rotate_dir(
            keys_dir.path(),
            tessera_jwt::Algorithm::ES256,
            chrono::Utc::now(),
            Duration::ZERO,
        )
        .unwrap();
        let s = Spawned::<Identity>::spawn(|config, _| {
            config.keys.jwt_signing_keys_dir = Some(keys_dir.path().to_path_buf());
            configure(config);
        })
        .await;
        Self {
            address: s.api.base,
            client: s.api.client,
            config: s.config,
            keys_dir,
            db: s.db,
        }
    }

    /// Starts one more instance of the service on the same database and keys (a replica).
    pub async fn replica(&self) -> String {
        tessera_testkit::start::<Identity>(&self.config)
            .await
            .0
            .base
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        tessera_testkit::connect(&self.db).await
    }

    pub async fn tenant(&self, slug: &str) -> tenants::Tenant {
        let mut c = self.conn().await;
        tenants::create_tenant(&mut c, slug, &format!("Tenant {slug}"))
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
        tessera_testkit::Api {
            base: base.to_owned(),
            client: self.client.clone(),
        }
        .call(method, path, bearer, body, &[])
        .await
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
    String::from_utf8(tessera_testkit::node(script, &[secret_base32]).await).unwrap()
}

/// The first event on `tap` whose `data.agentId` is `agent_id`, within 10 s.
pub async fn event_for_agent(tap: &mut EventTap, agent_id: &str) -> Option<Value> {
    tap.next_matching(Duration::from_secs(10), |e| {
        e["data"]["agentId"] == agent_id
    })
    .await
    .map(|(body, _)| body)
}
