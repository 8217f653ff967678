//! Login, refresh rotation with reuse detection, logout, and the scopes of each role.

use reqwest::Method;
use serde_json::json;
use tessera_testkit::jwt_segment;
use tessera_users_registration::auth::Role;

use crate::helpers::{PASSWORD, TestApp, unique};

#[tokio::test(flavor = "multi_thread")]
async fn login_issues_an_hs256_token_with_role_and_scopes() {
    let app = TestApp::spawn().await;
    let analyst = app.staff(Role::Analyst, None).await;
    let r = app.login(&analyst.to_uppercase(), PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.body["expiresIn"], 900);
    assert_eq!(r.body["tokenType"], "Bearer");
    let token = r.body["accessToken"].as_str().unwrap();
    assert_eq!(jwt_segment(token, 0)["alg"], "HS256");
    assert_eq!(jwt_segment(token, 0)["typ"], "at+jwt");
    let claims = jwt_segment(token, 1);
    assert_eq!(claims["role"], "analyst");
    assert_eq!(claims["scope"], "users:read users:write admin:users");
    assert_eq!(claims["iss"], "users-registration");
    assert!(claims["sub"].is_string() && claims["sid"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_are_the_same_401() {
    let app = TestApp::spawn().await;
    let analyst = app.staff(Role::Analyst, None).await;
    let wrong = app.login(&analyst, "not the password").await;
    let (nobody, _) = unique();
    let unknown = app.login(&nobody, PASSWORD).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error_code"], "invalid_credentials");
    assert_eq!(
        wrong.envelope_sans_request_id(),
        unknown.envelope_sans_request_id()
    );
    let missing = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": analyst})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.body["errors"]["password"].is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    let analyst = app.staff(Role::Analyst, None).await;
    let first = app.login(&analyst, PASSWORD).await;
    let r1 = first.body["refreshToken"].as_str().unwrap().to_owned();
    let app = &app;
    let refresh = |t: String| async move {
        app.call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refreshToken": t})),
        )
        .await
    };
    let second = refresh(r1.clone()).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let r2 = second.body["refreshToken"].as_str().unwrap().to_owned();
    let access2 = second.body["accessToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        jwt_segment(&access2, 1)["sid"],
        jwt_segment(first.body["accessToken"].as_str().unwrap(), 1)["sid"],
        "same session"
    );
    let me = format!(
        "/users/{}",
        jwt_segment(&access2, 1)["sub"].as_str().unwrap()
    );
    assert_eq!(
        app.call(Method::GET, &me, Some(&access2), None)
            .await
            .status,
        200
    );
    // r1 again: reuse. The session dies: r2 and every access token of it stop working.
    let reuse = refresh(r1).await;
    assert_eq!(reuse.status, 401, "{}", reuse.body);
    assert_eq!(reuse.body["reason"], "refresh_token_reused");
    assert_eq!(refresh(r2).await.status, 401);
    assert_eq!(
        app.call(Method::GET, &me, Some(&access2), None)
            .await
            .status,
        401
    );
    // A fresh login is a new session and works.
    assert_eq!(app.login(&analyst, PASSWORD).await.status, 200);
    assert_eq!(refresh("garbage".into()).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let analyst = app.staff(Role::Analyst, None).await;
    let login = app.login(&analyst, PASSWORD).await;
    let access = login.body["accessToken"].as_str().unwrap().to_owned();
    let refresh = login.body["refreshToken"].as_str().unwrap().to_owned();
    let me = format!(
        "/users/{}",
        jwt_segment(&access, 1)["sub"].as_str().unwrap()
    );
    let out = app
        .call(
            Method::POST,
            "/auth/logout",
            Some(&access),
            Some(json!({"refreshToken": refresh})),
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(
        app.call(Method::GET, &me, Some(&access), None).await.status,
        401
    );
    let again = app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refreshToken": refresh})),
        )
        .await;
    assert_eq!(again.status, 401);
    let anonymous = app
        .call(
            Method::POST,
            "/auth/logout",
            None,
            Some(json!({"refreshToken": "x"})),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_reads_and_writes_only_what_its_scopes_allow() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let auditor = app.token(&app.staff(Role::Auditor, None).await).await;
    let (alice, alice_token, _) = app.approved_producer(&analyst).await;
    let (bob, _, _) = app.approved_producer(&analyst).await;
    let get = |token: String, user: uuid::Uuid| {
        let app = &app;
        async move {
            app.call(Method::GET, &format!("/users/{user}"), Some(&token), None)
                .await
        }
    };
    let patch = |token: String, user: uuid::Uuid, body: serde_json::Value| {
        let app = &app;
        async move {
            app.call(
                Method::PATCH,
                &format!("/users/{user}"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    // Producers: own data only.
    assert_eq!(get(alice_token.clone(), alice).await.status, 200);
    let other = get(alice_token.clone(), bob).await;
    assert_eq!(other.status, 403);
    assert_eq!(other.body["reason"], "not_owner");
    let renamed = patch(
        alice_token.clone(),
        alice,
        json!({"name": "Alice R.", "farmData": {"areaHectares": 80}}),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Alice R.");
    assert_eq!(renamed.body["farmData"]["areaHectares"], 80);
    assert_eq!(
        patch(alice_token.clone(), bob, json!({"name": "x"}))
            .await
            .status,
        403
    );
    let forbidden_field = patch(alice_token, alice, json!({"status": "APPROVED"})).await;
    assert_eq!(forbidden_field.status, 400);
    assert!(forbidden_field.body["errors"]["status"].is_array());
    // Auditors: read anyone, write nothing.
    assert_eq!(get(auditor.clone(), bob).await.status, 200);
    let ro = patch(auditor.clone(), bob, json!({"name": "x"})).await;
    assert_eq!(ro.status, 403);
    assert_eq!(ro.body["reason"], "missing_scope");
    // Analysts: anyone; unknown ids are 404.
    assert_eq!(
        patch(analyst.clone(), bob, json!({"farmData": null}))
            .await
            .status,
        200
    );
    let missing = get(analyst.clone(), uuid::Uuid::new_v4()).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        get(analyst, bob).await.body["farmData"],
        serde_json::Value::Null
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_changes_follow_the_contract() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (registration, user, email, _) = app.producer().await;
    let no_reason = app
        .set_status(&analyst, user, json!({"status": "REJECTED"}))
        .await;
    assert_eq!(no_reason.status, 400);
    assert!(no_reason.body["errors"]["reason"].is_array());
    let bad = app
        .set_status(&analyst, user, json!({"status": "PENDING"}))
        .await;
    assert_eq!(bad.status, 400);
    let unknown = app
        .set_status(
            &analyst,
            uuid::Uuid::new_v4(),
            json!({"status": "APPROVED"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        app.set_status(&analyst, user, json!({"status": "APPROVED"}))
            .await
            .status,
        200
    );
    let twice = app
        .set_status(
            &analyst,
            user,
            json!({"status": "REJECTED", "reason": "late"}),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["reason"], "invalid_status_transition");
    // The producer reads its registration; another producer gets the 404 of an unknown id.
    let own = app.token(&email).await;
    let path = format!("/registrations/{registration}");
    let r = app.call(Method::GET, &path, Some(&own), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["userCandidate"]["status"], "APPROVED");
    let (_, stranger, _) = app.approved_producer(&analyst).await;
    let hidden = app.call(Method::GET, &path, Some(&stranger), None).await;
    let unknown = app
        .call(
            Method::GET,
            &format!("/registrations/{}", uuid::Uuid::new_v4()),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(hidden.status, 404);
    assert_eq!(
        hidden.envelope_sans_request_id(),
        unknown.envelope_sans_request_id()
    );
    assert_eq!(app.call(Method::GET, &path, None, None).await.status, 401);
}
