//! The operator API.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn operator_endpoints_need_the_admin_token() {
    let app = TestApp::spawn().await;
    for (m, p) in [
        (Method::GET, "/wls"),
        (Method::POST, "/wls"),
        (Method::GET, "/wls/wl-a"),
        (Method::POST, "/wls/wl-a/api-keys"),
    ] {
        let r = app.call(m.clone(), p, None, Some(json!({})), &[]).await;
        assert_eq!(r.status, 401, "{m} {p}");
        assert_eq!(r.body["error_code"], "unauthenticated");
        let r = app
            .call(m.clone(), p, Some("wrong"), Some(json!({})), &[])
            .await;
        assert_eq!(r.status, 401, "{m} {p}");
    }
    // A WL API key is not an operator credential.
    let seed = app.seed().await;
    assert_eq!(
        app.call(Method::GET, "/wls", Some(&seed.key_a), None, &[])
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn white_labels_relationships_and_keys_round_trip() {
    let app = TestApp::spawn().await;
    let r = app
        .admin(
            Method::POST,
            "/wls",
            Some(json!({"id": "wl-x", "name": "X"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["whiteLabel"]["status"], "active");
    assert_eq!(
        app.admin(
            Method::POST,
            "/wls",
            Some(json!({"id": "wl-x", "name": "X again"}))
        )
        .await
        .status,
        409
    );
    let r = app
        .admin(
            Method::POST,
            "/wls",
            Some(json!({"id": "Bad Id", "status": "sleeping"})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["errors"].get("id").is_some()
            && r.body["errors"].get("name").is_some()
            && r.body["errors"].get("status").is_some()
    );
    for i in 0..3 {
        assert_eq!(
            app.admin(
                Method::POST,
                "/wls",
                Some(json!({"id": format!("wl-{i}"), "name": "n"}))
            )
            .await
            .status,
            201
        );
    }
    let r = app.admin(Method::GET, "/wls?per_page=2&page=2", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["meta"]["total"], 4);
    assert_eq!(r.body["whiteLabels"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.admin(Method::GET, "/wls?per_page=500", None)
            .await
            .status,
        422
    );
    assert_eq!(app.admin(Method::GET, "/wls/nope", None).await.status, 404);
    let r = app
        .admin(
            Method::PATCH,
            "/wls/wl-x",
            Some(json!({"name": "Renamed", "status": "inactive"})),
        )
        .await;
    assert_eq!(r.body["whiteLabel"]["name"], "Renamed");
    assert_eq!(r.body["whiteLabel"]["status"], "inactive");
    // Relationships.
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-x/relationships/wl-0",
            Some(json!({"scopes": ["offers:sync"]})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-x/relationships/wl-0",
            Some(json!({"scopes": ["trader:purchase"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["relationship"]["scopes"], json!(["trader:purchase"]));
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-x/relationships/wl-0",
            Some(json!({"scopes": ["root"]})),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-x/relationships/wl-x",
            Some(json!({"scopes": ["offers:sync"]})),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .admin(
            Method::PUT,
            "/wls/wl-x/relationships/ghost",
            Some(json!({"scopes": ["offers:sync"]})),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .admin(Method::GET, "/wls/wl-x/relationships", None)
        .await;
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(
        app.admin(Method::DELETE, "/wls/wl-x/relationships/wl-0", None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.admin(Method::DELETE, "/wls/wl-x/relationships/wl-0", None)
            .await
            .status,
        404
    );
    // API keys: the secret is shown once and never listed.
    let r = app.admin(Method::POST, "/wls/wl-x/api-keys", None).await;
    assert_eq!(r.status, 201);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cpk_"));
    let list = app.admin(Method::GET, "/wls/wl-x/api-keys", None).await;
    assert_eq!(list.body["apiKeys"].as_array().unwrap().len(), 1);
    assert!(!list.body.to_string().contains(&secret));
    assert_eq!(
        app.admin(Method::POST, "/wls/ghost/api-keys", None)
            .await
            .status,
        404
    );
    let id = r.body["apiKey"]["id"].as_str().unwrap();
    assert_eq!(
        app.admin(Method::DELETE, &format!("/wls/wl-x/api-keys/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.admin(Method::DELETE, &format!("/wls/wl-x/api-keys/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.admin(Method::DELETE, "/wls/wl-x/api-keys/not-a-uuid", None)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_stored_hashed() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let mut conn = app.pool.get().await.unwrap();
    let hashes: Vec<Vec<u8>> = tessera_control_plane::db::schema::wl_credentials::table
        .select(tessera_control_plane::db::schema::wl_credentials::secret_hash)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 2);
    for h in &hashes {
        assert_eq!(h.len(), 32);
        assert!(!String::from_utf8_lossy(h).contains(&seed.key_a[4..12]));
    }
    assert!(hashes.contains(&tessera_control_plane::registry::hash_api_key(&seed.key_a).to_vec()));
}

#[tokio::test(flavor = "multi_thread")]
async fn text_postgresql_cannot_store_is_a_422_not_a_500() {
    // Found by fuzzing the OpenAPI document (issue #8): "\u0000" is valid JSON, but PostgreSQL
    // `text` cannot hold a NUL character.
    let app = TestApp::spawn().await;
    let r = app
        .admin(
            Method::POST,
            "/wls",
            Some(json!({"id": "wl-nul", "name": "bad\u{0}name"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error_code"], "validation_error");
    app.seed().await;
    let r = app
        .admin(Method::PATCH, "/wls/wl-a", Some(json!({"name": "\u{0}"})))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Nothing was written.
    let r = app.admin(Method::GET, "/wls/wl-nul", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// Issue #20: a page of a list says where the others are in an RFC 8288 `Link` header.
#[tokio::test]
async fn a_list_page_links_first_prev_next_and_last() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let r = app
            .admin(
                Method::POST,
                "/wls",
                Some(json!({"id": format!("wl-link-{i}"), "name": "n"})),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = app.admin(Method::GET, "/wls?per_page=2&page=2", None).await;
    assert_eq!(r.status, 200);
    let total = r.body["meta"]["total"].as_i64().unwrap();
    assert!(total >= 5, "{total}");
    let last = (total + 1) / 2;
    let link = r.headers["link"].to_str().unwrap();
    assert!(
        link.contains("</wls?page=1&per_page=2>; rel=\"first\""),
        "{link}"
    );
    assert!(
        link.contains("</wls?page=1&per_page=2>; rel=\"prev\""),
        "{link}"
    );
    assert!(
        link.contains("</wls?page=3&per_page=2>; rel=\"next\""),
        "{link}"
    );
    assert!(
        link.contains(&format!("</wls?page={last}&per_page=2>; rel=\"last\"")),
        "{link}"
    );
    let last_page = app
        .admin(Method::GET, &format!("/wls?per_page=2&page={last}"), None)
        .await;
    let link = last_page.headers["link"].to_str().unwrap();
    assert!(!link.contains("rel=\"next\""), "{link}");
}
