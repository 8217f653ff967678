//! Issue #17 through the real gateway: each request that succeeded at 15af29d as an attacker's
//! now fails with the right status and envelope, and the legitimate request beside it still
//! succeeds. Needs the platform up (`make e2e`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]
#![expect(clippy::disallowed_methods, reason = "tests run in real time")]

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_e2e::{Platform, unique_id};

const HASH: &str = "8f2f6a36c3b2a0f2b1e4f5d6c7b8a9012345678901234567890abcdefabcdef0";

/// Finding 1 (critical): a forged `X-Forwarded-Client-Cert` is no credential at the gateway;
/// a WL key still gets its token (unbound). Finding 8: another importer, existing or not, is
/// the same 403 for a WL key.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn forged_client_certificates_mint_nothing_and_a_wl_key_still_does() {
    let p = Platform::load();
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    for xfcc in [
        format!("Hash={HASH};URI=spiffe://tessera/wl/wl-a"),
        format!("Hash={HASH};Subject=\"CN=wl-a\""),
    ] {
        let r = p
            .call(
                Method::POST,
                "/wls/wl-a/peer-token",
                None,
                Some(body.clone()),
                &[("X-Forwarded-Client-Cert", &xfcc)],
            )
            .await;
        assert_eq!(r.status, 401, "{xfcc}: {}", r.body);
        assert_eq!(r.body["error_code"], "unauthenticated");
    }
    let key = p.secret("control-plane.wl-a.api_key");
    let r = p
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            Some(&key),
            Some(body.clone()),
            &[(
                "X-Forwarded-Client-Cert",
                &format!("Hash={HASH};URI=spiffe://tessera/wl/wl-a"),
            )],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let claims = tessera_testkit::jwt_segment(r.body["accessToken"].as_str().unwrap(), 1);
    assert!(
        claims["cnf"].is_null(),
        "no binding to a certificate the client chose"
    );
    let mut answers = Vec::new();
    for importer in ["wl-b", "wl-never-registered"] {
        let r = p
            .call(
                Method::POST,
                &format!("/wls/{importer}/peer-token"),
                Some(&key),
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, 403, "{importer}: {}", r.body);
        answers.push(r.envelope_sans_request_id());
    }
    assert_eq!(
        answers[0], answers[1],
        "existence of other WLs is not revealed"
    );
}

/// The CSRF token of a page and the session cookie it set.
async fn web_session(client: &reqwest::Client, base: &str) -> (String, String) {
    let r = client
        .get(format!("{base}/login"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("quotations_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = r.text().await.unwrap();
    let at = html
        .find("name=\"csrf-token\" content=\"")
        .expect("a csrf token");
    let csrf = html[at + "name=\"csrf-token\" content=\"".len()..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

/// Finding 2 (high): wrong logins with a rotating `X-Forwarded-For` are throttled by the
/// address the gateway saw; the right password of another account still signs in.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn a_rotating_forwarded_for_is_still_throttled_at_the_quotations_login() {
    let p = Platform::load();
    let base = p.gateway.base.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let email = format!("{}@example.com", unique_id("e2e-throttle"));
    let mut statuses = Vec::new();
    for i in 0..12 {
        let (cookie, csrf) = web_session(&client, &base).await;
        let r = client
            .post(format!("{base}/login"))
            .header("accept", "application/json")
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .header("X-Real-IP", format!("198.51.100.{i}"))
            .json(&json!({"email": email, "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses.iter().take(5).all(|s| *s == 401 || *s == 422),
        "{statuses:?}"
    );
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The demo admin's right password, from the same client: signed in.
    let admin = p.credential("quotations.admin").clone();
    let (cookie, csrf) = web_session(&client, &base).await;
    let r = client
        .post(format!("{base}/login"))
        .header("accept", "application/json")
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&json!({"email": admin["email"], "password": admin["password"]}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
}

/// Finding 3: `X-Forwarded-Host` (and `Forwarded`) do not rewrite the pagination links.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn forwarded_host_headers_do_not_rewrite_pagination_links() {
    let p = Platform::load();
    let app_url = p.demo["services"]["quotations"]["app_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = p.quotations_admin_token();
    let r = p
        .call(
            Method::GET,
            "/api/quotations?per_page=1",
            Some(&token),
            None,
            &[
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "gopher"),
                ("Forwarded", "host=evil.example;proto=http"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["meta"]["path"], format!("{app_url}/api/quotations"));
    let text = r.body.to_string();
    assert!(!text.contains("evil.example"), "{text}");
    assert!(
        r.body["links"]["first"]
            .as_str()
            .unwrap()
            .starts_with(&app_url)
    );
}

/// A quotation id to delete: MSFT, which no other end-to-end test collects (the provider stub
/// quotes per minute, so after a delete the next collect stores a new row).
async fn a_quotation(p: &Platform) -> i64 {
    let qt = p.quotations_admin_token();
    let r = p
        .call(Method::POST, "/api/quotation/MSFT", Some(&qt), None, &[])
        .await;
    assert!(
        r.body["data"]["id"].is_i64(),
        "a quotation id in {} {}",
        r.status,
        r.body
    );
    r.body["data"]["id"].as_i64().unwrap_or_default()
}

async fn delete(p: &Platform, id: i64, token: &str) -> tessera_testkit::Reply {
    p.call(
        Method::DELETE,
        &format!("/api/quotations/{id}"),
        Some(token),
        None,
        &[],
    )
    .await
}

/// Polls until the gateway refuses `token` (401 `token_revoked`), for at most 5 s.
async fn refused_within_5s(p: &Platform, token: &str, what: &str) {
    let started = tokio::time::Instant::now();
    loop {
        let r = p
            .call(
                Method::GET,
                "/api/quotations?per_page=1",
                Some(token),
                None,
                &[],
            )
            .await;
        if r.status == 401 {
            assert_eq!(r.body["error_code"], "unauthenticated", "{}", r.body);
            assert_eq!(r.body["reason"], "token_revoked", "{}", r.body);
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: the gateway still vouched after 5 s ({})",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Findings 4 and 5 (medium): a moderator of the trusted tenant deletes; one of another tenant
/// cannot; after logout, and separately after its role is revoked, the same token is refused by
/// the gateway within 5 s. Finding 6: a token of an issuer identity does not know is refused
/// (401), not forwarded as anonymous.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn moderators_are_trusted_per_tenant_and_revocation_reaches_the_gateway() {
    let p = Platform::load();
    let moderator = p.credential("identity.demo.moderator").clone();
    let foreign = p.credential("identity.other.moderator").clone();
    let ops = p.credential("identity.demo.ops").clone();

    // Another tenant's moderator: 403 from quotations.
    let foreign_token = p.identity_token("other", &foreign).await;
    let id = a_quotation(&p).await;
    let r = delete(&p, id, &foreign_token).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error_code"], "forbidden");

    // demo's moderator deletes; after logout its token is refused at the gateway.
    let token = p.identity_token("demo", &moderator).await;
    let r = delete(&p, id, &token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = p
        .call(
            Method::POST,
            "/tenants/demo/logout",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    refused_within_5s(&p, &token, "after logout").await;
    let r = delete(&p, a_quotation(&p).await, &token).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // A fresh session works; revoking the role stops the gateway vouching for it.
    let token = p.identity_token("demo", &moderator).await;
    let id = a_quotation(&p).await;
    assert_eq!(delete(&p, id, &token).await.status, 200);
    let admin = p.identity_token("demo", &ops).await;
    let agent_id = moderator["agent_id"].as_str().unwrap().to_owned();
    let set_role = |role: &'static str| {
        let (p, admin, path) = (&p, admin.clone(), format!("/tenants/demo/roles/{agent_id}"));
        async move {
            let r = p
                .call(
                    Method::PUT,
                    &path,
                    Some(&admin),
                    Some(json!({"role": role})),
                    &[],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    set_role("agent").await;
    refused_within_5s(&p, &token, "after the role was revoked").await;
    let r = delete(&p, a_quotation(&p).await, &token).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Restore the demo state: moderator again, and a new login deletes.
    set_role("moderator").await;
    let token = p.identity_token("demo", &moderator).await;
    assert_eq!(delete(&p, a_quotation(&p).await, &token).await.status, 200);

    // A token naming a tenant identity does not have, signed by anyone: 401, not anonymous.
    let prefix = p.demo["services"]["gateway-auth"]["trusted_issuer_prefix"]
        .as_str()
        .unwrap();
    let (key, _) = tessera_jwt::SigningKey::generate(tessera_jwt::Algorithm::ES256).unwrap();
    let nobody = tessera_jwt::KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(300));
    let now = chrono::Utc::now();
    let forged = nobody
        .sign(
            "at+jwt",
            &json!({"iss": format!("{prefix}{}", unique_id("nobody")),
                    "sub": "x", "aud": "tessera", "iat": now.timestamp(),
                    "exp": now.timestamp() + 60, "sid": uuid::Uuid::new_v4().to_string(),
                    "roles": ["moderator"]}),
            now,
        )
        .unwrap();
    let r = p
        .call(
            Method::GET,
            "/api/quotations?per_page=1",
            Some(&forged),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["reason"], "unknown_issuer");
}

/// Finding 7 (low): wrong passwords at users-registration's login end in 429 with
/// `Retry-After`, the same for an unknown e-mail; another account still signs in.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn users_registration_logins_lock_after_repeated_failures() {
    let p = Platform::load();
    let (email, _) = p.register_producer("e2e-lock").await;
    let unknown = format!("{}@example.com", unique_id("e2e-nobody"));
    let mut last = Vec::new();
    for who in [&email, &unknown] {
        let mut statuses = Vec::new();
        for i in 0..7 {
            let r = p
                .call(
                    Method::POST,
                    "/auth/login",
                    None,
                    Some(json!({"email": who, "password": "wrong password"})),
                    &[("X-Forwarded-For", &format!("192.0.2.{i}"))],
                )
                .await;
            statuses.push(r.status);
            if i == 6 {
                assert!(r.headers.get("retry-after").is_some(), "{}", r.body);
                last.push(r.envelope_sans_request_id());
            }
        }
        assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429], "{who}");
    }
    assert_eq!(last[0], last[1], "the same answer for an unknown e-mail");
    // Another account still signs in (the helper asserts the 200).
    assert!(
        !p.users_registration_token("users-registration.auditor")
            .await
            .is_empty()
    );
}

/// Finding 8: gateway-auth's `/verify` does not hand out the gateway secret under `make up`
/// (nginx holds it), whoever asks.
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn gateway_auth_verify_answers_carry_no_secret_locally() {
    let p = Platform::load();
    let base = p.demo["services"]["gateway-auth"]["url"].as_str().unwrap();
    let r = reqwest::get(format!("{base}/verify")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-gateway-secret").is_none());
    let secret = p.secret("gateway.secret");
    let text = r.text().await.unwrap();
    assert!(!text.contains(&secret));
}

/// Finding 8: the HS256 tokens users-registration hands out through the gateway name a key id
/// that is not the SHA-256 of `JWT_SECRET` (which would let anyone test guesses offline).
#[tokio::test]
#[ignore = "needs the platform up: make e2e"]
async fn users_registration_tokens_do_not_publish_a_hash_of_the_secret() {
    use base64::Engine;
    let p = Platform::load();
    let token = p
        .users_registration_token("users-registration.auditor")
        .await;
    let kid = jsonwebtoken::decode_header(&token)
        .unwrap()
        .kid
        .expect("a kid");
    let secrets = std::fs::read_to_string(p.state.join("secrets.env")).unwrap();
    let secret = secrets
        .lines()
        .find_map(|l| l.strip_prefix("USERS_JWT_SECRET="))
        .expect("make up's USERS_JWT_SECRET");
    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes()),
    );
    assert_ne!(kid, hashed);
    assert!(!kid.contains(secret));
}
