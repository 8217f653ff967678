//! The upstream token appears in the response and nowhere else: not in the service's logs
//! (the real binary, debug level), the audit log, or the published events.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::json;
use tessera_db::testing::TestDatabase;
use tessera_events::testing::amqp_url;
use tessera_testkit::{Api, EventTap};

use crate::helpers::{CALLER, GRAPH_SCOPE, GRAPH_TOKEN};

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

#[tokio::test]
async fn the_token_never_reaches_logs_audit_rows_or_events() {
    let db = TestDatabase::new(
        "credential-broker",
        tessera_credential_broker::startup::MIGRATIONS,
    )
    .await
    .unwrap();
    let log = tempfile_path();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_credential-broker"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_ENV", "testing")
        .env("APP_HOST", "127.0.0.1")
        .env("APP_PORT", "0")
        .env("RUN_MIGRATIONS", "false")
        .env("DATABASE_URL", db.url())
        .env("AMQP_URL", amqp_url())
        .env("RUST_LOG", "debug")
        .env("BROKER_CALLER_TOKEN", CALLER)
        .env(
            "BROKER_AUDIT_HMAC_KEY",
            "test-audit-hmac-key-0123456789abcdef",
        )
        .env("BROKER_IDENTITY_QUEUE", "")
        .env(
            "WALLET_STATIC_TOKENS",
            format!("graph.microsoft.com={GRAPH_TOKEN}"),
        )
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let port = wait_for_port(&log).await;
    let api = Api::new(format!("http://127.0.0.1:{port}"));
    {
        let mut c =
            <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(db.url())
                .await
                .unwrap();
        tessera_credential_broker::db::bindings::put_binding(
            &mut c,
            "sb-secret",
            "acme",
            uuid::Uuid::new_v4(),
            None,
            &[("graph.microsoft.com".into(), vec![GRAPH_SCOPE.into()])],
        )
        .await
        .unwrap();
    }
    let mut tap = EventTap::bind("credential-broker.token.requested")
        .await
        .unwrap();
    let body = json!({"sandbox_id": "sb-secret", "upstream_host": "graph.microsoft.com", "scopes": [GRAPH_SCOPE]});
    let r = api
        .call(
            reqwest::Method::POST,
            "/api/token",
            Some(CALLER),
            Some(body.clone()),
            &[("x-request-id", "req-secret-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["access_token"], GRAPH_TOKEN,
        "the grep below looks for what the response carried"
    );
    let refused = json!({"sandbox_id": "sb-secret", "upstream_host": "graph.microsoft.com", "scopes": ["Mail.Send"]});
    assert_eq!(
        api.call(
            reqwest::Method::POST,
            "/api/token",
            Some(CALLER),
            Some(refused),
            &[]
        )
        .await
        .status,
        403
    );

    // Events: the issued one arrives, with the outcome and without the token.
    let (event, _) = tap
        .next_matching(Duration::from_secs(10), |e| {
            e["request_id"] == "req-secret-1"
        })
        .await
        .expect("token.requested event");
    assert_eq!(event["data"]["outcome"], "issued");
    assert_eq!(event["data"]["sandboxId"], "sb-secret");
    assert!(!event.to_string().contains(GRAPH_TOKEN));

    // Audit rows, every column as text.
    let mut c =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(db.url())
            .await
            .unwrap();
    let rows: Vec<Text> = diesel::sql_query("SELECT a::text AS t FROM audit_log a")
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| !r.t.contains(GRAPH_TOKEN)),
        "token in the audit log"
    );

    // Logs of the real process, at debug level.
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("upstream token issued"),
        "the log was captured"
    );
    assert!(logs.contains("req-secret-1"));
    assert!(!logs.contains(GRAPH_TOKEN), "token in the logs");
    assert!(!logs.contains(CALLER), "caller credential in the logs");
    let _ = std::fs::remove_file(&log);
}

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "broker-log-{}.jsonl",
        uuid::Uuid::new_v4().simple()
    ))
}

async fn wait_for_port(log: &std::path::Path) -> u16 {
    for _ in 0..200 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("credential-broker listening"))
        {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            return v["port"].as_u64().unwrap() as u16;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the service did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}
