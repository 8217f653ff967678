//! `identity.agent.disabled` published on RabbitMQ suspends the agent's bindings; the next
//! token request is denied.

use std::time::Duration;

use serde_json::json;
use tessera_events::EventEnvelope;
use tessera_events::broker::{Publisher, header_table};
use tessera_events::testing::amqp_url;

use crate::helpers::{GRAPH_SCOPE, TestApp};

#[tokio::test]
async fn identity_agent_disabled_suspends_the_agents_bindings() {
    let queue = format!(
        "credential-broker.identity.test-{}",
        uuid::Uuid::new_v4().simple()
    );
    // A private exchange: only this test's events reach its consumer.
    let exchange = tessera_events::testing::private_exchange();
    let app = TestApp::spawn_with(|c| {
        c.broker_identity_queue = queue.clone();
        c.base.events_exchange = Some(exchange.clone());
    })
    .await;
    let agent = app.bind("sb-of-disabled-agent").await;
    app.bind("sb-of-someone-else").await;
    assert_eq!(
        app.request(
            "sb-of-disabled-agent",
            "graph.microsoft.com",
            &[GRAPH_SCOPE]
        )
        .await
        .status,
        200
    );

    let publisher = Publisher::connect(&amqp_url(), "test-identity", &exchange)
        .await
        .unwrap();
    let event = EventEnvelope::new(
        "identity",
        "identity.agent.disabled",
        json!({"tenant": "acme", "agentId": agent}),
        Some("req-disable-1".into()),
        chrono::Utc::now(),
    );
    let body = serde_json::to_vec(&event).unwrap();
    // The consumer declares its queue when it starts: publish until it has taken effect.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        publisher
            .publish_confirmed(
                &exchange,
                "identity.agent.disabled",
                &event.id.to_string(),
                &body,
                header_table([]),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = app
            .request(
                "sb-of-disabled-agent",
                "graph.microsoft.com",
                &[GRAPH_SCOPE],
            )
            .await;
        if r.status == 403 {
            assert_eq!(r.body["reason"], "binding_inactive");
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the binding was never suspended"
        );
    }
    // Only that agent's bindings.
    assert_eq!(
        app.request("sb-of-someone-else", "graph.microsoft.com", &[GRAPH_SCOPE])
            .await
            .status,
        200
    );
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use tessera_credential_broker::db::schema::bindings;
        let mut c = app.conn().await;
        let (status, reason): (String, Option<String>) = bindings::table
            .find("sb-of-disabled-agent")
            .select((bindings::status, bindings::status_reason))
            .first(&mut c)
            .await
            .unwrap();
        assert_eq!(status, "suspended");
        assert!(reason.unwrap().contains("identity.agent.disabled"));
    }
    // Counted once (later copies the loop above published are duplicates). Polled: the
    // counter moves when the delivery is acknowledged, just after the binding changed.
    let processed = format!(
        "events_consumed_total{{messaging_destination_name=\"{queue}\",outcome=\"processed\",service=\"credential-broker\"}}"
    );
    let mut text = String::new();
    for _ in 0..50 {
        let metrics = app
            .api
            .call(reqwest::Method::GET, "/metrics", None, None, &[])
            .await;
        text = metrics.body.as_str().unwrap().to_owned();
        if tessera_testkit::metrics::sample(&text, &processed) >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        tessera_testkit::metrics::sample(&text, &processed),
        1.0,
        "{text}"
    );
    let text = text.as_str();
    tessera_testkit::metrics::assert_catalogued("credential-broker", text);
    // Tidy the broker: this test's queues.
    tessera_events::testing::delete_queues(&queue, 5).await;
    publisher.close().await;
}
