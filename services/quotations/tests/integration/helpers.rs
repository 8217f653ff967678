//! The real server on a free port over a fresh database; providers stubbed by wiremock.

use serde_json::{Value, json};
use tessera_db::testing::TestDatabase;
use tessera_events::testing::amqp_url;
use tessera_quotations::config::Config;
use tessera_quotations::startup::{MIGRATIONS, build};
pub use tessera_testkit::Reply;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "password-for-tests";

pub struct TestApp {
    pub api: tessera_testkit::Api,
    pub config: Config,
    pub stub: MockServer,
    /// Kept alive for the test's duration (dropping it drops the database).
    db: TestDatabase,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        tessera_telemetry::init_for_test();
        let db = TestDatabase::new("quotations", MIGRATIONS)
            .await
            .expect("test database");
        let stub = MockServer::start().await;
        let mut config = Config::for_tests(db.url(), &amqp_url(), &stub.uri());
        configure(&mut config);
        let app = build(config.clone()).await.expect("application builds");
        let api = tessera_testkit::Api::new(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
        Self {
            api,
            config,
            stub,
            db,
        }
    }

    /// Creates a user with the CLI's code path and returns a token for it.
    pub async fn user_token(&self, email: &str, admin: bool) -> String {
        use diesel_async::AsyncConnection;
        let hash = tessera_password::Hasher::new(&tessera_password::HashSettings::for_tests())
            .unwrap()
            .hash(secrecy::SecretString::from(PASSWORD))
            .await
            .unwrap();
        let mut c = diesel_async::AsyncPgConnection::establish(self.db.url())
            .await
            .unwrap();
        let id = tessera_quotations::tokens::upsert_user(&mut c, "Test User", email, &hash, admin)
            .await
            .unwrap();
        tessera_quotations::tokens::issue(&mut c, id, "test")
            .await
            .unwrap()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.api.call(method, path, bearer, body, headers).await
    }

    /// One more instance on the same database (a replica).
    pub async fn replica(&self) -> tessera_testkit::Api {
        let app = build(self.config.clone())
            .await
            .expect("application builds");
        let api = tessera_testkit::Api::new(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
        api
    }

    pub fn db_url(&self) -> &str {
        self.db.url()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.api
            .call(reqwest::Method::GET, path, None, None, &[])
            .await
    }

    /// Requests the stub received on `path_prefix`.
    pub async fn calls(&self, path_prefix: &str) -> usize {
        self.stub
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path().starts_with(path_prefix))
            .count()
    }
}

/// AwesomeAPI `/json/last/USD-BRL` (its real shape: every field a string).
pub fn awesome_usd_brl() -> Value {
    json!({"USDBRL": {"code": "USD", "codein": "BRL", "name": "Dólar Americano/Real Brasileiro",
        "high": "5.0601", "low": "5.0012", "varBid": "0.0041", "pctChange": "0.08",
        "bid": "5.0123", "ask": "5.0133", "timestamp": "1763790000",
        "create_date": "2025-11-22 03:40:00"}})
}

/// Alpha Vantage `GLOBAL_QUOTE`.
pub fn alpha_global_quote(symbol: &str, price: &str) -> Value {
    json!({"Global Quote": {"01. symbol": symbol, "02. open": "187.1500", "03. high": "188.4400",
        "04. low": "183.8850", "05. price": price, "06. volume": "56058336",
        "07. latest trading day": "2025-11-21", "08. previous close": "186.8600",
        "09. change": "-1.2500", "10. change percent": "-0.6690%"}})
}

/// Alpha Vantage's rate-limit answer: HTTP 200 with `Information`.
pub fn alpha_rate_limited() -> Value {
    json!({"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."})
}

/// Yahoo Finance v8 chart.
pub fn yahoo_chart(symbol: &str, price: f64) -> Value {
    json!({"chart": {"result": [{"meta": {"currency": "USD", "symbol": symbol,
        "exchangeName": "NMS", "regularMarketPrice": price, "regularMarketTime": 1763758800,
        "previousClose": 186.86}, "timestamp": [1763758800],
        "indicators": {"quote": [{"close": [price]}]}}], "error": null}})
}

pub async fn mount_json(stub: &MockServer, p: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(stub)
        .await;
}

pub async fn mount_alpha(stub: &MockServer, function: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", function))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(stub)
        .await;
}

pub async fn mount_text(stub: &MockServer, p: &str, status: u16, body: &str) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(stub)
        .await;
}
