//! The shipped monitoring (issue #21), checked in `make test`: every metric the Prometheus
//! alert rules, the Kubernetes PrometheusRule and the Grafana dashboard query is one
//! `docs/metrics.md` documents, and the generated files are what their generators write.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| unreachable!("{rel}: {e}"))
}

/// Every documented metric name, with the series a histogram adds.
fn documented() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for service in tessera_e2e::BINARIES {
        for (name, kind) in tessera_testkit::metrics::catalogue(service) {
            if kind == "histogram" {
                for suffix in ["_bucket", "_count", "_sum"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            names.insert(name);
        }
    }
    // Prometheus's own per-target series.
    names.insert("up".to_owned());
    names
}

/// The identifiers of a PromQL expression that name metrics: every word outside quotes and
/// `{…}` selectors that is not a function, keyword or a label in `by (…)`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const PROMQL: [&str; 12] = [
        "sum",
        "by",
        "rate",
        "increase",
        "max",
        "min",
        "count",
        "histogram_quantile",
        "without",
        "on",
        "ignoring",
        "avg",
    ];
    let mut names = BTreeSet::new();
    let (mut depth_brace, mut in_quote, mut in_by) = (0, false, false);
    let mut word = String::new();
    let flush = |word: &mut String, in_by: bool, names: &mut BTreeSet<String>| {
        let w = std::mem::take(word);
        if !w.is_empty()
            && !in_by
            && !PROMQL.contains(&w.as_str())
            && !w.starts_with(|c: char| c.is_ascii_digit())
            && !w.starts_with('$')
        {
            names.insert(w);
        }
    };
    for c in expr.chars() {
        if in_quote {
            in_quote = c != '"';
            continue;
        }
        match c {
            '"' => in_quote = true,
            '{' => {
                flush(&mut word, in_by, &mut names);
                depth_brace += 1;
            }
            '}' => depth_brace -= 1,
            _ if depth_brace > 0 => {}
            c if c.is_ascii_alphanumeric() || c == '_' || c == '$' => word.push(c),
            _ => {
                let was_by = word == "by";
                flush(&mut word, in_by, &mut names);
                if was_by {
                    in_by = true;
                } else if c == ')' {
                    in_by = false;
                }
            }
        }
    }
    flush(&mut word, in_by, &mut names);
    // `[5m]` durations are dropped above as words starting with a digit.
    names
}

#[test]
fn the_parser_finds_metric_names_and_skips_labels_and_functions() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{service=~"$service"}[5m]))) > 0.5"#
        ),
        BTreeSet::from(["http_server_request_duration_seconds_bucket".to_owned()])
    );
    assert_eq!(
        metric_names(r#"max by (service) (broker_connected) == 0"#),
        BTreeSet::from(["broker_connected".to_owned()])
    );
}

#[test]
fn alert_rules_and_dashboard_query_only_documented_metrics() {
    let documented = documented();
    let mut exprs: Vec<(String, String)> = Vec::new();
    let rules: serde_json::Value =
        yaml_serde::from_str(&read("deploy/prometheus/alerts.yml")).unwrap();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            exprs.push((
                format!("alert {}", rule["alert"]),
                rule["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/tessera.json")).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            exprs.push((
                format!("panel {}", panel["title"]),
                target["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert!(exprs.len() > 20, "{exprs:?}");
    for (what, expr) in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{what}: no metric in {expr}");
        for name in names {
            assert!(
                documented.contains(&name),
                "{what} queries `{name}`, which docs/metrics.md does not document: {expr}"
            );
        }
    }
}

#[test]
fn the_kubernetes_rules_are_the_shipped_rules_and_the_dashboard_is_generated() {
    let rules: serde_json::Value =
        yaml_serde::from_str(&read("deploy/prometheus/alerts.yml")).unwrap();
    let k8s: Vec<serde_json::Value> = read("k8s/base/monitoring.yaml")
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let rule = k8s
        .iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .expect("a PrometheusRule in k8s/base/monitoring.yaml");
    assert_eq!(rule["spec"], rules, "run python3 k8s/render.py");
    assert!(k8s.iter().any(|d| d["kind"] == "ServiceMonitor"));
    let status = std::process::Command::new("python3")
        .arg(root().join("deploy/grafana/render.py"))
        .arg("--check")
        .status()
        .unwrap();
    assert!(status.success(), "deploy/grafana/tessera.json is stale");
}
