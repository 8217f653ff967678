//! The real server on a free port over a fresh database, publishing to the real RabbitMQ.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use tessera_credential_broker::cli::CredentialBroker;
use tessera_credential_broker::config::Config;
use tessera_credential_broker::db::bindings;
use tessera_credential_broker::db::schema::audit_log;
pub use tessera_testkit::{Reply, Spawned};
use uuid::Uuid;

pub const CALLER: &str = "test-caller-token-0123456789";
pub const GRAPH_TOKEN: &str = "upstream-secret-graph-7f3a9c1e55d2";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// credential-broker under test, with the wallet's static tokens set; `api`, `config`, `db`,
/// `replica()` and `conn()` are its [`Spawned`]'s, through `Deref`.
pub struct TestApp(Spawned<CredentialBroker>);

impl std::ops::Deref for TestApp {
    type Target = Spawned<CredentialBroker>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self(
            Spawned::<CredentialBroker>::spawn(|config, _| {
                config.wallet_static_tokens = Some(
                    format!("graph.microsoft.com={GRAPH_TOKEN},api.github.com=gh-token-1").into(),
                );
                configure(config);
            })
            .await,
        )
    }

    /// Binds `sandbox` to a fresh agent of tenant `acme`, allowing graph.microsoft.com (one
    /// scope) and, without a wallet token, files.example.com.
    pub async fn bind(&self, sandbox: &str) -> Uuid {
        let agent = Uuid::new_v4();
        let mut c = self.conn().await;
        bindings::put_binding(
            &mut c,
            sandbox,
            "acme",
            agent,
            None,
            &[
                (
                    "graph.microsoft.com".into(),
                    vec![GRAPH_SCOPE.into(), "User.Read".into()],
                ),
                ("files.example.com".into(), vec!["files.read".into()]),
            ],
        )
        .await
        .unwrap();
        agent
    }

    pub async fn token(
        &self,
        api: &tessera_testkit::Api,
        caller: Option<&str>,
        body: Value,
    ) -> Reply {
        api.call(reqwest::Method::POST, "/api/token", caller, Some(body), &[])
            .await
    }

    pub async fn request(&self, sandbox: &str, host: &str, scopes: &[&str]) -> Reply {
        self.token(
            &self.api,
            Some(CALLER),
            json!({"sandbox_id": sandbox, "upstream_host": host, "scopes": scopes}),
        )
        .await
    }

    /// Audit rows, oldest first: (caller, sandbox, host, outcome, reason, token_hmac).
    pub async fn audit(
        &self,
    ) -> Vec<(
        String,
        String,
        String,
        String,
        Option<String>,
        Option<Vec<u8>>,
    )> {
        let mut c = self.conn().await;
        audit_log::table
            .order(audit_log::id.asc())
            .select((
                audit_log::caller,
                audit_log::sandbox_id,
                audit_log::upstream_host,
                audit_log::outcome,
                audit_log::reason,
                audit_log::token_hmac,
            ))
            .load(&mut c)
            .await
            .unwrap()
    }
}

/// Binds `sandbox` to `agent` of tenant `acme` (graph.microsoft.com with its scopes).
pub async fn put_binding(app: &TestApp, sandbox: &str, agent: Uuid) {
    bindings::put_binding(
        &mut app.conn().await,
        sandbox,
        "acme",
        agent,
        None,
        &[(
            "graph.microsoft.com".into(),
            vec![GRAPH_SCOPE.into(), "User.Read".into()],
        )],
    )
    .await
    .unwrap();
}
