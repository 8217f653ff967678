//! Outbox, relay and consumer against the real PostgreSQL and RabbitMQ.

#![expect(clippy::unwrap_used, reason = "test code")]
#![expect(clippy::disallowed_methods, reason = "tests run in real time")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{FieldTable, ShortString};
use tessera_db::testing::TestDatabase;
use tessera_db::{DbPool, PoolSettings, build_pool};
use tessera_events::broker::{Publisher, connect};
use tessera_events::relay::pending_count;
use tessera_events::testing::{Recorder, TcpProxy, amqp_url};
use tessera_events::{
    Consumer, ConsumerConfig, EXCHANGE, EventEnvelope, EventHandler, MIGRATIONS, OutboxMessage,
    OutboxWriter, Relay, RelayConfig, outbox,
};

static ALL: &[diesel_migrations::EmbeddedMigrations] = &[MIGRATIONS];

async fn db() -> (TestDatabase, DbPool) {
    let db = TestDatabase::new("events", ALL).await.unwrap();
    let pool = build_pool(db.url(), PoolSettings::default()).unwrap();
    (db, pool)
}

fn event(key: &str, n: u32) -> EventEnvelope {
    EventEnvelope::new(
        "test",
        key,
        serde_json::json!({ "n": n }),
        Some(format!("req-{n}")),
        chrono::Utc::now(),
    )
}

async fn observe(key: &str) -> (lapin::Connection, lapin::Consumer) {
    tessera_events::testing::tap(&amqp_url(), key)
        .await
        .unwrap()
}

/// A fresh database, a fresh routing key `test.<random>.<action>` and a queue bound to it.
async fn observed(
    action: &str,
) -> (
    TestDatabase,
    DbPool,
    String,
    lapin::Connection,
    lapin::Consumer,
) {
    let (db, pool) = db().await;
    let key = format!("test.{}.{action}", uuid::Uuid::new_v4().simple());
    let (conn, rx) = observe(&key).await;
    (db, pool, key, conn, rx)
}

/// A relay and a group-commit writer whose broker connection goes through a cuttable proxy.
async fn relay_behind_proxy(
    pool: &DbPool,
) -> (TcpProxy, tessera_events::RelayHandle, OutboxWriter) {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let mut cfg = RelayConfig::new(proxy.amqp_url(), "test");
    cfg.max_backoff = Duration::from_millis(300);
    cfg.poll_interval = Duration::from_millis(200);
    let relay = Relay::new(pool.clone(), cfg).spawn();
    let writer = OutboxWriter::spawn(pool.clone(), relay.notifier(), 64, 2);
    (proxy, relay, writer)
}

async fn next_delivery(
    consumer: &mut lapin::Consumer,
    within: Duration,
) -> Option<lapin::message::Delivery> {
    let d = tokio::time::timeout(within, consumer.next())
        .await
        .ok()??
        .ok()?;
    d.ack(BasicAckOptions::default()).await.ok()?;
    Some(d)
}

/// Every outbox row has been published and deleted; then the relay stops.
async fn assert_drained_and_stop(pool: &DbPool, relay: tessera_events::RelayHandle) {
    let mut conn = pool.get().await.unwrap();
    assert_eq!(pending_count(&mut conn).await.unwrap(), 0);
    relay.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_publishes_outbox_rows_with_the_contract_properties() {
    let (_db, pool, key, _obs, mut rx) = observed("created").await;
    let ev = event(&key, 1);
    let mut trace = HashMap::new();
    trace.insert(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    );
    let msg = OutboxMessage::new(&ev, trace).unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        outbox::enqueue(&mut conn, &[msg]).await.unwrap();
    }
    let relay = Relay::new(pool.clone(), RelayConfig::new(amqp_url(), "test")).spawn();
    let d = next_delivery(&mut rx, Duration::from_secs(10))
        .await
        .expect("delivered");
    let p = &d.properties;
    assert_eq!(
        p.message_id().as_ref().map(|s| s.as_str().to_owned()),
        Some(ev.id.to_string())
    );
    assert_eq!(
        p.content_type()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .as_deref(),
        Some("application/json")
    );
    assert_eq!(*p.delivery_mode(), Some(2), "persistent");
    let headers = p.headers().clone().unwrap();
    let get = |k: &str| match headers.inner().get(&ShortString::from(k)) {
        Some(lapin::types::AMQPValue::LongString(s)) => Some(s.to_string()),
        _ => None,
    };
    assert!(get("x-request-id").unwrap().contains("req-1"));
    assert!(
        get("traceparent")
            .unwrap()
            .contains("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    let body: EventEnvelope = serde_json::from_slice(&d.data).unwrap();
    assert_eq!(body, ev);
    // Deleted once confirmed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_drained_and_stop(&pool, relay).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_round_of_hundreds_of_rows_is_published_once_each_with_its_own_confirm() {
    let (_db, pool, key, _obs, mut rx) = observed("bulk").await;
    let events: Vec<EventEnvelope> = (0..600).map(|n| event(&key, n)).collect();
    {
        let rows: Vec<OutboxMessage> = events
            .iter()
            .map(|e| OutboxMessage::new(e, HashMap::new()).unwrap())
            .collect();
        let mut conn = pool.get().await.unwrap();
        outbox::enqueue(&mut conn, &rows).await.unwrap();
    }
    let relay = Relay::new(pool.clone(), RelayConfig::new(amqp_url(), "test")).spawn();
    let mut seen = HashMap::new();
    while seen.len() < events.len() {
        let d = next_delivery(&mut rx, Duration::from_secs(10))
            .await
            .expect("every row delivered");
        let body: EventEnvelope = serde_json::from_slice(&d.data).unwrap();
        let message_id = d.properties.message_id().as_ref().unwrap().to_string();
        assert_eq!(
            message_id,
            body.id.to_string(),
            "message_id is the event id"
        );
        *seen.entry(body.id).or_insert(0) += 1;
    }
    assert!(events.iter().all(|e| seen.get(&e.id) == Some(&1)));
    // Nothing more arrives, and every row is gone once confirmed.
    assert!(
        next_delivery(&mut rx, Duration::from_millis(500))
            .await
            .is_none()
    );
    assert_drained_and_stop(&pool, relay).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_written_while_the_broker_is_unreachable_are_delivered_when_it_returns() {
    let (_db, pool, key, _obs, mut rx) = observed("created").await;
    let (proxy, relay, writer) = relay_behind_proxy(&pool).await;
    proxy.cut();
    let ev = event(&key, 7);
    writer
        .write(OutboxMessage::new(&ev, HashMap::new()).unwrap())
        .await
        .unwrap();
    assert!(
        next_delivery(&mut rx, Duration::from_secs(2))
            .await
            .is_none(),
        "broker is cut off"
    );
    assert!(!relay.is_connected());
    {
        let mut conn = pool.get().await.unwrap();
        assert_eq!(
            pending_count(&mut conn).await.unwrap(),
            1,
            "kept in the outbox"
        );
    }
    proxy.restore();
    let d = next_delivery(&mut rx, Duration::from_secs(15))
        .await
        .expect("delivered after the broker returned");
    let body: EventEnvelope = serde_json::from_slice(&d.data).unwrap();
    assert_eq!(body.id, ev.id);
    assert!(
        next_delivery(&mut rx, Duration::from_millis(500))
            .await
            .is_none(),
        "exactly once here"
    );
    relay.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_mid_session_is_survived() {
    let (_db, pool, key, _obs, mut rx) = observed("created").await;
    let (proxy, relay, writer) = relay_behind_proxy(&pool).await;
    writer
        .write(OutboxMessage::new(&event(&key, 1), HashMap::new()).unwrap())
        .await
        .unwrap();
    assert!(
        next_delivery(&mut rx, Duration::from_secs(10))
            .await
            .is_some()
    );
    proxy.cut();
    writer
        .write(OutboxMessage::new(&event(&key, 2), HashMap::new()).unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();
    let d = next_delivery(&mut rx, Duration::from_secs(15))
        .await
        .expect("second event after reconnect");
    let body: EventEnvelope = serde_json::from_slice(&d.data).unwrap();
    assert_eq!(body.data["n"], 2);
    relay.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_commit_stores_every_concurrent_write() {
    let (_db, pool) = db().await;
    let writer = OutboxWriter::spawn(pool.clone(), Arc::new(tokio::sync::Notify::new()), 32, 4);
    let tasks: Vec<_> = (0..300)
        .map(|n| {
            let w = writer.clone();
            tokio::spawn(async move {
                w.write(OutboxMessage::new(&event("test.x.y", n), HashMap::new()).unwrap())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let mut conn = pool.get().await.unwrap();
    assert_eq!(pending_count(&mut conn).await.unwrap(), 300);
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    autovacuum: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn autovacuum_enabled_reads_the_servers_setting() {
    use diesel_async::RunQueryDsl;
    let (_db, pool) = db().await;
    let mut conn = pool.get().await.unwrap();
    let shown: Setting = diesel::sql_query("SHOW autovacuum")
        .get_result(&mut conn)
        .await
        .unwrap();
    let expected = match shown.autovacuum.as_str() {
        "on" => true,
        "off" => false,
        other => panic!("SHOW autovacuum said {other:?}"),
    };
    assert_eq!(
        tessera_events::relay::autovacuum_enabled(&mut conn)
            .await
            .unwrap(),
        expected
    );
}

fn consumer_config(key: &str, max_attempts: u32) -> ConsumerConfig {
    let mut cfg = ConsumerConfig::new(
        amqp_url(),
        format!("test-{}", uuid::Uuid::new_v4().simple()),
        vec![key.to_owned()],
    );
    cfg.max_attempts = max_attempts;
    cfg.base_backoff = Duration::from_millis(100);
    cfg
}

async fn publish(ev: &EventEnvelope) {
    let p = Publisher::connect(&amqp_url(), "test-publisher", EXCHANGE)
        .await
        .unwrap();
    p.publish_confirmed(
        EXCHANGE,
        &ev.kind,
        &ev.id.to_string(),
        &serde_json::to_vec(ev).unwrap(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    p.close().await;
}

/// A consumer of a fresh routing key whose handler fails its first `fail_first` calls.
async fn flaky_consumer(
    max_attempts: u32,
    fail_first: u32,
) -> (
    TestDatabase,
    String,
    ConsumerConfig,
    Arc<Recorder>,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (db, pool) = db().await;
    let key = format!("test.{}.happened", uuid::Uuid::new_v4().simple());
    let cfg = consumer_config(&key, max_attempts);
    let calls = Arc::new(Recorder::failing_first(fail_first));
    let handler = Arc::clone(&calls) as Arc<dyn EventHandler>;
    let (stop, task) = Consumer::new(pool, cfg.clone(), handler).spawn();
    (db, key, cfg, calls, stop, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_processes_each_event_id_once_and_retries_failures() {
    let (_db, key, cfg, calls, stop, task) = flaky_consumer(5, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // queue declared
    let ev = event(&key, 1);
    publish(&ev).await;
    assert!(
        calls.wait_for_calls(3, Duration::from_secs(10)).await,
        "two failures, then success"
    );
    // The same event again (at-least-once delivery): acknowledged without a new call.
    publish(&ev).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls.calls(), 3);
    let _ = stop.send(true);
    let _ = task.await;
    tessera_events::testing::delete_consumer_queues(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_dead_letters_after_max_attempts() {
    let (_db, key, cfg, calls, stop, task) = flaky_consumer(3, u32::MAX).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ev = event(&key, 9);
    publish(&ev).await;
    assert!(calls.wait_for_calls(3, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls.calls(), 3, "no fourth attempt");
    let conn = connect(&amqp_url(), "dlq-reader").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let got = ch
        .basic_get(
            ShortString::from(cfg.dead_letter_queue()),
            BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("a dead letter");
    let body: EventEnvelope = serde_json::from_slice(&got.delivery.data).unwrap();
    assert_eq!(body.id, ev.id);
    let headers = got.delivery.properties.headers().clone().unwrap();
    let last_error = match headers.inner().get(&ShortString::from("x-last-error")) {
        Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("no x-last-error: {other:?}"),
    };
    assert!(last_error.contains("failure 3"), "{last_error}");
    let _ = stop.send(true);
    let _ = task.await;
    tessera_events::testing::delete_consumer_queues(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_is_not_an_event_goes_straight_to_the_dead_letter_queue() {
    let (_db, key, cfg, calls, stop, task) = flaky_consumer(3, 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = Publisher::connect(&amqp_url(), "test-publisher", EXCHANGE)
        .await
        .unwrap();
    p.publish_confirmed(EXCHANGE, &key, "poison", b"not json", FieldTable::default())
        .await
        .unwrap();
    let conn = connect(&amqp_url(), "dlq-reader").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut found = None;
    for _ in 0..40 {
        if let Some(m) = ch
            .basic_get(
                ShortString::from(cfg.dead_letter_queue()),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            found = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found.expect("dead-lettered").delivery.data, b"not json");
    assert_eq!(calls.calls(), 0);
    let _ = stop.send(true);
    let _ = task.await;
    tessera_events::testing::delete_consumer_queues(&cfg).await;
}

/// `dlq list` shows dead letters without removing them; `dlq replay --id` moves one back and it
/// is processed exactly once; `dlq replay --all` moves the rest; nothing is left or doubled.
#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_and_replayed_once_each() {
    use tessera_events::dead_letters::{self, Replay};
    let (db, key, cfg, calls, stop, task) = flaky_consumer(2, 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (first, second) = (event(&key, 1), event(&key, 2));
    publish(&first).await;
    publish(&second).await;
    assert!(
        calls.wait_for_calls(4, Duration::from_secs(10)).await,
        "two attempts each"
    );
    let listed = loop {
        let listed = dead_letters::list(&amqp_url(), &cfg.queue, 10)
            .await
            .unwrap();
        if listed.len() == 2 {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ids: Vec<&str> = listed.iter().map(|l| l.event_id.as_str()).collect();
    assert!(ids.contains(&first.id.to_string().as_str()), "{listed:?}");
    assert_eq!(listed[0].attempts, Some(2));
    assert!(listed.iter().all(|l| {
        l.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("failure"))
    }));
    assert_eq!(listed[0].event_type.as_deref(), Some(key.as_str()));
    // Listing removed nothing.
    assert_eq!(
        dead_letters::list(&amqp_url(), &cfg.queue, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let moved = dead_letters::replay(
        &amqp_url(),
        &cfg.queue,
        &Replay::Ids(vec![first.id.to_string()]),
    )
    .await
    .unwrap();
    assert_eq!(moved, vec![first.id.to_string()]);
    assert!(
        calls.wait_for_calls(5, Duration::from_secs(10)).await,
        "processed on replay"
    );
    let left = dead_letters::list(&amqp_url(), &cfg.queue, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event_id, second.id.to_string());

    let moved = dead_letters::replay(&amqp_url(), &cfg.queue, &Replay::All)
        .await
        .unwrap();
    assert_eq!(moved, vec![second.id.to_string()]);
    assert!(calls.wait_for_calls(6, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls.calls(), 6, "each replayed event handled once");
    assert!(
        dead_letters::list(&amqp_url(), &cfg.queue, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        dead_letters::replay(&amqp_url(), &cfg.queue, &Replay::All)
            .await
            .unwrap()
            .is_empty()
    );
    // Processed exactly once each: one processed_events row per event.
    let mut conn = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(db.url())
        .await
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM processed_events"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(n.n, 2);
    let _ = stop.send(true);
    let _ = task.await;
    tessera_events::testing::delete_consumer_queues(&cfg).await;
}

/// A test's private exchange goes with its last binding (auto-delete), so a consumer that
/// declares it again while the test tidies up leaves nothing behind; the shared exchange does
/// not (durable, never auto-deleted).
#[tokio::test]
async fn a_private_exchange_goes_with_its_last_queue_and_the_shared_one_stays() {
    use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
    let exists = |name: String| async move {
        let conn = connect(&amqp_url(), "test-exchange-probe").await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        let passive = ch
            .exchange_declare(
                ShortString::from(name),
                lapin::ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        let _ = conn.close(200, ShortString::from("done")).await;
        passive.is_ok()
    };
    let exchange = tessera_events::testing::private_exchange();
    let publisher = Publisher::connect(&amqp_url(), "test-private", &exchange)
        .await
        .unwrap();
    let ch = publisher.channel();
    let queue = ch
        .queue_declare(
            ShortString::from(""),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    tessera_events::broker::bind(ch, queue.name().as_str(), &exchange, "identity.*")
        .await
        .unwrap();
    assert!(exists(exchange.clone()).await, "declared and bound");
    ch.queue_delete(queue.name().clone(), Default::default())
        .await
        .unwrap();
    assert!(
        !exists(exchange.clone()).await,
        "{exchange} outlived its last binding"
    );
    assert!(exists(EXCHANGE.to_owned()).await);
    publisher.close().await;
}
