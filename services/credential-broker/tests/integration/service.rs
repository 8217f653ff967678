//! Platform behaviour: health, envelopes, OpenAPI drift.

use reqwest::Method;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_openapi() {
    let app = TestApp::spawn().await;
    let r = app.api.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(r.status, 200);
    let r = app
        .api
        .call(Method::GET, "/api/token", None, None, &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error_code"], "method_not_allowed");
    let r = app
        .api
        .call(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert!(r.body["paths"]["/api/token"]["post"].is_object());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi/credential-broker.yaml"
    ))
    .expect("docs/openapi/credential-broker.yaml exists (make openapi)");
    assert_eq!(
        committed,
        tessera_credential_broker::openapi::yaml().unwrap(),
        "docs/openapi/credential-broker.yaml is stale: run `make openapi`"
    );
    // The metrics catalogue is checked where the identity-event consumer runs (events.rs).
}
