//! Issue #20: a tenant admin creates an agent through the API; the agent has no password until
//! it redeems its one-time enrollment link at `POST /tenants/{slug}/password`, which works once,
//! before its expiry, for its own tenant only. Real server, PostgreSQL and RabbitMQ.

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{EventTap, TestApp, event_for_agent};

const NEW_PASSWORD: &str = "a first passphrase";

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows of `one_time_tokens` whose stored hash is SHA-256 of `token` (computed by PostgreSQL).
async fn stored_hashes_of(app: &TestApp, token: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM one_time_tokens \
         WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND purpose = 'enrollment'",
    )
    .bind::<Text, _>(token)
    .get_result::<Count>(&mut app.conn().await)
    .await
    .unwrap()
    .n
}

/// `POST /tenants/{tenant}/agents` with `bearer`.
async fn create_in(
    app: &TestApp,
    tenant: &str,
    bearer: Option<&str>,
    body: Value,
) -> crate::helpers::Reply {
    let path = format!("/tenants/{tenant}/agents");
    app.call(Method::POST, &path, bearer, Some(body)).await
}

/// An `acme` agent created by `admin`.
async fn create(app: &TestApp, admin: &str, body: Value) -> crate::helpers::Reply {
    create_in(app, "acme", Some(admin), body).await
}

async fn enroll(app: &TestApp, tenant: &str, token: &str, password: &str) -> crate::helpers::Reply {
    app.call(
        Method::POST,
        &format!("/tenants/{tenant}/password"),
        None,
        Some(json!({"token": token, "password": password})),
    )
    .await
}

/// Tenant `acme` with an admin, `ana@acme.test`; the admin's access token.
async fn acme_admin(app: &TestApp) -> String {
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    app.token("acme", "ana@acme.test").await
}

/// The token of an `enrollment_url` (`…?tenant=<slug>#token=<token>`).
fn token_of(created: &Value, tenant: &str) -> String {
    let url = created["enrollment_url"].as_str().unwrap();
    let prefix = format!("http://localhost:8080/enroll?tenant={tenant}#token=");
    assert!(url.starts_with(&prefix), "{url}");
    url[prefix.len()..].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_creates_an_agent_that_enrolls_from_its_link_once() {
    let mut tap = EventTap::bind("identity.agent.#").await.unwrap();
    let app = TestApp::spawn().await;
    let admin = acme_admin(&app).await;
    app.tenant("globex").await;

    let r = create(
        &app,
        &admin,
        json!({"email": " Dee@Acme.test ", "role": "agent"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.body["agent"]["email"], "dee@acme.test");
    assert_eq!(r.body["agent"]["status"], "active");
    assert_eq!(r.body["agent"]["mfa_enabled"], false);
    assert_eq!(r.body["role"], "agent");
    let agent_id = r.body["agent"]["agent_id"].as_str().unwrap().to_owned();
    let token = token_of(&r.body, "acme");
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    let expires: chrono::DateTime<chrono::Utc> = r.body["enrollment_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::hours(71) && left <= chrono::TimeDelta::hours(72),
        "72 h by default: {left}"
    );
    assert_eq!(stored_hashes_of(&app, &token).await, 1, "stored as SHA-256");
    let created = event_for_agent(&mut tap, &agent_id).await.unwrap();
    assert_eq!(created["type"], "identity.agent.created", "{created}");
    assert_eq!(created["data"]["tenant"], "acme");
    assert_eq!(created["data"]["role"], "agent");

    // No password yet: refused like a wrong password.
    let early = app.login("acme", "dee@acme.test", NEW_PASSWORD).await;
    assert_eq!(early.status, 401, "{}", early.body);
    assert_eq!(early.body["error_code"], "invalid_credentials");

    // Too short a password: 422 naming it; the link still works.
    let short = enroll(&app, "acme", &token, "short").await;
    assert_eq!(short.status, 422, "{}", short.body);
    assert!(
        short.body["errors"]["password"].is_array(),
        "{}",
        short.body
    );
    // Another tenant's path: not a link of that tenant.
    let elsewhere = enroll(&app, "globex", &token, NEW_PASSWORD).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert_eq!(elsewhere.body["error_code"], "invalid_token");

    let set = enroll(&app, "acme", &token, NEW_PASSWORD).await;
    assert_eq!(set.status, 204, "{}", set.body);
    let enrolled = event_for_agent(&mut tap, &agent_id).await.unwrap();
    assert_eq!(enrolled["type"], "identity.agent.enrolled", "{enrolled}");
    let login = app.login("acme", "dee@acme.test", NEW_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body["access_token"].is_string(), "{}", login.body);

    // The link works once.
    let again = enroll(&app, "acme", &token, "another passphrase").await;
    assert_eq!(again.status, 410, "{}", again.body);
    assert_eq!(again.body["error_code"], "gone");
    assert_eq!(again.body["reason"], "token_used");
    assert_eq!(
        app.login("acme", "dee@acme.test", NEW_PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_agents_is_refused_to_non_admins_and_for_bad_input() {
    let app = TestApp::spawn().await;
    app.tenant("acme").await;
    app.agent("acme", "ana@acme.test", false, Some("admin"))
        .await;
    app.agent("acme", "bob@acme.test", false, Some("agent"))
        .await;
    let admin = app.token("acme", "ana@acme.test").await;
    let agent = app.token("acme", "bob@acme.test").await;
    let body = json!({"email": "new@acme.test"});

    let forbidden = create(&app, &agent, body.clone()).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    let anonymous = create_in(&app, "acme", None, body.clone()).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let other_tenant = create_in(&app, "nope", Some(&admin), body).await;
    assert_eq!(other_tenant.status, 404, "{}", other_tenant.body);

    let both = create(
        &app,
        &admin,
        json!({"email": "not-an-address", "role": "king"}),
    )
    .await;
    assert_eq!(both.status, 422, "{}", both.body);
    assert_eq!(both.body["error_code"], "validation_error");
    assert!(both.body["errors"]["email"].is_array(), "{}", both.body);
    assert!(both.body["errors"]["role"].is_array(), "{}", both.body);
    let taken = create(&app, &admin, json!({"email": "BOB@acme.test"})).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.body["error_code"], "conflict");

    let agents = app
        .call(Method::GET, "/tenants/acme/agents", Some(&admin), None)
        .await;
    assert_eq!(
        agents.body["meta"]["total"], 2,
        "nothing written: {}",
        agents.body
    );
    let tokens: i64 = diesel::sql_query("SELECT count(*) AS n FROM one_time_tokens")
        .get_result::<Count>(&mut app.conn().await)
        .await
        .unwrap()
        .n;
    assert_eq!(tokens, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_expired_enrollment_links_are_refused_and_set_nothing() {
    let app = TestApp::spawn().await;
    let admin = acme_admin(&app).await;
    let r = create(&app, &admin, json!({"email": "eve@acme.test"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["role"], Value::Null);
    let token = token_of(&r.body, "acme");

    let unknown = enroll(&app, "acme", "made-up-token", NEW_PASSWORD).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(unknown.body["error_code"], "invalid_token");

    diesel::sql_query(
        "UPDATE one_time_tokens SET created_at = now() - interval '4 days', \
         expires_at = now() - interval '1 day'",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    let late = enroll(&app, "acme", &token, NEW_PASSWORD).await;
    assert_eq!(late.status, 410, "{}", late.body);
    assert_eq!(late.body["error_code"], "gone");
    assert_eq!(late.body["reason"], "token_expired");
    assert!(!late.body.to_string().contains("eve@"), "names no one");
    assert_eq!(
        app.login("acme", "eve@acme.test", NEW_PASSWORD)
            .await
            .status,
        401,
        "no password was set"
    );

    // The admin issues a new link: the old one is dead, the new one works, and once the agent
    // has a password there is no link to issue.
    let agent_id = r.body["agent"]["agent_id"].as_str().unwrap().to_owned();
    let reissue = format!("/tenants/acme/agents/{agent_id}/enrollment");
    let fresh = app.call(Method::POST, &reissue, Some(&admin), None).await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(fresh.headers["cache-control"], "no-store");
    let new_token = token_of(&fresh.body, "acme");
    assert_ne!(new_token, token);
    assert_eq!(enroll(&app, "acme", &token, NEW_PASSWORD).await.status, 410);
    let set = enroll(&app, "acme", &new_token, NEW_PASSWORD).await;
    assert_eq!(set.status, 204, "{}", set.body);
    assert_eq!(
        app.login("acme", "eve@acme.test", NEW_PASSWORD)
            .await
            .status,
        200
    );
    let done = app.call(Method::POST, &reissue, Some(&admin), None).await;
    assert_eq!(done.status, 409, "{}", done.body);
    let unknown = app
        .call(
            Method::POST,
            &format!("/tenants/acme/agents/{}/enrollment", uuid::Uuid::now_v7()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

/// Redeeming an enrollment link waits for its Argon2id hash holding no pooled connection: with a
/// pool of one and OWASP's cost on one hashing thread, an admin's agent list sent while the link
/// is being redeemed is answered before it. (Holding the connection across the hash would make
/// every other request wait for it.)
#[tokio::test(flavor = "multi_thread")]
async fn redeeming_a_link_holds_no_database_connection_while_it_hashes() {
    let app = TestApp::spawn_with(|c| {
        c.base.db_pool_size = 1;
        c.argon2 = tessera_password::HashSettings::owasp_on_one_thread();
    })
    .await;
    let admin = acme_admin(&app).await;
    let r = create(
        &app,
        &admin,
        json!({"email": "dee@acme.test", "role": "agent"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = token_of(&r.body, "acme");

    let (client, url) = (
        app.client.clone(),
        format!("{}/tenants/acme/password", app.address),
    );
    let hashing = tokio::spawn(async move {
        client
            .post(url)
            .json(&json!({"token": token, "password": NEW_PASSWORD}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    // Let the redemption reach the hasher (its token check is done by then).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let listed = app
        .call(Method::GET, "/tenants/acme/agents", Some(&admin), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        !hashing.is_finished(),
        "the agent list was answered only once the redemption had finished"
    );
    assert_eq!(hashing.await.unwrap(), 204);
}
