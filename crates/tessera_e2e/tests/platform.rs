//! The whole platform behind the gateway (issue #8). Needs a platform up with the provider stub:
//! `make e2e` brings its own up (state in `TESSERA_STATE`) and runs these; every request goes
//! through the gateway named in `demo.json`.

#![expect(clippy::disallowed_methods, reason = "tests run in real time")]

use reqwest::Method;
use serde_json::{Value, json};
use tessera_e2e::{Platform, unique_document, unique_id};

#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn a_peer_token_issued_through_the_gateway_verifies_against_its_jwks() {
    let p = Platform::load();
    let key = p.secret("control-plane.wl-a.api_key");
    let r = p
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            Some(&key),
            Some(json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]})),
            &[("X-Request-Id", "e2e-peer-token")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.headers["x-request-id"], "e2e-peer-token");
    let token = r.body["accessToken"].as_str().unwrap();

    let jwks = p
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await;
    assert_eq!(jwks.status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.body).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["wl-b"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the token verifies against the published key")
    .claims;
    assert_eq!(claims["wlId"], "wl-a");
    assert_eq!(claims["scopes"], json!(["offers:sync"]));
}

#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn the_gateway_strips_forged_identity_headers_and_refuses_bad_jwts() {
    let p = Platform::load();
    // A client claiming to be a moderator, with a guessed gateway secret: nobody to the service.
    let r = p
        .call(
            Method::DELETE,
            "/api/quotations/1",
            None,
            None,
            &[
                ("X-Auth-Subject", "mallory"),
                ("X-Auth-Roles", "moderator"),
                ("X-Gateway-Secret", "guess"),
                ("X-Gateway-Auth", "jwt"),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error_code"], "unauthenticated");
    // A token claiming identity's issuer, signed by someone else: refused at the gateway.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("not-identitys-key".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &json!({"iss": p.demo["services"]["identity"]["issuer"], "sub": "x", "aud": "tessera",
                "exp": chrono::Utc::now().timestamp() + 60, "roles": ["moderator"]}),
        &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    let r = p
        .call(
            Method::DELETE,
            "/api/quotations/1",
            Some(&forged),
            None,
            &[("X-Request-Id", "e2e-forged")],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["request_id"], "e2e-forged");
    assert_eq!(r.body["reason"], "algorithm_not_allowed");
    // /metrics is not exposed; unknown paths are 404 in the envelope.
    let r = p.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn a_registration_is_approved_and_notified_with_one_request_id_across_services() {
    let p = Platform::load();
    let (email, registration) = p.register_producer("e2e").await;
    let analyst_token = p
        .users_registration_token("users-registration.analyst")
        .await;
    // The registration as the analyst sees it names the user to decide on.
    let got = p
        .call(
            Method::GET,
            &format!("/registrations/{registration}"),
            Some(&analyst_token),
            None,
            &[],
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let user = got.body["userCandidate"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("userCandidate.id in {}", got.body))
        .to_owned();
    let request_id = unique_id("e2e-approve");
    let r = p
        .call(
            Method::PATCH,
            &format!("/users/{user}/status"),
            Some(&analyst_token),
            Some(json!({"status": "APPROVED"})),
            &[("X-Request-Id", &request_id)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // users.user.approved → RabbitMQ → the dispatcher → the notification service (the sink).
    p.eventually(
        30,
        "the approval notification in the sink's log",
        || async {
            p.log("notification-sink")
                .lines()
                .any(|l| l.contains(&request_id) && l.contains(&email))
        },
    )
    .await;
    assert!(
        p.log("users-registration").contains(&request_id),
        "the request id in users-registration's log"
    );
}

/// Issue #20 through the gateway: seed 004's own payload (no password) signs up; the analyst
/// finds it in the queue (`GET /registrations`, `GET /users`; refused without a token);
/// approval mails a set-password link (the sink's mailbox, never its log) that sets the
/// password once; then login works.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn a_password_less_sign_up_is_queued_approved_and_set_up_from_its_link() {
    let p = Platform::load();
    let email = format!("{}@example.com", unique_id("e2e-nopass"));
    let r = p
        .call(
            Method::POST,
            "/registrations",
            None,
            Some(
                json!({"name": "Bia E2E", "email": email, "documentId": unique_document(),
                        "role": "producer"}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let analyst = p
        .users_registration_token("users-registration.analyst")
        .await;
    for path in ["/registrations", "/users"] {
        let anonymous = p
            .call(Method::GET, &format!("{path}?q={email}"), None, None, &[])
            .await;
        assert_eq!(anonymous.status, 401, "{path}: {}", anonymous.body);
        let listed = p
            .call(
                Method::GET,
                &format!("{path}?status=PENDING&q={email}"),
                Some(&analyst),
                None,
                &[],
            )
            .await;
        assert_eq!(listed.status, 200, "{path}: {}", listed.body);
        assert_eq!(listed.body["meta"]["total"], 1, "{path}: {}", listed.body);
    }
    let users = p
        .call(
            Method::GET,
            &format!("/users?q={email}"),
            Some(&analyst),
            None,
            &[],
        )
        .await;
    let user = users.body["data"][0]["id"].as_str().unwrap().to_owned();
    let r = p
        .call(
            Method::PATCH,
            &format!("/users/{user}/status"),
            Some(&analyst),
            Some(json!({"status": "APPROVED"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut link = String::new();
    p.eventually(
        30,
        "the approval with its link in the sink's mailbox",
        || {
            let found = std::fs::read_dir(p.state.join("mailbox"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| std::fs::read(f.path()).ok())
                .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
                .find(|m| {
                    m["recipient"]["email"] == email.as_str() && m["passwordSetupUrl"].is_string()
                });
            if let Some(m) = found {
                link = m["passwordSetupUrl"].as_str().unwrap().to_owned();
            }
            let done = !link.is_empty();
            async move { done }
        },
    )
    .await;
    let token = link.split_once("#token=").unwrap().1.to_owned();
    assert!(
        !p.log("notification-sink").contains(&token),
        "the link never reaches a log"
    );
    let bogus = p
        .call(
            Method::POST,
            "/auth/password",
            None,
            Some(json!({"token": "not-a-token", "password": "chosen passphrase"})),
            &[],
        )
        .await;
    assert_eq!(bogus.status, 400, "{}", bogus.body);
    assert_eq!(bogus.body["error_code"], "invalid_token");
    let set = p
        .call(
            Method::POST,
            "/auth/password",
            None,
            Some(json!({"token": token, "password": "chosen passphrase"})),
            &[],
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.body);
    let again = p
        .call(
            Method::POST,
            "/auth/password",
            None,
            Some(json!({"token": token, "password": "another passphrase"})),
            &[],
        )
        .await;
    assert_eq!(again.status, 410, "{}", again.body);
    let login = p
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": "chosen passphrase"})),
            &[],
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
}

#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn quotations_are_collected_and_listed_through_the_gateway() {
    let p = Platform::load();
    let token = p.quotations_admin_token();
    let r = p
        .call(Method::POST, "/api/quotation/BTC", Some(&token), None, &[])
        .await;
    assert!(matches!(r.status, 200 | 201), "{} {}", r.status, r.body);
    let list = p
        .call(
            Method::GET,
            "/api/quotations?symbol=BTC&per_page=5",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        !list.body["data"].as_array().unwrap().is_empty(),
        "{}",
        list.body
    );
}

/// Identity's admin logs in with TOTP (AAL2) and makes the demo agent a moderator; the agent's
/// identity JWT, verified by the gateway, lets it soft-delete a quotation; then the admin
/// disables the agent and credential-broker denies the agent's sandbox. The demo state is
/// restored at the end (agent re-enabled, role back to `agent`, binding re-created).
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn identity_roles_reach_quotations_and_a_disabled_agent_loses_its_sandbox() {
    let p = Platform::load();
    let admin = p.credential("identity.demo.admin").clone();
    let agent = p.credential("identity.demo.agent").clone();
    let agent_id = agent["agent_id"].as_str().unwrap().to_owned();

    // Login + MFA.
    let admin_token = p.identity_mfa_token("demo", &admin).await;

    // The agent becomes a moderator.
    let r = p
        .call(
            Method::PUT,
            &format!("/tenants/demo/roles/{agent_id}"),
            Some(&admin_token),
            Some(json!({"role": "moderator"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let agent_token = p.identity_token("demo", &agent).await;

    // A quotation to delete, collected with the quotations admin's personal access token.
    let qt = p.quotations_admin_token();
    let collected = p
        .call(Method::POST, "/api/quotation/ETH", Some(&qt), None, &[])
        .await;
    assert!(matches!(collected.status, 200 | 201), "{}", collected.body);
    let id = collected.body["data"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a quotation id in {}", collected.body));
    let deleted = p
        .call(
            Method::DELETE,
            &format!("/api/quotations/{id}"),
            Some(&agent_token),
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["data"]["deleted"], true);

    // The agent's sandbox works, until identity disables the agent.
    let caller = p.secret("credential-broker.caller_token");
    let token_request = json!({"sandbox_id": "demo-sandbox", "upstream_host": "graph.microsoft.com",
                               "scopes": ["User.Read"]});
    let r = p
        .call(
            Method::POST,
            "/api/token",
            Some(&caller),
            Some(token_request.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = p
        .call(
            Method::PATCH,
            &format!("/tenants/demo/agents/{agent_id}"),
            Some(&admin_token),
            Some(json!({"status": "disabled"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.eventually(
        30,
        "credential-broker to deny the disabled agent's sandbox",
        || {
            let body = token_request.clone();
            let caller = caller.clone();
            let p = &p;
            async move {
                let r = p
                    .call(Method::POST, "/api/token", Some(&caller), Some(body), &[])
                    .await;
                r.status == 403 && r.body["reason"] == "binding_inactive"
            }
        },
    )
    .await;

    // Restore the demo state.
    let r = p
        .call(
            Method::PATCH,
            &format!("/tenants/demo/agents/{agent_id}"),
            Some(&admin_token),
            Some(json!({"status": "active"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = p
        .call(
            Method::PUT,
            &format!("/tenants/demo/roles/{agent_id}"),
            Some(&admin_token),
            Some(json!({"role": "agent"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let operator = p.secret("credential-broker.admin_token");
    let r = p
        .call(
            Method::DELETE,
            "/api/bindings/demo-sandbox",
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = p
        .call(
            Method::POST,
            "/api/bindings",
            Some(&operator),
            Some(json!({"sandbox_id": "demo-sandbox", "tenant": "demo", "agent_id": agent_id,
                        "upstreams": [{"host": "graph.microsoft.com",
                                       "scopes": ["https://graph.microsoft.com/.default", "User.Read"]}]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = p
        .call(
            Method::POST,
            "/api/token",
            Some(&caller),
            Some(token_request),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Issue #20: the demo tenant's admin creates an agent through the gateway; the agent sets its
/// first password from the enrollment link and signs in; the link works once. A caller's
/// `X-Trace-Id` comes back on the answer (seed 002).
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn an_admin_creates_an_agent_that_enrolls_from_its_link_through_the_gateway() {
    let p = Platform::load();
    let admin = p.credential("identity.demo.admin").clone();
    let admin_token = p.identity_mfa_token("demo", &admin).await;
    let email = format!("{}@demo.test", unique_id("enrolled"));
    let created = p
        .call(
            Method::POST,
            "/tenants/demo/agents",
            Some(&admin_token),
            Some(json!({"email": email, "role": "viewer"})),
            &[("X-Trace-Id", "e2e-enrollment-1")],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["x-trace-id"], "e2e-enrollment-1");
    let url = created.body["enrollment_url"].as_str().unwrap();
    let token = url
        .split_once("#token=")
        .map(|(_, t)| t)
        .unwrap()
        .to_owned();
    let enroll = |password: &'static str| {
        p.call(
            Method::POST,
            "/tenants/demo/password",
            None,
            Some(json!({"token": token, "password": password})),
            &[],
        )
    };
    assert_eq!(enroll("a first passphrase").await.status, 204);
    assert_eq!(enroll("another passphrase").await.status, 410, "once");
    let token = p
        .identity_token(
            "demo",
            &json!({"email": email, "password": "a first passphrase"}),
        )
        .await;
    assert!(!token.is_empty());
}

/// Issue #20: every service's API reference through the gateway — the index at `/docs` links
/// each; each page is Swagger UI from the service's own assets under a strict CSP; the document
/// it loads is the service's own `/openapi.json`. No bearer needed, and `/docs/<unknown>` is
/// the gateway's 404.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn every_service_s_api_reference_is_reachable_through_the_gateway() {
    let p = Platform::load();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let gw = p.gateway.base.clone();
    let index = http.get(format!("{gw}/docs")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let index = index.text().await.unwrap();
    let get_json =
        async |url: String| -> Value { http.get(url).send().await.unwrap().json().await.unwrap() };
    for svc in tessera_e2e::SERVICES {
        assert!(
            index.contains(&format!("href=\"/docs/{svc}/\"")),
            "{svc}: {index}"
        );
        let bare = http.get(format!("{gw}/docs/{svc}")).send().await.unwrap();
        assert_eq!(bare.status(), 308, "{svc}");
        assert_eq!(bare.headers()["location"], format!("/docs/{svc}/").as_str());

        let page = http.get(format!("{gw}/docs/{svc}/")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{svc}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!csp.contains("unsafe"), "{svc}: {csp}");
        assert!(
            page.text().await.unwrap().contains("swagger-ui-bundle.js"),
            "{svc}"
        );
        let bundle = http
            .get(format!("{gw}/docs/{svc}/swagger-ui-bundle.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(bundle.status(), 200, "{svc}");

        let through = get_json(format!("{gw}/docs/{svc}/openapi.json")).await;
        let direct = get_json(
            p.demo["services"][svc]["openapi"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
        .await;
        assert_eq!(through, direct, "{svc}");
    }
    let unknown = http.get(format!("{gw}/docs/nobody/")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
