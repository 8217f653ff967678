//! The compose deployment's containers broken under the running platform (issue #18; `make
//! compose-e2e` runs these after the suite, one at a time, against deploy/docker-compose.yml
//! with deploy/compose/ci.yml over it). `COMPOSE_PROJECT` names the compose project and
//! `TEST_AMQP_URL` its RabbitMQ; the platform is the one of `demo.json`, reached through the
//! compose gateway.
#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{FieldTable, ShortString};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_e2e::{Platform, unique_id};

/// The compose project of `make compose-e2e`.
fn project() -> String {
    std::env::var("COMPOSE_PROJECT").expect("COMPOSE_PROJECT: run through make compose-e2e")
}

/// `docker …`; panics with its output when it fails.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The container of a compose service.
fn container(service: &str) -> String {
    let id = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", project()),
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ]);
    assert!(
        !id.is_empty() && !id.contains('\n'),
        "one {service} container: {id:?}"
    );
    id
}

/// `(started at, restart count)` of a container: changes when it was restarted.
fn started(id: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{.State.StartedAt}} {{.RestartCount}}",
        id,
    ])
}

/// One peer token of the demo's wl-a for wl-b through the gateway: `(status, jti)`.
async fn issue(http: &reqwest::Client, gateway: &str, key: &str) -> (u16, Option<String>) {
    tessera_e2e::issue_peer_token(http, gateway, "wl-a", "wl-b", key).await
}

/// A durable queue bound to the peer-token events: unlike a test's usual exclusive tap, it
/// outlives the broker's restart, so what the relay publishes after it is kept.
async fn durable_queue(amqp: &str, name: &str) {
    let conn = tessera_events::broker::connect(amqp, "compose-e2e")
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    tessera_events::broker::declare_exchange(&ch, tessera_events::EXCHANGE)
        .await
        .unwrap();
    ch.queue_declare(
        ShortString::from(name),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    tessera_events::broker::bind(
        &ch,
        name,
        tessera_events::EXCHANGE,
        "control-plane.peer_token.issued",
    )
    .await
    .unwrap();
    conn.close(200, "declared".into()).await.unwrap();
}

/// The deliveries of `queue` whose token is in `wanted`, until every one arrived (then one more
/// second for duplicates) or `secs` passed: (jti → event ids delivered for it, in order).
async fn drain(
    amqp: &str,
    queue: &str,
    wanted: &HashSet<String>,
    secs: u64,
) -> HashMap<String, Vec<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    // The broker is back on its port before it accepts logins: retry the connection.
    let conn = loop {
        match tessera_events::broker::connect(amqp, "compose-e2e").await {
            Ok(c) => break c,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("broker not back yet: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("the broker did not come back: {e}"),
        }
    };
    let ch = conn.create_channel().await.unwrap();
    let mut consumer = ch
        .basic_consume(
            ShortString::from(queue),
            ShortString::from("compose-e2e"),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut until = deadline;
    while let Ok(Some(delivery)) = tokio::time::timeout(
        until.saturating_duration_since(tokio::time::Instant::now()),
        consumer.next(),
    )
    .await
    {
        let delivery = delivery.unwrap();
        let event: Value = serde_json::from_slice(&delivery.data).unwrap();
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        let jti = event["data"]["jti"].as_str().unwrap_or_default().to_owned();
        if wanted.contains(&jti) {
            seen.entry(jti)
                .or_default()
                .push(event["id"].as_str().unwrap().to_owned());
        }
        if seen.len() == wanted.len() && until == deadline {
            until = tokio::time::Instant::now() + Duration::from_secs(1);
        }
    }
    ch.queue_delete(ShortString::from(queue), QueueDeleteOptions::default())
        .await
        .unwrap();
    seen
}

/// RabbitMQ's container stops under peer-token load through the gateway and starts again: no
/// request fails (the outbox holds the events, readiness does not depend on the broker), and
/// every issued token's event arrives, as one event (one id) per token. A redelivery of the same
/// event is at-least-once delivery (consumers deduplicate by id), reported, not a failure.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the compose platform: make compose-e2e"]
async fn the_rabbitmq_container_stops_under_load_and_no_request_fails_nor_event_is_lost() {
    let p = Platform::load();
    let amqp = tessera_events::testing::amqp_url();
    let gateway = p.demo["services"]["gateway"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = p
        .credential("control-plane.wl-a.api_key")
        .as_str()
        .unwrap()
        .to_owned();
    let queue = unique_id("compose-e2e-peer-tokens");
    durable_queue(&amqp, &queue).await;

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (gateway, key, stop) = (gateway.clone(), key.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut out = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    out.push(issue(&http, &gateway, &key).await);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                out
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rabbitmq = container("rabbitmq");
    docker(&["stop", "-t", "10", &rabbitmq]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    docker(&["start", &rabbitmq]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }

    let failed: Vec<_> = outcomes.iter().filter(|o| o.0 != 201).take(5).collect();
    assert!(failed.is_empty(), "every request succeeded: {failed:?}");
    let issued: HashSet<String> = outcomes.into_iter().filter_map(|o| o.1).collect();
    assert!(issued.len() > 20, "load produced {} tokens", issued.len());

    let seen = drain(&amqp, &queue, &issued, 120).await;
    let missing: Vec<_> = issued
        .iter()
        .filter(|j| !seen.contains_key(*j))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} events lost, e.g. {missing:?}",
        issued.len() - seen.len(),
        issued.len()
    );
    for (jti, ids) in &seen {
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 1, "one event for token {jti}: {ids:?}");
    }
    let redelivered = seen.values().filter(|ids| ids.len() > 1).count();
    eprintln!(
        "{} tokens, every event delivered; {redelivered} redelivered",
        issued.len()
    );
}

/// PostgreSQL's container restarts under the running platform: every service turns ready again
/// by itself (no container restarted), and a peer token and a login through the gateway work.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the compose platform: make compose-e2e"]
async fn the_postgresql_container_restarts_and_the_services_recover_without_a_restart() {
    let p = Platform::load();
    let services = tessera_e2e::SERVICES;
    let before: Vec<String> = services.iter().map(|s| started(&container(s))).collect();
    docker(&["restart", "-t", "10", &container("postgres")]);

    let http = reqwest::Client::new();
    for s in services {
        let url = format!("{}/readyz", p.demo["services"][s]["url"].as_str().unwrap());
        p.eventually(90, &format!("{s} ready again"), || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
    }
    let gateway = p.demo["services"]["gateway"]["url"].as_str().unwrap();
    let key = p.credential("control-plane.wl-a.api_key").as_str().unwrap();
    assert_eq!(issue(&http, gateway, key).await.0, 201);
    let agent = p.credential("identity.demo.agent").clone();
    let r = p
        .call(
            Method::POST,
            "/tenants/demo/login",
            None,
            Some(json!({"email": agent["email"], "password": agent["password"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let after: Vec<String> = services.iter().map(|s| started(&container(s))).collect();
    assert_eq!(before, after, "no service container restarted");
}
