//! The per-sandbox rate limit holds across two instances sharing the database.

use crate::helpers::{CALLER, GRAPH_SCOPE, TestApp};

#[tokio::test]
async fn the_limit_is_shared_by_replicas() {
    let app = TestApp::spawn_with(|c| c.token_rate_limit_per_minute = 5).await;
    let other = app.replica().await;
    app.bind("sb-busy").await;
    app.bind("sb-quiet").await;
    let body = |sb: &str| serde_json::json!({"sandbox_id": sb, "upstream_host": "graph.microsoft.com", "scopes": [GRAPH_SCOPE]});
    for i in 0..5 {
        let api = if i % 2 == 0 { &app.api } else { &other };
        let r = app.token(api, Some(CALLER), body("sb-busy")).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    for api in [&app.api, &other] {
        let r = app.token(api, Some(CALLER), body("sb-busy")).await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert_eq!(r.body["reason"], "rate_limited");
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    // Another sandbox is not affected.
    assert_eq!(
        app.token(&other, Some(CALLER), body("sb-quiet"))
            .await
            .status,
        200
    );
    let audit = app.audit().await;
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.4.as_deref() == Some("rate_limited"))
            .count(),
        2
    );
}
