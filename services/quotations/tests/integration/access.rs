//! Personal access tokens, `QUOTATIONS_REQUIRE_AUTH`, and admin-only soft deletes (token
//! `is_admin` or the trusted gateway's `moderator` role).

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_issued_used_and_revoked() {
    let app = TestApp::spawn().await;
    app.user_token("test@example.com", true).await;
    let r = app
        .call(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"email": "Test@Example.com", "password": PASSWORD, "device_name": "cli"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["message"], "Token created successfully.");
    assert_eq!(r.body["data"]["token_type"], "Bearer");
    assert_eq!(r.body["data"]["device_name"], "cli");
    let token = r.body["data"]["token"].as_str().unwrap().to_owned();
    assert!(
        token
            .split_once('|')
            .is_some_and(|(id, s)| id.parse::<i64>().is_ok() && s.len() == 40)
    );
    let me = app
        .call(Method::GET, "/api/user", Some(&token), None, &[])
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["email"], "test@example.com");
    assert_eq!(me.body["data"]["is_admin"], true);
    assert_eq!(me.body["data"]["permissions"]["delete_quotations"], true);
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        used: bool,
    }
    let used: Used = diesel::sql_query(
        "SELECT last_used_at IS NOT NULL AS used FROM personal_access_tokens ORDER BY id DESC LIMIT 1",
    )
    .get_result(&mut c)
    .await
    .unwrap();
    assert!(used.used, "last_used_at is recorded");
    let out = app
        .call(Method::DELETE, "/api/auth/token", Some(&token), None, &[])
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body["message"], "Token revoked successfully.");
    assert_eq!(
        app.call(Method::GET, "/api/user", Some(&token), None, &[])
            .await
            .status,
        401
    );
    assert_eq!(
        app.call(Method::DELETE, "/api/auth/token", None, None, &[])
            .await
            .status,
        401
    );
    // A forged secret for a real id is refused.
    let (id, _) = token.split_once('|').unwrap();
    let forged = format!("{id}|{}", "x".repeat(40));
    assert_eq!(
        app.call(Method::GET, "/api/user", Some(&forged), None, &[])
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_and_missing_fields_are_422() {
    let app = TestApp::spawn().await;
    app.user_token("a@example.com", false).await;
    let wrong = app
        .call(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"email": "a@example.com", "password": "nope", "device_name": "cli"})),
            &[],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(
        wrong.body["errors"]["email"][0],
        "The provided credentials are incorrect."
    );
    let unknown = app
        .call(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"email": "b@example.com", "password": "nope", "device_name": "cli"})),
            &[],
        )
        .await;
    assert_eq!(
        unknown.envelope_sans_request_id(),
        wrong.envelope_sans_request_id()
    );
    let missing = app
        .call(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"email": "a@example.com"})),
            &[],
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.body["errors"]["password"].is_array()
            && missing.body["errors"]["device_name"].is_array()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn require_auth_guards_the_quote_routes() {
    let app = TestApp::spawn_with(|c| c.quotations_require_auth = true).await;
    for (m, p) in [
        (Method::GET, "/api/quotation/AAPL"),
        (Method::POST, "/api/quotation/AAPL"),
        (Method::GET, "/api/quotations"),
    ] {
        let r = app.call(m, p, None, None, &[]).await;
        assert_eq!(r.status, 401, "{p}: {}", r.body);
        assert_eq!(r.body["error_code"], "unauthenticated");
    }
    let token = app.user_token("u@example.com", false).await;
    let r = app
        .call(Method::GET, "/api/quotations", Some(&token), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn seed_rows(app: &TestApp) {
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    diesel::sql_query(
        "INSERT INTO quotations (symbol, type, source, price, quoted_at)
         SELECT s, 'stock', 'yahoo_finance', 100 + d, timestamptz '2025-11-01Z' + (d || ' hours')::interval
         FROM unnest(ARRAY['AAPL', 'MSFT']) s, generate_series(1, 3) d",
    )
    .execute(&mut c)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_are_for_admins_and_gateway_moderators_only() {
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret-0123456789".into());
        c.quotations_moderator_tenants = "demo, ops".into();
    })
    .await;
    seed_rows(&app).await;
    let admin = app.user_token("admin@example.com", true).await;
    let user = app.user_token("user@example.com", false).await;
    let list = app.get("/api/quotations?symbol=AAPL").await;
    let id = list.body["data"][0]["id"].as_i64().unwrap();
    let path = format!("/api/quotations/{id}");
    assert_eq!(
        app.call(Method::DELETE, &path, None, None, &[])
            .await
            .status,
        401
    );
    let denied = app
        .call(Method::DELETE, &path, Some(&user), None, &[])
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.body["error_code"], "forbidden");
    // Gateway headers without the secret are ignored; with it, a moderator may delete.
    let spoofed = app
        .call(
            Method::DELETE,
            &path,
            None,
            None,
            &[("X-Auth-Subject", "agent-1"), ("X-Auth-Roles", "moderator")],
        )
        .await;
    assert_eq!(spoofed.status, 401);
    let viewer = app
        .call(
            Method::DELETE,
            &path,
            None,
            None,
            &[
                ("X-Gateway-Secret", "gw-secret-0123456789"),
                ("X-Auth-Subject", "agent-2"),
                ("X-Auth-Roles", "viewer"),
            ],
        )
        .await;
    assert_eq!(viewer.status, 403);
    // A moderator of a tenant quotations does not trust, or of no tenant at all: 403 (issue #17).
    for tenant in [Some("other"), Some("demo-evil"), None] {
        let mut headers = vec![
            ("X-Gateway-Secret", "gw-secret-0123456789"),
            ("X-Auth-Subject", "agent-9"),
            ("X-Auth-Roles", "moderator"),
        ];
        headers.extend(tenant.map(|t| ("X-Auth-Tenant", t)));
        let foreign = app.call(Method::DELETE, &path, None, None, &headers).await;
        assert_eq!(foreign.status, 403, "{tenant:?}: {}", foreign.body);
        assert_eq!(foreign.body["error_code"], "forbidden");
    }
    let moderator = app
        .call(
            Method::DELETE,
            &path,
            None,
            None,
            &[
                ("X-Gateway-Secret", "gw-secret-0123456789"),
                ("X-Auth-Subject", "agent-1"),
                ("X-Auth-Roles", "agent,moderator"),
                ("X-Auth-Tenant", "demo"),
            ],
        )
        .await;
    assert_eq!(moderator.status, 200, "{}", moderator.body);
    assert_eq!(moderator.body["data"]["id"], id);
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&admin), None, &[])
            .await
            .status,
        404,
        "already deleted"
    );
    assert_eq!(app.get("/api/quotations").await.body["meta"]["total"], 5);

    let bulk = |body: serde_json::Value, token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move {
            app.call(
                Method::POST,
                "/api/quotations/bulk-delete",
                Some(&token),
                Some(body),
                &[],
            )
            .await
        }
    };
    assert_eq!(
        bulk(json!({"confirm": true, "symbol": "AAPL"}), &user)
            .await
            .status,
        403
    );
    let no_confirm = bulk(json!({"symbol": "AAPL"}), &admin).await;
    assert_eq!(no_confirm.status, 422);
    assert!(no_confirm.body["errors"]["confirm"].is_array());
    let everything = bulk(json!({"confirm": true}), &admin).await;
    assert_eq!(everything.status, 422);
    assert!(everything.body["errors"]["delete_all"].is_array());
    let bad_filter = bulk(json!({"confirm": true, "type": "bond"}), &admin).await;
    assert_eq!(bad_filter.status, 422);
    let aapl = bulk(json!({"confirm": true, "symbol": "AAPL"}), &admin).await;
    assert_eq!(aapl.status, 200, "{}", aapl.body);
    assert_eq!(
        aapl.body["data"]["deleted"], 2,
        "one AAPL row was deleted already"
    );
    let all = bulk(json!({"confirm": true, "delete_all": true}), &admin).await;
    assert_eq!(all.body["data"]["deleted"], 3);
    assert_eq!(app.get("/api/quotations").await.body["meta"]["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_throttle_holds_across_replicas() {
    let app = TestApp::spawn_with(|c| c.quotations_api_rate_limit_per_minute = 5).await;
    let replica = app.replica().await;
    let token = app.user_token("t@example.com", false).await;
    let minute = || chrono::Utc::now().timestamp() / 60;
    let started = minute();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let api = if i % 2 == 0 { &app.api } else { &replica };
        let r = api
            .call(Method::GET, "/api/quotations", Some(&token), None, &[])
            .await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_eq!(r.body["error_code"], "too_many_requests");
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    // Five per minute in all, whichever replica answered (a new minute is a new budget).
    let ok = statuses.iter().filter(|s| **s == 200).count();
    if minute() == started {
        assert_eq!(ok, 5, "{statuses:?}");
        assert_eq!(statuses[5..], [429, 429, 429]);
    }
    // Another caller (anonymous, by address) has its own budget.
    assert_eq!(app.get("/api/quotations").await.status, 200);
}

/// A user lists their own tokens (never a secret) and revokes any of them by id; another user's
/// token id is a 404 and stays valid; tokens may carry an expiry, after which they are refused
/// (issue #20, Sanctum's `$user->tokens()` and `createToken(…, $expiresAt)`).
#[tokio::test(flavor = "multi_thread")]
async fn a_user_lists_and_revokes_their_own_tokens_and_tokens_may_expire() {
    let app = TestApp::spawn().await;
    let first = app.user_token("ana@example.com", false).await;
    let other = app.user_token("bob@example.com", false).await;
    let issue = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.call(Method::POST, "/api/auth/token", None, Some(body), &[])
                .await
        }
    };
    let later = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let r = issue(json!({"email": "ana@example.com", "password": PASSWORD,
                          "device_name": "laptop", "expires_at": later}))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["data"]["token"].as_str().unwrap().to_owned();
    for bad in [json!("yesterday"), json!("2001-01-01T00:00:00Z"), json!(5)] {
        let r = issue(json!({"email": "ana@example.com", "password": PASSWORD,
                              "device_name": "x", "expires_at": bad}))
        .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert!(r.body["errors"]["expires_at"].is_array(), "{}", r.body);
    }

    let list = app
        .call(Method::GET, "/api/user/tokens", Some(&first), None, &[])
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let data = list.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "only ana's: {}", list.body);
    assert_eq!(data[0]["name"], "laptop", "newest first");
    assert!(data[0]["expires_at"].is_string());
    assert!(data[1]["expires_at"].is_null());
    for t in data {
        for field in [
            "id",
            "name",
            "abilities",
            "created_at",
            "last_used_at",
            "expires_at",
        ] {
            assert!(t.get(field).is_some(), "{field} in {t}");
        }
    }
    let text = list.body.to_string();
    for secret in [&first, &second] {
        assert!(
            !text.contains(secret.split_once('|').unwrap().1),
            "no secret listed"
        );
    }
    assert!(!text.contains("token_hash"));

    // Bob's token id, seen by ana: unknown; and it still works.
    let bob_id = other.split_once('|').unwrap().0;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/user/tokens/{bob_id}"),
            Some(&first),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(
        app.call(Method::GET, "/api/user", Some(&other), None, &[])
            .await
            .status,
        200
    );
    let r = app
        .call(
            Method::DELETE,
            "/api/user/tokens/not-a-number",
            Some(&first),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 404);

    // Ana revokes her laptop token with her first one: it stops working, the first does not.
    let laptop_id = second.split_once('|').unwrap().0;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/user/tokens/{laptop_id}"),
            Some(&first),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"], "Token revoked successfully.");
    assert_eq!(
        app.call(Method::GET, "/api/user", Some(&second), None, &[])
            .await
            .status,
        401
    );
    assert_eq!(
        app.call(Method::GET, "/api/user", Some(&first), None, &[])
            .await
            .status,
        200
    );
    // Without a token: 401.
    assert_eq!(
        app.call(Method::GET, "/api/user/tokens", None, None, &[])
            .await
            .status,
        401
    );

    // An expired token is refused.
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    diesel::sql_query(
        "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(first.split_once('|').unwrap().0.parse::<i64>().unwrap())
    .execute(&mut c)
    .await
    .unwrap();
    assert_eq!(
        app.call(Method::GET, "/api/user/tokens", Some(&first), None, &[])
            .await
            .status,
        401
    );
}

/// Restoring soft deletes (issue #20): admins and trusted moderators only, as deleting; a row
/// with a live equivalent is a 409 (one) or skipped (bulk); the bulk variant takes the same
/// filters and `confirm`, and `restore_all` without filters.
#[tokio::test(flavor = "multi_thread")]
async fn soft_deletes_are_restored_with_the_same_authorization() {
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret-0123456789".into());
        c.quotations_moderator_tenants = "demo".into();
    })
    .await;
    seed_rows(&app).await;
    let admin = app.user_token("admin@example.com", true).await;
    let user = app.user_token("user@example.com", false).await;
    let total = |app: &TestApp| {
        let app = app.api.clone();
        async move {
            app.call(Method::GET, "/api/quotations", None, None, &[])
                .await
                .body["meta"]["total"]
                .clone()
        }
    };
    assert_eq!(total(&app).await, 6);
    let id = app.get("/api/quotations?symbol=AAPL").await.body["data"][0]["id"]
        .as_i64()
        .unwrap();
    let restore = format!("/api/quotations/{id}/restore");
    // Not deleted yet: nothing to restore.
    assert_eq!(
        app.call(Method::POST, &restore, Some(&admin), None, &[])
            .await
            .status,
        404
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/quotations/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(total(&app).await, 5);
    // Who may restore: as for deleting.
    assert_eq!(
        app.call(Method::POST, &restore, None, None, &[])
            .await
            .status,
        401
    );
    let denied = app
        .call(Method::POST, &restore, Some(&user), None, &[])
        .await;
    assert_eq!(
        (denied.status, denied.body["error_code"].as_str()),
        (403, Some("forbidden"))
    );
    let foreign = app
        .call(
            Method::POST,
            &restore,
            None,
            None,
            &[
                ("X-Gateway-Secret", "gw-secret-0123456789"),
                ("X-Auth-Subject", "agent-9"),
                ("X-Auth-Roles", "moderator"),
                ("X-Auth-Tenant", "other"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 403);
    let moderator = app
        .call(
            Method::POST,
            &restore,
            None,
            None,
            &[
                ("X-Gateway-Secret", "gw-secret-0123456789"),
                ("X-Auth-Subject", "agent-1"),
                ("X-Auth-Roles", "moderator"),
                ("X-Auth-Tenant", "demo"),
            ],
        )
        .await;
    assert_eq!(moderator.status, 200, "{}", moderator.body);
    assert_eq!(moderator.body["data"], json!({"id": id, "deleted": false}));
    assert_eq!(total(&app).await, 6);
    assert_eq!(
        app.call(
            Method::POST,
            "/api/quotations/abc/restore",
            Some(&admin),
            None,
            &[]
        )
        .await
        .status,
        404
    );

    // A live equivalent blocks the restore: 409, nothing changes.
    app.call(
        Method::DELETE,
        &format!("/api/quotations/{id}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    let mut c = AsyncPgConnection::establish(app.db_url()).await.unwrap();
    diesel::sql_query(
        "INSERT INTO quotations (symbol, type, source, price, quoted_at)
         SELECT symbol, type, source, price, quoted_at FROM quotations WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut c)
    .await
    .unwrap();
    let r = app
        .call(Method::POST, &restore, Some(&admin), None, &[])
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (409, Some("conflict")),
        "{}",
        r.body
    );
    assert_eq!(total(&app).await, 6);

    // Bulk: the same validation as bulk-delete, then the filtered rows come back; the one with a
    // live equivalent is skipped.
    let bulk = |body: serde_json::Value| {
        let (app, admin) = (app.api.clone(), admin.clone());
        async move {
            app.call(
                Method::POST,
                "/api/quotations/bulk-restore",
                Some(&admin),
                Some(body),
                &[],
            )
            .await
        }
    };
    let r = bulk(json!({})).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["errors"]["confirm"].is_array() && r.body["errors"]["restore_all"].is_array(),
        "{}",
        r.body
    );
    let r = app
        .call(
            Method::POST,
            "/api/quotations/bulk-delete",
            Some(&admin),
            Some(json!({"confirm": true, "symbol": "MSFT"})),
            &[],
        )
        .await;
    assert_eq!(r.body["data"]["deleted"], 3, "{}", r.body);
    let r = app
        .call(
            Method::POST,
            "/api/quotations/bulk-restore",
            Some(&user),
            Some(json!({"confirm": true, "restore_all": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = bulk(json!({"confirm": true, "symbol": "MSFT"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"], json!({"restored": 3, "skipped": 0}));
    let r = bulk(json!({"confirm": true, "restore_all": true})).await;
    assert_eq!(
        r.body["data"],
        json!({"restored": 0, "skipped": 1}),
        "the AAPL row with a live twin"
    );
    assert_eq!(total(&app).await, 6);
}
