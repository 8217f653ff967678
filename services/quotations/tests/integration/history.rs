//! `POST /api/quotation/{symbol}` (store, deduplicate, publish) and `GET /api/quotations`
//! (filters, Laravel pagination, 422s).

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::EventTap;

use crate::helpers::{TestApp, awesome_usd_brl, mount_json};

async fn post(app: &TestApp, path: &str, body: Option<Value>) -> crate::helpers::Reply {
    app.api.call(Method::POST, path, None, body, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collected_quote_is_stored_once_and_published() {
    let mut tap = EventTap::bind("quotations.quotation.collected")
        .await
        .unwrap();
    let app = TestApp::spawn().await;
    mount_json(&app.stub, "/json/last/USD-BRL", 200, awesome_usd_brl()).await;
    // Request ids of this test's own: the tap sees every concurrent test's USDBRL collections.
    let rid = |n: u8| format!("collect-{n}-{}", uuid::Uuid::new_v4().simple());
    let (first_rid, again_rid) = (rid(1), rid(2));
    let first = app
        .api
        .call(
            Method::POST,
            "/api/quotation/USD-BRL",
            None,
            None,
            &[("x-request-id", &first_rid)],
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let data = &first.body["data"];
    assert_eq!(data["symbol"], "USDBRL");
    assert_eq!(data["price"], 5.0123);
    assert_eq!(data["status"], "valid");
    assert_eq!(data["source"], "awesome_api");
    let id = data["id"].as_i64().unwrap();
    let again = app
        .api
        .call(
            Method::POST,
            "/api/quotation/usdbrl",
            None,
            Some(json!({"type": "currency", "provider": "awesome_api"})),
            &[("x-request-id", &again_rid)],
        )
        .await;
    assert_eq!(again.status, 200, "deduplicated: {}", again.body);
    assert_eq!(again.body["data"]["id"], id);
    let (event, _) = tap
        .next_matching(Duration::from_secs(10), |e| {
            e["request_id"] == first_rid.as_str()
        })
        .await
        .expect("quotations.quotation.collected");
    assert_eq!(event["data"]["symbol"], "USDBRL");
    assert_eq!(event["data"]["price"], "5.01230000");
    assert_eq!(event["data"]["source"], "awesome_api");
    assert_eq!(event["data"]["quotedAt"], "2025-11-22T05:40:00.000Z");
    assert!(
        tap.next_matching(Duration::from_secs(1), |e| e["request_id"]
            == again_rid.as_str())
            .await
            .is_none(),
        "no event for the duplicate"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_refusals_store_nothing() {
    let app = TestApp::spawn().await;
    mount_json(
        &app.stub,
        "/json/last/GBP-BRL",
        404,
        json!({"status": 404, "code": "CoinNotExists"}),
    )
    .await;
    mount_json(
        &app.stub,
        "/query",
        200,
        json!({"Error Message": "Invalid API call."}),
    )
    .await;
    let r = post(&app, "/api/quotation/GBP-BRL", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error_code"], "quote_not_found");
    let r = post(
        &app,
        "/api/quotation/GBP-BRL",
        Some(json!({"provider": "nope"})),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["provider"].is_array());
    let r = app
        .api
        .client
        .post(format!("{}/api/quotation/GBP-BRL", app.api.base))
        .header("content-type", "application/json")
        .body("[1, 2]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    let n: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM quotations")
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(n[0].n, 0);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// 30 rows: USDBRL (awesome_api, currency) valid × 12 on 2025-11-01..12, AAPL (yahoo, stock)
/// valid × 10 on 2025-11-01..10, BTC (awesome_api, crypto) invalid × 5, one deleted USDBRL, and
/// two ETH valid on 2025-10-31.
async fn seed(app: &TestApp) {
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    diesel::sql_query(
        "INSERT INTO quotations (symbol, type, source, price, currency, quoted_at, status, invalid_reason, deleted_at)
         SELECT 'USDBRL', 'currency', 'awesome_api', 5 + d / 100.0, 'BRL', timestamptz '2025-11-01 12:00Z' + (d || ' days')::interval, 'valid', NULL::text, NULL::timestamptz FROM generate_series(0, 11) d
         UNION ALL SELECT 'AAPL', 'stock', 'yahoo_finance', 270 + d, 'USD', timestamptz '2025-11-01 20:00Z' + (d || ' days')::interval, 'valid', NULL, NULL FROM generate_series(0, 9) d
         UNION ALL SELECT 'BTC', 'crypto', 'awesome_api', 80000 + d, 'USD', timestamptz '2025-11-05 00:00Z' + (d || ' hours')::interval, 'invalid', 'price out of band', NULL FROM generate_series(0, 4) d
         UNION ALL SELECT 'USDBRL', 'currency', 'awesome_api', 9.99, 'BRL', timestamptz '2025-11-20 00:00Z', 'valid', NULL, now()
         UNION ALL SELECT 'ETH', 'crypto', 'alpha_vantage', 3000 + d, 'USD', timestamptz '2025-10-31 10:00Z' + (d || ' hours')::interval, 'valid', NULL, NULL FROM generate_series(0, 1) d",
    )
    .execute(&mut c)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_filters_and_paginates_like_laravel() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let r = app.get("/api/quotations").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["meta"]["total"], 24,
        "valid and live only: 12 + 10 + 2"
    );
    assert_eq!(r.body["meta"]["per_page"], 20);
    assert_eq!(r.body["meta"]["last_page"], 2);
    assert_eq!(r.body["meta"]["from"], 1);
    assert_eq!(r.body["meta"]["to"], 20);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 20);
    assert_eq!(r.body["data"][0]["symbol"], "USDBRL", "newest first");
    assert_eq!(r.body["data"][0]["quoted_at"], "2025-11-12T12:00:00Z");
    assert!(
        r.body["links"]["next"]
            .as_str()
            .unwrap()
            .ends_with("/api/quotations?page=2")
    );
    assert_eq!(r.body["links"]["prev"], Value::Null);
    assert!(
        r.body["meta"]["path"]
            .as_str()
            .unwrap()
            .ends_with("/api/quotations")
    );

    let count = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/quotations?{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            r.body["meta"]["total"].as_i64().unwrap()
        }
    };
    assert_eq!(count("symbol=USD-BRL").await, 12);
    assert_eq!(
        count("symbol=usdbrl&date_from=2025-11-03&date_to=2025-11-05").await,
        3
    );
    assert_eq!(count("type=stock").await, 10);
    assert_eq!(count("source=awesome_api").await, 12);
    assert_eq!(count("include_invalid=true").await, 29);
    assert_eq!(count("include_invalid=1&type=crypto").await, 7);
    assert_eq!(count("status=invalid").await, 5);
    assert_eq!(count("include_invalid=0").await, 24);
    assert_eq!(count("date_to=2025-10-31").await, 2);

    let page = app
        .get("/api/quotations?type=stock&per_page=4&page=3")
        .await;
    assert_eq!(page.body["meta"]["current_page"], 3);
    assert_eq!(page.body["meta"]["from"], 9);
    assert_eq!(page.body["meta"]["to"], 10);
    assert_eq!(page.body["meta"]["last_page"], 3);
    assert_eq!(page.body["data"][1]["price"], 270);
    let prev = page.body["links"]["prev"].as_str().unwrap();
    assert!(
        prev.contains("type=stock") && prev.contains("per_page=4") && prev.ends_with("page=2"),
        "{prev}"
    );
    assert_eq!(page.body["links"]["next"], Value::Null);
    let beyond = app.get("/api/quotations?page=99").await;
    assert_eq!(beyond.body["data"], json!([]));
    assert_eq!(beyond.body["meta"]["from"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_filters_are_422_naming_each() {
    let app = TestApp::spawn().await;
    let r = app
        .get("/api/quotations?type=bond&source=x&status=maybe&include_invalid=yes&date_from=2025-13-01&per_page=101&page=0&symbol=%24%24")
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error_code"], "validation_error");
    for field in [
        "type",
        "source",
        "status",
        "include_invalid",
        "date_from",
        "per_page",
        "page",
        "symbol",
    ] {
        assert!(r.body["errors"][field].is_array(), "{field}: {}", r.body);
    }
    let r = app
        .get("/api/quotations?date_from=2025-11-05&date_to=2025-11-01")
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["date_to"].is_array());
    assert_eq!(app.get("/api/quotations?per_page=0").await.status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_totals_lag_new_rows_for_at_most_the_ttl() {
    let app = TestApp::spawn_with(|c| c.quotations_list_count_cache_seconds = 60).await;
    seed(&app).await;
    let before = app.get("/api/quotations?type=stock").await;
    assert_eq!(before.body["meta"]["total"], 10);
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    diesel::sql_query("INSERT INTO quotations (symbol, type, source, price, quoted_at) VALUES ('NVDA', 'stock', 'yahoo_finance', 180, '2025-12-01Z')")
        .execute(&mut c)
        .await
        .unwrap();
    let after = app.get("/api/quotations?type=stock").await;
    assert_eq!(
        after.body["data"][0]["symbol"], "NVDA",
        "rows are always fresh"
    );
    assert_eq!(
        after.body["meta"]["total"], 10,
        "the total is the cached one"
    );
    let other = app
        .get("/api/quotations?type=stock&source=yahoo_finance")
        .await;
    assert_eq!(
        other.body["meta"]["total"], 11,
        "another filter set counts afresh"
    );
}

/// Finding 3 of issue #17: the pagination links come from `APP_URL`, never from a client's
/// `Host` / `X-Forwarded-Host` / `X-Forwarded-Proto`, even with a valid gateway secret.
#[tokio::test(flavor = "multi_thread")]
async fn pagination_links_come_from_the_public_url_not_from_request_headers() {
    let app = TestApp::spawn_with(|c| {
        c.app_url = "https://quotes.example.test/".into();
        c.base.gateway_secret = Some("gw-secret-0123456789".into());
    })
    .await;
    for headers in [
        vec![
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "http"),
        ],
        vec![
            ("X-Gateway-Secret", "gw-secret-0123456789"),
            ("X-Forwarded-Host", "evil.example"),
            ("Forwarded", "host=evil.example;proto=http"),
        ],
        vec![],
    ] {
        let r = app
            .api
            .call(
                Method::GET,
                "/api/quotations?per_page=5",
                None,
                None,
                &headers,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body["meta"]["path"], "https://quotes.example.test/api/quotations",
            "{headers:?}"
        );
        let first = r.body["links"]["first"].as_str().unwrap();
        assert!(
            first.starts_with("https://quotes.example.test/api/quotations?"),
            "{headers:?}: {first}"
        );
        for link in r.body["meta"]["links"].as_array().unwrap() {
            if let Some(url) = link["url"].as_str() {
                assert!(!url.contains("evil.example"), "{url}");
            }
        }
    }
}
