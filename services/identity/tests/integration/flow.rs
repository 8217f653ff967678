//! The seed's whole flow: login → MFA → access token → role CRUD, replay, recovery codes,
//! enrollment, logout, and MFA-pending sessions refused everywhere.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{EventTap, PASSWORD, TestApp, totp_code};

#[tokio::test]
async fn login_mfa_token_roles_and_replay_rejected() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    let admin = app
        .agent("acme", "Ana@Acme.test", true, Some("admin"))
        .await;
    let bob = app.agent("acme", "bob@acme.test", false, None).await;
    let mut assigned = EventTap::bind("identity.role.assigned").await.unwrap();
    let mut revoked = EventTap::bind("identity.role.revoked").await.unwrap();

    // Login (e-mail case-insensitive) → MFA required, no token yet.
    let r = app.login("acme", "ana@acme.TEST", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mfa_required"], true);
    assert_eq!(r.body["agent_id"], admin.agent_id.to_string());
    assert_eq!(r.body["session_timeout_seconds"], 3600);
    assert!(r.body.get("access_token").is_none(), "{}", r.body);
    assert!(r.body["expires_at"].is_string());
    assert_eq!(r.headers["cache-control"], "no-store");
    let session = r.body["session_id"].as_str().unwrap().to_owned();

    // A TOTP code computed by an independent implementation (Node's crypto).
    let code = totp_code(admin.totp_secret.as_deref().unwrap()).await;
    let v = app.verify("acme", &session, &code, "totp").await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["mfa_required"], false);
    assert_eq!(v.body["session_id"], session);
    assert_eq!(v.body["token_type"], "Bearer");
    let remaining = v.body["session_timeout_seconds"].as_i64().unwrap();
    assert!((3590..=3600).contains(&remaining), "{remaining}");
    let token = v.body["access_token"].as_str().unwrap().to_owned();

    // The token's claims (RFC 9068) carry tenant, roles, aal and the session.
    let claims = tessera_testkit::jwt_segment(&token, 1);
    assert_eq!(claims["iss"], "http://localhost:8083/tenants/acme");
    assert_eq!(claims["sub"], admin.agent_id.to_string());
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["aal"], "aal2");
    assert_eq!(claims["sid"], session);
    assert_eq!(claims["aud"], "tessera");
    assert_eq!(tessera_testkit::jwt_segment(&token, 0)["typ"], "at+jwt");
    // …and it verifies against the tenant's JWKS.
    let jwks = app
        .call(
            Method::GET,
            "/tenants/acme/.well-known/jwks.json",
            None,
            None,
        )
        .await;
    assert_eq!(jwks.status, 200);
    assert!(
        jwks.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=300")
    );
    let verifier = tessera_jwt::Verifier::with_jwks(
        tessera_jwt::VerifierConfig {
            issuer: Some("http://localhost:8083/tenants/acme".into()),
            audience: Some("tessera".into()),
            ..Default::default()
        },
        serde_json::from_value(jwks.body).unwrap(),
    );
    let _: serde_json::Value = verifier.verify(&token, chrono::Utc::now()).await.unwrap();

    // The same code a second time, in a new session, is a replay: refused.
    let again = app.login("acme", "ana@acme.test", PASSWORD).await;
    let second = again.body["session_id"].as_str().unwrap().to_owned();
    let replay = app.verify("acme", &second, &code, "totp").await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert_eq!(replay.body["error_code"], "invalid_credentials");
    // The first session cannot verify twice either.
    let twice = app.verify("acme", &session, &code, "totp").await;
    assert_eq!(twice.status, 409, "{}", twice.body);

    // Role CRUD with the token.
    let put = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", bob.agent_id),
            Some(&token),
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["agent_email"], "bob@acme.test");
    assert_eq!(put.body["role"], "supervisor");
    let ev = crate::helpers::event_for_agent(&mut assigned, &bob.agent_id.to_string())
        .await
        .expect("role.assigned event");
    assert_eq!(
        ev["data"],
        json!({"tenant": "acme", "agentId": bob.agent_id, "role": "supervisor"})
    );
    assert_eq!(ev["source"], "identity");

    let list = app
        .call(Method::GET, "/tenants/acme/roles", Some(&token), None)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let roles: Vec<(String, String)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["agent_email"].as_str().unwrap().to_owned(),
                r["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("ana@acme.test".into(), "admin".into()),
            ("bob@acme.test".into(), "supervisor".into())
        ]
    );
    assert_eq!(list.headers["x-total-count"], "2");

    let del = app
        .call(
            Method::DELETE,
            &format!("/tenants/acme/roles/{}", bob.agent_id),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
    let ev = crate::helpers::event_for_agent(&mut revoked, &bob.agent_id.to_string())
        .await
        .expect("role.revoked event");
    assert_eq!(ev["data"]["role"], "supervisor");
    let del = app
        .call(
            Method::DELETE,
            &format!("/tenants/acme/roles/{}", bob.agent_id),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 404, "{}", del.body);
}

#[tokio::test]
async fn recovery_codes_work_once() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    let ana = app.agent("acme", "ana@acme.test", true, None).await;
    let code = ana.recovery_codes[0].clone();
    let s1 = app.login("acme", "ana@acme.test", PASSWORD).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = app
        .verify("acme", &s1, &code.to_uppercase(), "recovery_code")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        tessera_testkit::jwt_segment(ok.body["access_token"].as_str().unwrap(), 1)["aal"],
        "aal2"
    );
    let s2 = app.login("acme", "ana@acme.test", PASSWORD).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let used = app.verify("acme", &s2, &code, "recovery_code").await;
    assert_eq!(used.status, 401, "{}", used.body);
    // A TOTP code is not a recovery code and vice versa.
    let wrong = app
        .verify("acme", &s2, &ana.recovery_codes[1], "totp")
        .await;
    assert_eq!(wrong.status, 401);
    let bad_method = app.verify("acme", &s2, "123456", "sms").await;
    assert_eq!(bad_method.status, 422, "{}", bad_method.body);
}

#[tokio::test]
async fn enrollment_turns_mfa_on() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, None).await;
    let token = app.token("acme", "ana@acme.test").await;
    assert_eq!(tessera_testkit::jwt_segment(&token, 1)["aal"], "aal1");

    let e = app
        .call(Method::POST, "/tenants/acme/mfa/enroll", Some(&token), None)
        .await;
    assert_eq!(e.status, 200, "{}", e.body);
    let uri = e.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Tessera%20acme:ana%40acme.test?"),
        "{uri}"
    );
    let secret = e.body["secret"].as_str().unwrap().to_owned();
    assert!(uri.contains(&secret));

    let wrong = app
        .call(
            Method::POST,
            "/tenants/acme/mfa/enroll/confirm",
            Some(&token),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body["errors"]["code"].is_array());

    let code = totp_code(&secret).await;
    let ok = app
        .call(
            Method::POST,
            "/tenants/acme/mfa/enroll/confirm",
            Some(&token),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["recovery_codes"].as_array().unwrap().len(), 10);
    let again = app
        .call(Method::POST, "/tenants/acme/mfa/enroll", Some(&token), None)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    // From now on login needs the second factor, and the confirming code cannot be reused.
    let r = app.login("acme", "ana@acme.test", PASSWORD).await;
    assert_eq!(r.body["mfa_required"], true);
    let sid = r.body["session_id"].as_str().unwrap();
    assert_eq!(app.verify("acme", sid, &code, "totp").await.status, 401);
    let rc = ok.body["recovery_codes"][0].as_str().unwrap();
    assert_eq!(
        app.verify("acme", sid, rc, "recovery_code").await.status,
        200
    );

    // The secret is sealed at rest: the column is not the secret.
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tessera_identity::db::schema::agents;
    let mut c = app.conn().await;
    let stored: Option<Vec<u8>> = agents::table
        .select(agents::mfa_secret)
        .first(&mut c)
        .await
        .unwrap();
    let stored = stored.unwrap();
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let raw = raw.as_bytes();
    assert!(!stored.windows(raw.len()).any(|w| w == raw));
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
}

#[tokio::test]
async fn mfa_pending_sessions_and_logged_out_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("acme").await;
    let ana = app
        .agent("acme", "ana@acme.test", true, Some("admin"))
        .await;
    app.agent("acme", "bob@acme.test", false, Some("admin"))
        .await;
    let r = app.login("acme", "ana@acme.test", PASSWORD).await;
    let pending = r.body["session_id"].as_str().unwrap().to_owned();

    // The session id is not a credential.
    let by_sid = app
        .call(Method::GET, "/tenants/acme/roles", Some(&pending), None)
        .await;
    assert_eq!(by_sid.status, 401);
    assert!(by_sid.headers.contains_key("www-authenticate"));

    // Even a token correctly signed by the service is refused while its session is pending.
    let now = chrono::Utc::now().timestamp();
    let forged = app.sign(&json!({
        "iss": "http://localhost:8083/tenants/acme", "sub": ana.agent_id, "aud": "tessera",
        "exp": now + 600, "iat": now, "jti": "x", "client_id": "tessera-identity",
        "sid": pending, "tenant": "acme", "roles": ["admin"], "aal": "aal2"
    }));
    for (method, path, body) in [
        (Method::GET, "/tenants/acme/roles".to_owned(), None),
        (
            Method::PUT,
            format!("/tenants/acme/roles/{}", ana.agent_id),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::DELETE,
            format!("/tenants/acme/roles/{}", ana.agent_id),
            None,
        ),
        (
            Method::PATCH,
            format!("/tenants/acme/agents/{}", ana.agent_id),
            Some(json!({"status": "disabled"})),
        ),
        (Method::POST, "/tenants/acme/mfa/enroll".to_owned(), None),
        (
            Method::POST,
            "/tenants/acme/mfa/enroll/confirm".to_owned(),
            Some(json!({"code": "123456"})),
        ),
        (Method::POST, "/tenants/acme/logout".to_owned(), None),
    ] {
        let r = app.call(method.clone(), &path, Some(&forged), body).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error_code"], "mfa_required", "{method} {path}");
    }
    let _ = acme;

    // Logout ends a session at once.
    let token = app.token("acme", "bob@acme.test").await;
    assert_eq!(
        app.call(Method::GET, "/tenants/acme/roles", Some(&token), None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.call(Method::POST, "/tenants/acme/logout", Some(&token), None)
            .await
            .status,
        204
    );
    let after = app
        .call(Method::GET, "/tenants/acme/roles", Some(&token), None)
        .await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(after.body["error_code"], "unauthenticated");
}
