//! `GET /api/quotation/{symbol}`: fallback chains, fail-fast, error mapping, validation.

use serde_json::json;

use crate::helpers::{
    TestApp, alpha_global_quote, alpha_rate_limited, awesome_usd_brl, mount_alpha, mount_json,
    mount_text, yahoo_chart,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_currency_pair_is_normalised_and_quoted_by_awesome_api() {
    let app = TestApp::spawn().await;
    mount_json(&app.stub, "/json/last/USD-BRL", 200, awesome_usd_brl()).await;
    for raw in ["USD-BRL", "usd-brl", "USDBRL"] {
        let r = app.get(&format!("/api/quotation/{raw}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["symbol"], "USDBRL");
        assert_eq!(r.body["data"]["type"], "currency");
        assert_eq!(r.body["data"]["source"], "awesome_api");
        assert_eq!(r.body["data"]["price"], 5.0123);
        assert_eq!(r.body["data"]["currency"], "BRL");
        assert!(r.headers.contains_key("x-request-id"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stocks_fall_back_from_a_rate_limited_alpha_vantage_to_yahoo() {
    let app = TestApp::spawn().await;
    mount_alpha(&app.stub, "GLOBAL_QUOTE", 200, alpha_rate_limited()).await;
    mount_json(
        &app.stub,
        "/v8/finance/chart/AAPL",
        200,
        yahoo_chart("AAPL", 271.49),
    )
    .await;
    let r = app.get("/api/quotation/aapl").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["source"], "yahoo_finance");
    assert_eq!(r.body["data"]["type"], "stock");
    assert_eq!(app.calls("/query").await, 1);
    assert_eq!(
        app.calls("/json/last").await,
        0,
        "the chain stops at the first quote"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_provider_fails_fast() {
    let app = TestApp::spawn().await;
    mount_alpha(&app.stub, "GLOBAL_QUOTE", 200, alpha_rate_limited()).await;
    mount_json(
        &app.stub,
        "/v8/finance/chart/AAPL",
        200,
        yahoo_chart("AAPL", 271.49),
    )
    .await;
    let r = app.get("/api/quotation/AAPL?provider=alpha_vantage").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["error_code"], "provider_rate_limited");
    assert_eq!(r.headers["retry-after"], "60");
    assert_eq!(
        app.calls("/v8").await,
        0,
        "no fallback with an explicit provider"
    );
    let yahoo = app.get("/api/quotation/AAPL?provider=yahoo_finance").await;
    assert_eq!(yahoo.body["data"]["source"], "yahoo_finance");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_everywhere_is_404_and_outages_are_503() {
    let app = TestApp::spawn().await;
    mount_alpha(&app.stub, "GLOBAL_QUOTE", 200, json!({"Global Quote": {}})).await;
    mount_json(
        &app.stub,
        "/v8/finance/chart/ZZZZ",
        404,
        json!({"chart": {"result": null, "error": {"code": "Not Found"}}}),
    )
    .await;
    mount_json(
        &app.stub,
        "/json/last/ZZZZ",
        404,
        json!({"status": 404, "code": "CoinNotExists"}),
    )
    .await;
    let r = app.get("/api/quotation/ZZZZ").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error_code"], "quote_not_found");
    assert!(
        r.body.get("details").is_none(),
        "no details without APP_DEBUG"
    );
    // Currency chain: AwesomeAPI answers 500, Alpha Vantage garbage ⇒ 503.
    mount_text(&app.stub, "/json/last/EUR-BRL", 500, "upstream exploded").await;
    mount_alpha(
        &app.stub,
        "CURRENCY_EXCHANGE_RATE",
        200,
        json!({"unexpected": true}),
    )
    .await;
    let r = app.get("/api/quotation/EUR-BRL").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error_code"], "provider_unavailable");
    assert!(!r.body.to_string().contains("exploded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_alpha_vantage_key_it_is_skipped() {
    let app = TestApp::spawn_with(|c| c.alpha_vantage_api_key = None).await;
    mount_json(
        &app.stub,
        "/v8/finance/chart/IBM",
        200,
        yahoo_chart("IBM", 300.0),
    )
    .await;
    mount_alpha(
        &app.stub,
        "GLOBAL_QUOTE",
        200,
        alpha_global_quote("IBM", "1.0"),
    )
    .await;
    let r = app.get("/api/quotation/IBM").await;
    assert_eq!(r.body["data"]["source"], "yahoo_finance");
    assert_eq!(app.calls("/query").await, 0);
    let only = app.get("/api/quotation/IBM?provider=alpha_vantage").await;
    assert_eq!(only.status, 503);
    assert_eq!(only.body["error_code"], "provider_unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_symbols_and_filters_are_422() {
    let app = TestApp::spawn().await;
    for bad in ["A$B", "ABCDEFGHIJKLMNOPQRSTUV", "%20"] {
        let r = app.get(&format!("/api/quotation/{bad}")).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert_eq!(r.body["error_code"], "invalid_symbol");
    }
    let r = app
        .get("/api/quotation/AAPL?provider=bloomberg&type=bond")
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error_code"], "validation_error");
    assert!(r.body["errors"]["provider"].is_array() && r.body["errors"]["type"].is_array());
    let r = app.get("/api/quotation/AAPL?type=crypto").await;
    assert_eq!(r.body["error_code"], "invalid_symbol");
    assert_eq!(
        app.stub.received_requests().await.unwrap().len(),
        0,
        "nothing asked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_matches_the_committed_file() {
    let app = TestApp::spawn().await;
    let r = app.get("/openapi.json").await;
    assert!(r.body["paths"]["/api/quotation/{symbol}"]["get"].is_object());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi/quotations.yaml"
    ))
    .expect("docs/openapi/quotations.yaml exists (make openapi)");
    assert_eq!(
        committed,
        tessera_quotations::openapi::yaml().unwrap(),
        "docs/openapi/quotations.yaml is stale: run `make openapi`"
    );
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    let metrics = app.get("/metrics").await;
    tessera_testkit::metrics::assert_catalogued("quotations", metrics.body.as_str().unwrap());
}

/// An outbound call to a provider is a client span of the caller's trace: the provider gets
/// a `traceparent` with the caller's trace id and a span id of its own (issue #21), and no
/// key in the attributes (the query string is not recorded).
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_call_carries_the_callers_trace() {
    let (subscriber, capture) = tessera_telemetry::capturing_subscriber("quotations");
    tracing::subscriber::set_global_default(subscriber).expect("the test's only subscriber");
    let app = TestApp::spawn().await;
    mount_json(&app.stub, "/json/last/USD-BRL", 200, awesome_usd_brl()).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = app
        .api
        .call(
            reqwest::Method::GET,
            "/api/quotation/USD-BRL",
            None,
            None,
            &[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let received = app.stub.received_requests().await.unwrap_or_default();
    let call = received
        .iter()
        .find(|q| q.url.path() == "/json/last/USD-BRL")
        .expect("the provider was asked");
    let traceparent = call
        .headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("a traceparent on the provider call");
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "the client span's own id: {traceparent}"
    );
    // The client span's log lines carry the same trace (and the request's id).
    assert!(
        capture.json_lines().iter().any(|l| l["trace_id"] == trace),
        "{:?}",
        capture.json_lines()
    );
}
