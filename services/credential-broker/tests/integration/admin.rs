//! The operator API: bindings, wallet credentials, audit.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{GRAPH_SCOPE, TestApp};

const ADMIN: &str = "test-admin-token-0123456789";

#[tokio::test]
async fn operators_manage_bindings_and_read_the_audit() {
    let app = TestApp::spawn().await;
    let agent = uuid::Uuid::new_v4();
    let body = json!({"sandbox_id": "sb-admin", "tenant": "acme", "agent_id": agent,
        "upstreams": [{"host": "Graph.Microsoft.com", "scopes": [GRAPH_SCOPE]}]});
    // Operator credential required.
    for token in [None, Some("test-caller-token-0123456789")] {
        let r = app
            .api
            .call(
                Method::POST,
                "/api/bindings",
                token,
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = app
        .api
        .call(
            Method::POST,
            "/api/bindings",
            Some(ADMIN),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["upstreams"],
        json!([{"host": "graph.microsoft.com", "scopes": [GRAPH_SCOPE]}])
    );
    assert_eq!(r.body["status"], "active");
    let r = app
        .api
        .call(Method::POST, "/api/bindings", Some(ADMIN), Some(body), &[])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let bad = json!({"sandbox_id": "sb-bad", "tenant": "acme", "agent_id": agent,
        "upstreams": [{"host": "graph.microsoft.com.", "scopes": [GRAPH_SCOPE]}]});
    let r = app
        .api
        .call(Method::POST, "/api/bindings", Some(ADMIN), Some(bad), &[])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["errors"]["upstreams.0.host"].is_array());

    // The new binding works; the audit shows the request.
    assert_eq!(
        app.request("sb-admin", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await
            .status,
        200
    );
    let r = app
        .api
        .call(
            Method::GET,
            "/api/audit?sandbox_id=sb-admin",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(r.body["data"][0]["outcome"], "issued");
    assert!(r.body["data"][0].get("token_hmac").is_none());
    let r = app
        .api
        .call(
            Method::GET,
            "/api/bindings?sandbox_id=sb-admin",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);

    // The static wallet takes no credentials.
    let r = app
        .api
        .call(
            Method::PUT,
            &format!("/api/wallet/{agent}/graph.microsoft.com"),
            Some(ADMIN),
            Some(json!({"refresh_token": "r"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Delete: the sandbox gets nothing more.
    let r = app
        .api
        .call(
            Method::DELETE,
            "/api/bindings/sb-admin",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .api
        .call(
            Method::DELETE,
            "/api/bindings/sb-admin",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .request("sb-admin", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.body["reason"], "binding_not_found");
}

async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> tessera_testkit::Reply {
    app.api.call(method, path, Some(ADMIN), body, &[]).await
}

fn sandboxes(body: &serde_json::Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["sandbox_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn operators_suspend_reactivate_and_filter_bindings() {
    let app = TestApp::spawn().await;
    app.bind("sb-one").await;
    let agent_two = app.bind("sb-two").await;
    let r = admin(
        &app,
        Method::POST,
        "/api/bindings",
        Some(
            json!({"sandbox_id": "sb-globex", "tenant": "globex", "agent_id": uuid::Uuid::new_v4(),
            "upstreams": [{"host": "api.globex.example", "scopes": ["read"]}]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Suspend: no tokens, and it says who.
    let r = admin(
        &app,
        Method::POST,
        "/api/bindings/sb-one/suspend",
        Some(json!({"reason": "laptop lost"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "suspended");
    assert_eq!(r.body["status_reason"], "laptop lost");
    assert_eq!(r.body["suspended_by"], "operator");
    let denied = app
        .request("sb-one", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["reason"], "binding_inactive");

    // Filters, alone and together.
    for (query, expected) in [
        ("status=suspended", vec!["sb-one"]),
        ("status=active", vec!["sb-globex", "sb-two"]),
        ("tenant=globex", vec!["sb-globex"]),
        (&*format!("agent_id={agent_two}"), vec!["sb-two"]),
        (
            "upstream_host=GRAPH.microsoft.com",
            vec!["sb-one", "sb-two"],
        ),
        (
            "status=active&upstream_host=graph.microsoft.com",
            vec!["sb-two"],
        ),
        ("tenant=acme&status=revoked", vec![]),
    ] {
        let r = admin(&app, Method::GET, &format!("/api/bindings?{query}"), None).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(sandboxes(&r.body), expected, "{query}");
        assert_eq!(r.body["meta"]["total"], expected.len(), "{query}");
    }
    for (query, field) in [
        ("upstream_host=graph.microsoft.com:443", "upstream_host"),
        ("status=paused", "status"),
        ("owner=me", "owner"),
        ("per_page=0", "per_page"),
    ] {
        let r = admin(&app, Method::GET, &format!("/api/bindings?{query}"), None).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.body["error_code"], "validation_error", "{query}");
        if field != "status" {
            assert!(r.body["errors"][field].is_array(), "{query}: {}", r.body);
        }
    }

    // Reactivate: tokens again; reactivating an active one changes nothing.
    for _ in 0..2 {
        let r = admin(&app, Method::POST, "/api/bindings/sb-one/reactivate", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "active");
        assert!(r.body["status_reason"].is_null(), "{}", r.body);
    }
    let ok = app
        .request("sb-one", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Refusals.
    let r = admin(
        &app,
        Method::POST,
        "/api/bindings/sb-one/suspend",
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["errors"]["reason"].is_array());
    for path in [
        "/api/bindings/nope/reactivate",
        "/api/bindings/nope/suspend",
    ] {
        let r = admin(&app, Method::POST, path, Some(json!({"reason": "x"}))).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let r = app
        .api
        .call(
            Method::POST,
            "/api/bindings/sb-one/reactivate",
            Some("test-caller-token-0123456789"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use tessera_credential_broker::db::schema::bindings;
        diesel::update(bindings::table.find("sb-two"))
            .set(bindings::status.eq("revoked"))
            .execute(&mut app.conn().await)
            .await
            .unwrap();
    }
    for action in ["reactivate", "suspend"] {
        let r = admin(
            &app,
            Method::POST,
            &format!("/api/bindings/sb-two/{action}"),
            Some(json!({"reason": "x"})),
        )
        .await;
        assert_eq!(r.status, 409, "{action}: {}", r.body);
        assert_eq!(r.body["reason"], "binding_revoked");
    }
}
