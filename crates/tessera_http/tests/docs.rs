//! `/docs`: the API reference page under both mounts, its document, its assets and its CSP.

use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};

const DOCUMENT: &str = r#"{"openapi":"3.1.0","info":{"title":"demo","version":"1"},"paths":{}}"#;

macro_rules! app {
    () => {
        test::init_service(App::new().configure(|c| {
            tessera_http::docs::configure(c, "demo", web::Bytes::from_static(DOCUMENT.as_bytes()))
        }))
        .await
    };
}

/// `(status, header lookup, body)` of `GET path`.
macro_rules! get {
    ($app:expr, $path:expr) => {{
        let resp =
            test::call_service(&$app, test::TestRequest::get().uri($path).to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = test::read_body(resp).await.to_vec();
        let header = move |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        (status, header, body)
    }};
}

#[actix_web::test]
async fn both_mounts_redirect_to_their_slash_and_serve_the_page_under_a_strict_csp() {
    let app = app!();
    for (bare, page) in [("/docs", "/docs/"), ("/docs/demo", "/docs/demo/")] {
        let (status, headers, _) = get!(app, bare);
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT, "{bare}");
        assert_eq!(headers(header::LOCATION), page);

        let (status, headers, body) = get!(app, page);
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(headers(header::CONTENT_TYPE).starts_with("text/html"));
        let csp = headers(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        let html = String::from_utf8(body).unwrap();
        // Every script is a file of the service's own: no inline script, no other origin.
        assert!(html.contains(r#"src="./swagger-ui-bundle.js""#), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
    }
}

#[actix_web::test]
async fn the_page_loads_the_document_from_a_relative_url_served_under_both_mounts() {
    let app = app!();
    let (status, _, init) = get!(app, "/docs/demo/swagger-initializer.js");
    assert_eq!(status, StatusCode::OK);
    let init = String::from_utf8(init).unwrap();
    assert!(init.contains(r#""url": "openapi.json""#), "{init}");

    for path in ["/docs/openapi.json", "/docs/demo/openapi.json"] {
        let (status, headers, body) = get!(app, path);
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers(header::CONTENT_TYPE), "application/json");
        assert_eq!(body, DOCUMENT.as_bytes());
    }
    let (status, headers, body) = get!(app, "/docs/swagger-ui.css");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers(header::CONTENT_TYPE), "text/css");
    assert!(body.len() > 1000);
}

#[actix_web::test]
async fn an_unknown_file_is_a_404() {
    let app = app!();
    for path in [
        "/docs/nope.js",
        "/docs/other/index.html",
        "/docs/demo/../../etc/passwd",
    ] {
        let (status, _, _) = get!(app, path);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
