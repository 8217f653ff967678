//! The rest of seed 001's "Status Codes por endpoint" for the API, and the fallback chains of
//! crypto and currency.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    TestApp, alpha_rate_limited, awesome_usd_brl, mount_alpha, mount_json, mount_text,
};

fn exchange_rate(from: &str, to: &str, rate: &str) -> serde_json::Value {
    json!({"Realtime Currency Exchange Rate": {"1. From_Currency Code": from, "3. To_Currency Code": to,
        "5. Exchange Rate": rate, "6. Last Refreshed": "2025-11-22 03:41:02", "7. Time Zone": "UTC"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn crypto_and_currency_fall_back_from_awesome_api_to_alpha_vantage() {
    let app = TestApp::spawn().await;
    mount_text(&app.stub, "/json/last/BTC-USD", 503, "Service Unavailable").await;
    mount_json(
        &app.stub,
        "/json/last/EUR-BRL",
        429,
        json!({"status": 429, "message": "rate limit"}),
    )
    .await;
    mount_alpha(
        &app.stub,
        "CURRENCY_EXCHANGE_RATE",
        200,
        exchange_rate("X", "Y", "84512.33"),
    )
    .await;
    for (path, kind) in [
        ("/api/quotation/BTC", "crypto"),
        ("/api/quotation/EUR-BRL", "currency"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["data"]["source"], "alpha_vantage");
        assert_eq!(r.body["data"]["type"], kind);
    }
    // Fail fast: the explicit provider's failure is the answer.
    let r = app.get("/api/quotation/BTC?provider=awesome_api").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["error_code"], "provider_unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn stooq_html_is_a_provider_failure_and_post_maps_provider_errors() {
    let app = TestApp::spawn().await;
    mount_text(
        &app.stub,
        "/q/l/",
        200,
        "<!DOCTYPE html><html><body>Stooq</body></html>",
    )
    .await;
    let r = app.get("/api/quotation/AAPL?provider=stooq").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error_code"], "provider_unavailable");
    mount_alpha(&app.stub, "GLOBAL_QUOTE", 200, alpha_rate_limited()).await;
    let post = |path: &'static str, body: serde_json::Value| {
        let app = &app;
        async move { app.call(Method::POST, path, None, Some(body), &[]).await }
    };
    let limited = post("/api/quotation/IBM", json!({"provider": "alpha_vantage"})).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.body["error_code"], "provider_rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    let down = post("/api/quotation/AAPL", json!({"provider": "stooq"})).await;
    assert_eq!(down.status, 503);
    assert_eq!(down.body["error_code"], "provider_unavailable");
    let bad = post("/api/quotation/%5E%24", json!({})).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error_code"], "invalid_symbol");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_route_is_throttled_with_retry_after() {
    let app = TestApp::spawn_with(|c| c.quotations_api_rate_limit_per_minute = 1).await;
    mount_json(&app.stub, "/json/last/USD-BRL", 200, awesome_usd_brl()).await;
    let routes: [(Method, &str, Option<serde_json::Value>); 6] = [
        (Method::GET, "/api/quotation/USD-BRL", None),
        (Method::POST, "/api/quotation/USD-BRL", None),
        (Method::GET, "/api/quotations", None),
        (Method::DELETE, "/api/quotations/1", None),
        (
            Method::POST,
            "/api/quotations/bulk-delete",
            Some(json!({"confirm": true, "delete_all": true})),
        ),
        (Method::GET, "/api/user", None),
    ];
    let minute = || chrono::Utc::now().timestamp() / 60;
    for (i, (method, path, body)) in routes.into_iter().enumerate() {
        // Both calls must fall in one throttle window (a minute): try again if they straddle one.
        for attempt in 0.. {
            // A fresh admin token per route and attempt: its own throttle key.
            let token = app
                .user_token(&format!("admin{i}-{attempt}@example.com"), true)
                .await;
            let started = minute();
            let first = app
                .call(method.clone(), path, Some(&token), body.clone(), &[])
                .await;
            let second = app
                .call(method.clone(), path, Some(&token), body.clone(), &[])
                .await;
            if minute() != started && attempt < 3 {
                continue;
            }
            assert_ne!(first.status, 429, "{path}: {}", first.body);
            assert_eq!(second.status, 429, "{path}: {}", second.body);
            assert_eq!(second.body["error_code"], "too_many_requests");
            assert!(second.headers.contains_key("retry-after"));
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_delete_without_a_token_is_401() {
    let app = TestApp::spawn().await;
    let r = app
        .call(
            Method::POST,
            "/api/quotations/bulk-delete",
            None,
            Some(json!({"confirm": true, "delete_all": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error_code"], "unauthenticated");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_gateway_enforcement_a_request_without_the_secret_is_403() {
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret-0123456789".into());
        c.base.gateway_enforce_source = true;
    })
    .await;
    let direct = app.get("/api/quotations").await;
    assert_eq!(direct.status, 403, "{}", direct.body);
    assert_eq!(direct.body["error_code"], "forbidden");
    let via_gateway = app
        .call(
            Method::GET,
            "/api/quotations",
            None,
            None,
            &[("X-Gateway-Secret", "gw-secret-0123456789")],
        )
        .await;
    assert_eq!(via_gateway.status, 200);
    assert_eq!(app.get("/healthz").await.status, 200, "probes are exempt");
}

#[tokio::test(flavor = "multi_thread")]
async fn details_appear_only_with_app_debug() {
    let app = TestApp::spawn_with(|c| c.base.app_debug = true).await;
    mount_text(&app.stub, "/json/last/USD-BRL", 500, "boom").await;
    let r = app.get("/api/quotation/USD-BRL?provider=awesome_api").await;
    assert_eq!(r.status, 503);
    assert!(r.headers.contains_key("x-request-id"));
    assert_eq!(
        r.body["request_id"],
        r.headers["x-request-id"].to_str().unwrap()
    );
    let bad = app.get("/api/quotations?type=bond").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.get("errors").is_some());
}
