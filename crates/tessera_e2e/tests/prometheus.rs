//! Prometheus on the shipped configuration (issue #21): Debian's `prometheus` scrapes the
//! platform `make e2e` brought up with `deploy/prometheus/prometheus.yml` and its alert rules,
//! only the target file written here (the platform's addresses, in the form of
//! `deploy/prometheus/targets/compose.yml`).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure is a test failure"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tessera_e2e::{BINARIES as SERVICES, Platform};

/// Where this test's Prometheus listens.
const PROMETHEUS: &str = "127.0.0.1:18089";

async fn api(client: &reqwest::Client, path: &str) -> Value {
    client
        .get(format!("http://{PROMETHEUS}{path}"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the Prometheus API answers")
        .json()
        .await
        .unwrap()
}

/// `sum by (service) (<metric>)`'s services.
async fn services_with(client: &reqwest::Client, metric: &str) -> BTreeSet<String> {
    let q = api(
        client,
        &format!("/api/v1/query?query=count%20by%20(service)%20({metric})"),
    )
    .await;
    q["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"]["service"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the running platform: make e2e"]
async fn prometheus_scrapes_every_service_with_the_shipped_configuration() {
    let p = Platform::load();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/prometheus-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("targets")).unwrap();
    for file in ["prometheus.yml", "alerts.yml"] {
        std::fs::copy(root.join("deploy/prometheus").join(file), dir.join(file)).unwrap();
    }
    let mut targets = String::new();
    for service in SERVICES {
        let url = p.demo["services"][service]["url"].as_str().unwrap();
        let host = url.trim_start_matches("http://");
        targets.push_str(&format!(
            "- targets: [\"{host}\"]\n  labels: {{service: {service}}}\n"
        ));
    }
    std::fs::write(dir.join("targets/e2e.yml"), targets).unwrap();

    // Some traffic first, so the request histograms have series.
    let client = reqwest::Client::new();
    for service in SERVICES {
        let url = p.demo["services"][service]["url"].as_str().unwrap();
        let _ = client.get(format!("{url}/no-such-route")).send().await;
    }

    let binary = which_prometheus();
    let _prometheus = tokio::process::Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={PROMETHEUS}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus runs");

    // Every target scraped and up (the first scrape comes within one 15 s interval).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let targets = loop {
        let answer = client
            .get(format!("http://{PROMETHEUS}/api/v1/targets"))
            .send()
            .await;
        if let Ok(r) = answer
            && let Ok(body) = r.json::<Value>().await
        {
            let active = body["data"]["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if active.len() == SERVICES.len() && active.iter().all(|t| t["health"] == "up") {
                break active;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "targets not all up: {active:#?}"
            );
        } else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "Prometheus never answered"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let scraped: BTreeSet<&str> = targets
        .iter()
        .map(|t| t["labels"]["service"].as_str().unwrap())
        .collect();
    assert_eq!(scraped, SERVICES.into_iter().collect());

    // The conventions' names, on all six.
    let all: BTreeSet<String> = SERVICES.into_iter().map(str::to_owned).collect();
    for metric in [
        "http_server_request_duration_seconds_count",
        "http_server_requests_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ] {
        assert_eq!(services_with(&client, metric).await, all, "{metric}");
    }
    let five: BTreeSet<String> = all
        .iter()
        .filter(|s| *s != "gateway-auth")
        .cloned()
        .collect();
    for metric in [
        "outbox_oldest_event_age_seconds",
        "outbox_publish_lag_seconds_count",
        "db_client_connection_max",
        "broker_connected",
    ] {
        assert_eq!(services_with(&client, metric).await, five, "{metric}");
    }
    let down = api(&client, "/api/v1/query?query=up%20%3D%3D%200").await;
    assert_eq!(
        down["data"]["result"],
        Value::Array(vec![]),
        "no target down"
    );

    // The shipped rules are loaded.
    let rules = api(&client, "/api/v1/rules").await;
    let names: BTreeSet<&str> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains("TesseraInstanceDown") && names.contains("TesseraDeadLetters"));
    assert!(names.len() >= 8, "{names:?}");
}

/// Debian's `prometheus` (`.ci/run` installs it).
fn which_prometheus() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .expect("prometheus is not installed: apt-get install prometheus")
}
