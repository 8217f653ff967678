//! The middleware stack turns every framework failure into the envelope with the request id.
#![expect(clippy::unwrap_used, clippy::panic, reason = "test code")]

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use serde::Deserialize;
use tessera_http::{
    ExtractorOptions, GatewayGuard, GatewayTrust, RequestIdMiddleware,
    envelope_for_framework_errors, extract, health,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "only deserialised")]
struct Body {
    name: String,
}

async fn echo(_body: web::Json<Body>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn boom() -> HttpResponse {
    panic!("boom")
}

async fn trust(t: GatewayTrust) -> HttpResponse {
    HttpResponse::Ok().json(t.trusted)
}

macro_rules! app {
    ($guard:expr) => {
        test::init_service(
            App::new()
                .configure(|c| {
                    extract::configure(
                        c,
                        ExtractorOptions {
                            json_limit_bytes: 64,
                            ..Default::default()
                        },
                    )
                })
                .configure(health::configure)
                .service(web::resource("/echo").route(web::post().to(echo)))
                .route("/boom", web::get().to(boom))
                .route("/trust", web::get().to(trust))
                .wrap(envelope_for_framework_errors())
                .wrap({
                    let guard: GatewayGuard = $guard;
                    actix_web::middleware::from_fn(move |req, next| guard.clone().check(req, next))
                })
                .wrap(RequestIdMiddleware),
        )
        .await
    };
}

async fn envelope(
    resp: actix_web::dev::ServiceResponse,
) -> (StatusCode, String, serde_json::Value) {
    let status = resp.status();
    let rid = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = test::read_body_json(resp).await;
    (status, rid, body)
}

#[actix_web::test]
async fn every_failure_is_an_envelope_with_the_request_id() {
    let app = app!(GatewayGuard::new(None, false));
    let cases = [
        (
            test::TestRequest::get().uri("/nope"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            test::TestRequest::get().uri("/echo"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            test::TestRequest::post()
                .uri("/echo")
                .insert_header(("content-type", "application/json"))
                .set_payload("{bad"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            test::TestRequest::post()
                .uri("/echo")
                .insert_header(("content-type", "text/plain"))
                .set_payload("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            test::TestRequest::post()
                .uri("/echo")
                .set_json(serde_json::json!({"name": "x".repeat(200)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            test::TestRequest::post()
                .uri("/echo")
                .set_json(serde_json::json!({"other": 1})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            test::TestRequest::get().uri("/boom"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let rid = format!("req-{i}");
        // A panic comes back as a rendered error, which the real server writes out as is.
        let (got, header_rid, body) = match test::try_call_service(
            &app,
            req.insert_header(("x-request-id", rid.as_str()))
                .to_request(),
        )
        .await
        {
            Ok(resp) => envelope(resp).await,
            Err(err) => {
                let resp = err.error_response();
                let status = resp.status();
                let rid = resp
                    .headers()
                    .get("x-request-id")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
                (status, rid, serde_json::from_slice(&bytes).unwrap())
            }
        };
        assert_eq!(got, status, "case {i}: {body}");
        assert_eq!(body["error_code"], code, "case {i}: {body}");
        assert_eq!(body["request_id"], rid.as_str(), "case {i}");
        assert_eq!(header_rid, rid, "case {i}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body.get("details").is_none(), "details only with APP_DEBUG");
    }
}

#[actix_web::test]
async fn validation_errors_name_the_field() {
    let app = app!(GatewayGuard::new(None, false));
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/echo")
            .set_json(serde_json::json!({}))
            .to_request(),
    )
    .await;
    let (_, _, body) = envelope(resp).await;
    assert_eq!(body["errors"]["name"][0], "The name field is required.");
}

#[actix_web::test]
async fn bad_client_request_ids_are_replaced() {
    let app = app!(GatewayGuard::new(None, false));
    let long = "x".repeat(129);
    for bad in ["has space", long.as_str(), "a/b"] {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/nope")
                .insert_header(("x-request-id", bad))
                .to_request(),
        )
        .await;
        let (_, rid, body) = envelope(resp).await;
        assert_ne!(rid, bad);
        assert!(uuid::Uuid::parse_str(&rid).is_ok(), "{rid}");
        assert_eq!(body["request_id"], rid.as_str());
    }
}

#[actix_web::test]
async fn healthz_answers_and_carries_a_request_id() {
    let app = app!(GatewayGuard::new(None, false));
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("x-request-id"));
    let body: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_names_failed_probes() {
    let readiness = tessera_http::Readiness::default()
        .with(tessera_http::Probe::new("database", || async { Ok(()) }))
        .with(tessera_http::Probe::new("broker", || async {
            Err("connection refused".to_owned())
        }));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(readiness))
            .configure(health::configure)
            .wrap(RequestIdMiddleware),
    )
    .await;
    let resp = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(body["error_code"], "service_unavailable");
    assert_eq!(body["reason"], "broker");
}

#[actix_web::test]
async fn gateway_enforcement_refuses_direct_calls_but_not_probes() {
    let app = app!(GatewayGuard::new(Some("s3cret"), true));
    let resp = test::call_service(&app, test::TestRequest::get().uri("/trust").to_request()).await;
    let (status, _, body) = envelope(resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error_code"], "forbidden");
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/trust")
            .insert_header(("x-gateway-secret", "wrong"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/trust")
            .insert_header(("x-gateway-secret", "s3cret"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let trusted: bool = test::read_body_json(resp).await;
    assert!(trusted);
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn without_enforcement_untrusted_requests_pass_but_are_not_trusted() {
    let app = app!(GatewayGuard::new(Some("s3cret"), false));
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/trust")
            .insert_header(("x-gateway-secret", "forged"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let trusted: bool = test::read_body_json(resp).await;
    assert!(!trusted);
}
