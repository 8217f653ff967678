//! Brute-force protection: counters in PostgreSQL hold across replicas, and the unknown-email,
//! wrong-password and locked answers are the same.

use crate::helpers::{PASSWORD, TestApp, totp_code};

#[tokio::test]
async fn lockout_holds_across_two_instances_and_answers_are_identical() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, None).await;
    let other = app.replica().await;

    // An unknown e-mail costs a real Argon2id verification (against the dummy hash).
    let before = verifications(&app).await;
    let unknown = app.login("acme", "nobody@acme.test", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(verifications(&app).await, before + 1);
    let wrong = app.login("acme", "ana@acme.test", "wrong").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.envelope_sans_request_id(),
        unknown.envelope_sans_request_id()
    );
    assert_eq!(wrong.body["error_code"], "invalid_credentials");

    // 4 more failures (5 in all, the default limit), alternating between the two instances.
    for i in 0..4 {
        let base = if i % 2 == 0 {
            other.as_str()
        } else {
            app.address.as_str()
        };
        let r = app.login_at(base, "acme", "ana@acme.test", "wrong").await;
        assert_eq!(r.status, 401);
    }
    // Now the right password is refused on both instances, with the same answer.
    for base in [app.address.as_str(), other.as_str()] {
        let locked = app.login_at(base, "acme", "ana@acme.test", PASSWORD).await;
        assert_eq!(locked.status, 401, "{}", locked.body);
        assert_eq!(
            locked.envelope_sans_request_id(),
            unknown.envelope_sans_request_id()
        );
        assert_eq!(
            locked.headers.get("www-authenticate"),
            unknown.headers.get("www-authenticate")
        );
    }
    // A disabled agent answers the same too.
    app.agent("acme", "off@acme.test", false, None).await;
    let mut c = app.conn().await;
    let acme = tessera_identity::db::tenants::active_tenant(&mut c, "acme")
        .await
        .unwrap()
        .unwrap();
    let off = tessera_identity::db::agents::agent_by_email(&mut c, acme.id, "off@acme.test")
        .await
        .unwrap()
        .unwrap();
    tessera_identity::operations::change_agent_status(
        &mut c,
        &acme,
        off.id,
        tessera_identity::domain::AgentStatus::Disabled,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let disabled = app.login("acme", "off@acme.test", PASSWORD).await;
    assert_eq!(
        disabled.envelope_sans_request_id(),
        unknown.envelope_sans_request_id()
    );
}

#[tokio::test]
async fn lock_expires_and_a_success_resets_the_count() {
    let app = TestApp::spawn_with(|c| {
        c.lockout.auth_max_failed_attempts = 3;
        c.lockout.auth_lockout_seconds = 1;
    })
    .await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, None).await;
    // Two failures, a success (resets), two failures: still not locked.
    for _ in 0..2 {
        assert_eq!(app.login("acme", "ana@acme.test", "x").await.status, 401);
    }
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        200
    );
    for _ in 0..2 {
        assert_eq!(app.login("acme", "ana@acme.test", "x").await.status, 401);
    }
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        200
    );
    // Three in a row lock; the lock lifts after AUTH_LOCKOUT_SECONDS.
    for _ in 0..3 {
        assert_eq!(app.login("acme", "ana@acme.test", "x").await.status, 401);
    }
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        401
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn code_failures_have_their_own_counter_and_lock() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    let ana = app.agent("acme", "ana@acme.test", true, None).await;
    let sid = app.login("acme", "ana@acme.test", PASSWORD).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 4 wrong codes, then 1 wrong password: 5 failures, but in two counters, so no lock.
    for _ in 0..4 {
        let r = app.verify("acme", &sid, "000000", "totp").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    assert_eq!(
        app.login("acme", "ana@acme.test", "wrong").await.status,
        401
    );
    let r = app.login("acme", "ana@acme.test", PASSWORD).await;
    assert_eq!(r.status, 200, "not locked yet: {}", r.body);
    // The 5th wrong code locks: the right code and the right password are refused.
    assert_eq!(app.verify("acme", &sid, "000000", "totp").await.status, 401);
    let code = totp_code(ana.totp_secret.as_deref().unwrap()).await;
    let r = app.verify("acme", &sid, &code, "totp").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        401
    );
}

/// `password_verifications_total` from `/metrics`.
async fn verifications(app: &TestApp) -> u64 {
    let r = app.call(reqwest::Method::GET, "/metrics", None, None).await;
    let text = r.body.as_str().unwrap().to_owned();
    text.lines()
        .find(|l| l.starts_with("password_verifications_total{"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .expect("password_verifications_total on /metrics")
}

/// Issue #17: wrong passwords from one client address over many e-mails make that address
/// wait (429 + `Retry-After`), counted across replicas (`tessera_db::attempts`, shared with
/// users-registration); the address is the right-most untrusted hop, so a client's own
/// `X-Forwarded-For` entries do not make it a new client; another address still signs in.
#[tokio::test]
async fn a_client_address_guessing_many_accounts_is_made_to_wait() {
    let app = TestApp::spawn_with(|c| {
        c.lockout.auth_address_max_failed_attempts = 4;
        c.base.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, None).await;
    let other = app.replica().await;
    let login = |base: String, email: String, password: &'static str, ip: &'static str| {
        let client = reqwest::Client::new();
        async move {
            let r = client
                .post(format!("{base}/tenants/acme/login"))
                .header("X-Forwarded-For", ip)
                .json(&serde_json::json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry)
        }
    };
    for i in 0..4 {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let (status, _) = login(base, format!("guess{i}@acme.test"), "wrong", "192.0.2.9").await;
        assert_eq!(status, 401, "{i}");
    }
    let (status, retry) = login(
        app.address.clone(),
        "ana@acme.test".into(),
        PASSWORD,
        "192.0.2.9",
    )
    .await;
    assert_eq!(status, 429, "even the right password waits");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    let (status, _) = login(
        other.clone(),
        "ana@acme.test".into(),
        PASSWORD,
        "198.51.100.1, 192.0.2.9",
    )
    .await;
    assert_eq!(status, 429, "a prepended address is not a new client");
    let (status, _) = login(other, "ana@acme.test".into(), PASSWORD, "192.0.2.10").await;
    assert_eq!(status, 200);
}

/// `logins_total{outcome=…}` from `/metrics`.
async fn logins(app: &TestApp, outcome: &str) -> u64 {
    let r = app.call(reqwest::Method::GET, "/metrics", None, None).await;
    let series = format!("logins_total{{outcome=\"{outcome}\",service=\"identity\"}}");
    tessera_testkit::metrics::sample(r.body.as_str().unwrap(), &series) as u64
}

/// Issue #21: sign-ins are counted by outcome, every outcome present from the start.
#[tokio::test]
async fn logins_are_counted_by_outcome() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, None).await;
    for outcome in [
        "succeeded",
        "invalid_credentials",
        "throttled",
        "invalid_request",
    ] {
        assert_eq!(logins(&app, outcome).await, 0, "{outcome}");
    }
    assert_eq!(
        app.login("acme", "ana@acme.test", "wrong").await.status,
        401
    );
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        200
    );
    assert_eq!(
        app.login("acme", "ana@acme.test", PASSWORD).await.status,
        200
    );
    assert_eq!(
        app.login("nope", "ana@acme.test", PASSWORD).await.status,
        404
    );
    assert_eq!(logins(&app, "invalid_credentials").await, 1);
    assert_eq!(logins(&app, "succeeded").await, 2);
    assert_eq!(
        logins(&app, "invalid_request").await,
        1,
        "the unknown tenant"
    );
    assert_eq!(logins(&app, "throttled").await, 0);
}
