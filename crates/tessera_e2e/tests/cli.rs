//! Every service binary as an operator first meets it (issue #21; part of `make test`: the
//! binaries are built with the workspace's tests): `--help` works with no environment at all,
//! `completions` writes a script, and a command that needs the database says which variable is
//! missing instead of failing obscurely.
#![expect(clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use std::process::Command;

use tessera_e2e::SERVICES;

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
    run_with(name, args, &[])
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

/// Runs `name args…` with only `env` (in an empty directory).
fn run_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let out = Command::new(binary(name))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(&dir)
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_dir(&dir);
    out
}

/// `config show` prints every variable with its effective value (defaults filled in) and no
/// secret: each service is given every secret it reads, with a recognisable value, and none of
/// those values appears in the output, whose secret variables read "[redacted]".
#[test]
fn config_show_prints_the_effective_configuration_and_no_secret() {
    // A 32-byte key, base64 (identity's and users-registration's keys must decode).
    const KEY: &str = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy0wMTIzNDU2Nzg=";
    let shared: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://app:db-password-1@db:5432/svc"),
        ("AMQP_URL", "amqp://app:amqp-password-2@mq:5672/%2f"),
        ("GATEWAY_SECRET", "gateway-secret-3-0123456789abcdef"),
        ("APP_PORT", "9999"),
    ];
    let own: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "control-plane",
            vec![("CP_ADMIN_TOKEN", "cp-admin-token-4-0123456789")],
        ),
        (
            "quotations",
            vec![
                ("APP_KEY", "app-key-5-0123456789abcdef0123456789abcdef"),
                ("ALPHA_VANTAGE_API_KEY", "alpha-key-6"),
                ("MAIL_PASSWORD", "mail-password-7"),
            ],
        ),
        ("identity", vec![("IDENTITY_MFA_ENCRYPTION_KEY", KEY)]),
        (
            "credential-broker",
            vec![
                ("BROKER_CALLER_TOKEN", "caller-token-8-0123456789abcdef"),
                ("BROKER_ADMIN_TOKEN", "admin-token-9-0123456789abcdef"),
                (
                    "BROKER_AUDIT_HMAC_KEY",
                    "audit-hmac-key-10-0123456789abcdef",
                ),
                (
                    "WALLET_STATIC_TOKENS",
                    "graph.microsoft.com=upstream-token-11",
                ),
            ],
        ),
        (
            "users-registration",
            vec![
                ("JWT_SECRET", "jwt-secret-12-0123456789abcdef0123456789"),
                ("DOCUMENT_ENCRYPTION_KEY", KEY),
                ("NOTIFY_TOKEN", "notify-token-13"),
            ],
        ),
        (
            "gateway-auth",
            vec![(
                "GATEWAY_TRUSTED_ISSUERS",
                "http://localhost:8083/tenants/=http://identity:8083/tenants/",
            )],
        ),
    ];
    for (name, vars) in &own {
        let env: Vec<(&str, &str)> = shared.iter().copied().chain(vars.iter().copied()).collect();
        let out = run_with(name, &["config", "show"], &env);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{name} config show: {out:?}");
        let shown: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| unreachable!("{name}: {e}: {text}"));
        for (variable, value) in env.iter().filter(|(k, _)| *k != "APP_PORT") {
            let secret = match *variable {
                // gateway-auth has no database.
                "DATABASE_URL" if *name == "gateway-auth" => continue,
                "DATABASE_URL" => "db-password-1",
                "AMQP_URL" => "amqp-password-2",
                "GATEWAY_TRUSTED_ISSUERS" => continue,
                _ => value,
            };
            assert!(
                !text.contains(secret),
                "{name} config show prints {variable}'s secret: {text}"
            );
            let value = shown.get(*variable).and_then(|v| v.as_str()).unwrap_or("");
            assert!(
                value == "[redacted]" || value.contains(":redacted@"),
                "{name}: {variable} shown as {value:?} in {text}"
            );
        }
        assert_eq!(
            shown.get("APP_PORT"),
            Some(&serde_json::json!(9999)),
            "{name}"
        );
        assert!(
            shown.as_object().is_some_and(|o| o.len() >= 8),
            "{name}: defaults are shown too: {text}"
        );
    }
    // Values that are not secrets are shown as they are, defaults included.
    let out = run_with(
        "identity",
        &["config", "show"],
        &[
            ("DATABASE_URL", "postgres://db/x"),
            ("IDENTITY_MFA_ENCRYPTION_KEY", KEY),
        ],
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(shown["DATABASE_URL"], "postgres://db/x");
    assert_eq!(shown["ARGON2_ITERATIONS"], 2);
    assert_eq!(
        shown["GATEWAY_SECRET"],
        serde_json::Value::Null,
        "unset is null"
    );
    // An invalid value fails as `serve` would, naming the variable.
    let out = run_with(
        "identity",
        &["config", "show"],
        &[
            ("DATABASE_URL", "postgres://db/x"),
            ("IDENTITY_MFA_ENCRYPTION_KEY", KEY),
            ("APP_ENV", "staging"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("APP_ENV"),
        "{out:?}"
    );
}

/// Both logins read the one lockout group (`tessera_db::attempts::LockoutSettings`): its three
/// variables are shown under their names by identity and users-registration alike, a value that
/// does not parse and a limit of 0 each stop the binary with a line naming the variable.
#[test]
fn both_logins_read_the_lockout_variables_and_name_a_bad_one() {
    const KEY: &str = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy0wMTIzNDU2Nzg=";
    let services: [(&str, Vec<(&str, &str)>); 2] = [
        ("identity", vec![("IDENTITY_MFA_ENCRYPTION_KEY", KEY)]),
        (
            "users-registration",
            vec![
                ("JWT_SECRET", "jwt-secret-12-0123456789abcdef0123456789"),
                ("DOCUMENT_ENCRYPTION_KEY", KEY),
            ],
        ),
    ];
    for (name, own) in &services {
        let with = |extra: &[(&'static str, &'static str)]| {
            let env: Vec<(&str, &str)> = [("DATABASE_URL", "postgres://db/x")]
                .into_iter()
                .chain(own.iter().copied())
                .chain(extra.iter().copied())
                .collect();
            run_with(name, &["config", "show"], &env)
        };
        let out = with(&[
            ("AUTH_MAX_FAILED_ATTEMPTS", "4"),
            ("AUTH_LOCKOUT_SECONDS", "61"),
            ("AUTH_ADDRESS_MAX_FAILED_ATTEMPTS", "9"),
        ]);
        assert!(out.status.success(), "{name}: {out:?}");
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(shown["AUTH_MAX_FAILED_ATTEMPTS"], 4, "{name}: {shown}");
        assert_eq!(shown["AUTH_LOCKOUT_SECONDS"], 61, "{name}: {shown}");
        assert_eq!(
            shown["AUTH_ADDRESS_MAX_FAILED_ATTEMPTS"], 9,
            "{name}: {shown}"
        );
        // Unset: the documented defaults.
        let shown: serde_json::Value =
            serde_json::from_slice(&with(&[]).stdout).unwrap_or_default();
        assert_eq!(
            (
                &shown["AUTH_MAX_FAILED_ATTEMPTS"],
                &shown["AUTH_LOCKOUT_SECONDS"],
                &shown["AUTH_ADDRESS_MAX_FAILED_ATTEMPTS"]
            ),
            (
                &serde_json::json!(5),
                &serde_json::json!(900),
                &serde_json::json!(20)
            ),
            "{name}: {shown}"
        );
        for (variable, bad) in [
            ("AUTH_LOCKOUT_SECONDS", "soon"),
            ("AUTH_MAX_FAILED_ATTEMPTS", "0"),
            ("AUTH_ADDRESS_MAX_FAILED_ATTEMPTS", "0"),
        ] {
            let out = with(&[(variable, bad)]);
            assert!(!out.status.success(), "{name} took {variable}={bad}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(variable),
                "{name}, {variable}={bad}: {stderr}"
            );
        }
    }
}
