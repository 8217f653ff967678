//! Health, readiness, metrics, OpenAPI, unknown routes and graceful shutdown.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{EventTap, TestApp, segment};

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_unknown_routes() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!((r.status, &r.body["status"]), (200, &json!("ok")));
    assert!(r.body["checks"]["broker"].is_string(), "{}", r.body);
    app.wait_ready().await;
    let r = app.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"status": "ok"})));
    let r = app
        .call(
            Method::GET,
            "/nowhere",
            None,
            None,
            &[("x-request-id", "rid-404")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error_code"], "not_found");
    assert_eq!(r.body["request_id"], "rid-404");
    let r = app
        .call(Method::DELETE, "/.well-known/jwks.json", None, None, &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error_code"], "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_issuances_and_denials() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    assert_eq!(
        app.peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]})
        )
        .await
        .status,
        201
    );
    assert_eq!(
        app.peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": "wl-c", "scopes": ["offers:sync"]})
        )
        .await
        .status,
        403
    );
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "peer_tokens_issued_total{scope=\"offers:sync\",service=\"control-plane\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "peer_token_denials_total{reason=\"no_relationship\",service=\"control-plane\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("http_server_requests_total{"), "RED metrics");
    assert!(
        text.contains("http_route=\"/wls/{importerId}/peer-token\""),
        "route templates, not raw paths"
    );
    tessera_testkit::metrics::assert_catalogued("control-plane", &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_openapi_matches_the_committed_copy() {
    let app = TestApp::spawn().await;
    let served = app
        .call(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(served.status, 200);
    assert!(served.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(
        served.body["paths"]
            .get("/wls/{importerId}/peer-token")
            .is_some()
    );
    let generated = serde_json::to_value(
        <tessera_control_plane::openapi::ApiDoc as utoipa::OpenApi>::openapi(),
    )
    .unwrap();
    assert_eq!(served.body, generated);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi/control-plane.yaml"
    ))
    .unwrap();
    assert!(
        committed == tessera_control_plane::openapi::yaml().unwrap(),
        "docs/openapi/control-plane.yaml is stale: run `make openapi`"
    );
}

/// The real `control-plane serve` on a free port over `app`'s database, with `env` added, once
/// it is ready; returns the child and its base URL.
async fn spawn_binary(app: &TestApp, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db_url = app._db.url().to_owned();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_control-plane"))
        .arg("serve")
        .env("APP_ENV", "testing")
        .env("APP_HOST", "127.0.0.1")
        .env("APP_PORT", port.to_string())
        .env("DATABASE_URL", &db_url)
        .env("AMQP_URL", tessera_events::testing::amqp_url())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while app
        .client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "binary never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, base)
}

/// Sends SIGTERM to `child` and waits (bounded) for its clean exit.
async fn terminate(mut child: tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits in time")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

/// The real binary: SIGTERM stops it cleanly (exit 0) after the outbox relay's last pass.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_flushes_the_outbox() {
    let mut tap = EventTap::bind("control-plane.peer_token.issued").await;
    // Seed through an in-process app on the same database, then stop using it.
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (child, base) = spawn_binary(&app, &[]).await;
    let r = app
        .client
        .post(format!("{base}/wls/wl-a/peer-token"))
        .bearer_auth(&seed.key_a)
        .json(&json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let jti = segment(body["accessToken"].as_str().unwrap(), 1)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    terminate(child).await;
    assert!(
        tap.event_with_jti(&jti, Duration::from_secs(10))
            .await
            .is_some(),
        "event flushed"
    );
}

/// The real binary exports its spans over OTLP by `OTEL_EXPORTER_OTLP_PROTOCOL`, gRPC and
/// HTTP/protobuf alike, to the test's receiver: the request's server span with the HTTP
/// conventions and the relay's producer span with the messaging ones, in the caller's trace,
/// under the resource the environment names.
#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_over_otlp_grpc_and_http_in_the_callers_trace() {
    use tessera_testkit::otlp::{OtlpReceiver, Transport, kind};
    let receiver = OtlpReceiver::start(0).await.unwrap();
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    for (protocol, transport, trace_id) in [
        ("grpc", Transport::Grpc, "4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "http/protobuf",
            Transport::HttpProtobuf,
            "0af7651916cd43dd8448eb211c80319c",
        ),
    ] {
        let endpoint = receiver.endpoint();
        let (child, base) = spawn_binary(
            &app,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=test",
                ),
            ],
        )
        .await;
        let r = app
            .client
            .post(format!("{base}/wls/wl-a/peer-token"))
            .bearer_auth(&seed.key_a)
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .json(&json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let spans = receiver
            .wait_for_trace(trace_id, Duration::from_secs(15), |spans| {
                spans.iter().any(|s| s.kind == kind::SERVER)
                    && spans.iter().any(|s| s.kind == kind::PRODUCER)
            })
            .await;
        let server = spans
            .iter()
            .find(|s| s.kind == kind::SERVER)
            .unwrap_or_else(|| unreachable!("{protocol}: no server span in {spans:#?}"));
        assert_eq!(server.transport, transport);
        assert_eq!(
            server.parent_span_id, "00f067aa0ba902b7",
            "the caller's child"
        );
        assert_eq!(server.service, "control-plane");
        assert_eq!(
            server
                .resource
                .get("deployment.environment.name")
                .map(String::as_str),
            Some("test")
        );
        assert!(server.resource.contains_key("service.version"));
        assert_eq!(server.name, "POST /wls/{importerId}/peer-token");
        assert_eq!(server.attribute("http.request.method"), Some("POST"));
        assert_eq!(
            server.attribute("http.route"),
            Some("/wls/{importerId}/peer-token")
        );
        assert_eq!(server.attribute("http.response.status_code"), Some("201"));
        assert_eq!(server.attribute("url.path"), Some("/wls/wl-a/peer-token"));
        assert!(
            server.attribute("http.method").is_none(),
            "the old name is gone"
        );
        let producer = spans
            .iter()
            .find(|s| s.kind == kind::PRODUCER)
            .unwrap_or_else(|| unreachable!("{protocol}: no producer span"));
        assert_eq!(producer.name, "publish tessera.events");
        assert_eq!(producer.attribute("messaging.system"), Some("rabbitmq"));
        assert_eq!(producer.attribute("messaging.operation.type"), Some("send"));
        assert_eq!(
            producer.attribute("messaging.rabbitmq.destination.routing_key"),
            Some("control-plane.peer_token.issued")
        );
        terminate(child).await;
    }
}
