//! `/verify` against tenant key sets served over HTTP (identity's JWKS format), through the
//! real service on a local port.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::Algorithm;
use serde_json::json;
use tessera_gateway_auth::{Config, serve};
use tessera_jwt::keys::{KeySet, SigningKey};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Gateway {
    url: String,
    identity: MockServer,
    keys: KeySet,
    client: reqwest::Client,
}

fn key_set() -> KeySet {
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(3600))
}

impl Gateway {
    async fn start() -> Self {
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
        let config = Config {
            app_host: "127.0.0.1".into(),
            app_port: 0,
            // Tokens name the public issuer; key sets are fetched from the internal address.
            gateway_trusted_issuers: format!(
                "https://id.example.test/tenants/={}/tenants/",
                identity.uri()
            ),
            gateway_audience: "tessera".into(),
            gateway_max_tenants: 8,
            gateway_secret: Some("s3cret-for-the-ingress".to_owned().into()),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(&config, listener, Some(1)).unwrap());
        Self {
            url,
            identity,
            keys,
            client: reqwest::Client::new(),
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
    let fetches = gw.identity.received_requests().await.unwrap().len();
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
