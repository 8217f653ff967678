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
