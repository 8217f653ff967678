//! Broker and notification outages: nothing is lost, nothing fails, nothing is dropped silently.

use std::collections::HashSet;
use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::types::{AMQPValue, ShortString};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_events::testing::TcpProxy;
use tessera_users_registration::auth::Role;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{EventTap, TestApp, registration, unique};

/// Collects events from `tap` until `expected` distinct ids arrived (or 30 s), then 2 s more
/// to catch duplicates; returns every delivery.
async fn drain(tap: &mut EventTap, expected: usize, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut out: Vec<Value> = Vec::new();
    let mut extra: Option<tokio::time::Instant> = None;
    loop {
        let now = tokio::time::Instant::now();
        let until = extra.unwrap_or(deadline);
        let Some(left) = until.checked_duration_since(now) else {
            break;
        };
        match tap.next_matching(left, &pred).await {
            Some((body, _)) => out.push(body),
            None => break,
        }
        let distinct: HashSet<String> = out.iter().map(|e| e["id"].to_string()).collect();
        if distinct.len() >= expected && extra.is_none() {
            extra = Some(tokio::time::Instant::now() + Duration::from_secs(2));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn with_rabbitmq_down_requests_succeed_and_every_event_arrives_once_afterwards() {
    let mut tap = EventTap::bind("users.user.*").await.unwrap();
    let proxy = TcpProxy::broker_cut().await.unwrap();
    let url = proxy.amqp_url();
    let app = TestApp::spawn_with(move |c| c.base.amqp_url = url).await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let mut registrations = HashSet::new();
    let mut users = HashSet::new();
    for i in 0..6 {
        let (registration_id, user, _, _) = app.producer().await;
        registrations.insert(registration_id);
        users.insert(user.to_string());
        let body = if i % 2 == 0 {
            json!({"status": "APPROVED"})
        } else {
            json!({"status": "REJECTED", "reason": "incomplete CAR"})
        };
        assert_eq!(app.set_status(&analyst, user, body).await.status, 200);
    }
    // Still ready while the broker is down (the outbox keeps the events; issue #18).
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "the broker is down: {}", ready.body);
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_ne!(health.body["checks"]["broker"], "ok", "{}", health.body);
    assert_eq!(app.count("outbox").await, 12);
    proxy.restore();
    let ours = |e: &Value| {
        e["data"]["registrationId"]
            .as_str()
            .is_some_and(|r| registrations.contains(r))
            || e["data"]["userId"]
                .as_str()
                .is_some_and(|u| users.contains(u))
    };
    let events = drain(&mut tap, 12, ours).await;
    let ids: Vec<String> = events.iter().map(|e| e["id"].to_string()).collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 12, "every event delivered: {events:?}");
    assert_eq!(ids.len(), 12, "exactly once per id");
    let kinds = |k: &str| events.iter().filter(|e| e["type"] == k).count();
    assert_eq!(kinds("users.user.registered"), 6);
    assert_eq!(kinds("users.user.approved"), 3);
    assert_eq!(kinds("users.user.rejected"), 3);
}

/// Calls to the stub whose body has `registrationId` = `id`.
async fn calls_for(server: &MockServer, id: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["registrationId"] == id)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_notification_endpoint_is_retried_then_dead_lettered() {
    let stub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/notify"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string("smtp relay down: secret-ish detail"),
        )
        .mount(&stub)
        .await;
    let url = format!("{}/notify", stub.uri());
    let app = TestApp::spawn_with(move |c| {
        c.notify_endpoint = Some(url);
        c.notify_max_attempts = 3;
        c.notify_backoff_ms = 100;
    })
    .await;
    let queue = app.config.notify_queue.clone();
    let (email, doc) = unique();
    let r = app.register(registration(&email, &doc), None).await;
    assert_eq!(r.status, 201, "the outage never fails the request");
    let id = r.body["registrationId"].as_str().unwrap().to_owned();
    // Three attempts (100 ms, then 200 ms apart), then the dead-letter queue.
    let conn = tessera_events::broker::connect(&tessera_events::testing::amqp_url(), "dlq-check")
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    // The queue is bound on the shared exchange, so another test's registration can be
    // dead-lettered here too (its notification meets this test's failing endpoint): skip those.
    let mut dead = None;
    for _ in 0..100 {
        match ch
            .basic_get(
                ShortString::from(format!("{queue}.dlq").as_str()),
                BasicGetOptions { no_ack: true },
            )
            .await
        {
            Ok(Some(m)) => {
                let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
                if body["data"]["registrationId"] == id.as_str() {
                    dead = Some((m, body));
                    break;
                }
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let (dead, body) = dead.expect("dead-lettered");
    assert_eq!(body["data"]["registrationId"], id.as_str());
    let headers = dead.delivery.properties.headers().clone().unwrap();
    let last_error = headers
        .inner()
        .get(&ShortString::from("x-last-error"))
        .cloned();
    let Some(AMQPValue::LongString(err)) = last_error else {
        unreachable!("x-last-error header: {headers:?}")
    };
    let err = err.to_string();
    assert!(err.contains("500"), "{err}");
    assert!(
        !err.contains("secret-ish"),
        "the endpoint's body is not copied: {err}"
    );
    assert_eq!(calls_for(&stub, &id).await, 3);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        calls_for(&stub, &id).await,
        3,
        "no attempt after dead-lettering"
    );
    // The registration itself is intact.
    assert_eq!(app.count("users").await, 1);
    // Counted: every dead letter (one per notification the registration sent) after two
    // retries, nothing processed. Polled: the last notification may still be in flight.
    let series = |text: &str, outcome: &str| {
        tessera_testkit::metrics::sample(
            text,
            &format!(
                "events_consumed_total{{messaging_destination_name=\"{queue}\",outcome=\"{outcome}\",service=\"users-registration\"}}"
            ),
        )
    };
    let mut text = String::new();
    for _ in 0..50 {
        let metrics = app.call(Method::GET, "/metrics", None, None).await;
        text = metrics.body.as_str().unwrap().to_owned();
        let dead = series(&text, "dead_lettered");
        if dead >= 1.0 && series(&text, "retried") == 2.0 * dead {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dead = series(&text, "dead_lettered");
    assert!(dead >= 1.0, "{text}");
    assert_eq!(series(&text, "retried"), 2.0 * dead, "{text}");
    assert_eq!(series(&text, "processed"), 0.0);
    let text = text.as_str();
    tessera_testkit::metrics::assert_catalogued("users-registration", text);
    tessera_events::testing::delete_queues(&queue, 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_endpoint_that_recovers_gets_the_notification_once() {
    let stub = MockServer::start().await;
    // The stub answers only this test's notifications: every test's consumer sees every test's
    // events on the shared exchange, and another test's registration must not use up the two
    // failures meant for this one.
    let (email, doc) = unique();
    Mock::given(method("POST"))
        .and(path("/notify"))
        .and(wiremock::matchers::body_string_contains(email.as_str()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&stub)
        .await;
    Mock::given(method("POST"))
        .and(path("/notify"))
        .and(wiremock::matchers::body_string_contains(email.as_str()))
        .respond_with(ResponseTemplate::new(202))
        .with_priority(2)
        .mount(&stub)
        .await;
    let url = format!("{}/notify", stub.uri());
    let app = TestApp::spawn_with(move |c| {
        c.notify_endpoint = Some(url);
        c.notify_max_attempts = 5;
        c.notify_backoff_ms = 100;
    })
    .await;
    let queue = app.config.notify_queue.clone();
    let r = app.register(registration(&email, &doc), None).await;
    let id = r.body["registrationId"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        if calls_for(&stub, &id).await >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        calls_for(&stub, &id).await,
        3,
        "two failures, one success, then nothing"
    );
    tessera_events::testing::delete_queues(&queue, 5).await;
}
