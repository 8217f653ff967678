//! Each provider client against its real response format: success, unknown symbol, rate
//! limit, garbage.

use std::time::Duration;

use serde_json::json;
use tessera_quotations::market::{AssetType, DEFAULT_MARKET_DATA, MarketData};
use tessera_quotations::providers::{Provider, ProviderError, ProviderSettings, Providers};
use wiremock::MockServer;

use crate::helpers::{
    alpha_global_quote, alpha_rate_limited, awesome_usd_brl, mount_alpha, mount_json, mount_text,
    yahoo_chart,
};

fn providers(stub: &MockServer, key: Option<&str>) -> Providers {
    Providers::new(ProviderSettings {
        awesome_api_url: stub.uri(),
        alpha_vantage_url: stub.uri(),
        alpha_vantage_key: key.map(str::to_owned),
        yahoo_finance_url: stub.uri(),
        stooq_url: stub.uri(),
        timeout: Duration::from_millis(500),
        user_agent: "tessera-test".into(),
    })
    .unwrap()
}

fn symbol(raw: &str) -> tessera_quotations::market::Symbol {
    MarketData::from_json(DEFAULT_MARKET_DATA)
        .unwrap()
        .resolve(raw, None)
        .unwrap()
}

#[tokio::test]
async fn awesome_api_parses_its_string_fields() {
    let stub = MockServer::start().await;
    mount_json(&stub, "/json/last/USD-BRL", 200, awesome_usd_brl()).await;
    mount_json(
        &stub,
        "/json/last/XAU-BRL",
        404,
        json!({"status": 404, "code": "CoinNotExists", "message": "moeda nao encontrada XAU-BRL"}),
    )
    .await;
    let p = providers(&stub, None);
    let q = p
        .fetch(Provider::AwesomeApi, &symbol("USD-BRL"))
        .await
        .unwrap();
    assert_eq!(
        (q.symbol.as_str(), q.kind, q.price),
        ("USDBRL", AssetType::Currency, 5.0123)
    );
    assert_eq!(q.currency.as_deref(), Some("BRL"));
    assert_eq!(q.quoted_at.timestamp(), 1_763_790_000);
    let mut xau = symbol("USD-BRL");
    xau.pair = Some(("XAU".into(), "BRL".into()));
    assert_eq!(
        p.fetch(Provider::AwesomeApi, &xau).await,
        Err(ProviderError::NotFound)
    );
    let requests = stub.received_requests().await.unwrap();
    assert_eq!(requests[0].headers["user-agent"], "tessera-test");
    // Issue #21: each answer counted by provider and outcome (quotation_fetches_total).
    let fetches = p.fetches();
    let count =
        |provider: &str, outcome: &str| fetches.with_label_values(&[provider, outcome]).get();
    assert_eq!(count("awesome_api", "ok"), 1);
    assert_eq!(count("awesome_api", "not_found"), 1);
    assert_eq!(count("awesome_api", "unavailable"), 0);
    assert_eq!(count("stooq", "ok"), 0);
    assert_eq!(
        p.fetch(Provider::AlphaVantage, &symbol("IBM")).await,
        Err(ProviderError::NotConfigured)
    );
    assert_eq!(count("alpha_vantage", "not_configured"), 1);
}

#[tokio::test]
async fn alpha_vantage_quotes_rate_limits_and_unknowns() {
    let stub = MockServer::start().await;
    mount_alpha(
        &stub,
        "GLOBAL_QUOTE",
        200,
        alpha_global_quote("IBM", "185.6100"),
    )
    .await;
    mount_alpha(
        &stub,
        "CURRENCY_EXCHANGE_RATE",
        200,
        json!({"Realtime Currency Exchange Rate": {
        "1. From_Currency Code": "BTC", "2. From_Currency Name": "Bitcoin",
        "3. To_Currency Code": "USD", "4. To_Currency Name": "United States Dollar",
        "5. Exchange Rate": "84512.33000000", "6. Last Refreshed": "2025-11-22 03:41:02",
        "7. Time Zone": "UTC", "8. Bid Price": "84512.3", "9. Ask Price": "84512.4"}}),
    )
    .await;
    let p = providers(&stub, Some("k"));
    let ibm = p
        .fetch(Provider::AlphaVantage, &symbol("IBM"))
        .await
        .unwrap();
    assert_eq!(ibm.price, 185.61);
    assert_eq!(ibm.quoted_at.to_rfc3339(), "2025-11-21T00:00:00+00:00");
    let btc = p
        .fetch(Provider::AlphaVantage, &symbol("BTC"))
        .await
        .unwrap();
    assert_eq!(
        (btc.price, btc.currency.as_deref()),
        (84512.33, Some("USD"))
    );
    let q = &stub.received_requests().await.unwrap()[1];
    assert_eq!(
        q.url
            .query_pairs()
            .find(|(k, _)| k == "from_currency")
            .unwrap()
            .1,
        "BTC"
    );
    assert_eq!(
        q.url.query_pairs().find(|(k, _)| k == "apikey").unwrap().1,
        "k"
    );

    let limited = MockServer::start().await;
    mount_alpha(&limited, "GLOBAL_QUOTE", 200, alpha_rate_limited()).await;
    let p = providers(&limited, Some("k"));
    assert_eq!(
        p.fetch(Provider::AlphaVantage, &symbol("IBM")).await,
        Err(ProviderError::RateLimited)
    );

    let unknown = MockServer::start().await;
    mount_alpha(&unknown, "GLOBAL_QUOTE", 200, json!({"Global Quote": {}})).await;
    let p = providers(&unknown, Some("k"));
    assert_eq!(
        p.fetch(Provider::AlphaVantage, &symbol("ZZZZ")).await,
        Err(ProviderError::NotFound)
    );
    // Without a key it is not asked at all.
    let p = providers(&unknown, None);
    assert_eq!(
        p.fetch(Provider::AlphaVantage, &symbol("IBM")).await,
        Err(ProviderError::NotConfigured)
    );
    assert_eq!(unknown.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn yahoo_finance_chart_404_and_plain_text_429() {
    let stub = MockServer::start().await;
    mount_json(
        &stub,
        "/v8/finance/chart/AAPL",
        200,
        yahoo_chart("AAPL", 271.49),
    )
    .await;
    mount_json(
        &stub,
        "/v8/finance/chart/ZZZZ",
        404,
        json!({"chart": {"result": null,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}),
    )
    .await;
    mount_text(
        &stub,
        "/v8/finance/chart/MSFT",
        429,
        "Too Many Requests\r\n",
    )
    .await;
    mount_text(
        &stub,
        "/v8/finance/chart/USDBRL=X",
        200,
        "<html>oops</html>",
    )
    .await;
    let p = providers(&stub, None);
    let aapl = p
        .fetch(Provider::YahooFinance, &symbol("AAPL"))
        .await
        .unwrap();
    assert_eq!(
        (aapl.price, aapl.currency.as_deref()),
        (271.49, Some("USD"))
    );
    assert_eq!(aapl.quoted_at.timestamp(), 1_763_758_800);
    assert_eq!(
        p.fetch(Provider::YahooFinance, &symbol("ZZZZ")).await,
        Err(ProviderError::NotFound)
    );
    assert_eq!(
        p.fetch(Provider::YahooFinance, &symbol("MSFT")).await,
        Err(ProviderError::RateLimited)
    );
    assert!(matches!(
        p.fetch(Provider::YahooFinance, &symbol("USD-BRL")).await,
        Err(ProviderError::Unavailable(_))
    ));
}

#[tokio::test]
async fn stooq_csv_nd_and_non_csv() {
    let stub = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/q/l/"))
        .and(wiremock::matchers::query_param("s", "aapl.us"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(
            "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2025-11-21,22:00:09,265.95,273.33,265.67,271.49,58784139\r\n",
        ))
        .mount(&stub)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/q/l/"))
        .and(wiremock::matchers::query_param("s", "zzzz.us"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(
            "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nZZZZ.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n",
        ))
        .mount(&stub)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/q/l/"))
        .and(wiremock::matchers::query_param("s", "msft.us"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_string("Exceeded the daily hits limit"),
        )
        .mount(&stub)
        .await;
    let p = providers(&stub, None);
    let aapl = p.fetch(Provider::Stooq, &symbol("AAPL")).await.unwrap();
    assert_eq!(aapl.price, 271.49);
    assert_eq!(aapl.quoted_at.to_rfc3339(), "2025-11-21T22:00:09+00:00");
    assert_eq!(
        p.fetch(Provider::Stooq, &symbol("ZZZZ")).await,
        Err(ProviderError::NotFound)
    );
    assert!(matches!(
        p.fetch(Provider::Stooq, &symbol("MSFT")).await,
        Err(ProviderError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_timeout_is_unavailable() {
    let stub = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/json/last/USD-BRL"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(awesome_usd_brl())
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&stub)
        .await;
    let p = providers(&stub, None);
    assert!(matches!(
        p.fetch(Provider::AwesomeApi, &symbol("USD-BRL")).await,
        Err(ProviderError::Unavailable(_))
    ));
}
