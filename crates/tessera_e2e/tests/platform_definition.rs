//! The platform's one definition (issue #18; part of `make test`, no platform needed):
//! `deploy/generate.py` writes make up's environment, the compose file and its secrets script, the
//! nginx route table, Prometheus's compose targets, each `.env.example`'s topology and the
//! Kubernetes base from `deploy/platform.toml`. The committed files are what it writes; a hand
//! edit of one fails the check; a port or a route changed in the definition reaches every
//! consumer.
#![expect(clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generate(root: &Path, check: bool) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg(root.join("deploy/generate.py"))
        .arg("--root")
        .arg(root);
    if check {
        cmd.arg("--check");
    }
    cmd.output().expect("python3")
}

/// A copy of what the generator reads and writes, in a fresh directory (removed when dropped).
struct Checkout(PathBuf);

impl Checkout {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(tessera_e2e::unique_id("platform-definition"));
        std::fs::create_dir_all(dir.join("services")).expect("temp dir");
        for part in ["deploy", "k8s"] {
            let status = Command::new("cp")
                .arg("-r")
                .arg(root().join(part))
                .arg(&dir)
                .status()
                .expect("cp");
            assert!(status.success());
        }
        for service in tessera_e2e::BINARIES {
            let example = root().join("services").join(service).join(".env.example");
            if example.exists() {
                std::fs::create_dir_all(dir.join("services").join(service)).expect("dir");
                std::fs::copy(
                    &example,
                    dir.join("services").join(service).join(".env.example"),
                )
                .expect("copy");
            }
        }
        Self(dir)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.0.join(rel)).expect(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.0.join(rel), text).expect(rel);
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `text` holds `word` as a whole number or word (8083, not 38083 or 80831).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn the_committed_files_are_what_the_definition_gives() {
    let out = generate(&root(), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_hand_edit_of_a_generated_file_fails_the_check() {
    let copy = Checkout::new();
    assert!(
        generate(&copy.0, true).status.success(),
        "the copy starts clean"
    );
    // A generated value in each (the .env.example files and the nginx template are edited in
    // place: their comments and the template's other directives are written by hand).
    for (rel, from, to) in [
        ("deploy/docker-compose.yml", "8083", "9999"),
        ("deploy/local/identity.env", "moderator", "moderatr"),
        (
            "deploy/gateway/tessera.conf.template",
            "location /wls/",
            "location /wlz/",
        ),
        ("k8s/base/ingress.yaml", "/wls", "/wlz"),
        (
            "services/identity/.env.example",
            "APP_PORT=8083",
            "APP_PORT=9999",
        ),
    ] {
        let original = copy.read(rel);
        copy.write(rel, &original.replacen(from, to, 1));
        assert_ne!(copy.read(rel), original, "{rel} was edited");
        let out = generate(&copy.0, true);
        assert!(
            !out.status.success(),
            "{rel}: the check passed over a hand edit"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(rel),
            "{rel} is named: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        copy.write(rel, &original);
    }
    assert!(generate(&copy.0, true).status.success(), "restored");
}

#[test]
fn a_port_and_a_route_changed_in_the_definition_reach_every_consumer() {
    let copy = Checkout::new();
    let definition = copy.read("deploy/platform.toml");
    let changed = definition
        .replacen("port = 8083", "port = 8093", 1)
        .replacen(
            r#"  { path = "/tenants", match = "prefix" },"#,
            r#"  { path = "/tenants", match = "prefix" },
  { path = "/directory", match = "exact" },"#,
            1,
        );
    assert_ne!(changed, definition);
    copy.write("deploy/platform.toml", &changed);
    let out = generate(&copy.0, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rel in [
        "deploy/local/platform.env",
        "deploy/docker-compose.yml",
        "deploy/prometheus/targets/compose.yml",
        "services/identity/.env.example",
        "k8s/base/identity.yaml",
        "k8s/base/network-policies.yaml",
        "k8s/base/gateway-auth.yaml",
    ] {
        let text = copy.read(rel);
        assert!(has_word(&text, "8093"), "{rel} has the new port");
        assert!(
            !has_word(&text, "8083"),
            "{rel} has no trace of the old one"
        );
    }
    // make compose-e2e's stack moves it by the CI offset.
    assert!(copy.read("deploy/compose/ci.yml").contains("29093"));
    assert!(!copy.read("deploy/compose/ci.yml").contains("29083"));
    // The new route, in the nginx gateway and the Ingress.
    assert!(
        copy.read("deploy/gateway/tessera.conf.template")
            .contains("location = /directory { proxy_pass http://${IDENTITY_ADDR}; }")
    );
    assert!(
        copy.read("k8s/base/ingress.yaml")
            .contains("\"path\": \"/directory\"")
    );
    // And the committed tree differs from the regenerated copy exactly there: the check of the
    // original definition against the copy's files fails.
    copy.write("deploy/platform.toml", &definition);
    assert!(!generate(&copy.0, true).status.success());
}

#[test]
fn a_route_overlapping_another_services_route_is_refused() {
    let copy = Checkout::new();
    let definition = copy.read("deploy/platform.toml");
    // Beneath identity's API reference, and the index's own path: both taken.
    for (route, taken) in [
        (
            r#"{ path = "/docs/identity/x", match = "exact" }"#,
            "/docs/identity",
        ),
        (r#"{ path = "/docs", match = "prefix" }"#, "/docs"),
    ] {
        let changed = definition.replacen(
            r#"  { path = "/api/token", match = "exact" },"#,
            &format!("  {{ path = \"/api/token\", match = \"exact\" }},\n  {route},"),
            1,
        );
        assert_ne!(changed, definition);
        copy.write("deploy/platform.toml", &changed);
        let out = generate(&copy.0, false);
        assert!(!out.status.success(), "{route} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("overlaps") && stderr.contains(taken),
            "{stderr}"
        );
    }
    copy.write("deploy/platform.toml", &definition);
    assert!(generate(&copy.0, false).status.success());
}
