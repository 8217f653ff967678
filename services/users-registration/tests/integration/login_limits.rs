//! Brute-force protection of `POST /auth/login` (issue #17, finding 7): failures counted per
//! e-mail and per client address in PostgreSQL (so across replicas), 429 with `Retry-After`,
//! the same answer for unknown e-mails, and the HS256 `kid` not derived from the secret.

use reqwest::Method;
use serde_json::json;
use tessera_users_registration::auth::Role;

use crate::helpers::{PASSWORD, TestApp, unique};

/// A login through `api` from a client the proxy saw at `ip` (`X-Forwarded-For`).
async fn login_from(
    api: &tessera_testkit::Api,
    email: &str,
    password: &str,
    ip: &str,
) -> tessera_testkit::Reply {
    api.call(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
        &[("X-Forwarded-For", ip)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_locks_after_repeated_failures_on_any_replica_and_unknown_emails_alike() {
    let app = TestApp::spawn_with(|c| {
        c.lockout.auth_max_failed_attempts = 5;
        c.lockout.auth_address_max_failed_attempts = 1000;
        c.base.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    let replica = app.replica().await;
    let analyst = app.staff(Role::Analyst, None).await;
    let (unknown, _) = unique();
    for email in [analyst.as_str(), unknown.as_str()] {
        // Five wrong passwords, alternating replicas and client addresses.
        let mut answers = Vec::new();
        for i in 0..5 {
            let api = if i % 2 == 0 { &app.api } else { &replica };
            let r = login_from(api, email, "wrong password!", &format!("198.51.100.{i}")).await;
            answers.push(r);
        }
        for r in &answers[..4] {
            assert_eq!(r.status, 401, "{}", r.body);
            assert_eq!(r.body["error_code"], "invalid_credentials");
        }
        let locked = &answers[4];
        assert_eq!(locked.status, 429, "{email}: {}", locked.body);
        assert_eq!(locked.body["error_code"], "too_many_requests");
        let retry: u64 = locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        // Locked: even the right password is refused, from anywhere.
        let r = login_from(&replica, email, PASSWORD, "203.0.113.50").await;
        assert_eq!(r.status, 429, "{}", r.body);
    }
    // The same answer for the real account and the unknown e-mail.
    let a = login_from(&app.api, &analyst, PASSWORD, "203.0.113.51").await;
    let b = login_from(&app.api, &unknown, PASSWORD, "203.0.113.51").await;
    assert_eq!(a.envelope_sans_request_id(), b.envelope_sans_request_id());
    // Another account is not affected.
    let other = app.staff(Role::Auditor, None).await;
    assert_eq!(app.login(&other, PASSWORD).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_address_locks_after_failures_over_many_emails_but_a_spoofed_header_does_not_escape()
 {
    let app = TestApp::spawn_with(|c| {
        c.lockout.auth_max_failed_attempts = 1000;
        c.lockout.auth_address_max_failed_attempts = 6;
        c.base.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    let auditor = app.staff(Role::Auditor, None).await;
    // A client behind the trusted proxy guessing six different accounts.
    for i in 0..6 {
        let (email, _) = unique();
        let r = login_from(&app.api, &email, "guess", "192.0.2.7").await;
        assert_eq!(r.status, if i < 5 { 401 } else { 429 }, "{i}: {}", r.body);
    }
    let r = login_from(&app.api, &auditor, PASSWORD, "192.0.2.7").await;
    assert_eq!(r.status, 429, "the address is locked, whatever the account");
    // Prepending addresses does not make a new client: the right-most untrusted hop counts.
    let r = login_from(&app.api, &auditor, PASSWORD, "10.9.9.9, 192.0.2.7").await;
    assert_eq!(r.status, 429, "{}", r.body);
    // Another client address still logs in.
    let r = login_from(&app.api, &auditor, PASSWORD, "192.0.2.8").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Without trusted proxies the header is ignored: every direct caller is its own peer.
    let direct = TestApp::spawn_with(|c| {
        c.lockout.auth_max_failed_attempts = 1000;
        c.lockout.auth_address_max_failed_attempts = 3;
    })
    .await;
    for i in 0..3 {
        let (email, _) = unique();
        let r = login_from(&direct.api, &email, "guess", &format!("192.0.2.{i}")).await;
        assert_eq!(r.status, if i < 2 { 401 } else { 429 }, "{i}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hs256_kid_is_configured_or_random_never_a_hash_of_the_secret() {
    use aws_lc_rs::digest;
    use base64::Engine;
    let app = TestApp::spawn_with(|c| c.jwt_key_id = Some("users-hs-2026".into())).await;
    let staff = app.staff(Role::Analyst, None).await;
    let token = app.token(&staff).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("users-hs-2026"));

    let app = TestApp::spawn().await;
    let staff = app.staff(Role::Analyst, None).await;
    let token = app.token(&staff).await;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&app.config.jwt_secret).to_owned();
    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest::digest(&digest::SHA256, secret.as_bytes()));
    assert_ne!(kid, hashed);
    assert!(!kid.is_empty());
}
