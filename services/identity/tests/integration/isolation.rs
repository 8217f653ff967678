//! Tenant isolation: an agent of tenant A reaches nothing of tenant B, and every refusal looks
//! like "no such tenant/agent" (404), never a hint that it exists elsewhere.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn an_agent_of_one_tenant_cannot_read_or_change_another() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.tenant("globex").await;
    let acme_admin = app
        .agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let globex_admin = app
        .agent("globex", "gus@globex.test", true, Some("admin"))
        .await;
    let globex_agent = app
        .agent("globex", "gil@globex.test", false, Some("viewer"))
        .await;
    let token = app.token("acme", "ana@acme.test").await;
    let g = globex_agent.agent_id;

    let unknown_tenant = app
        .call(Method::GET, "/tenants/initech/roles", Some(&token), None)
        .await;
    assert_eq!(unknown_tenant.status, 404);
    let not_found = unknown_tenant.envelope_sans_request_id();

    // Every endpoint of tenant B with tenant A's token: the unknown-tenant 404.
    let globex_session = app.login("globex", "gus@globex.test", PASSWORD).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path, body) in [
        (Method::GET, "/tenants/globex/roles".to_owned(), None),
        (
            Method::PUT,
            format!("/tenants/globex/roles/{g}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("/tenants/globex/roles/{g}"), None),
        (
            Method::PATCH,
            format!("/tenants/globex/agents/{g}"),
            Some(json!({"status": "disabled"})),
        ),
        (Method::POST, "/tenants/globex/logout".to_owned(), None),
        (Method::POST, "/tenants/globex/mfa/enroll".to_owned(), None),
        (
            Method::POST,
            "/tenants/globex/mfa/enroll/confirm".to_owned(),
            Some(json!({"code": "123456"})),
        ),
    ] {
        let r = app.call(method.clone(), &path, Some(&token), body).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(r.envelope_sans_request_id(), not_found, "{method} {path}");
    }
    // Tenant B's agents through tenant A's own paths: not found.
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/tenants/acme/roles/{g}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("/tenants/acme/roles/{g}"), None),
        (
            Method::PATCH,
            format!("/tenants/acme/agents/{g}"),
            Some(json!({"status": "disabled"})),
        ),
    ] {
        let r = app.call(method.clone(), &path, Some(&token), body).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    // Tenant B's session id on tenant A's verify endpoint: not found.
    let r = app.verify("acme", &globex_session, "123456", "totp").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        app.verify("acme", "not-a-uuid", "123456", "totp")
            .await
            .status,
        404
    );
    // Tenant A's credentials on tenant B's login: an unknown e-mail there.
    let r = app.login("globex", "ana@acme.test", PASSWORD).await;
    assert_eq!(r.status, 401);
    // An unknown tenant's login and JWKS: 404.
    assert_eq!(
        app.login("initech", "ana@acme.test", PASSWORD).await.status,
        404
    );
    let r = app
        .call(
            Method::GET,
            "/tenants/initech/.well-known/jwks.json",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 404);

    // A token re-labelled for tenant B (valid signature, B's issuer) still fails: its session
    // belongs to tenant A.
    let claims = tessera_testkit::jwt_segment(&token, 1);
    let mut forged = claims.clone();
    forged["tenant"] = "globex".into();
    forged["iss"] = "http://localhost:8083/tenants/globex".into();
    let forged = app.sign(&forged);
    let r = app
        .call(Method::GET, "/tenants/globex/roles", Some(&forged), None)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Nothing of tenant B changed.
    let mut c = app.conn().await;
    let role = tessera_identity::db::role_assignments::role_of(&mut c, g)
        .await
        .unwrap();
    assert_eq!(role.as_deref(), Some("viewer"));
    let globex = tessera_identity::db::tenants::active_tenant(&mut c, "globex")
        .await
        .unwrap()
        .unwrap();
    let gil = tessera_identity::db::agents::agent(&mut c, globex.id, g)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gil.status, "active");
    assert!(!gil.mfa_enabled);
    let _ = (acme_admin, globex_admin);
}
