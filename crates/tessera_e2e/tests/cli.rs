//! Every service binary as an operator first meets it (issue #21; part of `make test`: the
//! binaries are built with the workspace's tests): `--help` works with no environment at all,
//! `completions` writes a script, and a command that needs the database says which variable is
//! missing instead of failing obscurely.
#![expect(clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use std::process::Command;

const SERVICES: [&str; 5] = [
    "control-plane",
    "quotations",
    "identity",
    "credential-broker",
    "users-registration",
];

fn binary(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/debug")
        .join(name);
    assert!(
        bin.exists(),
        "{} missing: cargo build --workspace",
        bin.display()
    );
    bin
}

/// Runs `name args…` with an empty environment in an empty directory (no `.env`).
fn run(name: &str, args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let out = Command::new(binary(name))
        .args(args)
        .env_clear()
        .current_dir(&dir)
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_dir(&dir);
    out
}

#[test]
fn help_works_without_any_environment() {
    for name in SERVICES.iter().chain(&["gateway-auth"]) {
        let out = run(name, &["--help"]);
        assert!(out.status.success(), "{name} --help: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{name}: {text}");
        assert!(text.contains("serve"), "{name}: {text}");
    }
    for name in SERVICES {
        let text = String::from_utf8(run(name, &["migrate", "--help"]).stdout).unwrap_or_default();
        assert!(
            text.contains("status") && text.contains("revert"),
            "{name}: {text}"
        );
    }
}

#[test]
fn completions_are_written_for_each_shell() {
    for name in SERVICES {
        for shell in ["bash", "zsh", "fish"] {
            let out = run(name, &["completions", shell]);
            assert!(out.status.success(), "{name} completions {shell}: {out:?}");
            let script = String::from_utf8_lossy(&out.stdout);
            assert!(script.contains(name), "{name} {shell}: {script}");
        }
    }
}

#[test]
fn a_command_without_its_database_names_the_variable() {
    for name in SERVICES {
        let out = run(name, &["migrate", "status"]);
        assert!(!out.status.success(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{name}: missing environment variable DATABASE_URL"
            )),
            "{name}: {err}"
        );
    }
    let out = run("gateway-auth", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gateway-auth: missing environment variable GATEWAY_TRUSTED_ISSUERS"),
        "{err}"
    );
}

/// A value that is one of a set is a `ValueEnum`: clap refuses anything else and lists the
/// choices before any environment is read.
#[test]
fn a_status_outside_its_set_is_refused_with_the_choices() {
    let out = run(
        "control-plane",
        &["wl", "set-status", "--id", "wl-a", "--status", "paused"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("possible values: active, inactive"), "{err}");
}
