//! Issue #20: a binding suspended by a role revocation comes back when identity assigns the
//! role again — only that one; an operator's suspension and an agent's disablement stay. Events
//! are published on the real RabbitMQ and consumed by the running service.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_credential_broker::db::schema::bindings;
use tessera_events::EventEnvelope;
use tessera_events::broker::{Publisher, header_table};
use tessera_events::testing::amqp_url;
use uuid::Uuid;

use crate::helpers::{TestApp, put_binding};

const ADMIN: &str = "test-admin-token-0123456789";

/// `(status, suspended_by, suspended_roles)` of a binding.
async fn state_of(app: &TestApp, sandbox: &str) -> (String, Option<String>, Option<Vec<String>>) {
    bindings::table
        .find(sandbox)
        .select((
            bindings::status,
            bindings::suspended_by,
            bindings::suspended_roles,
        ))
        .first(&mut app.conn().await)
        .await
        .unwrap()
}

/// Publishes one identity event (the same id on every try: the consumer handles it once) until
/// the consumer recorded it as processed.
async fn deliver(app: &TestApp, publisher: &Publisher, exchange: &str, kind: &str, data: Value) {
    #[expect(clippy::disallowed_methods, reason = "the test's own clock")]
    let now = chrono::Utc::now();
    let event = EventEnvelope::new("identity", kind, data, None, now);
    let body = serde_json::to_vec(&event).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        publisher
            .publish_confirmed(
                exchange,
                kind,
                &event.id.to_string(),
                &body,
                header_table([]),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done: i64 =
            diesel::sql_query("SELECT count(*) AS n FROM processed_events WHERE event_id = $1")
                .bind::<diesel::sql_types::Uuid, _>(event.id)
                .get_result::<Count>(&mut app.conn().await)
                .await
                .unwrap()
                .n;
        if done == 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind} was never processed"
        );
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_role_suspends_and_its_reassignment_restores_only_those_bindings() {
    let queue = format!(
        "credential-broker.identity.test-{}",
        Uuid::new_v4().simple()
    );
    // A private exchange: only this test's events reach its consumer.
    let exchange = tessera_events::testing::private_exchange();
    let app = TestApp::spawn_with(|c| {
        c.broker_identity_queue = queue.clone();
        c.base.events_exchange = Some(exchange.clone());
    })
    .await;
    let agent = Uuid::new_v4();
    put_binding(&app, "sb-by-role", agent).await;
    put_binding(&app, "sb-by-operator", agent).await;
    let r = app
        .api
        .call(
            Method::POST,
            "/api/bindings/sb-by-operator/suspend",
            Some(ADMIN),
            Some(json!({"reason": "under review"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let publisher = Publisher::connect(&amqp_url(), "test-identity-roles", &exchange)
        .await
        .unwrap();
    let role = |kind: &str, role: &str| {
        (
            kind.to_owned(),
            json!({"tenant": "acme", "agentId": agent, "role": role}),
        )
    };

    let (k, d) = role("identity.role.revoked", "sandbox-user");
    deliver(&app, &publisher, &exchange, &k, d).await;
    assert_eq!(
        state_of(&app, "sb-by-role").await,
        (
            "suspended".to_owned(),
            Some("role_revoked".to_owned()),
            Some(vec!["sandbox-user".to_owned()])
        )
    );
    let denied = app
        .request(
            "sb-by-role",
            "graph.microsoft.com",
            &[crate::helpers::GRAPH_SCOPE],
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["reason"], "binding_inactive");

    // A second revoked role: both must come back.
    let (k, d) = role("identity.role.revoked", "billing");
    deliver(&app, &publisher, &exchange, &k, d).await;
    let (k, d) = role("identity.role.assigned", "sandbox-user");
    deliver(&app, &publisher, &exchange, &k, d).await;
    assert_eq!(
        state_of(&app, "sb-by-role").await,
        (
            "suspended".to_owned(),
            Some("role_revoked".to_owned()),
            Some(vec!["billing".to_owned()])
        )
    );
    let (k, d) = role("identity.role.assigned", "billing");
    deliver(&app, &publisher, &exchange, &k, d).await;
    assert_eq!(
        state_of(&app, "sb-by-role").await,
        ("active".to_owned(), None, None)
    );
    let back = app
        .request(
            "sb-by-role",
            "graph.microsoft.com",
            &[crate::helpers::GRAPH_SCOPE],
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    // The operator's suspension never moved.
    assert_eq!(
        state_of(&app, "sb-by-operator").await,
        ("suspended".to_owned(), Some("operator".to_owned()), None)
    );

    // A disabled agent's bindings stay suspended whatever role comes back.
    let (k, d) = role("identity.role.revoked", "sandbox-user");
    deliver(&app, &publisher, &exchange, &k, d).await;
    deliver(
        &app,
        &publisher,
        &exchange,
        "identity.agent.disabled",
        json!({"tenant": "acme", "agentId": agent}),
    )
    .await;
    let (k, d) = role("identity.role.assigned", "sandbox-user");
    deliver(&app, &publisher, &exchange, &k, d).await;
    assert_eq!(
        state_of(&app, "sb-by-role").await,
        (
            "suspended".to_owned(),
            Some("agent_disabled".to_owned()),
            None
        )
    );
    // An operator brings it back.
    let r = app
        .api
        .call(
            Method::POST,
            "/api/bindings/sb-by-role/reactivate",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert!(r.body.get("suspended_by").is_none(), "{}", r.body);

    tessera_events::testing::delete_queues(&queue, 5).await;
    publisher.close().await;
}
