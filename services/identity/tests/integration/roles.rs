//! Role endpoints: admin only (403 otherwise), configured roles (422), the last admin kept,
//! changes effective at once; agent disable publishes `identity.agent.disabled`.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{EventTap, PASSWORD, TestApp};

#[tokio::test]
async fn only_admins_manage_roles_and_rules_hold() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    let ana = app
        .agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let bob = app
        .agent("acme", "bob@acme.test", false, Some("agent"))
        .await;
    let cid = app.agent("acme", "cid@acme.test", false, None).await;
    let admin = app.token("acme", "ana@acme.test").await;
    let agent = app.token("acme", "bob@acme.test").await;
    let norole = app.token("acme", "cid@acme.test").await;

    // Non-admins: 403 on every role endpoint, with the reason.
    for t in [&agent, &norole] {
        for (method, path, body) in [
            (Method::GET, "/tenants/acme/roles".to_owned(), None),
            (
                Method::PUT,
                format!("/tenants/acme/roles/{}", cid.agent_id),
                Some(json!({"role": "admin"})),
            ),
            (
                Method::DELETE,
                format!("/tenants/acme/roles/{}", bob.agent_id),
                None,
            ),
            (
                Method::PATCH,
                format!("/tenants/acme/agents/{}", cid.agent_id),
                Some(json!({"status": "disabled"})),
            ),
        ] {
            let r = app.call(method.clone(), &path, Some(t), body).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
            assert_eq!(r.body["reason"], "admin_role_required");
        }
    }
    // No token: 401 with WWW-Authenticate.
    let r = app
        .call(Method::GET, "/tenants/acme/roles", None, None)
        .await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));

    // Unknown role: 422 naming the field; unknown agent: 404.
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", cid.agent_id),
            Some(&admin),
            Some(json!({"role": "root"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["errors"]["role"].is_array());
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", uuid::Uuid::new_v4()),
            Some(&admin),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(r.status, 404);

    // Pagination: per_page=1 → one item, X-Total-Count 2, a Link to the next page.
    let r = app
        .call(
            Method::GET,
            "/tenants/acme/roles?per_page=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.headers["x-total-count"], "2");
    assert!(
        r.headers["link"]
            .to_str()
            .unwrap()
            .contains("page=2&per_page=1>; rel=\"next\"")
    );
    let r = app
        .call(
            Method::GET,
            "/tenants/acme/roles?per_page=500",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 422);

    // The last admin cannot be demoted or removed; the transaction leaves nothing behind.
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", ana.agent_id),
            Some(&admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app
        .call(
            Method::DELETE,
            &format!("/tenants/acme/roles/{}", ana.agent_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let mut c = app.conn().await;
    assert_eq!(
        tessera_identity::db::role_assignments::role_of(&mut c, ana.agent_id)
            .await
            .unwrap()
            .as_deref(),
        Some("admin")
    );
    assert_eq!(
        tessera_events::relay::pending_count(&mut c).await.unwrap(),
        0
    );

    // Promote bob; then demote ana: her old token (still saying admin) loses access at once.
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", bob.agent_id),
            Some(&admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{}", ana.agent_id),
            Some(&agent),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .call(Method::GET, "/tenants/acme/roles", Some(&admin), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn disabling_an_agent_revokes_sessions_and_publishes_the_event() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let bob = app
        .agent("acme", "bob@acme.test", false, Some("admin"))
        .await;
    let admin = app.token("acme", "ana@acme.test").await;
    let bobs = app.token("acme", "bob@acme.test").await;
    let mut tap = EventTap::bind("identity.agent.disabled").await.unwrap();

    let r = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{}", bob.agent_id),
            Some(&admin),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "disabled");
    let ev = crate::helpers::event_for_agent(&mut tap, &bob.agent_id.to_string())
        .await
        .expect("agent.disabled event");
    assert_eq!(
        ev["data"],
        json!({"tenant": "acme", "agentId": bob.agent_id})
    );
    assert_eq!(ev["type"], "identity.agent.disabled");
    assert!(ev["request_id"].is_string());

    // Bob's token and password stop working at once.
    assert_eq!(
        app.call(Method::GET, "/tenants/acme/roles", Some(&bobs), None)
            .await
            .status,
        401
    );
    assert_eq!(
        app.login("acme", "bob@acme.test", PASSWORD).await.status,
        401
    );
    // An admin cannot disable itself; a bad status is 422.
    let me = tessera_testkit::jwt_segment(&admin, 1)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{me}"),
            Some(&admin),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{}", bob.agent_id),
            Some(&admin),
            Some(json!({"status": "gone"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Re-enabling lets bob in again.
    let r = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{}", bob.agent_id),
            Some(&admin),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.login("acme", "bob@acme.test", PASSWORD).await.status,
        200
    );
}
