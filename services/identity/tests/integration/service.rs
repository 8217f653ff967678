//! Platform behaviour: health, envelope on framework errors, request ids, OpenAPI drift.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_envelopes_and_request_ids() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert!(r.body["checks"]["broker"].is_string(), "{}", r.body);
    assert!(r.headers.contains_key("x-request-id"));

    let r = app
        .call(Method::GET, "/tenants/acme/login", None, None)
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error_code"], "method_not_allowed");

    let r = app
        .client
        .post(format!("{}/tenants/acme/login", app.address))
        .header("content-type", "application/json")
        .header("x-request-id", "req-identity-1")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-request-id"], "req-identity-1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "invalid_json");
    assert_eq!(body["request_id"], "req-identity-1");

    let r = app
        .call(
            Method::POST,
            "/tenants/acme/login",
            None,
            Some(json!({"email": "nope", "password": ""})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["email"].is_array());
    assert!(r.body["errors"]["password"].is_array());
    let r = app
        .call(
            Method::POST,
            "/tenants/acme/login",
            None,
            Some(json!({"email": "a@b.c"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

#[tokio::test]
async fn openapi_is_served_and_matches_the_committed_file() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["paths"]["/tenants/{tenant_slug}/login"]["post"].is_object());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi/identity.yaml"
    ))
    .expect("docs/openapi/identity.yaml exists (make openapi)");
    assert_eq!(
        committed,
        tessera_identity::openapi::yaml().unwrap(),
        "docs/openapi/identity.yaml is stale: run `make openapi`"
    );
    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    tessera_testkit::metrics::assert_catalogued("identity", metrics.body.as_str().unwrap());
}
