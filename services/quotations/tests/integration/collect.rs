//! `quotations collect` and `quotations reconcile` as a user runs them (the real binary), and
//! the scheduler across replicas (issue #7).

use std::process::Command;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    TestApp, alpha_global_quote, awesome_pair, mount_alpha, mount_btc, mount_text,
};

/// Runs the `quotations` binary against the test's database and provider stub.
fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quotations"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_ENV", "testing")
        .env("DATABASE_URL", app.db_url())
        .env("AWESOME_API_BASE_URL", app.stub.uri())
        .env("ALPHA_VANTAGE_BASE_URL", app.stub.uri())
        .env("ALPHA_VANTAGE_API_KEY", "test-key")
        .env("YAHOO_FINANCE_BASE_URL", app.stub.uri())
        .env("STOOQ_BASE_URL", app.stub.uri())
        .env("QUOTATIONS_PROVIDER_TIMEOUT_SECONDS", "2")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the quotations binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn stub_btc_ok_eth_down(app: &TestApp) {
    mount_btc(&app.stub, "91000").await;
    mount_text(&app.stub, "/json/last/ETH-USD", 503, "down").await;
    mount_alpha(&app.stub, "CURRENCY_EXCHANGE_RATE", 503, json!({})).await;
}

#[tokio::test]
async fn collect_exit_codes_follow_the_seed_rules() {
    let app = TestApp::spawn().await;
    stub_btc_ok_eth_down(&app).await;

    let (code, out, err) = cli(&app, &["collect", "--symbol=BTC"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("BTC: created 91000 via awesome_api"), "{out}");
    assert!(out.contains("exit code 0"), "{out}");
    assert_eq!(app.scalar("SELECT count(*) FROM quotations").await, "1");
    assert_eq!(
        app.scalar("SELECT count(*) FROM outbox").await,
        "1",
        "the event goes through the outbox"
    );

    // One failure ⇒ 1.
    let (code, out, _) = cli(&app, &["collect", "--symbol=BTC", "--symbol=ETH"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ETH: failed (provider_unavailable)"), "{out}");
    assert!(out.contains("BTC: deduplicated"), "{out}");
    // …unless partial success is allowed and one succeeded.
    let (code, out, _) = cli(
        &app,
        &["collect", "--symbol=BTC,ETH", "--allow-partial-success"],
    );
    assert_eq!(code, 0, "{out}");
    // Nothing succeeded ⇒ 1 even with --allow-partial-success.
    let (code, _, _) = cli(
        &app,
        &["collect", "--symbol=ETH", "--allow-partial-success"],
    );
    assert_eq!(code, 1);
    // An invalid symbol is a failed symbol.
    let (code, out, _) = cli(&app, &["collect", "--symbol=NOT*VALID", "--symbol=BTC"]);
    assert_eq!(code, 1);
    assert!(out.contains("NOT*VALID: failed (invalid_symbol)"), "{out}");
    // A bad flag value is a usage error (clap: 2).
    let (code, _, err) = cli(&app, &["collect", "--provider=bloomberg"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli(&app, &["collect", "--trigger=cron"]);
    assert_eq!(code, 2, "{err}");

    let runs = app
        .scalar("SELECT string_agg(trigger || ':' || status || ':' || exit_code, ',' ORDER BY started_at) FROM collect_runs")
        .await;
    assert_eq!(
        runs,
        "manual:success:0,manual:partial:1,manual:partial:0,manual:failed:1,manual:partial:1"
    );
    let command = app
        .scalar("SELECT command FROM collect_runs ORDER BY started_at LIMIT 1")
        .await;
    assert_eq!(command, "quotations collect --symbol=BTC --trigger=manual");
}

#[tokio::test]
async fn collect_dry_run_persists_nothing() {
    let app = TestApp::spawn().await;
    stub_btc_ok_eth_down(&app).await;
    let (code, out, _) = cli(&app, &["collect", "--symbol=BTC", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("BTC: fetched 91000 via awesome_api"), "{out}");
    assert!(out.contains("dry run: nothing stored"), "{out}");
    for table in ["quotations", "collect_runs", "outbox"] {
        assert_eq!(
            app.scalar(&format!("SELECT count(*) FROM {table}")).await,
            "0",
            "{table}"
        );
    }
}

#[tokio::test]
async fn collect_uses_the_settings_symbols_and_provider_unless_told_otherwise() {
    let app = TestApp::spawn().await;
    mount_btc(&app.stub, "91000").await;
    mount_alpha(
        &app.stub,
        "GLOBAL_QUOTE",
        200,
        alpha_global_quote("AAPL", "190.0000"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Realtime Currency Exchange Rate": {
            "1. From_Currency Code": "BTC", "3. To_Currency Code": "USD", "5. Exchange Rate": "90999.00000000",
            "6. Last Refreshed": "2025-11-22 03:40:00", "7. Time Zone": "UTC"}})))
        .mount(&app.stub)
        .await;
    app.exec("INSERT INTO auto_collect_settings (enabled, interval_minutes, symbols, provider) VALUES (false, 5, '{BTC,AAPL}', 'alpha_vantage')").await;

    let (code, out, _) = cli(&app, &["collect", "--trigger=scheduler"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("BTC: created 90999 via alpha_vantage"),
        "{out}"
    );
    assert!(out.contains("AAPL: created 190 via alpha_vantage"), "{out}");
    let (code, out, _) = cli(
        &app,
        &["collect", "--ignore-config-provider", "--symbol=BTC"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("BTC: created 91000 via awesome_api"), "{out}");
    let triggers = app.scalar("SELECT string_agg(trigger || '/' || coalesce(requested_provider, '-'), ',' ORDER BY started_at) FROM collect_runs").await;
    assert_eq!(triggers, "scheduler/alpha_vantage,manual/-");
}

#[tokio::test]
async fn reconcile_marks_invalid_quotations_with_a_reason() {
    let app = TestApp::spawn().await;
    app.exec(
        "INSERT INTO quotations (symbol, type, source, price, currency, quoted_at, created_at) VALUES \
         ('BTC', 'crypto', 'awesome_api', 91000, 'USD', now() - interval '1 hour', now()), \
         ('AAPL', 'stock', 'alpha_vantage', 0, 'USD', now() - interval '1 hour', now()), \
         ('ETH', 'crypto', 'awesome_api', 3000, 'USD', now() + interval '1 day', now()), \
         ('USDBRL', 'stock', 'yahoo_finance', 5.01, 'BRL', now() - interval '1 hour', now()), \
         ('MSFT', 'stock', 'yahoo_finance', 410, 'usd', now() - interval '1 hour', now()), \
         ('BAD SYMBOL', 'stock', 'stooq', 1, NULL, now() - interval '1 hour', now())",
    )
    .await;
    let (code, out, err) = cli(&app, &["reconcile", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["checked"], 6);
    assert_eq!(report["invalid"], 5);
    assert_eq!(report["marked"], 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM quotations WHERE status = 'invalid'")
            .await,
        "0"
    );

    let (code, out, _) = cli(&app, &["reconcile"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["marked"], 5);
    let reasons = app
        .scalar("SELECT string_agg(symbol || '=' || coalesce(invalid_reason, 'ok'), ',' ORDER BY id) FROM quotations")
        .await;
    assert_eq!(
        reasons,
        "BTC=ok,AAPL=non_positive_price,ETH=quoted_in_future,USDBRL=type_mismatch,MSFT=invalid_currency,BAD SYMBOL=invalid_symbol"
    );
    // Re-running finds nothing new.
    let (_, out, _) = cli(&app, &["reconcile"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["checked"].as_i64(), report["marked"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn two_replicas_with_the_scheduler_never_run_the_same_collection_twice() {
    let app = TestApp::spawn_with(|c| {
        c.quotations_auto_collect_enabled = true;
        c.quotations_auto_collect_interval_minutes = 59;
        c.quotations_auto_collect_symbols = "BTC".into();
    })
    .await;
    // A slow provider, so the runs of the two replicas would overlap if both ran.
    Mock::given(method("GET"))
        .and(path("/json/last/BTC-USD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(awesome_pair("BTC", "USD", "91000"))
                .set_delay(std::time::Duration::from_millis(800)),
        )
        .mount(&app.stub)
        .await;
    let _replica = app.replica().await;
    let _third = app.replica().await;
    // Three replicas tick every second for four seconds.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM collect_runs WHERE trigger = 'scheduler'")
            .await,
        "1"
    );
    assert_eq!(
        app.scalar("SELECT status FROM collect_runs").await,
        "success"
    );
    assert_eq!(
        app.calls("/json/last/BTC-USD").await,
        1,
        "the provider was asked once"
    );
}

#[tokio::test]
async fn the_scheduler_follows_settings_changes_without_a_restart() {
    let app = TestApp::spawn().await;
    mount_btc(&app.stub, "91000").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM collect_runs").await,
        "0",
        "disabled by default"
    );
    let mut w = app.verified_user("sched@example.com").await;
    let r = w
        .put(
            "/dashboard/operations/auto-collect",
            json!({"enabled": true, "interval_minutes": 59, "symbols": ["BTC"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut runs = String::new();
    for _ in 0..50 {
        runs = app.scalar("SELECT count(*) FROM collect_runs WHERE trigger = 'scheduler' AND status = 'success'").await;
        if runs == "1" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        runs, "1",
        "the running scheduler picked up the new settings"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM quotations WHERE symbol = 'BTC'")
            .await,
        "1"
    );
}

#[tokio::test]
async fn concurrent_ticks_claim_a_slot_once() {
    // The app's own scheduler ticks once at start (nothing enabled yet), then not for 59 s: it
    // must not hold the lock while the ticks below race for it.
    let app = TestApp::spawn_with(|c| c.quotations_scheduler_tick_seconds = 59).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    mount_btc(&app.stub, "91000").await;
    app.exec("INSERT INTO auto_collect_settings (enabled, interval_minutes, symbols) VALUES (true, 15, '{BTC}')").await;
    // A run whose process died an hour and a half ago (relative to the ticks' clock below).
    app.exec("INSERT INTO collect_runs (run_id, trigger, status, started_at, symbols, command) VALUES \
              (gen_random_uuid(), 'manual', 'running', now() + interval '30 minutes', '{ETH}', 'quotations collect')")
        .await;
    let mut config = app.config.clone();
    config.quotations_scheduler_tick_seconds = 59;
    let pool = tessera_db::build_pool(app.db_url(), tessera_db::PoolSettings::default()).unwrap();
    let scheduler = tessera_quotations::scheduler::Scheduler {
        pool,
        providers: tessera_quotations::providers::Providers::new(config.providers()).unwrap(),
        market: std::sync::Arc::new(config.market_data().unwrap()),
        config: std::sync::Arc::new(config),
        relay_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
    };
    let now = chrono::Utc::now() + chrono::TimeDelta::hours(2);
    let ticks: Vec<_> = (0..8)
        .map(|_| {
            let s = scheduler.clone();
            tokio::spawn(async move { s.tick(now).await.unwrap().is_some() })
        })
        .collect();
    let mut ran = 0;
    for t in ticks {
        ran += usize::from(t.await.unwrap());
    }
    assert_eq!(ran, 1);
    assert_eq!(
        app.scalar("SELECT status || ':' || exit_code FROM collect_runs WHERE trigger = 'manual'")
            .await,
        "failed:1",
        "the abandoned run is recorded as failed"
    );
    // The same slot later: not due. The next slot: due.
    assert!(
        scheduler
            .tick(now + chrono::TimeDelta::seconds(1))
            .await
            .unwrap()
            .is_none()
            || now.timestamp() % 900 >= 899
    );
    let next = scheduler
        .tick(now + chrono::TimeDelta::minutes(15))
        .await
        .unwrap();
    assert!(next.is_some());
}
