//! The oauth wallet against a local stub token endpoint speaking RFC 6749 §5.1/§5.2.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use tessera_credential_broker::config::WalletBackend;
use tessera_credential_broker::db::schema::wallet_credentials;
use tessera_db::sealed::SealingKey;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{CALLER, GRAPH_SCOPE, TestApp};

const CLIENT_SECRET: &str = "client-secret-4b1d9e";

async fn oauth_app(server: &MockServer) -> (TestApp, String) {
    let (_, key) = SealingKey::generate().unwrap();
    let k = key.clone();
    let endpoint = format!("{}/token", server.uri());
    let app = TestApp::spawn_with(move |c| {
        c.wallet_backend = WalletBackend::Oauth;
        c.broker_wallet_encryption_key = Some(k.into());
        c.token_rate_limit_per_minute = 1000;
        c.wallet_oauth_upstreams = Some(
            json!({"Graph.Microsoft.com": {"token_endpoint": endpoint, "client_id": "broker-client", "client_secret": CLIENT_SECRET}})
                .to_string()
                .into(),
        );
    })
    .await;
    (app, key)
}

/// Loads the refresh token through the operator API (`PUT /api/wallet/{agent}/{host}`).
async fn store_refresh_token(app: &TestApp, _key: &str, agent: uuid::Uuid, token: &str) {
    let r = app
        .api
        .call(
            reqwest::Method::PUT,
            &format!("/api/wallet/{agent}/Graph.Microsoft.com"),
            Some("test-admin-token-0123456789"),
            Some(json!({"refresh_token": token})),
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

fn grant(refresh: &str, access: &str, rotated: Option<&str>, delay_ms: u64) -> Mock {
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600});
    if let Some(r) = rotated {
        body["refresh_token"] = r.into();
    }
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={refresh}")))
        .and(body_string_contains("client_id=broker-client"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(Duration::from_millis(delay_ms)),
        )
}

#[tokio::test]
async fn refreshes_when_missing_or_near_expiry_and_persists_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    let (app, key) = oauth_app(&server).await;
    let agent = app.bind("sb-oauth").await;
    store_refresh_token(&app, &key, agent, "R1").await;
    grant("R1", "access-A", Some("R2"), 0)
        .expect(1)
        .mount(&server)
        .await;

    // No cached token: one exchange; the next request is served from the cache.
    for _ in 0..2 {
        let r = app
            .request("sb-oauth", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["access_token"], "access-A");
    }
    // The rotated refresh token is stored, sealed.
    let mut c = app.conn().await;
    let (sealed_refresh, sealed_access): (Vec<u8>, Option<Vec<u8>>) = wallet_credentials::table
        .select((
            wallet_credentials::refresh_token,
            wallet_credentials::access_token,
        ))
        .first(&mut c)
        .await
        .unwrap();
    let k = SealingKey::from_base64(&key).unwrap();
    let refresh = k
        .open(
            &sealed_refresh,
            format!("{agent}/graph.microsoft.com/refresh").as_bytes(),
        )
        .unwrap();
    assert_eq!(refresh, b"R2");
    assert!(!String::from_utf8_lossy(&sealed_access.unwrap()).contains("access-A"));

    // Within 60 s of expiry: refreshed again, with the rotated token.
    diesel::update(wallet_credentials::table)
        .set(
            wallet_credentials::access_expires_at
                .eq(chrono::Utc::now() + chrono::TimeDelta::seconds(30)),
        )
        .execute(&mut c)
        .await
        .unwrap();
    grant("R2", "access-B", None, 0)
        .expect(1)
        .mount(&server)
        .await;
    let r = app
        .request("sb-oauth", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["access_token"], "access-B");
    // No rotation this time: R2 stays.
    let sealed: Vec<u8> = wallet_credentials::table
        .select(wallet_credentials::refresh_token)
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(
        k.open(
            &sealed,
            format!("{agent}/graph.microsoft.com/refresh").as_bytes()
        )
        .unwrap(),
        b"R2"
    );
    server.verify().await;
}

#[tokio::test]
async fn fifty_concurrent_requests_share_one_refresh() {
    let server = MockServer::start().await;
    let (app, key) = oauth_app(&server).await;
    let agent = app.bind("sb-burst").await;
    store_refresh_token(&app, &key, agent, "R1").await;
    grant("R1", "access-shared", Some("R2"), 300)
        .expect(1)
        .mount(&server)
        .await;
    let replies = futures_util::future::join_all(
        (0..50).map(|_| app.request("sb-burst", "graph.microsoft.com", &[GRAPH_SCOPE])),
    )
    .await;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["access_token"], "access-shared");
    }
    server.verify().await;
}

#[tokio::test]
async fn upstream_failures_are_mapped_without_leaking_secrets() {
    let server = MockServer::start().await;
    let (app, key) = oauth_app(&server).await;
    let agent = app.bind("sb-fail").await;
    store_refresh_token(&app, &key, agent, "R-revoked-77").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "refresh token R-revoked-77 was revoked for client-secret-4b1d9e"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let r = app
        .request("sb-fail", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.body["error_code"], "upstream_error");
    assert_eq!(r.body["reason"], "upstream_error");
    let text = r.body.to_string();
    assert!(
        !text.contains("R-revoked-77") && !text.contains(CLIENT_SECRET),
        "{text}"
    );

    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let r = app
        .request("sb-fail", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["reason"], "upstream_unavailable");

    // A user without a stored credential: 403, no call.
    app.bind("sb-nocred").await;
    let r = app
        .request("sb-nocred", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["reason"], "wallet_credential_missing");

    let audit = app.audit().await;
    let outcomes: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|r| (r.3.as_str(), r.4.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("error", Some("upstream_error")),
            ("error", Some("upstream_unavailable")),
            ("denied", Some("wallet_credential_missing"))
        ]
    );
    let _ = CALLER;
}

#[tokio::test]
async fn a_replica_serves_a_token_it_holds_from_memory_for_the_configured_time() {
    let server = MockServer::start().await;
    let (_, key) = SealingKey::generate().unwrap();
    let endpoint = format!("{}/token", server.uri());
    let app = TestApp::spawn_with(move |c| {
        c.wallet_backend = WalletBackend::Oauth;
        c.broker_wallet_encryption_key = Some(key.into());
        c.wallet_memory_cache_seconds = 30;
        c.wallet_oauth_upstreams = Some(
            json!({"graph.microsoft.com": {"token_endpoint": endpoint, "client_id": "broker-client", "client_secret": CLIENT_SECRET}})
                .to_string()
                .into(),
        );
    })
    .await;
    let agent = app.bind("sb-mem").await;
    store_refresh_token(&app, "", agent, "R1").await;
    grant("R1", "access-A", None, 0)
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        app.request("sb-mem", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await
            .body["access_token"],
        "access-A"
    );
    // Even with the row's cached token gone, this replica still serves what it holds.
    let mut c = app.conn().await;
    diesel::update(wallet_credentials::table)
        .set(wallet_credentials::access_token.eq(None::<Vec<u8>>))
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(
        app.request("sb-mem", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await
            .body["access_token"],
        "access-A"
    );
    // Loading a new refresh token through this replica drops what it remembered.
    grant("R9", "access-Z", None, 0)
        .expect(1)
        .mount(&server)
        .await;
    store_refresh_token(&app, "", agent, "R9").await;
    assert_eq!(
        app.request("sb-mem", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await
            .body["access_token"],
        "access-Z"
    );
    server.verify().await;
}
