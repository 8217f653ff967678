//! `POST /api/token`: the happy path and every check's failure, each audited.

use serde_json::json;

use crate::helpers::{CALLER, GRAPH_SCOPE, GRAPH_TOKEN, TestApp};

#[tokio::test]
async fn issues_the_owner_token_and_audits_it() {
    let app = TestApp::spawn().await;
    app.bind("kata-sandbox-abc123").await;
    let r = app
        .request("kata-sandbox-abc123", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["access_token"], GRAPH_TOKEN);
    assert_eq!(r.body["token_type"], "bearer");
    let exp = chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    let left = exp.timestamp() - chrono::Utc::now().timestamp();
    assert!((3590..=3600).contains(&left), "{left}");
    assert_eq!(r.headers["cache-control"], "no-store");
    // Case is normalised (DNS names are case-insensitive).
    let r = app
        .request("kata-sandbox-abc123", "GRAPH.Microsoft.COM", &["User.Read"])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let audit = app.audit().await;
    assert_eq!(audit.len(), 2);
    let (caller, sandbox, host, outcome, reason, hmac) = &audit[0];
    assert_eq!(
        (
            caller.as_str(),
            sandbox.as_str(),
            host.as_str(),
            outcome.as_str()
        ),
        (
            "auth-proxy",
            "kata-sandbox-abc123",
            "graph.microsoft.com",
            "issued"
        )
    );
    assert_eq!(reason, &None);
    // The audit keeps HMAC-SHA256(BROKER_AUDIT_HMAC_KEY, token), never the token.
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        b"test-audit-hmac-key-0123456789abcdef",
    );
    assert_eq!(
        hmac.as_deref(),
        Some(aws_lc_rs::hmac::sign(&key, GRAPH_TOKEN.as_bytes()).as_ref())
    );
}

#[tokio::test]
async fn concurrent_requests_share_commits_and_each_gets_its_own_audit_row() {
    // Audit rows are group-committed: requests waiting together go into one statement. A burst
    // mixing grants and refusals must still give every request exactly its own row.
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.bind(&format!("sb-burst-{i}")).await;
    }
    let requests = (0..40).map(|i| {
        let sandbox = if i % 4 == 3 {
            format!("sb-unknown-{i}")
        } else {
            format!("sb-burst-{}", i % 5)
        };
        let app = &app;
        async move {
            let r = app
                .request(&sandbox, "graph.microsoft.com", &[GRAPH_SCOPE])
                .await;
            (sandbox, r.status)
        }
    });
    let replies = futures_util::future::join_all(requests).await;
    let granted = replies.iter().filter(|(_, s)| *s == 200).count();
    let refused = replies.iter().filter(|(_, s)| *s == 403).count();
    assert_eq!((granted, refused), (30, 10), "{replies:?}");

    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        b"test-audit-hmac-key-0123456789abcdef",
    );
    let expected = aws_lc_rs::hmac::sign(&key, GRAPH_TOKEN.as_bytes());
    let audit = app.audit().await;
    assert_eq!(audit.len(), 40);
    for (sandbox, status) in &replies {
        let rows: Vec<_> = audit.iter().filter(|r| &r.1 == sandbox).collect();
        let per_sandbox = replies.iter().filter(|(s, _)| s == sandbox).count();
        assert_eq!(rows.len(), per_sandbox, "{sandbox}");
        for row in rows {
            if *status == 200 {
                assert_eq!((row.3.as_str(), row.4.as_deref()), ("issued", None));
                assert_eq!(row.5.as_deref(), Some(expected.as_ref()));
            } else {
                assert_eq!(
                    (row.3.as_str(), row.4.as_deref()),
                    ("denied", Some("binding_not_found"))
                );
                assert_eq!(row.5, None);
            }
        }
    }
}

#[tokio::test]
async fn every_failed_check_is_refused_with_its_reason_and_audited() {
    let app = TestApp::spawn().await;
    app.bind("sb-ok").await;
    app.bind("sb-suspended").await;
    app.bind("sb-expired").await;
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use tessera_credential_broker::db::schema::bindings;
        let mut c = app.conn().await;
        diesel::update(bindings::table.find("sb-suspended"))
            .set(bindings::status.eq("suspended"))
            .execute(&mut c)
            .await
            .unwrap();
        diesel::update(bindings::table.find("sb-expired"))
            .set(bindings::expires_at.eq(chrono::Utc::now() - chrono::TimeDelta::seconds(1)))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let body = |sb: &str, host: &str, scopes: &[&str]| json!({"sandbox_id": sb, "upstream_host": host, "scopes": scopes});

    // 1. The caller.
    let r = app
        .token(
            &app.api,
            None,
            body("sb-ok", "graph.microsoft.com", &[GRAPH_SCOPE]),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["reason"], "caller_unauthenticated");
    assert!(r.headers.contains_key("www-authenticate"));
    let r = app
        .token(
            &app.api,
            Some("wrong-token-0123456789"),
            body("sb-ok", "graph.microsoft.com", &[GRAPH_SCOPE]),
        )
        .await;
    assert_eq!(r.status, 401);

    let cases: &[(&str, &str, &[&str], u16, &str)] = &[
        // 2. The binding.
        (
            "sb-unknown",
            "graph.microsoft.com",
            &[GRAPH_SCOPE],
            403,
            "binding_not_found",
        ),
        (
            "sb-suspended",
            "graph.microsoft.com",
            &[GRAPH_SCOPE],
            403,
            "binding_inactive",
        ),
        (
            "sb-expired",
            "graph.microsoft.com",
            &[GRAPH_SCOPE],
            403,
            "binding_inactive",
        ),
        // 3. The upstream: exact host only; trailing dot, port, look-alikes and other hosts refused.
        (
            "sb-ok",
            "evil.example.com",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "graph.microsoft.com.",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "GRAPH.MICROSOFT.COM.",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "graph.microsoft.com:443",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "graph.microsoft.com.evil.com",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "microsoft.com",
            &[GRAPH_SCOPE],
            403,
            "upstream_not_allowed",
        ),
        (
            "sb-ok",
            "api.github.com",
            &["repo"],
            403,
            "upstream_not_allowed",
        ),
        // 4. The scopes: every one must be allowed.
        (
            "sb-ok",
            "graph.microsoft.com",
            &[GRAPH_SCOPE, "Mail.Send"],
            403,
            "scope_not_allowed",
        ),
        (
            "sb-ok",
            "graph.microsoft.com",
            &["user.read"],
            403,
            "scope_not_allowed",
        ),
        // 6. The wallet has nothing for this upstream.
        (
            "sb-ok",
            "files.example.com",
            &["files.read"],
            403,
            "wallet_credential_missing",
        ),
    ];
    for (sb, host, scopes, status, reason) in cases {
        let r = app
            .token(&app.api, Some(CALLER), body(sb, host, scopes))
            .await;
        assert_eq!(r.status, *status, "{sb} {host} {scopes:?}: {}", r.body);
        assert_eq!(r.body["reason"], *reason, "{sb} {host} {scopes:?}");
        assert_eq!(r.body["error_code"], "forbidden");
        assert!(r.body.get("access_token").is_none());
    }

    // Every refusal is audited as denied, with its reason and no token HMAC.
    let audit = app.audit().await;
    assert_eq!(audit.len(), 2 + cases.len());
    assert_eq!(audit[0].0, "anonymous");
    assert_eq!(audit[0].4.as_deref(), Some("caller_unauthenticated"));
    for (row, (sb, _, _, _, reason)) in audit[2..].iter().zip(cases) {
        assert_eq!(row.0, "auth-proxy");
        assert_eq!(row.1, *sb);
        assert_eq!(row.3, "denied");
        assert_eq!(row.4.as_deref(), Some(*reason));
        assert_eq!(row.5, None);
    }

    // Malformed bodies: 422, before any check.
    for bad in [
        json!({"sandbox_id": "sb-ok", "upstream_host": "graph.microsoft.com", "scopes": []}),
        json!({"sandbox_id": "", "upstream_host": "graph.microsoft.com", "scopes": [GRAPH_SCOPE]}),
        json!({"sandbox_id": "sb-ok", "scopes": [GRAPH_SCOPE]}),
    ] {
        let r = app.token(&app.api, Some(CALLER), bad.clone()).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert_eq!(r.body["error_code"], "validation_error");
    }
}

#[tokio::test]
async fn no_audit_row_means_no_token() {
    let app = TestApp::spawn().await;
    app.bind("sb-ok").await;
    {
        use diesel_async::RunQueryDsl;
        let mut c = app.conn().await;
        diesel::sql_query(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$",
        )
        .execute(&mut c)
        .await
        .unwrap();
        diesel::sql_query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let r = app
        .request("sb-ok", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error_code"], "service_unavailable");
    assert!(!r.body.to_string().contains(GRAPH_TOKEN));
    // Nothing half-written: no audit row and no event.
    let mut c = app.conn().await;
    assert_eq!(
        tessera_events::relay::pending_count(&mut c).await.unwrap(),
        0
    );
    assert!(app.audit().await.is_empty());
}

/// Issue #21: decisions are counted by outcome, `broker_tokens_total{outcome}`, every outcome
/// present from the start.
#[tokio::test]
async fn token_decisions_are_counted_by_outcome() {
    let app = TestApp::spawn().await;
    let count = async |outcome: &str| -> u64 {
        let r = app
            .api
            .call(reqwest::Method::GET, "/metrics", None, None, &[])
            .await;
        let series =
            format!("broker_tokens_total{{outcome=\"{outcome}\",service=\"credential-broker\"}}");
        tessera_testkit::metrics::sample(r.body.as_str().unwrap(), &series) as u64
    };
    assert_eq!(count("issued").await, 0);
    assert_eq!(count("rate_limited").await, 0);
    app.bind("kata-sandbox-abc123").await;
    let ok = app
        .request("kata-sandbox-abc123", "graph.microsoft.com", &[GRAPH_SCOPE])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let missing = app
        .request(
            "kata-sandbox-unknown",
            "graph.microsoft.com",
            &[GRAPH_SCOPE],
        )
        .await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert_eq!(count("issued").await, 1);
    assert_eq!(count("binding_not_found").await, 1);
    assert_eq!(count("scope_not_allowed").await, 0);
}
