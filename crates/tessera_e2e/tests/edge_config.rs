//! The gateways' trust configuration, checked as files (issue #17; part of `make test`, no
//! platform needed): the nginx gateway of `make up` and compose and the Kubernetes Ingress strip
//! exactly the headers of `deploy/gateway/untrusted-headers.txt`, replace `X-Forwarded-For`
//! instead of appending to it, and only the ingress controller reaches gateway-auth's `/verify`.
#![expect(clippy::expect_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).expect(rel)
}

/// The one list.
fn untrusted_headers() -> Vec<String> {
    read("deploy/gateway/untrusted-headers.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The quoted arguments of the first `more_clear_input_headers` directive in `text`.
fn cleared(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("more_clear_input_headers"))
        .expect("a more_clear_input_headers directive");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The JSON documents of a rendered manifest file (k8s/render.py writes JSON between `---`).
fn documents(rel: &str) -> Vec<Value> {
    read(rel)
        .split("\n---\n")
        .map(|d| d.trim_start_matches("---").trim())
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::from_str(d).expect(rel))
        .collect()
}

#[test]
fn the_nginx_gateway_strips_the_one_list_and_replaces_forwarded_for() {
    let template = read("deploy/gateway/tessera.conf.template");
    assert_eq!(cleared(&template), untrusted_headers());
    let directives: Vec<&str> = template
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(
        directives.contains(&"proxy_set_header X-Forwarded-For $remote_addr;"),
        "X-Forwarded-For is the address nginx saw"
    );
    assert!(directives.contains(&"proxy_set_header X-Real-IP $remote_addr;"));
    assert!(
        !template.contains("$proxy_add_x_forwarded_for"),
        "never appended to a client's value"
    );
    // JSON access lines with the request id, never a query string.
    assert!(directives.contains(&"access_log /dev/stdout tessera_json;"));
    assert!(template.contains(r#""request_id":"$tessera_request_id""#));
    assert!(!template.contains("$request_uri") && !template.contains("$args"));
    // One request-id rule at the gateway and in the services: 1–128 of [A-Za-z0-9._-].
    assert!(
        template.contains(r#""~^[A-Za-z0-9._-]{1,128}$""#),
        "the gateway's X-Request-Id rule"
    );
    // The secret is sent upstream only, never added to a response.
    assert!(
        directives
            .iter()
            .filter(|l| l.starts_with("add_header"))
            .all(|l| !l.to_ascii_lowercase().contains("gateway-secret")),
    );
}

#[test]
fn the_ingress_strips_the_same_list_and_copies_only_the_identity_headers() {
    let ingress = documents("k8s/base/ingress.yaml")
        .into_iter()
        .find(|d| d["kind"] == "Ingress")
        .expect("the Ingress");
    let annotations = &ingress["metadata"]["annotations"];
    let snippet = annotations["nginx.ingress.kubernetes.io/configuration-snippet"]
        .as_str()
        .expect("a configuration-snippet");
    assert_eq!(cleared(snippet), untrusted_headers());
    let copied: BTreeSet<&str> = annotations["nginx.ingress.kubernetes.io/auth-response-headers"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::trim)
        .collect();
    let expected: BTreeSet<&str> = [
        "X-Gateway-Secret",
        "X-Gateway-Auth",
        "X-Auth-Subject",
        "X-Auth-Roles",
        "X-Auth-Tenant",
    ]
    .into();
    assert_eq!(
        copied, expected,
        "gateway-auth's answer reaches the upstream request only, with exactly these"
    );
    // Nothing of gateway-auth's answer is turned into a response header a client sees.
    for (key, value) in annotations.as_object().unwrap() {
        if key.ends_with("custom-headers") || key.ends_with("server-snippet") {
            panic!("{key} = {value}: no response headers from the auth answer");
        }
    }
    assert!(!snippet.to_ascii_lowercase().contains("more_set_headers"));
}

#[test]
fn only_the_ingress_controller_reaches_gateway_auth_verify() {
    let deployments = documents("k8s/base/gateway-auth.yaml");
    let container = &deployments
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("gateway-auth's Deployment")["spec"]["template"]["spec"]["containers"][0];
    let port = |name: &str| {
        container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("port {name}"))["containerPort"]
            .as_u64()
            .unwrap()
    };
    let (http, metrics) = (port("http"), port("metrics"));
    assert_ne!(http, metrics);
    let policies = documents("k8s/base/network-policies.yaml");
    // Every rule that lets anything reach a gateway-auth pod on its HTTP port, and from where.
    let mut reach_http = Vec::new();
    for p in &policies {
        let selector = &p["spec"]["podSelector"]["matchLabels"];
        let selects_gateway_auth = selector.as_object().is_some_and(|m| m.is_empty())
            || selector["app.kubernetes.io/name"] == "gateway-auth"
            || selector["tessera.io/ingress"] == "true"
            || selector["app.kubernetes.io/part-of"] == "tessera";
        if !selects_gateway_auth {
            continue;
        }
        for rule in p["spec"]["ingress"].as_array().into_iter().flatten() {
            let ports: Vec<u64> = rule["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["port"].as_u64())
                .collect();
            if ports.contains(&http) {
                reach_http.push((p["metadata"]["name"].clone(), rule["from"].clone()));
            }
        }
    }
    assert_eq!(reach_http.len(), 1, "{reach_http:?}");
    assert_eq!(
        reach_http[0].1,
        serde_json::json!([{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "ingress-nginx"}}}]),
        "only the ingress controller's namespace reaches /verify"
    );
    let monitoring = policies
        .iter()
        .find(|p| p["metadata"]["name"] == "from-monitoring")
        .unwrap();
    let ports: Vec<u64> = monitoring["spec"]["ingress"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["port"].as_u64())
        .collect();
    assert!(
        ports.contains(&metrics) && !ports.contains(&http),
        "{ports:?}"
    );
    // gateway-auth consumes the revocation feed.
    let secrets = read("k8s/base/secrets/gateway-auth.env.example");
    assert!(secrets.lines().any(|l| l == "AMQP_URL="));
}

#[test]
fn every_service_that_throttles_believes_forwarded_for_only_from_its_proxies() {
    for svc in ["quotations", "identity", "users-registration"] {
        let config = documents(&format!("k8s/base/{svc}.yaml"))
            .into_iter()
            .find(|d| d["kind"] == "ConfigMap")
            .unwrap();
        let proxies = config["data"]["TRUSTED_PROXIES"]
            .as_str()
            .unwrap_or_else(|| panic!("{svc}: TRUSTED_PROXIES"));
        assert!(
            !proxies.contains("0.0.0.0/0") && !proxies.contains("::/0"),
            "{svc}"
        );
    }
    let quotations = documents("k8s/base/quotations.yaml")
        .into_iter()
        .find(|d| d["kind"] == "ConfigMap")
        .unwrap();
    assert!(quotations["data"]["QUOTATIONS_MODERATOR_TENANTS"].is_string());
    let up = read("scripts/up.sh");
    // Finding 8: the printed example's Idempotency-Key is random, not a timestamp.
    let example = up
        .lines()
        .find(|l| l.contains("Idempotency-Key:"))
        .expect("make up prints a sign-up example");
    assert!(
        example.contains("/proc/sys/kernel/random/uuid"),
        "{example}"
    );
    assert!(!example.contains("date +"), "{example}");
    // make up's environment of quotations is generated from deploy/platform.toml (issue #18).
    let local = read("deploy/local/quotations.env");
    assert!(local.contains("QUOTATIONS_MODERATOR_TENANTS=demo"));
    assert!(local.contains("TRUSTED_PROXIES=127.0.0.1,::1"));
    let compose = read("deploy/docker-compose.yml");
    assert!(compose.contains("QUOTATIONS_MODERATOR_TENANTS"));
    assert!(compose.contains("TRUSTED_PROXIES"));
}
