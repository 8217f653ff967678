//! Traces across the platform (issue #21): `make e2e` and `make compose-e2e` point every
//! service's OTLP exporter at the receiver this test starts (scripts/e2e.sh, deploy/compose/ci.yml:
//! gateway-auth and identity over gRPC, the others over HTTP/protobuf).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_e2e::{Platform, unique_id};
use tessera_testkit::otlp::{OtlpReceiver, ReceivedSpan, Transport, kind};

/// The receiver's port: `OTLP_PORT` (make compose-e2e's deploy/compose/ci.env), else
/// scripts/e2e.sh's 18088.
fn otlp_port() -> u16 {
    std::env::var("OTLP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(18088)
}

fn find<'a>(spans: &'a [ReceivedSpan], service: &str, kind: i32) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.service == service && s.kind == kind)
}

/// One request through the gateway that disables an agent: gateway-auth's check, identity's
/// handling, identity's publication of `identity.agent.disabled` and credential-broker's
/// consumption of it are spans of the caller's one trace, each the child of the one before,
/// with the conventions' attribute names, delivered over gRPC and over HTTP.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the running platform: make e2e"]
async fn a_request_its_event_and_the_consumer_are_one_trace_over_grpc_and_http() {
    let receiver = OtlpReceiver::start(otlp_port())
        .await
        .expect("the suite's OTLP port is free");
    let p = Platform::load();
    let admin = p.credential("identity.demo.admin").clone();
    let admin_token = p.identity_mfa_token("demo", &admin).await;
    let created = p
        .call(
            Method::POST,
            "/tenants/demo/agents",
            Some(&admin_token),
            Some(json!({"email": format!("{}@demo.test", unique_id("traced")), "role": "viewer"})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let agent_id = created.body["agent"]["agent_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an agent id in {}", created.body))
        .to_owned();

    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let disabled = p
        .call(
            Method::PATCH,
            &format!("/tenants/demo/agents/{agent_id}"),
            Some(&admin_token),
            Some(json!({"status": "disabled"})),
            &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);

    let spans = receiver
        .wait_for_trace(&trace_id, Duration::from_secs(30), |spans| {
            find(spans, "gateway-auth", kind::SERVER).is_some()
                && find(spans, "identity", kind::SERVER).is_some()
                && find(spans, "identity", kind::PRODUCER).is_some()
                && find(spans, "credential-broker", kind::CONSUMER).is_some()
        })
        .await;
    let show = || format!("{spans:#?}");
    let verify = find(&spans, "gateway-auth", kind::SERVER).unwrap_or_else(|| panic!("{}", show()));
    let server = find(&spans, "identity", kind::SERVER).unwrap_or_else(|| panic!("{}", show()));
    let producer = find(&spans, "identity", kind::PRODUCER).unwrap_or_else(|| panic!("{}", show()));
    let consumer =
        find(&spans, "credential-broker", kind::CONSUMER).unwrap_or_else(|| panic!("{}", show()));

    // Both gateway hops continue the caller's span; the event continues the request.
    assert_eq!(verify.parent_span_id, "00f067aa0ba902b7");
    assert_eq!(verify.attribute("http.route"), Some("/verify"));
    assert_eq!(server.parent_span_id, "00f067aa0ba902b7");
    assert_eq!(server.attribute("http.request.method"), Some("PATCH"));
    assert_eq!(
        server.attribute("http.route"),
        Some("/tenants/{tenant_slug}/agents/{agent_id}")
    );
    assert_eq!(server.attribute("http.response.status_code"), Some("200"));
    assert_eq!(
        server.attribute("url.path"),
        Some(format!("/tenants/demo/agents/{agent_id}").as_str())
    );
    assert!(
        spans.iter().any(|s| s.span_id == producer.parent_span_id),
        "the producer's parent is a span of identity's request: {}",
        show()
    );
    assert_eq!(
        producer.attribute("messaging.rabbitmq.destination.routing_key"),
        Some("identity.agent.disabled")
    );
    assert_eq!(producer.attribute("messaging.system"), Some("rabbitmq"));
    assert_eq!(consumer.parent_span_id, producer.span_id);
    assert_eq!(
        consumer.attribute("messaging.operation.type"),
        Some("process")
    );
    assert_eq!(
        consumer.attribute("messaging.rabbitmq.destination.routing_key"),
        Some("identity.agent.disabled")
    );

    // Over both transports.
    assert_eq!(server.transport, Transport::Grpc);
    assert_eq!(consumer.transport, Transport::HttpProtobuf);

    // Without a traceparent the gateway starts the trace, named by the request id it generated.
    let r = p
        .call(
            Method::GET,
            "/tenants/demo/agents",
            Some(&admin_token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let request_id = r.headers["x-request-id"].to_str().unwrap().to_owned();
    let spans = receiver
        .wait_for_trace(&request_id, Duration::from_secs(30), |spans| {
            find(spans, "identity", kind::SERVER).is_some()
        })
        .await;
    let server = find(&spans, "identity", kind::SERVER)
        .unwrap_or_else(|| panic!("no identity span in the trace {request_id}: {spans:#?}"));
    assert_eq!(server.parent_span_id, request_id[..16]);
}
