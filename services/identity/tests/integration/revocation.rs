//! `identity.session.revoked` (issue #17): what tells the gateway to stop vouching for a token
//! — published in the transaction of a logout, an agent's disabling, and a role change — and
//! `GET /tenants/{slug}/session`, what the gateway asks about a token the feed cannot judge.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{EventTap, TestApp, event_for_agent};

fn sid_of(token: &str) -> String {
    tessera_testkit::jwt_segment(token, 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn revoked_sessions(event: &serde_json::Value) -> Vec<String> {
    event["data"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn logout_role_changes_and_disabling_publish_the_revoked_sessions() {
    let mut tap = EventTap::bind("identity.session.revoked").await.unwrap();
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let bob = app
        .agent("acme", "bob@acme.test", false, Some("agent"))
        .await;
    let admin = app.token("acme", "ana@acme.test").await;
    let bob_id = bob.agent_id.to_string();

    // The session endpoint: live, with the roles identity holds now.
    let first = app.token("acme", "bob@acme.test").await;
    let r = app
        .call(Method::GET, "/tenants/acme/session", Some(&first), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["roles"], json!(["agent"]));
    assert_eq!(r.body["session_id"], sid_of(&first));
    assert_eq!(r.headers["cache-control"], "no-store");

    // Logout: exactly that session, reason logout, its expiry.
    let r = app
        .call(Method::POST, "/tenants/acme/logout", Some(&first), None)
        .await;
    assert_eq!(r.status, 204);
    let ev = event_for_agent(&mut tap, &bob_id)
        .await
        .expect("a logout event");
    assert_eq!(ev["data"]["reason"], "logout");
    assert_eq!(ev["data"]["tenant"], "acme");
    assert_eq!(revoked_sessions(&ev), vec![sid_of(&first)]);
    assert!(ev["data"]["sessions"][0]["expiresAt"].is_string());
    let r = app
        .call(Method::GET, "/tenants/acme/session", Some(&first), None)
        .await;
    assert_eq!(r.status, 401, "a logged-out session is not live");
    // Logging out twice publishes nothing more (checked below: the next event is the role change).
    let again = app
        .call(Method::POST, "/tenants/acme/logout", Some(&first), None)
        .await;
    assert_eq!(again.status, 401);

    // A role change: every live session of the agent, reason role_changed.
    let second = app.token("acme", "bob@acme.test").await;
    let third = app.token("acme", "bob@acme.test").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/tenants/acme/roles/{bob_id}"),
            Some(&admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = event_for_agent(&mut tap, &bob_id)
        .await
        .expect("a role event");
    assert_eq!(ev["data"]["reason"], "role_changed");
    let mut got = revoked_sessions(&ev);
    got.sort();
    let mut want = vec![sid_of(&second), sid_of(&third)];
    want.sort();
    assert_eq!(got, want);
    // identity itself still serves the session, with the new role the gateway compares.
    let r = app
        .call(Method::GET, "/tenants/acme/session", Some(&second), None)
        .await;
    assert_eq!(r.body["roles"], json!(["viewer"]));

    // Removing the role: the sessions again (a token minted after the change is among them).
    let fourth = app.token("acme", "bob@acme.test").await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/tenants/acme/roles/{bob_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let ev = event_for_agent(&mut tap, &bob_id)
        .await
        .expect("a role event");
    assert_eq!(ev["data"]["reason"], "role_changed");
    assert!(revoked_sessions(&ev).contains(&sid_of(&fourth)));

    // Disabling: the live sessions, reason agent_disabled.
    let r = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{bob_id}"),
            Some(&admin),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = event_for_agent(&mut tap, &bob_id)
        .await
        .expect("a disable event");
    assert_eq!(ev["data"]["reason"], "agent_disabled");
    assert!(revoked_sessions(&ev).contains(&sid_of(&fourth)));
    let r = app
        .call(Method::GET, "/tenants/acme/session", Some(&fourth), None)
        .await;
    assert_eq!(r.status, 401);
}
