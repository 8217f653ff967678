//! The real server on a free port, over a fresh database on the real PostgreSQL server,
//! publishing to the real RabbitMQ.

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
pub use tessera_testkit::{EventTap, Reply, Spawned};
use tessera_users_registration::auth::Role;
use tessera_users_registration::cli::UsersRegistration;
use tessera_users_registration::config::Config;
use tessera_users_registration::provision::{self, UserSpec};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "correct horse battery staple";

/// users-registration under test; `api`, `config`, `db`, `replica()` and `conn()` are its
/// [`Spawned`]'s, through `Deref`.
pub struct TestApp(Spawned<UsersRegistration>);

impl std::ops::Deref for TestApp {
    type Target = Spawned<UsersRegistration>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A valid sign-up body for `email` and `document`.
pub fn registration(email: &str, document: &str) -> Value {
    json!({
        "name": "Ana Produtora",
        "email": email,
        "documentId": document,
        "role": "producer",
        "password": PASSWORD,
        "farmData": {"areaHectares": 120, "municipality": "Lucas do Rio Verde"},
        "attachments": [{"type": "car", "url": "https://files.example.com/car.pdf"},
                        {"type": "ccir", "url": "https://files.example.com/ccir.pdf"}]
    })
}

/// A fresh, unique e-mail and CPF-like document.
pub fn unique() -> (String, String) {
    let n = Uuid::new_v4().as_u128();
    let digits = format!("{:011}", n % 100_000_000_000);
    let doc = format!(
        "{}.{}.{}-{}",
        &digits[0..3],
        &digits[3..6],
        &digits[6..9],
        &digits[9..11]
    );
    (format!("ana.{}@example.com", Uuid::new_v4().simple()), doc)
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self(Spawned::<UsersRegistration>::spawn(|config, _| configure(config)).await)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.api.call(method, path, bearer, body, &[]).await
    }

    pub async fn register(&self, body: Value, key: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.api
            .call(Method::POST, "/registrations", None, Some(body), &headers)
            .await
    }

    /// Registers a fresh producer; returns (registration id, user id, e-mail, document).
    pub async fn producer(&self) -> (String, Uuid, String, String) {
        let (email, doc) = unique();
        let r = self.register(registration(&email, &doc), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let registration_id = r.body["registrationId"].as_str().unwrap().to_owned();
        let user_id = self.user_id_of(&email).await;
        (registration_id, user_id, email, doc)
    }

    pub async fn user_id_of(&self, email: &str) -> Uuid {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use tessera_users_registration::db::schema::users;
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(&mut self.conn().await)
            .await
            .unwrap()
    }

    /// Creates an approved staff user with the CLI's code path; returns its e-mail.
    pub async fn staff(&self, role: Role, scopes: Option<&[&str]>) -> String {
        let (email, doc) = unique();
        let mut c = self.conn().await;
        provision::create_user(
            &self.config,
            &mut c,
            UserSpec {
                name: "Staff",
                email: &email,
                role,
                document_id: &doc,
                scopes: scopes.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
                password: SecretString::from(PASSWORD),
            },
        )
        .await
        .unwrap();
        email
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Logs in and returns the access token.
    pub async fn token(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["accessToken"].as_str().unwrap().to_owned()
    }

    pub async fn set_status(&self, token: &str, user: Uuid, body: Value) -> Reply {
        self.call(
            Method::PATCH,
            &format!("/users/{user}/status"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// An approved producer and its access token.
    pub async fn approved_producer(&self, analyst_token: &str) -> (Uuid, String, String) {
        let (_, user, email, doc) = self.producer().await;
        let r = self
            .set_status(analyst_token, user, json!({"status": "APPROVED"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let token = self.token(&email).await;
        (user, token, doc)
    }

    pub async fn count(&self, table: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(&mut self.conn().await)
            .await
            .unwrap();
        n.n
    }
}

/// Every event with routing key `kind` whose `pred` holds, collected for `within`.
pub async fn collect(
    tap: &mut EventTap,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
        match tap.next_matching(left, &pred).await {
            Some((body, _)) => out.push(body),
            None => break,
        }
    }
    out
}

/// A notification service that accepts every message (202).
pub async fn notification_stub() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/notify"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    server
}

/// The notifications of `template` sent to `email`. Every test's dispatcher has its own queue
/// bound to the shared exchange, so it also relays other tests' events: filter by recipient.
pub async fn received(server: &MockServer, template: &str, email: &str) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let found: Vec<serde_json::Value> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .filter(|b| b["template"] == template && b["recipient"]["email"] == email)
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

pub async fn app_with_notifications(server: &MockServer) -> TestApp {
    let url = format!("{}/notify", server.uri());
    TestApp::spawn_with(move |c| c.notify_endpoint = Some(url)).await
}

/// A pool of one connection and OWASP's Argon2id cost on one hashing thread: in a debug build a
/// request that hashes a password takes long enough for another to be sent meanwhile.
pub async fn app_with_one_connection_and_slow_hashes() -> TestApp {
    TestApp::spawn_with(|c| {
        c.base.db_pool_size = 1;
        c.argon2 = tessera_password::HashSettings::owasp_on_one_thread();
    })
    .await
}

/// Sends `POST path` with `body` and `headers` (a request that hashes a password) and, once
/// it is under way, a password-less sign-up; asserts the sign-up is answered 201 before the
/// first finishes, and the first with `status`: it held no pooled connection while it waited
/// for its hash.
pub async fn answered_while_hashing(
    app: &TestApp,
    path: &'static str,
    body: Value,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
) {
    let api = app.api.clone();
    let hashing = tokio::spawn(async move {
        api.call(Method::POST, path, None, Some(body), headers)
            .await
    });
    // Let the first request reach the hasher (its checks before the hash are done by then).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (email, document) = unique();
    let mut password_less = registration(&email, &document);
    password_less.as_object_mut().unwrap().remove("password");
    let probe = app
        .call(Method::POST, "/registrations", None, Some(password_less))
        .await;
    assert_eq!(probe.status, 201, "{}", probe.body);
    assert!(
        !hashing.is_finished(),
        "the password-less sign-up was answered only once the hashing request had finished"
    );
    let r = hashing.await.unwrap();
    assert_eq!(r.status, status, "{}", r.body);
}
