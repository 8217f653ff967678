//! The real server on a free port over a fresh database; providers stubbed by wiremock.

use serde_json::{Value, json};
use tessera_events::testing::amqp_url;
use tessera_quotations::cli::Quotations;
use tessera_quotations::config::Config;
pub use tessera_testkit::Reply;
use tessera_testkit::Spawned;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "password-for-tests";

/// quotations under test, its market-data providers stubbed; `api`, `config`, `db`,
/// `replica()`, `conn()` and `call(…)` are its [`Spawned`]'s, through `Deref`.
pub struct TestApp {
    spawned: Spawned<Quotations>,
    pub stub: MockServer,
    /// Where the file mailer writes `.eml` files.
    pub mail_dir: tempfile::TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = Spawned<Quotations>;

    fn deref(&self) -> &Self::Target {
        &self.spawned
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let stub = MockServer::start().await;
        let mail_dir = tempfile::tempdir().expect("mail dir");
        let s = Spawned::<Quotations>::spawn(|config, db| {
            *config = Config::for_tests_with_providers(db.url(), &amqp_url(), &stub.uri()).unwrap();
            config.mail.mailer = Some(tessera_quotations::mail::MailerKind::File);
            config.mail.file_dir = Some(mail_dir.path().to_owned());
            configure(config);
        })
        .await;
        Self {
            spawned: s,
            stub,
            mail_dir,
        }
    }

    /// Creates a user with the CLI's code path and returns a token for it.
    pub async fn user_token(&self, email: &str, admin: bool) -> String {
        let hash = tessera_password::Hasher::new(&tessera_password::HashSettings::for_tests())
            .unwrap()
            .hash(secrecy::SecretString::from(PASSWORD))
            .await
            .unwrap();
        let mut c = self.conn().await;
        let id =
            tessera_quotations::db::users::upsert_user(&mut c, "Test User", email, &hash, admin)
                .await
                .unwrap();
        tessera_quotations::db::personal_access_tokens::issue(&mut c, id, "test")
            .await
            .unwrap()
    }

    /// A browser-like client of this instance.
    pub fn web(&self) -> WebClient {
        WebClient::new(&self.api.base)
    }

    /// One SQL scalar as text.
    pub async fn scalar(&self, sql: &str) -> String {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct One {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut c = self.conn().await;
        diesel::sql_query(format!("SELECT ({sql})::text AS v"))
            .get_result::<One>(&mut c)
            .await
            .unwrap()
            .v
    }

    /// Runs SQL.
    pub async fn exec(&self, sql: &str) {
        use diesel_async::RunQueryDsl;
        let mut c = self.conn().await;
        diesel::sql_query(sql).execute(&mut c).await.unwrap();
    }

    /// Registers through the web routes and verifies the e-mail through the mailed link; the
    /// client is left signed in.
    pub async fn verified_user(&self, email: &str) -> WebClient {
        let mut w = self.web();
        w.get("/register").await;
        let r = w
            .post(
                "/register",
                json!({"name": "Ana", "email": email, "password": PASSWORD, "password_confirmation": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let mail = mails(self.mail_dir.path())
            .into_iter()
            .rev()
            .find(|m| m.contains(email))
            .expect("verification mail");
        let url = link(&mail, "/verify-email/").expect("link in the mail");
        let r = w.get(&url).await;
        assert_eq!(r.status, 302, "{}", r.text);
        w.refresh_csrf().await;
        w
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

/// AwesomeAPI `/json/last/{BASE}-{QUOTE}` for any pair (its real shape: every field a string).
pub fn awesome_pair(base: &str, quote: &str, bid: &str) -> Value {
    json!({format!("{base}{quote}"): {"code": base, "codein": quote, "name": format!("{base}/{quote}"),
        "high": bid, "low": bid, "varBid": "0", "pctChange": "0", "bid": bid, "ask": bid,
        "timestamp": "1763790000", "create_date": "2025-11-22 03:40:00"}})
}

/// AwesomeAPI answers BTC (`/json/last/BTC-USD`) at `bid`.
pub async fn mount_btc(stub: &MockServer, bid: &str) {
    mount_json(
        stub,
        "/json/last/BTC-USD",
        200,
        awesome_pair("BTC", "USD", bid),
    )
    .await;
}

/// A browser-like client: keeps the session cookie, reads the CSRF token from pages, does not
/// follow redirects.
pub struct WebClient {
    pub base: String,
    client: reqwest::Client,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

/// A web reply: status, headers and the raw text (JSON parsed when it is JSON).
pub struct WebReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl WebReply {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("quotations_session="))
            .map(str::to_owned)
    }
}

impl WebClient {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            csrf: None,
        }
    }

    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        with_csrf: bool,
    ) -> WebReply {
        // Links in mails carry APP_URL's host; this instance listens elsewhere.
        let path = match path.strip_prefix("http://") {
            Some(rest) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
            None => path,
        };
        let url = format!("{}{path}", self.base);
        let mut req = self
            .client
            .request(method, url)
            .header("accept", "application/json");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", format!("quotations_session={c}"));
        }
        if with_csrf && let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        let reply = WebReply {
            status,
            headers,
            text,
            json,
        };
        if let Some(c) = reply.set_cookie() {
            let value = c
                .trim_start_matches("quotations_session=")
                .split(';')
                .next()
                .unwrap_or_default();
            self.cookie = Some(value.to_owned());
        }
        if let Some(t) = csrf_meta(&reply.text) {
            self.csrf = Some(t);
        }
        reply
    }

    pub async fn get(&mut self, path: &str) -> WebReply {
        self.send(reqwest::Method::GET, path, None, false).await
    }

    /// A state-changing JSON request with the CSRF header.
    pub async fn post(&mut self, path: &str, body: Value) -> WebReply {
        self.send(reqwest::Method::POST, path, Some(body), true)
            .await
    }

    pub async fn put(&mut self, path: &str, body: Value) -> WebReply {
        self.send(reqwest::Method::PUT, path, Some(body), true)
            .await
    }

    /// Refreshes the CSRF token from a page (after the session changed).
    pub async fn refresh_csrf(&mut self) {
        let r = self.get("/forgot-password").await;
        assert_eq!(r.status, 200);
    }
}

fn csrf_meta(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf-token\" content=\"")?;
    let rest = html.get(at + "name=\"csrf-token\" content=\"".len()..)?;
    Some(rest.split('"').next()?.to_owned())
}

/// The `.eml` files the file mailer wrote, oldest first, as text (quoted-printable decoded).
pub fn mails(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|raw| quoted_printable::decode(&raw, quoted_printable::ParseMode::Robust).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

/// The first URL containing `marker` in `text`.
pub fn link(text: &str, marker: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.contains(marker) && w.starts_with("http"))
        .map(str::to_owned)
}
