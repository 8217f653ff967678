//! `POST /wls/{importerId}/peer-token`: the contract's success and every failure.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, segment, verify_independently};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_a_token_that_an_independent_implementation_verifies() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let r = app
        .peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": "wl-b", "scopes": ["offers:sync", "offers:sync"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let b = &r.body;
    assert_eq!(
        keys(b),
        [
            "accessToken",
            "expiresAt",
            "expiresIn",
            "scopes",
            "targetWlId",
            "tokenType"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(b["tokenType"], "Bearer");
    assert_eq!(b["expiresIn"], 300);
    assert_eq!(b["scopes"], json!(["offers:sync"]), "duplicates folded");
    assert_eq!(b["targetWlId"], "wl-b");
    let token = b["accessToken"].as_str().unwrap();

    let verdict = verify_independently(&app.jwks_url(), token, "wl-b").await;
    assert_eq!(verdict["valid"], true, "{verdict}");

    // Exactly the contract's header and claims.
    let header = segment(token, 0);
    assert_eq!(
        keys(&header),
        ["alg", "kid", "typ"].map(String::from).into()
    );
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let claims = segment(token, 1);
    assert_eq!(
        keys(&claims),
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "nbf",
            "scope",
            "scopes",
            "sub",
            "wlId"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(claims["sub"], "wl-b");
    assert_eq!(claims["aud"], "wl-b");
    assert_eq!(claims["wlId"], "wl-a");
    assert_eq!(claims["client_id"], "wl-a");
    assert_eq!(claims["scopes"], json!(["offers:sync"]));
    assert_eq!(claims["scope"], "offers:sync");
    assert_eq!(claims["iss"], crate::helpers::ISSUER);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(claims["nbf"], claims["iat"]);
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(b["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires_at.timestamp(), claims["exp"].as_i64().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_verifier_accepts_it_for_the_target_only() {
    use tessera_jwt::{RemoteJwks, Verifier, VerifierConfig};
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let r = app
        .peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": "wl-b", "scopes": ["trader:purchase"], "ttlSeconds": 60}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["expiresIn"], 60);
    let token = r.body["accessToken"].as_str().unwrap();
    let for_b = Verifier::with_remote(
        VerifierConfig {
            issuer: Some(crate::helpers::ISSUER.into()),
            audience: Some("wl-b".into()),
            ..Default::default()
        },
        RemoteJwks::new(app.jwks_url()),
    );
    let claims: tessera_control_plane::routes::peer_token::PeerTokenClaims =
        for_b.verify(token, chrono::Utc::now()).await.unwrap();
    assert_eq!(claims.scopes, vec!["trader:purchase".to_owned()]);
    assert_eq!(claims.exp - claims.iat, 60);
    let for_c = Verifier::with_remote(
        VerifierConfig {
            issuer: Some(crate::helpers::ISSUER.into()),
            audience: Some("wl-c".into()),
            ..Default::default()
        },
        RemoteJwks::new(app.jwks_url()),
    );
    assert_eq!(
        for_c
            .verify::<Value>(token, chrono::Utc::now())
            .await
            .unwrap_err(),
        tessera_jwt::VerifyError::WrongAudience
    );
}

/// Sends `body` as `key` with a fresh request id and checks the envelope.
async fn expect_error(
    app: &TestApp,
    importer: &str,
    key: Option<&str>,
    body: Value,
    status: u16,
    code: &str,
    reason: Option<&str>,
) -> Value {
    let rid = format!("test-{}", uuid::Uuid::new_v4().simple());
    let r = app
        .call(
            Method::POST,
            &format!("/wls/{importer}/peer-token"),
            key,
            Some(body.clone()),
            &[("x-request-id", &rid)],
        )
        .await;
    assert_eq!(r.status, status, "{body} -> {}", r.body);
    assert_eq!(r.body["error_code"], code, "{}", r.body);
    assert_eq!(
        r.body["request_id"],
        rid.as_str(),
        "envelope carries the request id"
    );
    assert_eq!(
        r.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some(rid.as_str())
    );
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    if let Some(reason) = reason {
        assert_eq!(r.body["reason"], reason, "{}", r.body);
    }
    assert!(!r.body.to_string().contains("eyJ"), "no token in an error");
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn every_401_of_the_contract() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let ok = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    let e = expect_error(&app, "wl-a", None, ok.clone(), 401, "unauthenticated", None).await;
    assert!(e.get("errors").is_none());
    expect_error(
        &app,
        "wl-a",
        Some("cpk_not-a-real-key"),
        ok.clone(),
        401,
        "unauthenticated",
        None,
    )
    .await;
    // A revoked key stops working at once on this replica.
    let r = app
        .admin(
            Method::DELETE,
            &format!("/wls/wl-a/api-keys/{}", seed.key_a_id),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        ok.clone(),
        401,
        "unauthenticated",
        None,
    )
    .await;
    // 401 comes before body validation.
    expect_error(&app, "wl-a", None, json!({}), 401, "unauthenticated", None).await;
    // WWW-Authenticate on 401 (RFC 6750 §3).
    let r = app
        .call(Method::POST, "/wls/wl-a/peer-token", None, Some(ok), &[])
        .await;
    assert_eq!(
        r.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_403_of_the_contract() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    // wl-b's key asking as wl-a.
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_b),
        body.clone(),
        403,
        "forbidden",
        Some("caller_not_importer"),
    )
    .await;
    // No relationship wl-a → wl-c; and none in the reverse direction wl-b → wl-a.
    let to_c = json!({"targetWlId": "wl-c", "scopes": ["offers:sync"]});
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        to_c,
        403,
        "forbidden",
        Some("no_relationship"),
    )
    .await;
    let to_a = json!({"targetWlId": "wl-a", "scopes": ["offers:sync"]});
    expect_error(
        &app,
        "wl-b",
        Some(&seed.key_b),
        to_a,
        403,
        "forbidden",
        Some("no_relationship"),
    )
    .await;
    // A scope outside what the relationship allows.
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-a/relationships/wl-b",
            Some(json!({"scopes": ["offers:sync"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let both = json!({"targetWlId": "wl-b", "scopes": ["offers:sync", "trader:purchase"]});
    let e = expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        both,
        403,
        "forbidden",
        Some("scope_not_allowed"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("trader:purchase"));
    // Inactive relationship.
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-a/relationships/wl-b",
            Some(json!({"scopes": ["offers:sync"], "status": "inactive"})),
        )
        .await;
    assert_eq!(r.status, 200);
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        body.clone(),
        403,
        "forbidden",
        Some("no_relationship"),
    )
    .await;
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-a/relationships/wl-b",
            Some(json!({"scopes": ["offers:sync"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    // Inactive target, then inactive importer.
    app.set_wl_status("wl-b", "inactive").await;
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        body.clone(),
        403,
        "forbidden",
        Some("target_inactive"),
    )
    .await;
    app.set_wl_status("wl-b", "active").await;
    app.set_wl_status("wl-a", "inactive").await;
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        body.clone(),
        403,
        "forbidden",
        Some("importer_inactive"),
    )
    .await;
    app.set_wl_status("wl-a", "active").await;
    // And back to normal.
    assert_eq!(app.peer_token("wl-a", &seed.key_a, body).await.status, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_404_of_the_contract() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let body = json!({"targetWlId": "wl-zzz", "scopes": ["offers:sync"]});
    expect_error(
        &app,
        "wl-a",
        Some(&seed.key_a),
        body,
        404,
        "not_found",
        Some("target_not_found"),
    )
    .await;
    // An unknown importer named by another WL's key is that WL's 403 (issue #17: the caller is
    // checked first); `importer_not_found` is left for a certificate naming an unregistered WL.
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    expect_error(
        &app,
        "wl-unknown",
        Some(&seed.key_a),
        body,
        403,
        "forbidden",
        Some("caller_not_importer"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_422_of_the_contract() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let key = Some(seed.key_a.as_str());
    let e = expect_error(&app, "wl-a", key, json!({}), 422, "validation_error", None).await;
    assert_eq!(
        e["errors"]["targetWlId"][0],
        "The targetWlId field is required."
    );
    assert_eq!(e["errors"]["scopes"][0], "The scopes field is required.");
    let e = expect_error(
        &app,
        "wl-a",
        key,
        json!({"targetWlId": "wl-b", "scopes": []}),
        422,
        "validation_error",
        None,
    )
    .await;
    assert!(
        e["errors"]["scopes"][0]
            .as_str()
            .unwrap()
            .contains("at least one")
    );
    let e = expect_error(
        &app,
        "wl-a",
        key,
        json!({"targetWlId": "", "scopes": ["offers:sync"]}),
        422,
        "validation_error",
        None,
    )
    .await;
    assert!(e["errors"].get("targetWlId").is_some());
    let e = expect_error(
        &app,
        "wl-a",
        key,
        json!({"targetWlId": "wl-b", "scopes": ["offers:sync", "admin:all"]}),
        422,
        "unknown_scope",
        None,
    )
    .await;
    assert_eq!(e["errors"]["scopes"][0], "Unknown scope: admin:all.");
    for ttl in [0, -5, 901] {
        let e = expect_error(
            &app,
            "wl-a",
            key,
            json!({"targetWlId": "wl-b", "scopes": ["offers:sync"], "ttlSeconds": ttl}),
            422,
            "validation_error",
            None,
        )
        .await;
        assert!(e["errors"].get("ttlSeconds").is_some());
    }
    let e = expect_error(
        &app,
        "wl-a",
        key,
        json!({"targetWlId": "wl-b", "scopes": ["offers:sync"], "admin": true}),
        422,
        "validation_error",
        None,
    )
    .await;
    assert!(
        e["errors"].get("admin").is_some(),
        "unknown field named: {e}"
    );
    let e = expect_error(
        &app,
        "wl-a",
        key,
        json!({"targetWlId": "wl-b", "scopes": "offers:sync"}),
        422,
        "validation_error",
        None,
    )
    .await;
    assert!(e["errors"].get("body").is_some());
    // Malformed JSON and a wrong content type get the envelope too.
    let rid = "malformed-1";
    let resp = app
        .client
        .post(format!("{}/wls/wl-a/peer-token", app.address))
        .bearer_auth(&seed.key_a)
        .header("content-type", "application/json")
        .header("x-request-id", rid)
        .body("{\"targetWlId\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error_code"], "invalid_json");
    assert_eq!(v["request_id"], rid);
    let resp = app
        .client
        .post(format!("{}/wls/wl-a/peer-token", app.address))
        .bearer_auth(&seed.key_a)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let big = "x".repeat(70 * 1024);
    let r = app
        .peer_token(
            "wl-a",
            &seed.key_a,
            json!({"targetWlId": big, "scopes": ["offers:sync"]}),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["error_code"], "payload_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_gateway_can_forward_a_client_certificate_and_the_token_is_bound_to_it() {
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret".into());
        c.cp_trust_forwarded_client_cert = true;
    })
    .await;
    app.seed().await;
    let hash = "8f2f6a36c3b2a0f2b1e4f5d6c7b8a9012345678901234567890abcdefabcdef0";
    let xfcc = format!("Hash={hash};URI=spiffe://tessera/wl/wl-a");
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    let r = app
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            None,
            Some(body.clone()),
            &[
                ("x-gateway-secret", "gw-secret"),
                ("x-forwarded-client-cert", &xfcc),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let claims = segment(r.body["accessToken"].as_str().unwrap(), 1);
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        (0..32)
            .map(|i| u8::from_str_radix(&hash[i * 2..i * 2 + 2], 16).unwrap())
            .collect::<Vec<u8>>(),
    );
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        expected.as_str(),
        "RFC 8705 binding"
    );
    // The same header without the gateway secret is not trusted.
    let r = app
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            None,
            Some(body.clone()),
            &[
                ("x-gateway-secret", "forged"),
                ("x-forwarded-client-cert", &xfcc),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    // A certificate naming another WL is that WL, not the importer.
    let xfcc_b = format!("Hash={hash};URI=spiffe://tessera/wl/wl-b");
    let r = app
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            None,
            Some(body),
            &[
                ("x-gateway-secret", "gw-secret"),
                ("x-forwarded-client-cert", &xfcc_b),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["reason"], "caller_not_importer");
}

/// Finding 1 of issue #17: unless the deployment says the gateway terminates mTLS
/// (`CP_TRUST_FORWARDED_CLIENT_CERT`, off by default), a forwarded certificate is no credential,
/// even beside a valid gateway secret; a WL key still works.
#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_certificate_is_ignored_unless_the_gateway_is_said_to_terminate_mtls() {
    let app = TestApp::spawn_with(|c| c.base.gateway_secret = Some("gw-secret".into())).await;
    let seed = app.seed().await;
    let hash = "8f2f6a36c3b2a0f2b1e4f5d6c7b8a9012345678901234567890abcdefabcdef0";
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    for xfcc in [
        format!("Hash={hash};URI=spiffe://tessera/wl/wl-a"),
        format!("Hash={hash};Subject=\"CN=wl-a\""),
    ] {
        let r = app
            .call(
                Method::POST,
                "/wls/wl-a/peer-token",
                None,
                Some(body.clone()),
                &[
                    ("x-gateway-secret", "gw-secret"),
                    ("x-forwarded-client-cert", &xfcc),
                ],
            )
            .await;
        assert_eq!(r.status, 401, "{xfcc}: {}", r.body);
        assert_eq!(r.body["error_code"], "unauthenticated");
    }
    let r = app
        .call(
            Method::POST,
            "/wls/wl-a/peer-token",
            Some(&seed.key_a),
            Some(body),
            &[("x-gateway-secret", "gw-secret")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(segment(r.body["accessToken"].as_str().unwrap(), 1)["cnf"].is_null());
}

/// Finding 8 of issue #17: a WL's key asking for another importer gets the same 403 whether
/// that importer exists or not.
#[tokio::test(flavor = "multi_thread")]
async fn a_wl_key_learns_nothing_about_other_importers() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    let mut answers = Vec::new();
    for importer in ["wl-b", "wl-c", "wl-does-not-exist"] {
        let r = app
            .call(
                Method::POST,
                &format!("/wls/{importer}/peer-token"),
                Some(&seed.key_a),
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, 403, "{importer}: {}", r.body);
        answers.push(r.envelope_sans_request_id());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["reason"], "caller_not_importer");
}

#[tokio::test(flavor = "multi_thread")]
async fn enforcing_the_gateway_source_refuses_direct_calls_but_not_probes() {
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret".into());
        c.base.gateway_enforce_source = true;
    })
    .await;
    let r = app
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error_code"], "forbidden");
    let r = app
        .call(
            Method::GET,
            "/.well-known/jwks.json",
            None,
            None,
            &[("x-gateway-secret", "gw-secret")],
        )
        .await;
    assert_eq!(r.status, 200);
    app.wait_ready().await;
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let r = app.call(Method::GET, probe, None, None, &[]).await;
        assert_eq!(r.status, 200, "{probe}: {}", r.body);
    }
}
