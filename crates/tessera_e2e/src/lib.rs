//! Tessera's end-to-end suite: `tests/platform.rs` and `tests/edge_trust.rs` walk the running
//! platform (`make up`) through the gateway, with the demo credentials of `.tessera/demo.json`;
//! `tests/faults.rs` starts its own services and breaks their dependencies. These tests are
//! `#[ignore]`d in `make test` (they need the platform up); `make e2e` brings the platform up and
//! runs them (`--run-ignored only`). `tests/edge_config.rs` checks the gateways' configuration
//! files and runs in `make test`. This library holds what the platform tests share.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test support: a failure is a test failure"
)]

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tessera_testkit::{Api, Reply};

/// The five services' binaries, then gateway-auth's: every binary with `/metrics`.
pub const BINARIES: [&str; 6] = [
    "control-plane",
    "quotations",
    "identity",
    "credential-broker",
    "users-registration",
    "gateway-auth",
];

/// The five services (the binaries with a database and the shared subcommands).
pub const SERVICES: [&str; 5] = [
    "control-plane",
    "quotations",
    "identity",
    "credential-broker",
    "users-registration",
];

/// The running platform: the gateway's client and the demo data of `make up`.
pub struct Platform {
    /// A client of the gateway.
    pub gateway: Api,
    /// `demo.json`.
    pub demo: Value,
    /// The state directory (`TESSERA_STATE`, else `.tessera`).
    pub state: PathBuf,
}

impl Platform {
    /// The platform named by `demo.json`.
    ///
    /// # Panics
    /// Without `demo.json` (`make up` first).
    pub fn load() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let state = std::env::var_os("TESSERA_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".tessera"));
        let demo: Value = serde_json::from_slice(
            &std::fs::read(state.join("demo.json"))
                .expect(".tessera/demo.json: run `make up` (or `make e2e`) first"),
        )
        .unwrap();
        Self {
            gateway: Api::new(
                demo["services"]["gateway"]["url"]
                    .as_str()
                    .expect("a gateway in demo.json"),
            ),
            demo,
            state,
        }
    }

    /// A demo credential.
    pub fn credential(&self, name: &str) -> &Value {
        &self.demo["credentials"][name]
    }

    /// A demo credential that is a plain string.
    pub fn secret(&self, name: &str) -> String {
        self.credential(name).as_str().unwrap().to_owned()
    }

    /// One request through the gateway.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.gateway.call(method, path, bearer, body, headers).await
    }

    /// Signs a new producer up through the gateway (`POST /registrations`, random
    /// `Idempotency-Key`); returns its e-mail (`<prefix>-…@example.com`) and registration id.
    pub async fn register_producer(&self, prefix: &str) -> (String, String) {
        let email = format!("{}@example.com", unique_id(prefix));
        let body = serde_json::json!({"name": "Ana E2E", "email": email,
            "documentId": unique_document(), "role": "producer",
            "password": "correct horse battery"});
        let r = self
            .call(
                Method::POST,
                "/registrations",
                None,
                Some(body),
                &[("Idempotency-Key", &unique_id("idem"))],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["registrationId"].as_str().unwrap().to_owned();
        (email, id)
    }

    /// Logs a users-registration demo account (`credential(name)`: e-mail and password) in
    /// through the gateway; its access token.
    pub async fn users_registration_token(&self, name: &str) -> String {
        let who = self.credential(name).clone();
        let r = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(serde_json::json!({"email": who["email"], "password": who["password"]})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["accessToken"].as_str().unwrap().to_owned()
    }

    /// The quotations demo admin's personal access token.
    pub fn quotations_admin_token(&self) -> String {
        self.credential("quotations.admin")["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Logs an identity demo agent with a second factor (`who`: e-mail, password and
    /// `totp_secret`) in to `tenant` through the gateway: login, then a fresh TOTP code; its
    /// access token.
    pub async fn identity_mfa_token(&self, tenant: &str, who: &Value) -> String {
        let login = self.identity_login(tenant, who).await;
        assert_eq!(login.body["mfa_required"], true, "{}", login.body);
        let session = login.body["session_id"].as_str().unwrap().to_owned();
        // One second factor at a time across the suite's processes: each takes a step after the
        // last one used and has it verified before the next test computes a code.
        let _turn = TotpTurn::take(&self.state).await;
        let code = fresh_totp(self, who["totp_secret"].as_str().unwrap()).await;
        let verified = self
            .call(
                Method::POST,
                &format!("/tenants/{tenant}/mfa/verify"),
                None,
                Some(serde_json::json!({"session_id": session, "code": code, "method": "totp"})),
                &[],
            )
            .await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        verified.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Logs an identity demo agent (`who`: e-mail and password) in to `tenant` through the
    /// gateway (no second factor); its access token.
    pub async fn identity_token(&self, tenant: &str, who: &Value) -> String {
        let r = self.identity_login(tenant, who).await;
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /tenants/{tenant}/login` with `who`'s e-mail and password through the gateway,
    /// asserted 200.
    async fn identity_login(&self, tenant: &str, who: &Value) -> Reply {
        let r = self
            .call(
                Method::POST,
                &format!("/tenants/{tenant}/login"),
                None,
                Some(serde_json::json!({"email": who["email"], "password": who["password"]})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r
    }

    /// A service's log under `make up`.
    pub fn log(&self, service: &str) -> String {
        std::fs::read_to_string(self.state.join("logs").join(format!("{service}.log")))
            .unwrap_or_default()
    }

    /// Polls `check` every 200 ms for up to `secs` seconds.
    pub async fn eventually<F, Fut>(&self, secs: u64, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {secs} s waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A random CPF-shaped document id (`000.000.000-00`), unique per call in practice.
pub fn unique_document() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000_000;
    let d = format!("{n:011}");
    format!("{}.{}.{}-{}", &d[0..3], &d[3..6], &d[6..9], &d[9..11])
}

/// One peer token from `base` (a control-plane or the gateway): `POST /wls/{importer}/peer-token`
/// for `target` with the `offers:sync` scope, authenticated by `key`. Returns `(status, jti)`;
/// status 0 when no response arrived (the load tests count those as failures).
pub async fn issue_peer_token(
    http: &reqwest::Client,
    base: &str,
    importer: &str,
    target: &str,
    key: &str,
) -> (u16, Option<String>) {
    let r = http
        .post(format!("{base}/wls/{importer}/peer-token"))
        .bearer_auth(key)
        .json(&serde_json::json!({"targetWlId": target, "scopes": ["offers:sync"]}))
        .send()
        .await;
    let Ok(r) = r else { return (0, None) };
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let jti = body["accessToken"].as_str().map(|t| {
        tessera_testkit::jwt_segment(t, 1)["jti"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    (status, jti)
}

/// `prefix-<random>`.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The suite's turn at a demo second factor: a lock file created exclusively in the state
/// directory (tests run as parallel processes), removed when dropped — on a failed assertion
/// too. A lock older than two minutes is a crashed holder's and is taken over.
struct TotpTurn(PathBuf);

impl TotpTurn {
    async fn take(state: &std::path::Path) -> Self {
        let path = state.join("e2e-totp.lock");
        loop {
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path);
            if let Err(e) = &created
                && e.kind() == std::io::ErrorKind::AlreadyExists
            {
                let stale = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(120));
                if stale {
                    let _ = std::fs::remove_file(&path);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            created.expect("the TOTP lock file is created in the state directory");
            return Self(path);
        }
    }
}

impl Drop for TotpTurn {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A TOTP code of a time step not used before (identity refuses a replayed code): the step of
/// the last run is kept in the state directory, and a run in the same 30 s waits for the next.
pub async fn fresh_totp(p: &Platform, secret: &str) -> String {
    let marker = p.state.join("e2e-totp-step");
    let last: u64 = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    // TOTP steps are wall-clock time on both sides of the platform under test.
    #[expect(
        clippy::disallowed_methods,
        reason = "the e2e harness talks to a live platform"
    )]
    let now = || chrono::Utc::now().timestamp().unsigned_abs();
    if now() / 30 <= last {
        let wait = (last + 1) * 30 - now() + 1;
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    std::fs::write(&marker, (now() / 30).to_string()).unwrap();
    totp(secret).await
}

/// The current TOTP code, computed by Node's crypto (independent of identity's totp-rs).
pub async fn totp(secret: &str) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../services/identity/tests/support/totp.mjs"
    );
    let out = tokio::process::Command::new("node")
        .args([script, secret])
        .output()
        .await
        .expect("node runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}
