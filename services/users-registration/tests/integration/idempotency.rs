//! `Idempotency-Key` semantics across concurrency, bodies, replicas and requests in flight.

use std::time::Duration;

use diesel_async::{AsyncConnection, RunQueryDsl};
use reqwest::Method;

use crate::helpers::{EventTap, TestApp, collect, registration, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_posts_with_one_key_make_one_registration_one_event_identical_responses() {
    let mut tap = EventTap::bind("users.user.registered").await.unwrap();
    let app = TestApp::spawn().await;
    let replica = app.replica().await;
    let (email, doc) = unique();
    let body = registration(&email, &doc);
    let key = format!("concurrent-{}", uuid::Uuid::new_v4());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = if i % 2 == 0 {
            app.api.clone()
        } else {
            replica.clone()
        };
        let (body, key) = (body.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            api.call(
                Method::POST,
                "/registrations",
                None,
                Some(body),
                &[("Idempotency-Key", &key)],
            )
            .await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body, replies[0].body);
    }
    let replayed = replies
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 49, "exactly one request did the work");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("registrations").await, 1);
    assert_eq!(app.count("user_events").await, 1);
    let id = replies[0].body["registrationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = collect(&mut tap, Duration::from_secs(3), |e| {
        e["data"]["registrationId"] == id
    })
    .await;
    assert_eq!(events.len(), 1, "one event: {events:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_with_another_body_is_422_and_stores_nothing_new() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let first = app
        .register(registration(&email, &doc), Some("k-reuse"))
        .await;
    assert_eq!(first.status, 201);
    let (email2, doc2) = unique();
    let other = app
        .register(registration(&email2, &doc2), Some("k-reuse"))
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.body["error_code"], "idempotency_key_reused");
    assert_eq!(app.count("users").await, 1);
    // Key order and whitespace are not a different body.
    let mut reordered = serde_json::Map::new();
    let original = registration(&email, &doc);
    let mut keys: Vec<_> = original.as_object().unwrap().keys().cloned().collect();
    keys.reverse();
    for k in keys {
        reordered.insert(k.clone(), original[&k].clone());
    }
    let same = app
        .register(serde_json::Value::Object(reordered), Some("k-reuse"))
        .await;
    assert_eq!(same.status, 201);
    assert_eq!(same.body, first.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_held_by_a_request_in_flight_is_409_after_the_wait() {
    let app = TestApp::spawn_with(|c| c.idempotency_wait_seconds = 1).await;
    let (email, doc) = unique();
    let body = registration(&email, &doc);
    // Another replica's request in flight: an uncommitted claim of the key.
    let mut holder = app.conn().await;
    let fingerprint = tessera_users_registration::idempotency::fingerprint(&body);
    holder.begin_test_transaction().await.unwrap();
    tessera_users_registration::idempotency::claim(
        &mut holder,
        "k-in-flight",
        &fingerprint,
        chrono::Utc::now(),
        chrono::TimeDelta::hours(24),
        1,
    )
    .await
    .unwrap();
    let r = app.register(body.clone(), Some("k-in-flight")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error_code"], "conflict");
    assert_eq!(r.body["reason"], "idempotency_key_in_flight");
    assert_eq!(app.count("users").await, 0);
    // The holder gives up (rolls back): the key is free again and the retry succeeds.
    drop(holder);
    let retry = app.register(body, Some("k-in-flight")).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_not_stored_and_bad_keys_are_400() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    assert_eq!(
        app.register(registration(&email, &doc), None).await.status,
        201
    );
    // Same e-mail under a key: 409, and the key stays unused.
    let (_, doc2) = unique();
    let dup = app
        .register(registration(&email, &doc2), Some("k-dup"))
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["reason"], "email_already_registered");
    assert_eq!(app.count("idempotency_keys").await, 0);
    let (email3, _) = unique();
    let fixed = app
        .register(registration(&email3, &doc2), Some("k-dup"))
        .await;
    assert_eq!(
        fixed.status, 201,
        "nothing was stored under the key: {}",
        fixed.body
    );
    let long = "k".repeat(256);
    for key in [long.as_str(), "with space", ""] {
        let r = app.register(registration(&email3, &doc2), Some(key)).await;
        assert_eq!(r.status, 400, "{key:?}: {}", r.body);
        assert!(r.body["errors"]["Idempotency-Key"].is_array());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_key_can_be_claimed_again() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let first = app
        .register(registration(&email, &doc), Some("k-old"))
        .await;
    assert_eq!(first.status, 201);
    diesel::sql_query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let (email2, doc2) = unique();
    let second = app
        .register(registration(&email2, &doc2), Some("k-old"))
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(second.body["registrationId"], first.body["registrationId"]);
}

/// Issue #20: seed 004's own payload (no password) goes through the one-statement sign-up — a
/// retry is the stored answer, another body under the key is 422, a taken e-mail and a taken
/// document are 409 with nothing written, and the attachments, history row and event are there.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_less_sign_up_is_idempotent_and_writes_everything_or_nothing() {
    let mut tap = EventTap::bind("users.user.registered").await.unwrap();
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let mut body = registration(&email, &doc);
    body.as_object_mut().unwrap().remove("password");
    body["attachments"] = serde_json::json!([
        {"type": "car", "url": "https://files.example.com/car.pdf"},
        {"type": "ccir", "url": "https://files.example.com/ccir.pdf"}
    ]);
    let key = format!("seed-{}", uuid::Uuid::new_v4());
    let first = app.register(body.clone(), Some(&key)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = app.register(body.clone(), Some(&key)).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let mut other = body.clone();
    other["name"] = "Someone Else".into();
    let reused = app.register(other, Some(&key)).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(reused.body["error_code"], "idempotency_key_reused");

    let (other_email, other_doc) = unique();
    let mut same_email = body.clone();
    same_email["documentId"] = other_doc.clone().into();
    let taken = app.register(same_email, None).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.body["reason"], "email_already_registered");
    let mut same_doc = body.clone();
    same_doc["email"] = other_email.into();
    let taken = app.register(same_doc, None).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.body["reason"], "document_already_registered");

    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("registrations").await, 1);
    assert_eq!(app.count("user_attachments").await, 2);
    assert_eq!(app.count("user_events").await, 1);
    let id = first.body["registrationId"].as_str().unwrap().to_owned();
    let events = collect(&mut tap, Duration::from_secs(3), |e| {
        e["data"]["registrationId"] == id
    })
    .await;
    assert_eq!(events.len(), 1, "one event: {events:?}");
    assert_eq!(events[0]["data"]["userCandidate"]["email"], email.as_str());
}
