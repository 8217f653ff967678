//! `PEER_TOKEN_ISSUED` reaches RabbitMQ, also when the broker was away at issuance time.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_events::testing::TcpProxy;

use crate::helpers::{EventTap, TestApp, segment};

const KEY: &str = "control-plane.peer_token.issued";

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_token_produces_its_event() {
    let mut tap = EventTap::bind(KEY).await;
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let rid = format!("ev-{}", uuid::Uuid::new_v4().simple());
    let r = app
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            Some(&seed.key_a),
            Some(json!({"targetWlId": "wl-b", "scopes": ["offers:sync", "trader:purchase"]})),
            &[("x-request-id", &rid)],
        )
        .await;
    assert_eq!(r.status, 201);
    let token = r.body["accessToken"].as_str().unwrap();
    let jti = segment(token, 1)["jti"].as_str().unwrap().to_owned();
    let (event, props) = tap
        .event_with_jti(&jti, Duration::from_secs(10))
        .await
        .expect("event delivered");
    assert_eq!(event["type"], KEY);
    assert_eq!(event["source"], "control-plane");
    assert_eq!(event["request_id"], rid.as_str());
    assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).is_ok());
    let data = &event["data"];
    assert_eq!(data["wlId"], "wl-a");
    assert_eq!(data["targetWlId"], "wl-b");
    assert_eq!(data["scopes"], json!(["offers:sync", "trader:purchase"]));
    assert_eq!(data["ttl"], 300);
    assert!(data["issuedAt"].is_string());
    assert_eq!(
        props.message_id().as_ref().map(|s| s.as_str().to_owned()),
        event["id"].as_str().map(str::to_owned)
    );
    assert_eq!(
        props
            .content_type()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .as_deref(),
        Some("application/json")
    );
    assert_eq!(*props.delivery_mode(), Some(2));
    assert!(!event.to_string().contains(token), "never the token");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_broker_unreachable_issuance_succeeds_and_the_event_follows_later() {
    let mut tap = EventTap::bind(KEY).await;
    let proxy = TcpProxy::broker_cut().await.unwrap();
    let url = proxy.amqp_url();
    let app = TestApp::spawn_with(move |c| c.base.amqp_url = url).await;
    let seed = app.seed().await;
    let r = app
        .peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]}),
        )
        .await;
    assert_eq!(r.status, 201, "issuance does not depend on the broker");
    let jti = segment(r.body["accessToken"].as_str().unwrap(), 1)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tap.event_with_jti(&jti, Duration::from_secs(2))
            .await
            .is_none()
    );
    // The outbox rides the outage out: still ready (issue #18), the broker's state reported in
    // /healthz and the broker_connected gauge.
    let ready = app.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let health = app.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(health.status, 200);
    assert_eq!(
        health.body["checks"]["broker"], "not connected",
        "{}",
        health.body
    );
    let metrics = app.call(Method::GET, "/metrics", None, None, &[]).await;
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("broker_connected{service=\"control-plane\"} 0"),
        "{}",
        metrics.body
    );
    proxy.restore();
    let (event, _) = tap
        .event_with_jti(&jti, Duration::from_secs(20))
        .await
        .expect("delivered once the broker is back");
    assert_eq!(event["data"]["wlId"], "wl-a");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app
        .call(Method::GET, "/healthz", None, None, &[])
        .await
        .body["checks"]["broker"]
        != "ok"
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker was never reported back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
