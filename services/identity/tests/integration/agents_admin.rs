//! Issue #20: tenant admins administer agents through the API — list and search, unlock,
//! reset MFA, revoke sessions — each change with its `identity.*` event; non-admins, other
//! tenants' agents and unknown ids are refused. Real server, PostgreSQL and RabbitMQ.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::Value;
use tessera_identity::db::schema::{agents, recovery_codes};
use tessera_identity::domain::AgentId;

use crate::helpers::{EventTap, PASSWORD, TestApp, event_for_agent};

fn emails(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect()
}

/// `GET /tenants/acme/agents?{query}` as `admin`.
async fn list(app: &TestApp, admin: &str, query: &str) -> tessera_testkit::Reply {
    let path = format!("/tenants/acme/agents?{query}");
    app.call(Method::GET, &path, Some(admin), None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_admin_lists_and_searches_agents() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.tenant("globex").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    app.agent("acme", "bob@acme.test", true, Some("agent"))
        .await;
    let cid = app.agent("acme", "cid@acme.test", false, None).await;
    app.agent("globex", "zed@globex.test", false, Some("admin"))
        .await;
    let admin = app.token("acme", "ana@acme.test").await;

    let all = app
        .call(Method::GET, "/tenants/acme/agents", Some(&admin), None)
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        emails(&all.body),
        ["ana@acme.test", "bob@acme.test", "cid@acme.test"]
    );
    assert_eq!(all.body["meta"]["total"], 3);
    assert_eq!(all.body["data"][1]["mfa_enabled"], true);
    assert!(all.body["data"][0]["created_at"].is_string());

    let disable = app
        .call(
            Method::PATCH,
            &format!("/tenants/acme/agents/{}", cid.agent_id),
            Some(&admin),
            Some(serde_json::json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(disable.status, 200, "{}", disable.body);
    for (query, expected) in [
        ("q=BO", vec!["bob@acme.test"]),
        ("status=disabled", vec!["cid@acme.test"]),
        (
            "status=active&q=acme",
            vec!["ana@acme.test", "bob@acme.test"],
        ),
        ("q=%25", vec![]),
        ("q=zed", vec![]),
        ("page=2&per_page=2", vec!["cid@acme.test"]),
    ] {
        let r = list(&app, &admin, query).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(emails(&r.body), expected, "{query}");
    }
    for query in ["per_page=0", "q=", "sort=email", "status=locked"] {
        let r = list(&app, &admin, query).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.body["error_code"], "validation_error", "{query}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_reset_mfa_and_revoke_sessions_take_effect_and_are_published() {
    let mut tap = EventTap::bind("identity.#").await.unwrap();
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.tenant("globex").await;
    let ana = app
        .agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let bob = app
        .agent("acme", "bob@acme.test", true, Some("agent"))
        .await;
    let cid = app
        .agent("acme", "cid@acme.test", false, Some("agent"))
        .await;
    let zed = app.agent("globex", "zed@globex.test", false, None).await;
    let admin = app.token("acme", "ana@acme.test").await;
    let path = |id: &AgentId, action: &str| format!("/tenants/acme/agents/{id}/{action}");

    // Unlock: a locked agent cannot sign in even with its password; after the unlock it can.
    #[expect(clippy::disallowed_methods, reason = "the test's own clock")]
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    diesel::update(agents::table.find(cid.agent_id))
        .set((
            agents::locked_until.eq(Some(later)),
            agents::failed_password_count.eq(2),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        app.login("acme", "cid@acme.test", PASSWORD).await.status,
        401
    );
    let r = app
        .call(
            Method::POST,
            &path(&cid.agent_id, "unlock"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["locked_until"].is_null(), "{}", r.body);
    let event = event_for_agent(&mut tap, &cid.agent_id.to_string())
        .await
        .unwrap();
    assert_eq!(event["type"], "identity.agent.unlocked");
    let cid_token = app.token("acme", "cid@acme.test").await;

    // Revoke sessions: the agent's token stops working at once; the gateway hears of it.
    let before = app
        .call(Method::GET, "/tenants/acme/session", Some(&cid_token), None)
        .await;
    assert_eq!(before.status, 200, "{}", before.body);
    let r = app
        .call(
            Method::DELETE,
            &path(&cid.agent_id, "sessions"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["revoked"], 1);
    let after = app
        .call(Method::GET, "/tenants/acme/session", Some(&cid_token), None)
        .await;
    assert_eq!(after.status, 401, "{}", after.body);
    let event = event_for_agent(&mut tap, &cid.agent_id.to_string())
        .await
        .unwrap();
    assert_eq!(event["type"], "identity.session.revoked");
    assert_eq!(event["data"]["reason"], "admin_revoked");

    // Reset MFA: a password alone signs in again; secret and recovery codes are gone.
    let pending = app.login("acme", "bob@acme.test", PASSWORD).await;
    assert_eq!(pending.body["mfa_required"], true, "{}", pending.body);
    let r = app
        .call(
            Method::POST,
            &path(&bob.agent_id, "mfa/reset"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mfa_enabled"], false);
    let (secret, codes): (Option<Vec<u8>>, i64) = (
        agents::table
            .find(bob.agent_id)
            .select(agents::mfa_secret)
            .first(&mut app.conn().await)
            .await
            .unwrap(),
        recovery_codes::table
            .filter(recovery_codes::agent_id.eq(bob.agent_id))
            .count()
            .get_result(&mut app.conn().await)
            .await
            .unwrap(),
    );
    assert!(secret.is_none());
    assert_eq!(codes, 0);
    let direct = app.login("acme", "bob@acme.test", PASSWORD).await;
    assert_eq!(direct.status, 200, "{}", direct.body);
    assert!(direct.body["access_token"].is_string(), "{}", direct.body);
    let event = event_for_agent(&mut tap, &bob.agent_id.to_string())
        .await
        .unwrap();
    assert_eq!(event["type"], "identity.agent.mfa_reset");

    // Refusals: one's own MFA (409), another tenant's agent and an unknown id (404), a
    // non-admin (403), no token (401).
    let r = app
        .call(
            Method::POST,
            &path(&ana.agent_id, "mfa/reset"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let unknown = AgentId::from(uuid::Uuid::new_v4());
    for id in [&zed.agent_id, &unknown] {
        for (method, action) in [
            (Method::POST, "unlock"),
            (Method::POST, "mfa/reset"),
            (Method::DELETE, "sessions"),
        ] {
            let r = app
                .call(method, &path(id, action), Some(&admin), None)
                .await;
            assert_eq!(r.status, 404, "{action}: {}", r.body);
        }
    }
    let agent = app.token("acme", "cid@acme.test").await;
    for (method, p) in [
        (Method::GET, "/tenants/acme/agents".to_owned()),
        (Method::POST, path(&bob.agent_id, "unlock")),
        (Method::POST, path(&bob.agent_id, "mfa/reset")),
        (Method::DELETE, path(&bob.agent_id, "sessions")),
    ] {
        let r = app.call(method.clone(), &p, Some(&agent), None).await;
        assert_eq!(r.status, 403, "{method} {p}: {}", r.body);
        assert_eq!(r.body["reason"], "admin_role_required");
        let r = app.call(method.clone(), &p, None, None).await;
        assert_eq!(r.status, 401, "{method} {p}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_lists_an_agents_sessions_and_regenerates_its_recovery_codes() {
    let mut tap = EventTap::bind("identity.agent.#").await.unwrap();
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    let bob = app
        .agent("acme", "bob@acme.test", true, Some("agent"))
        .await;
    let cid = app
        .agent("acme", "cid@acme.test", false, Some("agent"))
        .await;
    let admin = app.token("acme", "ana@acme.test").await;
    let sessions = format!("/tenants/acme/agents/{}/sessions", cid.agent_id);

    // Two sign-ins, two live sessions, newest first; revoked ones are not listed.
    app.token("acme", "cid@acme.test").await;
    app.token("acme", "cid@acme.test").await;
    let listed = app.call(Method::GET, &sessions, Some(&admin), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["meta"]["total"], 2, "{}", listed.body);
    assert_eq!(listed.body["data"][0]["aal"], 1);
    let first = listed.body["data"][0]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = listed.body["data"][1]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first >= second, "newest first");
    let one = app
        .call(
            Method::GET,
            &format!("{sessions}?per_page=1&page=2"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(one.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.call(Method::DELETE, &sessions, Some(&admin), None)
            .await
            .status,
        200
    );
    let after = app.call(Method::GET, &sessions, Some(&admin), None).await;
    assert_eq!(after.body["meta"]["total"], 0, "{}", after.body);
    let bad = app
        .call(
            Method::GET,
            &format!("{sessions}?per_page=0"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let unknown = format!("/tenants/acme/agents/{}/sessions", uuid::Uuid::new_v4());
    assert_eq!(
        app.call(Method::GET, &unknown, Some(&admin), None)
            .await
            .status,
        404
    );

    // New recovery codes: shown once, not cached; the old ones stop working, a new one works.
    let old = bob.recovery_codes[0].clone();
    let r = app
        .call(
            Method::POST,
            &format!("/tenants/acme/agents/{}/recovery-codes", bob.agent_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let codes: Vec<String> = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(!codes.contains(&old));
    let event = event_for_agent(&mut tap, &bob.agent_id.to_string())
        .await
        .unwrap();
    assert_eq!(event["type"], "identity.agent.recovery_codes_regenerated");
    assert!(!event.to_string().contains(&codes[0]), "never the codes");
    let login = |_: ()| app.login("acme", "bob@acme.test", PASSWORD);
    let s1 = login(()).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.verify("acme", &s1, &old, "recovery_code").await.status,
        401
    );
    let s2 = login(()).await.body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = app.verify("acme", &s2, &codes[0], "recovery_code").await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // No second factor, no codes: 409.
    let r = app
        .call(
            Method::POST,
            &format!("/tenants/acme/agents/{}/recovery-codes", cid.agent_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
}
