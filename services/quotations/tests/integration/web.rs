//! Web session auth, CSRF, the dashboards' guards and the auto-collect JSON routes (issue #7):
//! every status code seed 001 lists for them.

use serde_json::json;

use crate::helpers::{
    PASSWORD, TestApp, WebReply, awesome_pair, link, mails, mount_btc, mount_json,
};

#[tokio::test]
async fn pages_set_a_secure_session_cookie_and_carry_a_csrf_token() {
    let app = TestApp::spawn().await;
    let mut w = app.web();
    let r = w.get("/login").await;
    assert_eq!(r.status, 200);
    let cookie = r.set_cookie().expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(w.csrf.as_deref().is_some_and(|t| t.len() >= 32));
    assert!(r.headers.get("content-security-policy").is_some());
    // No CDN: every script and stylesheet is served by the service itself.
    assert!(!r.text.contains("https://"), "{}", r.text);
    for asset in ["/assets/app.js", "/assets/app.css"] {
        assert_eq!(w.get(asset).await.status, 200);
    }
    // Only the digest of the cookie is stored.
    let value = w.cookie.clone().unwrap();
    let raw = app
        .scalar(&format!(
            "SELECT count(*) FROM web_sessions WHERE id_hash = convert_to('{value}', 'UTF8')"
        ))
        .await;
    assert_eq!(raw, "0");
    let digest = app
        .scalar(&format!("SELECT count(*) FROM web_sessions WHERE id_hash = sha256(convert_to('{value}', 'UTF8'))"))
        .await;
    assert_eq!(digest, "1");
}

#[tokio::test]
async fn local_cookies_are_not_secure() {
    let app =
        TestApp::spawn_with(|c| c.base.app_env = tessera_quotations::config::AppEnv::Local).await;
    let r = app.web().get("/login").await;
    let cookie = r.set_cookie().expect("a session cookie");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn every_state_changing_route_refuses_a_missing_or_wrong_csrf_token_with_419() {
    let app = TestApp::spawn().await;
    let mut w = app.web();
    let routes = [
        ("POST", "/register"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("POST", "/forgot-password"),
        ("POST", "/reset-password"),
        ("POST", "/email/verification-notification"),
        ("PUT", "/dashboard/operations/auto-collect"),
        ("POST", "/dashboard/operations/auto-collect/run"),
    ];
    // Without any session.
    for (m, p) in routes {
        let r = w.send(m.parse().unwrap(), p, Some(json!({})), false).await;
        assert_eq!(r.status, 419, "{m} {p}");
        assert_eq!(r.json["error_code"], "csrf_mismatch", "{m} {p}");
        assert!(r.json["request_id"].is_string());
    }
    // With a session but a wrong token (header and body).
    w.get("/login").await;
    for (m, p) in routes {
        let r = w
            .send(
                m.parse().unwrap(),
                p,
                Some(json!({"_token": "nope"})),
                false,
            )
            .await;
        assert_eq!(r.status, 419, "{m} {p}");
    }
    // The body's _token is accepted as well as the header.
    let token = w.csrf.clone().unwrap();
    let r = w
        .send(
            reqwest::Method::POST,
            "/forgot-password",
            Some(json!({"_token": token, "email": "x@example.com"})),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn register_login_and_logout_answer_the_seed_codes() {
    let app = TestApp::spawn().await;
    let mut w = app.web();
    w.get("/register").await;
    let guest_cookie = w.cookie.clone();

    let r = w
        .post(
            "/register",
            json!({"email": "not-an-email", "password": "short", "password_confirmation": "other"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["error_code"], "validation_error");
    for f in ["name", "email", "password"] {
        assert!(r.json["errors"][f].is_array(), "{f}: {}", r.json);
    }
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, "0");

    let body = json!({"name": "Ana", "email": "Ana@Example.com", "password": PASSWORD, "password_confirmation": PASSWORD});
    let r = w.post("/register", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["data"]["email"], "ana@example.com");
    assert_eq!(r.json["data"]["email_verified"], false);
    assert_ne!(w.cookie, guest_cookie, "the session is replaced at sign-in");
    assert!(!r.text.contains(PASSWORD));
    let hash = app.scalar("SELECT password_hash FROM users").await;
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    // The same e-mail again.
    w.refresh_csrf().await;
    let r = w.post("/register", body).await;
    assert_eq!(r.status, 422);
    assert!(r.json["errors"]["email"].is_array());

    let r = w.post("/logout", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    w.refresh_csrf().await;
    let r = w.post("/logout", json!({})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["error_code"], "unauthenticated");

    let r = w.post("/login", json!({"email": "ana@example.com"})).await;
    assert_eq!(r.status, 422);
    let r = w
        .post(
            "/login",
            json!({"email": "ana@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(r.status, 401);
    let unknown = w
        .post(
            "/login",
            json!({"email": "nobody@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.json["message"], r.json["message"],
        "no account enumeration"
    );
    let before = w.cookie.clone();
    let r = w
        .post(
            "/login",
            json!({"email": "ANA@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["name"], "Ana");
    assert_ne!(w.cookie, before, "a new session at login (no fixation)");
    // The old session no longer exists.
    let mut old = app.web();
    old.cookie = before;
    assert_eq!(old.get("/dashboard/quotations").await.location(), "/login");
}

#[tokio::test]
async fn login_is_throttled_per_email_and_client_address() {
    let app = TestApp::spawn_with(|c| c.quotations_login_max_attempts = 3).await;
    let mut w = app.verified_user("t@example.com").await;
    w.post("/logout", json!({})).await;
    w.refresh_csrf().await;
    // The counter is per one-minute window: a run that straddles a minute boundary starts over.
    for _ in 0..3 {
        let minute = chrono::Utc::now().timestamp() / 60;
        app.exec("DELETE FROM api_throttle").await;
        for _ in 0..3 {
            let r = w
                .post(
                    "/login",
                    json!({"email": "t@example.com", "password": "wrong-password"}),
                )
                .await;
            assert_eq!(r.status, 401);
        }
        let r = w
            .post(
                "/login",
                json!({"email": "t@example.com", "password": PASSWORD}),
            )
            .await;
        if chrono::Utc::now().timestamp() / 60 != minute {
            continue;
        }
        assert_eq!(r.status, 429, "{}", r.text);
        assert_eq!(r.json["error_code"], "too_many_requests");
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        // Another e-mail from the same address is not locked out.
        let r = w
            .post(
                "/login",
                json!({"email": "other@example.com", "password": "wrong-password"}),
            )
            .await;
        assert_eq!(r.status, 401);
        return;
    }
    unreachable!("three runs straddled a minute boundary");
}

#[tokio::test]
async fn the_verification_link_is_signed_and_expires() {
    let app = TestApp::spawn().await;
    let mut w = app.web();
    w.get("/register").await;
    let r = w
        .post("/register", json!({"name": "Bo", "email": "bo@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        w.get("/dashboard/quotations").await.location(),
        "/verify-email"
    );
    assert_eq!(w.get("/verify-email").await.status, 200);
    let mail = mails(app.mail_dir.path()).pop().expect("a mail");
    assert!(mail.contains("To: bo@example.com"), "{mail}");
    let url = link(&mail, "/verify-email/").expect("a link");
    assert!(
        url.starts_with("http://127.0.0.1:8082/verify-email/"),
        "{url}"
    );
    let path = url.trim_start_matches("http://127.0.0.1:8082");

    // Tampered: another signature, another user id, another expiry.
    let tampered = format!("{}x", path);
    assert_eq!(w.get(&tampered).await.status, 403);
    let other_id = path.replacen("/verify-email/1/", "/verify-email/2/", 1);
    assert_eq!(w.get(&other_id).await.status, 403);
    let later = regex_free_replace_expires(path);
    assert_eq!(w.get(&later).await.status, 403);
    // Expired: correctly signed, but in the past.
    let key =
        tessera_quotations::web::signed::key(b"test-app-key-test-app-key-test-app-key").unwrap();
    let id_hash = path.split('?').next().unwrap();
    let expired =
        tessera_quotations::web::signed::sign(&key, id_hash, chrono::Utc::now().timestamp() - 1);
    let r = w.get(&expired).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("expired"));
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email_verified_at IS NULL")
            .await,
        "1"
    );

    let r = w.get(path).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.location(), "/dashboard/quotations?verified=1");
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL")
            .await,
        "1"
    );
    assert_eq!(w.get("/dashboard/quotations").await.status, 200);

    // Resending: 200 (already verified), 401 when signed out.
    let r = w.post("/email/verification-notification", json!({})).await;
    assert_eq!(r.status, 200);
    w.post("/logout", json!({})).await;
    w.refresh_csrf().await;
    let r = w.post("/email/verification-notification", json!({})).await;
    assert_eq!(r.status, 401);
}

fn regex_free_replace_expires(path: &str) -> String {
    let (head, query) = path.split_once("?expires=").unwrap();
    let (expires, rest) = query.split_once('&').unwrap();
    let later: i64 = expires.parse::<i64>().unwrap() + 3600;
    format!("{head}?expires={later}&{rest}")
}

#[tokio::test]
async fn an_unverified_user_can_ask_for_another_link() {
    let app = TestApp::spawn().await;
    let mut w = app.web();
    w.get("/register").await;
    w.post("/register", json!({"name": "Cy", "email": "cy@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}))
        .await;
    w.get("/verify-email").await;
    let r = w.post("/email/verification-notification", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mails(app.mail_dir.path()).len(), 2);
    // At most six a minute (a run that straddles a minute boundary starts over).
    for _ in 0..3 {
        let minute = chrono::Utc::now().timestamp() / 60;
        app.exec("DELETE FROM api_throttle").await;
        for _ in 0..6 {
            let r = w.post("/email/verification-notification", json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let r = w.post("/email/verification-notification", json!({})).await;
        if chrono::Utc::now().timestamp() / 60 != minute {
            continue;
        }
        assert_eq!(r.status, 429, "{}", r.text);
        assert!(r.headers.get("retry-after").is_some());
        return;
    }
    unreachable!("three runs straddled a minute boundary");
}

#[tokio::test]
async fn a_password_reset_token_is_hashed_single_use_and_valid_for_60_minutes() {
    let app = TestApp::spawn().await;
    let mut w = app.verified_user("dee@example.com").await;
    let signed_in = w.cookie.clone();
    let mut other = app.web();
    other.get("/forgot-password").await;

    let r = other
        .post("/forgot-password", json!({"email": "bad"}))
        .await;
    assert_eq!(r.status, 422);
    let unknown = other
        .post("/forgot-password", json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!(unknown.status, 200);
    let before = mails(app.mail_dir.path()).len();
    let r = other
        .post("/forgot-password", json!({"email": "dee@example.com"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["message"], unknown.json["message"],
        "no account enumeration"
    );
    let all = mails(app.mail_dir.path());
    assert_eq!(all.len(), before + 1);
    // A second request within 60 s sends nothing more.
    other
        .post("/forgot-password", json!({"email": "dee@example.com"}))
        .await;
    assert_eq!(mails(app.mail_dir.path()).len(), before + 1);

    let url = link(all.last().unwrap(), "/reset-password/").expect("a reset link");
    let token = url
        .split("/reset-password/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let stored = app
        .scalar("SELECT encode(token_hash, 'escape') FROM password_reset_tokens")
        .await;
    assert!(!stored.contains(&token), "only the digest is stored");
    let page = other
        .get(url.trim_start_matches("http://127.0.0.1:8082"))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(&token));

    let new_password = "a-brand-new-password";
    let body = |t: &str| json!({"token": t, "email": "dee@example.com", "password": new_password, "password_confirmation": new_password});
    let r = other.post("/reset-password", body("wrong-token")).await;
    assert_eq!(r.status, 422);
    // Expired (61 minutes old).
    app.exec("UPDATE password_reset_tokens SET created_at = now() - interval '61 minutes'")
        .await;
    let r = other.post("/reset-password", body(&token)).await;
    assert_eq!(r.status, 422);
    app.exec("UPDATE password_reset_tokens SET created_at = now()")
        .await;
    let r = other.post("/reset-password", body(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Single use.
    let r = other.post("/reset-password", body(&token)).await;
    assert_eq!(r.status, 422);
    // Every session of the user ended.
    w.cookie = signed_in;
    assert_eq!(w.get("/dashboard/quotations").await.location(), "/login");
    let r = other
        .post(
            "/login",
            json!({"email": "dee@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = other
        .post(
            "/login",
            json!({"email": "dee@example.com", "password": new_password}),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn dashboards_redirect_guests_and_show_quotes_with_a_chart() {
    let app = TestApp::spawn().await;
    let mut guest = app.web();
    assert_eq!(
        guest.get("/dashboard").await.location(),
        "/dashboard/quotations"
    );
    assert_eq!(
        guest.get("/dashboard/quotations").await.location(),
        "/login"
    );
    assert_eq!(
        guest.get("/dashboard/operations").await.location(),
        "/login"
    );

    for (bid, minute) in [("5.01", 0), ("5.05", 1), ("4.98", 2)] {
        app.stub.reset().await;
        let mut body = awesome_pair("USD", "BRL", bid);
        body["USDBRL"]["timestamp"] = json!((1_763_790_000 + minute * 60).to_string());
        mount_json(&app.stub, "/json/last/USD-BRL", 200, body).await;
        let r = app
            .call(
                reqwest::Method::POST,
                "/api/quotation/USD-BRL",
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let mut w = app.verified_user("eve@example.com").await;
    let r = w.get("/dashboard/quotations").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("USDBRL"));
    assert!(r.text.contains("4.98"), "the latest price is shown");
    assert!(r.text.contains("<polyline points=\""), "a chart is drawn");
    assert!(r.text.contains("3 point(s)"));
    let r = w.get("/dashboard/quotations?symbol=BTC").await;
    assert!(r.text.contains("No quotation matches."));
    let r = w.get("/dashboard/quotations?date_from=yesterday").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("date"), "the filter error is shown");
    assert_eq!(w.get("/dashboard/operations").await.status, 200);
}

#[tokio::test]
async fn the_dashboards_are_closed_outside_local_and_testing() {
    let app = TestApp::spawn_with(|c| {
        c.base.app_env = tessera_quotations::config::AppEnv::Production;
    })
    .await;
    let mut w = app.verified_user("ops@example.com").await;
    assert_eq!(w.get("/dashboard/quotations").await.status, 403);
    assert_eq!(w.get("/dashboard/operations").await.status, 403);
    let r = w.get("/dashboard/operations/auto-collect").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json["error_code"], "forbidden");
    assert_eq!(r.json["reason"], "environment");
    let r = w
        .put(
            "/dashboard/operations/auto-collect",
            json!({"enabled": true, "interval_minutes": 5, "symbols": ["BTC"]}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = w
        .post(
            "/dashboard/operations/auto-collect/run",
            json!({"dry_run": true}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        w.get("/dashboard/operations/auto-collect/history")
            .await
            .status,
        403
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM auto_collect_settings")
            .await,
        "0"
    );
}

#[tokio::test]
async fn auto_collect_settings_read_validate_and_save() {
    let app = TestApp::spawn().await;
    let mut guest = app.web();
    assert_eq!(
        guest.get("/dashboard/operations/auto-collect").await.status,
        401
    );
    let mut w = app.verified_user("op@example.com").await;
    let r = w.get("/dashboard/operations/auto-collect").await;
    assert_eq!(r.status, 200);
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "enabled",
        "interval_minutes",
        "symbols",
        "provider",
        "available_providers",
        "cron_expression",
        "requires_scheduler_restart",
        "scheduler_restart_note",
    ] {
        assert!(keys.contains(&k), "{k} missing: {}", r.json);
    }
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["cron_expression"], "*/15 * * * *");
    assert_eq!(
        r.json["available_providers"],
        json!(["awesome_api", "alpha_vantage", "yahoo_finance", "stooq"])
    );

    for bad in [
        json!({"enabled": true, "interval_minutes": 60, "symbols": ["BTC"]}),
        json!({"enabled": true, "interval_minutes": 0, "symbols": ["BTC"]}),
        json!({"enabled": "maybe", "interval_minutes": 5, "symbols": ["BTC"]}),
        json!({"enabled": true, "interval_minutes": 5, "symbols": []}),
        json!({"enabled": true, "interval_minutes": 5, "symbols": ["BTC", "not a symbol!"]}),
        json!({"enabled": true, "interval_minutes": 5, "symbols": "BTC", "provider": "bloomberg"}),
        json!({"enabled": true, "interval_minutes": 5, "symbols": [1, 2]}),
        json!({"interval_minutes": 5, "symbols": ["BTC"]}),
    ] {
        let r = w
            .put("/dashboard/operations/auto-collect", bad.clone())
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
        assert_eq!(r.json["error_code"], "validation_error");
    }
    let r = w
        .send(
            reqwest::Method::PUT,
            "/dashboard/operations/auto-collect",
            None,
            true,
        )
        .await;
    assert_eq!(r.status, 422, "an empty body misses the required fields");
    assert_eq!(
        app.scalar("SELECT count(*) FROM auto_collect_settings")
            .await,
        "0"
    );

    let r = w.put("/dashboard/operations/auto-collect", json!({"enabled": true, "interval_minutes": "7", "symbols": "btc, eth,usd-brl", "provider": "awesome_api"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["symbols"], json!(["BTC", "ETH", "USD-BRL"]));
    assert_eq!(r.json["cron_expression"], "*/7 * * * *");
    assert_eq!(r.json["provider"], "awesome_api");
    assert_eq!(r.json["requires_scheduler_restart"], false);
    let r = w.get("/dashboard/operations/auto-collect").await;
    assert_eq!(r.json["interval_minutes"], 7);
    // An empty provider clears it.
    let r = w
        .put(
            "/dashboard/operations/auto-collect",
            json!({"enabled": false, "interval_minutes": 7, "symbols": ["BTC"], "provider": ""}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["provider"], serde_json::Value::Null);
}

#[tokio::test]
async fn run_now_dry_run_stores_nothing_and_a_real_run_is_in_the_history() {
    let app = TestApp::spawn().await;
    mount_btc(&app.stub, "91234.5").await;
    let mut w = app.verified_user("run@example.com").await;

    for bad in [
        json!({"symbols": ["BTC"], "provider": "nope"}),
        json!({"symbols": ["???"]}),
        json!({"symbols": ["BTC"], "dry_run": "yes"}),
        json!({"symbols": (0..51).map(|i| format!("S{i}")).collect::<Vec<_>>()}),
    ] {
        let r = w
            .post("/dashboard/operations/auto-collect/run", bad.clone())
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
    }

    let r = w
        .post(
            "/dashboard/operations/auto-collect/run",
            json!({"symbols": ["BTC"], "dry_run": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in [
        "exit_code",
        "summary",
        "output",
        "requested_provider",
        "effective_provider",
        "auto_fallback_applied",
        "warnings",
    ] {
        assert!(r.json.get(k).is_some(), "{k} missing: {}", r.json);
    }
    assert_eq!(r.json["exit_code"], 0);
    assert_eq!(r.json["run_id"], serde_json::Value::Null);
    assert!(
        r.json["output"]
            .as_str()
            .unwrap()
            .contains("BTC: fetched 91234.5 via awesome_api")
    );
    assert_eq!(app.scalar("SELECT count(*) FROM quotations").await, "0");
    assert_eq!(app.scalar("SELECT count(*) FROM collect_runs").await, "0");
    assert_eq!(app.scalar("SELECT count(*) FROM outbox").await, "0");

    // A provider that does not quote stocks, not forced: AAPL falls back to the stock chain.
    crate::helpers::mount_alpha(
        &app.stub,
        "GLOBAL_QUOTE",
        200,
        crate::helpers::alpha_global_quote("AAPL", "190.1200"),
    )
    .await;
    let r = w
        .post(
            "/dashboard/operations/auto-collect/run",
            json!({"symbols": "BTC,AAPL", "provider": "awesome_api"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["exit_code"], 0, "{}", r.json);
    assert_eq!(r.json["requested_provider"], "awesome_api");
    assert_eq!(r.json["effective_provider"], serde_json::Value::Null);
    assert_eq!(r.json["auto_fallback_applied"], true);
    assert_eq!(r.json["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["summary"]["created"], 2);
    assert_eq!(app.scalar("SELECT count(*) FROM quotations").await, "2");

    // Forced: AAPL is asked of awesome_api only, and fails.
    let r = w
        .post(
            "/dashboard/operations/auto-collect/run",
            json!({"symbols": ["BTC", "AAPL"], "provider": "awesome_api", "force_provider": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["exit_code"], 1);
    assert_eq!(r.json["status"], "partial");
    assert_eq!(r.json["effective_provider"], "awesome_api");
    assert_eq!(r.json["summary"]["deduplicated"], 1);

    let r = w
        .get("/dashboard/operations/auto-collect/history?limit=1")
        .await;
    assert_eq!(r.status, 200);
    let runs = r.json["data"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    for k in [
        "run_id",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "summary",
        "exit_code",
        "symbols",
    ] {
        assert!(runs[0].get(k).is_some(), "{k} missing");
    }
    assert_eq!(runs[0]["trigger"], "dashboard");
    assert_eq!(runs[0]["status"], "partial");
    assert_eq!(runs[0]["exit_code"], 1);
    let r = w.get("/dashboard/operations/auto-collect/history").await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    for bad in ["0", "101", "abc", "-1"] {
        let r = w
            .get(&format!(
                "/dashboard/operations/auto-collect/history?limit={bad}"
            ))
            .await;
        assert_eq!(r.status, 422, "limit={bad}");
    }
    // The operations page lists the runs.
    let page = w.get("/dashboard/operations").await;
    assert!(page.text.contains("status-partial"));
}

/// A real SMTP server: Python's standard `smtpd.DebuggingServer`, which prints every message it
/// receives.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("smtp.log");
        let child = std::process::Command::new("python3")
            .args([
                "-u",
                "-W",
                "ignore",
                "-m",
                "smtpd",
                "-n",
                "-c",
                "DebuggingServer",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m smtpd (Python 3.11's standard library)");
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Self {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    /// What arrived as message text: the server prints each line as a Python bytes repr;
    /// quoted-printable's soft line breaks and escaped '=' are undone.
    fn received(&self) -> String {
        let printed = std::fs::read_to_string(&self.out).unwrap_or_default();
        let raw = printed
            .lines()
            .map(|l| {
                l.strip_prefix("b'")
                    .and_then(|l| l.strip_suffix('\''))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        raw.replace("=\n", "").replace("=3D", "=")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test]
async fn mail_goes_out_over_smtp_with_lettre() {
    let smtp = SmtpSink::start().await;
    let port = smtp.port;
    let app = TestApp::spawn_with(move |c| {
        c.mail.mailer = Some(tessera_quotations::mail::MailerKind::Smtp);
        c.mail.host = Some("127.0.0.1".into());
        c.mail.port = port;
        c.mail.encryption = tessera_quotations::mail::Encryption::None;
        c.mail.from_address = "robot@quotations.test".into();
    })
    .await;
    let mut w = app.web();
    w.get("/register").await;
    let r = w
        .post("/register", json!({"name": "Smtp", "email": "smtp@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}))
        .await;
    assert_eq!(r.status, 201);
    let mut got = String::new();
    for _ in 0..50 {
        got = smtp.received();
        if got.contains("/verify-email/") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(got.contains("To: smtp@example.com"), "{got}");
    assert!(got.contains("robot@quotations.test"), "{got}");
    let url = link(&got, "/verify-email/").expect("the link arrived over SMTP");
    assert_eq!(w.get(&url).await.status, 302);
    assert!(
        mails(app.mail_dir.path()).is_empty(),
        "nothing went to the file mailer"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_does_not_fail_the_registration() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::spawn_with(move |c| {
        c.mail.mailer = Some(tessera_quotations::mail::MailerKind::Smtp);
        c.mail.host = Some("127.0.0.1".into());
        c.mail.port = port;
        c.mail.encryption = tessera_quotations::mail::Encryption::None;
    })
    .await;
    let mut w = app.web();
    w.get("/register").await;
    let r = w
        .post("/register", json!({"name": "Nope", "email": "nope@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}))
        .await;
    assert_eq!(
        r.status, 201,
        "the account exists; the link can be sent again"
    );
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, "1");
    // Asking again says the mail could not go out.
    w.refresh_csrf().await;
    let r = w.post("/email/verification-notification", json!({})).await;
    assert_eq!(r.status, 503);
    assert!(!r.text.contains("verify-email"), "{}", r.text);
}

/// Issue #20: the charts' series — each range holds the quotations of its span, a long range is
/// thinned to real quotations (the newest kept), the newest point is the history's newest, the
/// demo symbols do not share a shape, and bad input names its field.
#[tokio::test]
async fn the_chart_series_follows_the_range_and_matches_the_history() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.web()
            .get("/dashboard/quotations/series?symbol=BTC")
            .await
            .status,
        401
    );
    app.exec(include_str!("../../../../scripts/quotations-demo.sql"))
        .await;
    let mut w = app.verified_user("fay@example.com").await;

    let mut counts = Vec::new();
    for range in ["24h", "7d", "30d"] {
        let r = w
            .get(&format!(
                "/dashboard/quotations/series?symbol=BTC&range={range}"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["range"], range);
        assert_eq!(r.json["thinned"], false);
        counts.push(r.json["points"].as_array().unwrap().len());
    }
    // One an hour: a day, a week, thirty days (the hour in progress may not be there yet).
    assert!((23..=24).contains(&counts[0]), "{counts:?}");
    assert!((167..=168).contains(&counts[1]), "{counts:?}");
    assert!((719..=720).contains(&counts[2]), "{counts:?}");

    let all = w
        .get("/dashboard/quotations/series?symbol=BTC&range=all")
        .await;
    assert_eq!(all.json["thinned"], true, "2160 quotations over 1000");
    let points = all.json["points"].as_array().unwrap();
    assert!(
        points.len() <= 1000 && points.len() >= 700,
        "{}",
        points.len()
    );
    let times: Vec<i64> = points.iter().map(|p| p[0].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "oldest first");

    // The newest point is the history's newest quotation, price and time.
    let newest = app.get("/api/quotations?symbol=BTC&per_page=1").await;
    let q = &newest.body["data"][0];
    let last = points.last().unwrap();
    assert_eq!(last[1].as_f64(), q["price"].as_f64(), "{q}");
    let quoted_at = chrono::DateTime::parse_from_rfc3339(q["quoted_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(last[0].as_i64(), Some(quoted_at));

    // Distinct demo data: BTC and ETH move in different directions in many hours.
    let direction = |r: &WebReply| -> Vec<bool> {
        let p = r.json["points"].as_array().unwrap();
        p.windows(2)
            .map(|w| w[1][1].as_f64() > w[0][1].as_f64())
            .collect()
    };
    let btc = w
        .get("/dashboard/quotations/series?symbol=BTC&range=7d")
        .await;
    let eth = w
        .get("/dashboard/quotations/series?symbol=ETH&range=7d")
        .await;
    let (a, b) = (direction(&btc), direction(&eth));
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differ * 4 > a.len(), "{differ} of {} hours differ", a.len());

    for (query, field) in [
        ("symbol=BTC&range=1y", "range"),
        ("range=7d", "symbol"),
        ("symbol=%20&range=7d", "symbol"),
    ] {
        let r = w
            .get(&format!("/dashboard/quotations/series?{query}"))
            .await;
        assert_eq!(r.status, 422, "{query}: {}", r.text);
        assert!(r.json["errors"][field].is_array(), "{query}: {}", r.text);
    }
}
