//! Issue #20, the analyst's queue: `GET /registrations` and `GET /users` for analysts and
//! auditors, filtered, paginated and bounded; producers never list. Real server, PostgreSQL
//! and RabbitMQ.

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::Value;
use tessera_users_registration::auth::Role;

use crate::helpers::TestApp;

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> tessera_testkit::Reply {
    app.call(Method::GET, path, token, None).await
}

fn emails(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            u.get("userCandidate")
                .unwrap_or(u)
                .get("email")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_finds_pending_registrations_oldest_first_and_an_auditor_reads_them_masked() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let auditor = app.token(&app.staff(Role::Auditor, None).await).await;
    let (first_reg, _, first, first_doc) = app.producer().await;
    let (_, decided, _, _) = app.producer().await;
    let (_, _, third, _) = app.producer().await;
    let ok = app
        .set_status(&analyst, decided, serde_json::json!({"status": "APPROVED"}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let queue = get(&app, "/registrations?status=PENDING", Some(&analyst)).await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert_eq!(emails(&queue.body), [first.clone(), third.clone()]);
    assert_eq!(queue.body["meta"]["total"], 2);
    assert_eq!(queue.body["meta"]["page"], 1);
    assert_eq!(queue.body["meta"]["per_page"], 20);
    let item = &queue.body["data"][0];
    assert_eq!(item["id"], first_reg.as_str());
    assert_eq!(item["userCandidate"]["status"], "PENDING");
    assert!(item["submittedAt"].is_string());
    let clear: String = first_doc.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(item["userCandidate"]["documentId"], clear.as_str());

    let audited = get(&app, "/registrations?status=PENDING", Some(&auditor)).await;
    assert_eq!(audited.status, 200, "{}", audited.body);
    assert_eq!(emails(&audited.body), [first, third]);
    let masked = audited.body["data"][0]["userCandidate"]["documentId"]
        .as_str()
        .unwrap();
    assert!(masked.starts_with("*********"), "{masked}");

    let users = get(&app, "/users?status=APPROVED&role=producer", Some(&auditor)).await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert_eq!(users.body["meta"]["total"], 1);
    assert_eq!(users.body["data"][0]["id"], decided.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn producers_and_strangers_cannot_list() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (_, producer, _) = app.approved_producer(&analyst).await;
    for path in ["/users", "/registrations"] {
        let r = get(&app, path, Some(&producer)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.body["reason"], "staff_only");
        let r = get(&app, path, None).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    // An analyst without users:read lists nothing either.
    let trainee = app
        .token(&app.staff(Role::Analyst, Some(&["admin:users"])).await)
        .await;
    let r = get(&app, "/users", Some(&trainee)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reason"], "missing_scope");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_search_and_document_match_narrow_the_list() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (_, user, email, doc) = app.producer().await;
    let (_, _, other, _) = app.producer().await;

    // Role: the two staff users are not producers.
    let staff = get(&app, "/users?role=analyst", Some(&analyst)).await;
    assert_eq!(staff.body["meta"]["total"], 1, "{}", staff.body);

    // A search is case-insensitive, on name or e-mail; wildcards in it are plain text.
    let local = email.split('@').next().unwrap().to_uppercase();
    let found = get(&app, &format!("/users?q={local}"), Some(&analyst)).await;
    assert_eq!(
        emails(&found.body),
        std::slice::from_ref(&email),
        "{}",
        found.body
    );
    let wild = get(&app, "/users?q=%25", Some(&analyst)).await;
    assert_eq!(wild.body["meta"]["total"], 0, "{}", wild.body);
    let by_name = get(&app, "/users?q=produtora", Some(&analyst)).await;
    assert_eq!(by_name.body["meta"]["total"], 2, "{}", by_name.body);

    // documentId: exact, punctuation ignored, through the blind index. Another row whose
    // sealed document no longer opens shows the search never decrypts the table.
    diesel::sql_query("UPDATE users SET document_id_sealed = '\\x00'::bytea WHERE email = $1")
        .bind::<diesel::sql_types::Text, _>(&other)
        .execute(&mut app.conn().await)
        .await
        .map(|_| ())
        .unwrap();
    let digits: String = doc.chars().filter(char::is_ascii_digit).collect();
    let by_doc = get(&app, &format!("/users?documentId={digits}"), Some(&analyst)).await;
    assert_eq!(by_doc.status, 200, "{}", by_doc.body);
    assert_eq!(by_doc.body["data"][0]["id"], user.to_string());
    assert_eq!(by_doc.body["meta"]["total"], 1);
    let queued = get(
        &app,
        &format!(
            "/registrations?documentId={}",
            url::form_urlencoded::byte_serialize(doc.as_bytes()).collect::<String>()
        ),
        Some(&analyst),
    )
    .await;
    assert_eq!(emails(&queued.body), [email], "{}", queued.body);
    let nobody = get(&app, "/users?documentId=00000000000", Some(&analyst)).await;
    assert_eq!(nobody.body["meta"]["total"], 0);

    // Date ranges.
    let future = get(
        &app,
        "/registrations?from=2999-01-01T00:00:00Z&documentId=00000000000",
        Some(&analyst),
    )
    .await;
    assert_eq!(future.body["meta"]["total"], 0, "{}", future.body);
    let past = get(
        &app,
        "/users?to=2000-01-01T00:00:00Z&documentId=00000000000",
        Some(&analyst),
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    let window = get(
        &app,
        &format!("/users?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&documentId={digits}"),
        Some(&analyst),
    )
    .await;
    assert_eq!(window.body["meta"]["total"], 1, "{}", window.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_bounded_and_bad_parameters_are_400_naming_them() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let mut produced = Vec::new();
    for _ in 0..3 {
        produced.push(app.producer().await.2);
    }
    let second = get(&app, "/registrations?page=2&per_page=1", Some(&analyst)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(emails(&second.body), [produced[1].clone()]);
    assert_eq!(second.body["meta"]["total"], 3);
    assert_eq!(second.body["meta"]["per_page"], 1);
    let beyond = get(&app, "/registrations?page=9", Some(&analyst)).await;
    assert_eq!(beyond.status, 200);
    assert_eq!(beyond.body["data"].as_array().unwrap().len(), 0);

    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("sort=name", "sort"),
        ("q=", "q"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("documentId=..--", "documentId"),
    ] {
        for list in ["/users", "/registrations"] {
            let r = get(&app, &format!("{list}?{query}"), Some(&analyst)).await;
            assert_eq!(r.status, 400, "{list}?{query}: {}", r.body);
            assert_eq!(r.body["error_code"], "validation_error");
            assert!(
                r.body["errors"][field].is_array(),
                "{list}?{query}: {}",
                r.body
            );
        }
    }
    let bogus = get(&app, "/users?status=BOGUS", Some(&analyst)).await;
    assert_eq!(bogus.status, 400, "{}", bogus.body);
    assert_eq!(bogus.body["error_code"], "validation_error");
}
