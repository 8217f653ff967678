//! `/verify` against tenant key sets served over HTTP (identity's JWKS format), through the
//! real service on a local port.

#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
#![expect(clippy::disallowed_methods, reason = "tests run in real time")]

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::Algorithm;
use serde_json::json;
use tessera_gateway_auth::{Authenticator, Config, serve_with};
use tessera_jwt::keys::{KeySet, SigningKey};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Gateway {
    url: String,
    identity: MockServer,
    keys: KeySet,
    client: reqwest::Client,
    authenticator: std::sync::Arc<Authenticator>,
}

fn key_set() -> KeySet {
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(3600))
}

/// identity's `GET /tenants/{slug}/session` for a live session with `roles`.
async fn mount_live_session(identity: &MockServer, tenant: &str, roles: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("/tenants/{tenant}/session")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "session_id": "0b4b8f0c-5a55-4c3a-9d49-6d8f4a2b3c1d",
            "agent_id": "7d9f5a8e-1111-4222-8333-944455556666",
            "roles": roles, "expires_at": "2099-01-01T00:00:00Z", "aal": "aal1"})))
        .mount(identity)
        .await;
}

fn test_config(identity: &MockServer) -> Config {
    Config {
        app_host: "127.0.0.1".into(),
        app_port: 0,
        // Tokens name the public issuer; key sets are fetched from the internal address.
        gateway_trusted_issuers: format!(
            "https://id.example.test/tenants/={}/tenants/",
            identity.uri()
        ),
        gateway_audience: "tessera".into(),
        gateway_max_tenants: 8,
        gateway_negative_cache_seconds: 30,
        amqp_url: tessera_events::testing::amqp_url(),
        gateway_revocation_feed: true,
        gateway_metrics_port: None,
        gateway_secret: Some("s3cret-for-the-ingress".to_owned().into()),
        gateway_docs: String::new(),
    }
}

/// Requests identity received for `suffix` paths.
async fn requests_to(identity: &MockServer, suffix: &str) -> usize {
    identity
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with(suffix))
        .count()
}

impl Gateway {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let identity = MockServer::start().await;
        let keys = key_set();
        Mock::given(method("GET"))
            .and(path("/tenants/demo/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(keys.jwks(Utc::now())))
            .mount(&identity)
            .await;
        Mock::given(method("GET"))
            .and(path("/tenants/gone/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&identity)
            .await;
        mount_live_session(&identity, "demo", json!(["agent", "moderator"])).await;
        let mut config = test_config(&identity);
        configure(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (server, authenticator) = serve_with(&config, listener, Some(1)).unwrap();
        tokio::spawn(server);
        Self {
            url,
            identity,
            keys,
            client: reqwest::Client::new(),
            authenticator,
        }
    }

    fn token(&self, keys: &KeySet, claims: serde_json::Value) -> String {
        keys.sign("at+jwt", &claims, Utc::now()).unwrap()
    }

    fn claims(tenant: &str) -> serde_json::Value {
        let now = Utc::now().timestamp();
        json!({
            "iss": format!("https://id.example.test/tenants/{tenant}"),
            "sub": "7d9f5a8e-1111-4222-8333-944455556666",
            "aud": "tessera",
            "iat": now,
            "exp": now + 600,
            "tenant": tenant,
            "roles": ["agent", "moderator"],
            "sid": uuid::Uuid::new_v4().to_string(),
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    async fn verify(&self, authorization: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .get(format!("{}/verify", self.url))
            .header("X-Request-Id", "req-gw-1");
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        req.send().await.unwrap()
    }
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_valid_identity_token_becomes_identity_headers() {
    let gw = Gateway::start().await;
    let token = gw.token(&gw.keys, Gateway::claims("demo"));
    let r = gw.verify(Some(&format!("Bearer {token}"))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gateway-auth").as_deref(), Some("jwt"));
    assert_eq!(
        header(&r, "x-auth-subject").as_deref(),
        Some("7d9f5a8e-1111-4222-8333-944455556666")
    );
    assert_eq!(
        header(&r, "x-auth-roles").as_deref(),
        Some("agent,moderator")
    );
    assert_eq!(header(&r, "x-auth-tenant").as_deref(), Some("demo"));
    assert_eq!(
        header(&r, "x-gateway-secret").as_deref(),
        Some("s3cret-for-the-ingress")
    );
    // The key set was fetched once and is reused.
    let again = gw.verify(Some(&format!("Bearer {token}"))).await;
    assert_eq!(again.status(), 200);
    let fetches = requests_to(&gw.identity, "/jwks.json").await;
    assert_eq!(fetches, 1);
}

#[tokio::test]
async fn other_credentials_pass_without_identity_headers() {
    let gw = Gateway::start().await;
    // A users-registration-style HS256 token from an untrusted issuer, an opaque personal
    // access token, a Basic header, nothing at all.
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({"iss": "users-registration", "sub": "u1", "exp": Utc::now().timestamp() + 60}),
        &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    let bearer = format!("Bearer {hs}");
    for auth in [
        Some(bearer.as_str()),
        Some("Bearer 12|plain-personal-access-token"),
        Some("Basic dXNlcjpwYXNz"),
        None,
    ] {
        let r = gw.verify(auth).await;
        assert_eq!(r.status(), 200, "{auth:?}");
        for h in ["x-gateway-auth", "x-auth-subject", "x-auth-roles"] {
            assert_eq!(header(&r, h), None, "{auth:?} {h}");
        }
    }
    // An issuer that only looks like a trusted tenant (path tricks) is not trusted either.
    let mut claims = Gateway::claims("demo");
    claims["iss"] = json!("https://id.example.test/tenants/../admin");
    let r = gw
        .verify(Some(&format!("Bearer {}", gw.token(&gw.keys, claims))))
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-auth-subject")),
        (200, None)
    );
    assert!(gw.identity.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_trusted_issuers_token_that_fails_a_check_is_refused() {
    let gw = Gateway::start().await;
    let now = Utc::now().timestamp();
    let forged = gw.token(&key_set(), Gateway::claims("demo"));
    let mut expired = Gateway::claims("demo");
    expired["exp"] = json!(now - 3600);
    let mut other_audience = Gateway::claims("demo");
    other_audience["aud"] = json!("someone-else");
    let cases = [
        (forged, "unknown_key"),
        (gw.token(&gw.keys, expired), "token_expired"),
        (gw.token(&gw.keys, other_audience), "wrong_audience"),
    ];
    for (token, reason) in cases {
        let r = gw.verify(Some(&format!("Bearer {token}"))).await;
        assert_eq!(r.status(), 401, "{reason}");
        assert!(
            header(&r, "www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(header(&r, "x-auth-subject"), None);
        assert_eq!(header(&r, "x-gateway-secret"), None, "not on a refusal");
        assert_eq!(header(&r, "x-auth-reason").as_deref(), Some(reason));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error_code"], "unauthenticated", "{body}");
        assert_eq!(body["reason"], reason, "{body}");
        assert_eq!(body["request_id"], "req-gw-1");
    }
    // A tampered payload (roles raised) breaks the signature.
    let token = gw.token(&gw.keys, Gateway::claims("demo"));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = Gateway::claims("demo");
    claims["roles"] = json!(["admin"]);
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let r = gw
        .verify(Some(&format!("Bearer {}", parts.join("."))))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn an_unreachable_key_set_is_503_not_a_pass() {
    let gw = Gateway::start().await;
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(3600));
    let r = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&keys, Gateway::claims("gone"))
        )))
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "x-auth-subject"), None);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "service_unavailable", "{body}");
}

/// Finding 6 of issue #17: forged issuers (well-formed slugs identity does not know) never
/// enter the cache, cost identity one request each at most once per negative-cache period,
/// and are refused (401) — as are forged and expired tokens of real tenants once they did;
/// a real tenant's valid token keeps working.
#[tokio::test]
async fn forged_issuers_cannot_fill_the_cache_and_are_refused_not_passed() {
    let gw = Gateway::start_with(|c| c.gateway_max_tenants = 4).await;
    let strangers = key_set();
    for i in 0..40 {
        let tenant = format!("forged-{i}");
        let r = gw
            .verify(Some(&format!(
                "Bearer {}",
                gw.token(&strangers, Gateway::claims(&tenant))
            )))
            .await;
        assert_eq!(r.status(), 401, "{tenant}");
        assert_eq!(
            header(&r, "x-auth-reason").as_deref(),
            Some("unknown_issuer")
        );
        assert_eq!(header(&r, "x-auth-subject"), None);
    }
    assert_eq!(
        gw.authenticator.cached_tenants().await,
        0,
        "nothing unverified is cached"
    );
    let asked = requests_to(&gw.identity, "/jwks.json").await;
    assert_eq!(asked, 40);
    // The same forged issuer again: refused from the negative cache, identity not asked.
    let again = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&strangers, Gateway::claims("forged-7"))
        )))
        .await;
    assert_eq!(again.status(), 401);
    assert_eq!(requests_to(&gw.identity, "/jwks.json").await, asked);
    // The real tenant: valid → vouched for; forged or expired → 401, never anonymous.
    let ok = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&gw.keys, Gateway::claims("demo"))
        )))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "x-auth-tenant").as_deref(), Some("demo"));
    let forged = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&strangers, Gateway::claims("demo"))
        )))
        .await;
    assert_eq!(forged.status(), 401);
    let mut expired = Gateway::claims("demo");
    expired["exp"] = json!(Utc::now().timestamp() - 120);
    let expired = gw
        .verify(Some(&format!("Bearer {}", gw.token(&gw.keys, expired))))
        .await;
    assert_eq!(
        (expired.status().as_u16(), header(&expired, "x-auth-reason")),
        (401, Some("token_expired".to_owned()))
    );
    assert_eq!(gw.authenticator.cached_tenants().await, 1);
}

/// More real tenants than the cache holds: each still verifies (fetched again when evicted),
/// and the cache stays within its bound.
#[tokio::test]
async fn the_tenant_cache_is_bounded_with_eviction() {
    let gw = Gateway::start_with(|c| c.gateway_max_tenants = 2).await;
    for i in 0..6 {
        let tenant = format!("real-{i}");
        Mock::given(method("GET"))
            .and(path(format!("/tenants/{tenant}/.well-known/jwks.json")))
            .respond_with(ResponseTemplate::new(200).set_body_json(gw.keys.jwks(Utc::now())))
            .mount(&gw.identity)
            .await;
        mount_live_session(&gw.identity, &tenant, json!(["agent", "moderator"])).await;
        let r = gw
            .verify(Some(&format!(
                "Bearer {}",
                gw.token(&gw.keys, Gateway::claims(&tenant))
            )))
            .await;
        assert_eq!(r.status(), 200, "{tenant}");
    }
    assert!(gw.authenticator.cached_tenants().await <= 2);
}

async fn publish_revocation(sid: &str) {
    let publisher = tessera_events::broker::Publisher::connect(
        &tessera_events::testing::amqp_url(),
        "gateway-auth test",
        tessera_events::EXCHANGE,
    )
    .await
    .unwrap();
    let envelope = tessera_events::EventEnvelope::new(
        "identity",
        "identity.session.revoked",
        json!({"tenant": "demo", "agentId": "7d9f5a8e-1111-4222-8333-944455556666",
               "reason": "logout",
               "sessions": [{"sessionId": sid, "expiresAt": "2099-01-01T00:00:00Z"}]}),
        None,
        Utc::now(),
    );
    publisher
        .publish_confirmed(
            tessera_events::EXCHANGE,
            "identity.session.revoked",
            &envelope.id.to_string(),
            &serde_json::to_vec(&envelope).unwrap(),
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    publisher.close().await;
}

/// Waits until the feed is live: a token issued in the future (past the clock margin) is then
/// judged without asking identity.
async fn wait_for_the_feed(gw: &Gateway) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let before = requests_to(&gw.identity, "/session").await;
        let mut claims = Gateway::claims("demo");
        claims["iat"] = json!(Utc::now().timestamp() + 30);
        let r = gw
            .verify(Some(&format!("Bearer {}", gw.token(&gw.keys, claims))))
            .await;
        assert_eq!(r.status(), 200);
        if requests_to(&gw.identity, "/session").await == before {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revocation feed never went live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Finding 4 of issue #17: `identity.session.revoked` on the real broker stops the gateway from
/// vouching for that session's token within seconds; other sessions keep working, and a token
/// the feed covers costs identity nothing.
#[tokio::test]
async fn a_revoked_session_is_refused_within_seconds_without_asking_identity_per_request() {
    let gw = Gateway::start().await;
    wait_for_the_feed(&gw).await;
    let mut claims = Gateway::claims("demo");
    claims["iat"] = json!(Utc::now().timestamp() + 30);
    let sid = claims["sid"].as_str().unwrap().to_owned();
    let token = format!("Bearer {}", gw.token(&gw.keys, claims));
    let mut other = Gateway::claims("demo");
    other["iat"] = json!(Utc::now().timestamp() + 30);
    let other = format!("Bearer {}", gw.token(&gw.keys, other));
    let asked = requests_to(&gw.identity, "/session").await;
    for _ in 0..5 {
        assert_eq!(gw.verify(Some(&token)).await.status(), 200);
    }
    assert_eq!(
        requests_to(&gw.identity, "/session").await,
        asked,
        "no call per request"
    );
    publish_revocation(&sid).await;
    let revoked_at = tokio::time::Instant::now();
    loop {
        let r = gw.verify(Some(&token)).await;
        if r.status() == 401 {
            assert_eq!(
                header(&r, "x-auth-reason").as_deref(),
                Some("token_revoked")
            );
            assert_eq!(header(&r, "x-auth-subject"), None);
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "still vouched for after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        gw.verify(Some(&other)).await.status(),
        200,
        "another session still works"
    );
}

/// A token older than the feed is checked with identity once: revoked there (401), or its roles
/// changed (401), or live with the same roles (200, answer reused while the feed stays up).
#[tokio::test]
async fn tokens_older_than_the_feed_are_checked_with_identity() {
    let gw = Gateway::start().await;
    wait_for_the_feed(&gw).await;
    // demo's session endpoint says: live, roles [agent, moderator].
    let issued_before_the_feed = |tenant: &str| {
        let mut c = Gateway::claims(tenant);
        c["iat"] = json!(Utc::now().timestamp() - 60);
        c
    };
    let old = format!(
        "Bearer {}",
        gw.token(&gw.keys, issued_before_the_feed("demo"))
    );
    assert_eq!(gw.verify(Some(&old)).await.status(), 200);
    let asked = requests_to(&gw.identity, "/session").await;
    assert_eq!(gw.verify(Some(&old)).await.status(), 200);
    assert_eq!(
        requests_to(&gw.identity, "/session").await,
        asked,
        "answer reused"
    );
    // Roles changed since the token was issued: the token's `roles` are stale.
    let mut stale = issued_before_the_feed("demo");
    stale["roles"] = json!(["admin"]);
    let r = gw
        .verify(Some(&format!("Bearer {}", gw.token(&gw.keys, stale))))
        .await;
    assert_eq!(
        header(&r, "x-auth-reason").as_deref(),
        Some("token_revoked")
    );
    // A tenant whose identity says the session is gone.
    for (tenant, status) in [("loggedout", 401), ("identity-down", 500)] {
        Mock::given(method("GET"))
            .and(path(format!("/tenants/{tenant}/.well-known/jwks.json")))
            .respond_with(ResponseTemplate::new(200).set_body_json(gw.keys.jwks(Utc::now())))
            .mount(&gw.identity)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/tenants/{tenant}/session")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error_code": "x"})))
            .mount(&gw.identity)
            .await;
    }
    let r = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&gw.keys, issued_before_the_feed("loggedout"))
        )))
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-auth-reason")),
        (401, Some("token_revoked".to_owned()))
    );
    // identity cannot answer: fail closed (503), never vouched for.
    let r = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&gw.keys, issued_before_the_feed("identity-down"))
        )))
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "x-auth-subject"), None);
}

/// The broker lost: every token is checked with identity (answers kept 5 s), and when
/// identity cannot answer either, nothing is vouched for.
#[tokio::test]
async fn without_the_broker_the_gateway_checks_with_identity_and_fails_closed() {
    let target = tessera_events::testing::amqp_url()
        .trim_start_matches("amqp://guest:guest@")
        .trim_end_matches("/%2f")
        .to_owned();
    let proxy = tessera_events::testing::TcpProxy::start(target.parse().unwrap())
        .await
        .unwrap();
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr());
    let gw = Gateway::start_with(|c| c.amqp_url = url).await;
    wait_for_the_feed(&gw).await;
    proxy.cut();
    // Once the feed knows it is down, even a "future" token is asked about.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut claims = Gateway::claims("demo");
        claims["iat"] = json!(Utc::now().timestamp() + 30);
        let before = requests_to(&gw.identity, "/session").await;
        let r = gw
            .verify(Some(&format!("Bearer {}", gw.token(&gw.keys, claims))))
            .await;
        assert_eq!(r.status(), 200);
        if requests_to(&gw.identity, "/session").await > before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lost feed was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // identity unreachable too: 503.
    gw.identity.reset().await;
    Mock::given(method("GET"))
        .and(path("/tenants/demo/session"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&gw.identity)
        .await;
    let r = gw
        .verify(Some(&format!(
            "Bearer {}",
            gw.token(&gw.keys, Gateway::claims("demo"))
        )))
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "x-auth-subject"), None);
}

/// `GATEWAY_METRICS_PORT`: the scraper's port serves `/metrics` and nothing that answers with
/// the gateway secret.
#[tokio::test]
async fn the_metrics_port_serves_metrics_but_not_verify() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gw = Gateway::start_with(|c| c.gateway_metrics_port = Some(port)).await;
    assert_eq!(gw.verify(None).await.status(), 200);
    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_server_requests_total{"), "{text}");
    tessera_testkit::metrics::assert_catalogued("gateway-auth", &text);
    let verify = client
        .get(format!("http://127.0.0.1:{port}/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 404);
    assert!(verify.headers().get("x-gateway-secret").is_none());
}
