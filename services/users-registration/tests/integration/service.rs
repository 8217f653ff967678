//! Platform behaviour: health, envelopes on framework errors, request ids, OpenAPI drift and
//! the published request schemas.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_users_registration::validation;

use crate::helpers::{
    TestApp, answered_while_hashing, app_with_one_connection_and_slow_hashes, registration, unique,
};

#[tokio::test(flavor = "multi_thread")]
async fn health_envelopes_and_request_ids() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert!(r.body["checks"]["broker"].is_string(), "{}", r.body);
    assert!(r.headers.contains_key("x-request-id"));
    // Ready once the database answers and the relay has connected to the broker.
    let mut ready = app.call(Method::GET, "/readyz", None, None).await;
    for _ in 0..100 {
        if ready.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ready = app.call(Method::GET, "/readyz", None, None).await;
    }
    assert_eq!(ready.status, 200, "{}", ready.body);
    // (GET /registrations is the analyst's queue since issue #20: DELETE is the method the
    // route does not have.)
    let r = app.call(Method::DELETE, "/registrations", None, None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error_code"], "method_not_allowed");
    let r = app
        .api
        .client
        .post(format!("{}/registrations", app.api.base))
        .header("content-type", "application/json")
        .header("x-request-id", "req-users-1")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-request-id"], "req-users-1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "invalid_json");
    assert_eq!(body["request_id"], "req-users-1");
    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("password_verifications_total")
    );
    // The whole catalogue is checked where the notification consumer runs too
    // (notifications.rs: a failing notification endpoint …).
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_is_served_matches_the_committed_file_and_publishes_the_committed_schemas() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["paths"]["/registrations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/RegistrationRequest"
    );
    for doc in validation::ALL {
        let committed: Value = serde_json::from_str(doc.text).unwrap();
        let title = committed["title"].as_str().unwrap();
        assert_eq!(r.body["components"]["schemas"][title], committed, "{title}");
    }
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi/users-registration.yaml"
    ))
    .expect("docs/openapi/users-registration.yaml exists (make openapi)");
    assert_eq!(
        committed,
        tessera_users_registration::openapi::yaml().unwrap(),
        "docs/openapi/users-registration.yaml is stale: run `make openapi`"
    );
}

// Found by fuzzing the OpenAPI document (schemathesis, issue #19's CI run): "\u0000" is valid
// JSON and passes the schema, but PostgreSQL's `jsonb` cannot hold a NUL character. It is a
// validation error (400, seed 004's status), not a 500, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_nul_character_in_farm_data_is_a_validation_error_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let mut body = registration(&email, &doc);
    body["farmData"] = json!({"area\u{0}": {"note": "nul in a key"}});
    let r = app.register(body, None).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error_code"], "validation_error");
    assert_eq!(app.count("users").await, 0);
    let ok = app.register(registration(&email, &doc), None).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

/// A sign-up with a password waits for its Argon2id hash holding no pooled connection: with a
/// pool of one, a password-less sign-up sent while the first is hashing is answered before it.
/// (Holding the connection across the hash would make it wait for the first to finish: a burst
/// of password sign-ups would starve every other request of the pool.)
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_up_waiting_for_its_hash_holds_no_database_connection() {
    let app = app_with_one_connection_and_slow_hashes().await;
    let (email, document) = unique();
    answered_while_hashing(
        &app,
        "/registrations",
        registration(&email, &document),
        &[("idempotency-key", "hash-holds-no-connection")],
        201,
    )
    .await;
}
