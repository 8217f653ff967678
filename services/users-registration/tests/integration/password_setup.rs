//! Issue #20: seed 004's own sign-up payload (no password) signs up; the approval notification
//! carries a one-time set-password link, redeemed at `POST /auth/password`; the link works
//! once, before its expiry. Real server, PostgreSQL and RabbitMQ; the notification service is
//! a wiremock stub.

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_db::one_time::{self, Purpose};
use tessera_users_registration::auth::Role;
use uuid::Uuid;

use crate::helpers::{
    PASSWORD, TestApp, answered_while_hashing, app_with_notifications,
    app_with_one_connection_and_slow_hashes, notification_stub, received, registration, unique,
};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Exactly seed 004's payload: `{name, email, documentId, role, farmData?, attachments?}`.
fn seed_payload(email: &str, document: &str) -> Value {
    json!({
        "name": "Ana Produtora",
        "email": email,
        "documentId": document,
        "role": "producer",
        "farmData": {"areaHectares": 120},
        "attachments": [{"type": "car", "url": "https://files.example.com/car.pdf"}]
    })
}

/// `SELECT count(*)` of `sql` with `$1` bound to `arg`.
async fn count(app: &TestApp, sql: &str, arg: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {sql}"))
        .bind::<Text, _>(arg)
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    n.n
}

/// `POST /auth/password` with `body`.
async fn post_password(app: &TestApp, body: Value) -> tessera_testkit::Reply {
    app.call(Method::POST, "/auth/password", None, Some(body))
        .await
}

async fn set_password(app: &TestApp, token: &str, password: &str) -> tessera_testkit::Reply {
    post_password(app, json!({"token": token, "password": password})).await
}

/// A stored, usable token for `user` (the dispatcher's own code path stores them so).
async fn issue(app: &TestApp, user: Uuid, expires_in: chrono::TimeDelta) -> String {
    #[expect(clippy::disallowed_methods, reason = "the test's own clock")]
    let now = chrono::Utc::now();
    one_time::issue(
        &mut app.conn().await,
        Purpose::PASSWORD_SETUP,
        user,
        now,
        now + expires_in,
    )
    .await
    .unwrap()
}

/// A password-less sign-up and a usable set-password token for it.
async fn signed_up_with_a_link(app: &TestApp) -> String {
    let (email, doc) = unique();
    assert_eq!(
        app.register(seed_payload(&email, &doc), None).await.status,
        201
    );
    let user = app.user_id_of(&email).await;
    issue(app, user, chrono::TimeDelta::hours(72)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_payload_signs_up_and_its_approval_link_sets_the_password_once() {
    let stub = notification_stub().await;
    let app = app_with_notifications(&stub).await;
    let (email, doc) = unique();
    let r = app.register(seed_payload(&email, &doc), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING");
    // No password yet: every password is wrong, the same answer as for a wrong one.
    let early = app.login(&email, PASSWORD).await;
    assert_eq!(early.status, 401, "{}", early.body);
    assert_eq!(early.body["error_code"], "invalid_credentials");

    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let user = app.user_id_of(&email).await;
    let ok = app
        .set_status(&analyst, user, json!({"status": "APPROVED"}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let approved = received(&stub, "registration_approved", &email).await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    let link = approved[0]["passwordSetupUrl"].as_str().unwrap();
    let prefix = format!("{}#token=", app.config.password_setup_url);
    let token = link
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{link}"));
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    let expires: chrono::DateTime<chrono::Utc> = approved[0]["passwordSetupExpiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    #[expect(clippy::disallowed_methods, reason = "the test's own clock")]
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::hours(71) && left <= chrono::TimeDelta::hours(72),
        "72 h by default: {left}"
    );
    // Stored only as its SHA-256 (computed here by PostgreSQL, not by the service's code).
    let stored = "one_time_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))";
    assert_eq!(count(&app, stored, token).await, 1);
    let plain = "one_time_tokens WHERE token_hash = convert_to($1, 'UTF8')";
    assert_eq!(count(&app, plain, token).await, 0);

    // Approved, still no password: login refused as before.
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);

    let set = set_password(&app, token, NEW_PASSWORD).await;
    assert_eq!(set.status, 204, "{}", set.body);
    let login = app.login(&email, NEW_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body["accessToken"].is_string());

    // The link works once.
    let again = set_password(&app, token, "yet another passphrase").await;
    assert_eq!(again.status, 410, "{}", again.body);
    assert_eq!(again.body["error_code"], "gone");
    assert_eq!(again.body["reason"], "token_used");
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
    assert_eq!(
        count(&app, "user_events WHERE kind = $1", "password_set").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_up_with_a_password_is_approved_without_a_link() {
    let stub = notification_stub().await;
    let app = app_with_notifications(&stub).await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (email, doc) = unique();
    let r = app.register(registration(&email, &doc), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user = app.user_id_of(&email).await;
    let ok = app
        .set_status(&analyst, user, json!({"status": "APPROVED"}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let approved = received(&stub, "registration_approved", &email).await;
    assert_eq!(approved.len(), 1);
    assert!(
        approved[0].get("passwordSetupUrl").is_none(),
        "{}",
        approved[0]
    );
    assert_eq!(app.count("one_time_tokens").await, 0);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_expired_and_spent_links_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    assert_eq!(
        app.register(seed_payload(&email, &doc), None).await.status,
        201
    );
    let user = app.user_id_of(&email).await;

    // Never issued: 400 invalid_token.
    let unknown = set_password(&app, "made-up-token", NEW_PASSWORD).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(unknown.body["error_code"], "invalid_token");

    // A bad body: 400 naming each field, whatever the token.
    let bad = post_password(&app, json!({"password": "pw7!xyz"})).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["error_code"], "validation_error");
    assert!(bad.body["errors"]["token"].is_array(), "{}", bad.body);
    assert!(bad.body["errors"]["password"].is_array(), "{}", bad.body);
    assert!(!bad.body.to_string().contains("pw7!xyz"), "never echoed");

    // Expired: 410 token_expired.
    let expired = issue(&app, user, chrono::TimeDelta::hours(1)).await;
    diesel::sql_query(
        "UPDATE one_time_tokens SET created_at = now() - interval '2 days', \
         expires_at = now() - interval '1 day'",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    let late = set_password(&app, &expired, NEW_PASSWORD).await;
    assert_eq!(late.status, 410, "{}", late.body);
    assert_eq!(late.body["reason"], "token_expired");
    assert_eq!(
        count(
            &app,
            "users WHERE email = $1 AND password_hash IS NULL",
            &email
        )
        .await,
        1,
        "no password was set"
    );

    // Two live links (a retried notification makes a new one): either works, and using one
    // spends the other.
    let first = issue(&app, user, chrono::TimeDelta::hours(72)).await;
    let second = issue(&app, user, chrono::TimeDelta::hours(72)).await;
    assert_eq!(set_password(&app, &second, NEW_PASSWORD).await.status, 204);
    let spent = set_password(&app, &first, "another passphrase").await;
    assert_eq!(spent.status, 410, "{}", spent.body);
    assert_eq!(spent.body["reason"], "token_used");
    assert_eq!(
        count(
            &app,
            "users WHERE email = $1 AND password_hash IS NULL",
            &email
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_link_redeemed_twice_at_once_sets_one_password() {
    let app = TestApp::spawn().await;
    let token = signed_up_with_a_link(&app).await;
    let (a, b) = tokio::join!(
        set_password(&app, &token, "first concurrent passphrase"),
        set_password(&app, &token, "second concurrent passphrase"),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 410], "{} / {}", a.body, b.body);
    assert_eq!(
        count(&app, "user_events WHERE kind = $1", "password_set").await,
        1
    );
}

/// Setting a password waits for its Argon2id hash holding no pooled connection (the token is
/// checked before, and spent after, each on a connection of its own).
#[tokio::test(flavor = "multi_thread")]
async fn setting_a_password_holds_no_database_connection_while_it_hashes() {
    let app = app_with_one_connection_and_slow_hashes().await;
    let token = signed_up_with_a_link(&app).await;
    let body = json!({"token": token, "password": NEW_PASSWORD});
    answered_while_hashing(&app, "/auth/password", body, &[], 204).await;
}
