//! Key rotation: publish before signing, old tokens keep verifying, new tokens carry the new kid.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_jwt::{Algorithm, RemoteJwks, Verifier, VerifierConfig};

use crate::helpers::{ISSUER, TestApp, segment, verify_independently};

async fn kids(app: &TestApp) -> Vec<String> {
    let r = app
        .call(
            reqwest::Method::GET,
            "/.well-known/jwks.json",
            None,
            None,
            &[],
        )
        .await;
    r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn token(app: &TestApp, key: &str) -> String {
    let r = app
        .peer_token(
            "wl-a",
            key,
            json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_publishes_first_then_signs_and_old_tokens_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let kid_a = tessera_jwt::rotate_dir(
        dir.path(),
        Algorithm::ES256,
        chrono::Utc::now() - chrono::TimeDelta::hours(1),
        Duration::ZERO,
    )
    .unwrap();
    let path = dir.path().to_owned();
    let app = TestApp::spawn_with(move |c| {
        c.keys.jwt_signing_keys_dir = Some(path);
        c.keys.jwt_keys_reload_seconds = 1;
        c.keys.jwt_key_publish_lead_seconds = 3;
    })
    .await;
    let seed = app.seed().await;
    assert_eq!(kids(&app).await, vec![kid_a.clone()]);
    let old = token(&app, &seed.key_a).await;
    assert_eq!(segment(&old, 0)["kid"], kid_a.as_str());
    // A verifier that cached the JWKS before the rotation.
    let verifier = Verifier::with_remote(
        VerifierConfig {
            issuer: Some(ISSUER.into()),
            audience: Some("wl-b".into()),
            ..Default::default()
        },
        RemoteJwks::with_settings(app.jwks_url(), Duration::from_secs(300), Duration::ZERO),
    );
    verifier
        .verify::<Value>(&old, chrono::Utc::now())
        .await
        .unwrap();

    let rotated_at = tokio::time::Instant::now();
    let kid_b = tessera_jwt::rotate_dir(
        dir.path(),
        Algorithm::ES256,
        chrono::Utc::now(),
        Duration::from_secs(3),
    )
    .unwrap();
    // Within a reload interval the new key is published, while the old one still signs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !kids(&app).await.contains(&kid_b) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "new key never published"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let during = token(&app, &seed.key_a).await;
    // Issued well within the 3 s lead time: still the old key.
    if rotated_at.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            segment(&during, 0)["kid"],
            kid_a.as_str(),
            "publish before signing"
        );
    }
    // After the lead time the new key signs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let new = loop {
        let t = token(&app, &seed.key_a).await;
        if segment(&t, 0)["kid"] == kid_b.as_str() {
            break t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "new key never signed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let published = kids(&app).await;
    assert!(
        published.contains(&kid_a) && published.contains(&kid_b),
        "retired key stays while its tokens live"
    );
    // Both verify, with the independent implementation and with the cached Rust verifier
    // (which refetches on the unknown kid).
    for t in [&old, &new] {
        let verdict = verify_independently(&app.jwks_url(), t, "wl-b").await;
        assert_eq!(verdict["valid"], true, "{verdict}");
        verifier
            .verify::<Value>(t, chrono::Utc::now())
            .await
            .unwrap();
    }
}
