//! Every request writes one access line (method, route, status, latency, request id, trace id)
//! with the OpenTelemetry HTTP attribute names, and a failed request's error is logged once
//! (issue #21); a caller's `X-Trace-Id` is echoed and on the span (seed 002, issue #20). The
//! real middleware stack of `platform_app`, the real JSON log layer.

use actix_web::{HttpResponse, test, web};
use serde_json::Value;
use tessera_http::metrics::prometheus_metrics;
use tessera_http::{ApiError, ExtractorOptions, GatewayGuard, platform_app};

async fn item(path: web::Path<u32>) -> HttpResponse {
    tracing::info!(item = *path, "looked up");
    HttpResponse::Ok().finish()
}

async fn fail() -> Result<HttpResponse, ApiError> {
    Err(ApiError::internal("disk on fire"))
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[actix_web::test]
async fn each_request_writes_one_access_line_and_an_error_once() {
    let (subscriber, capture) = tessera_telemetry::capturing_subscriber("quotations");
    let _default = tracing::subscriber::set_default(subscriber);
    let app = test::init_service(platform_app(
        |c| {
            c.service(web::resource("/items/{id}").route(web::get().to(item)));
            c.service(web::resource("/fail").route(web::get().to(fail)));
        },
        ExtractorOptions::default(),
        prometheus_metrics("access-log-test").unwrap(),
        GatewayGuard::new(None, false),
    ))
    .await;

    let ok = test::TestRequest::get()
        .uri("/items/7")
        .insert_header(("Host", "api.example:8080"))
        .insert_header(("X-Request-Id", "req-ok"))
        .insert_header(("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01")))
        .insert_header(("X-Trace-Id", "caller-trace-42"))
        .to_request();
    let ok = test::call_service(&app, ok).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers().get("x-trace-id").and_then(|v| v.to_str().ok()),
        Some("caller-trace-42"),
        "seed 002: echoed"
    );
    let failed = test::TestRequest::get()
        .uri("/fail")
        .insert_header(("X-Request-Id", "req-fail"))
        .insert_header(("X-Trace-Id", "not valid: spaces"))
        .to_request();
    let failed = test::call_service(&app, failed).await;
    assert_eq!(failed.status(), 500);
    assert!(
        failed.headers().get("x-trace-id").is_none(),
        "an invalid one is dropped"
    );

    let lines = capture.json_lines();
    let of = |rid: &str| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["request_id"] == rid)
            .cloned()
            .collect()
    };
    let ok_lines = of("req-ok");
    assert_eq!(
        ok_lines.len(),
        2,
        "the handler's line and the access line: {ok_lines:?}"
    );
    for line in &ok_lines {
        assert_eq!(line["service"], "quotations", "{line}");
        assert_eq!(line["trace_id"], TRACE, "{line}");
        assert_eq!(line["http.route"], "/items/{id}", "{line}");
    }
    let access = &ok_lines[1];
    assert_eq!(access["target"], "access", "{access}");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["message"], "request completed");
    assert_eq!(access["http.request.method"], "GET");
    assert_eq!(access["http.response.status_code"], 200);
    assert_eq!(access["url.path"], "/items/7");
    assert_eq!(access["server.address"], "api.example");
    assert_eq!(access["http.request.header.x-trace-id"], "caller-trace-42");
    assert!(access["latency_ms"].as_f64().unwrap() >= 0.0, "{access}");

    let fail_lines = of("req-fail");
    let errors: Vec<_> = fail_lines
        .iter()
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "the error logged once: {fail_lines:?}");
    let access: Vec<_> = fail_lines
        .iter()
        .filter(|l| l["target"] == "access")
        .collect();
    assert_eq!(access.len(), 1, "{fail_lines:?}");
    assert_eq!(access[0]["http.response.status_code"], 500);
    assert!(
        !lines
            .iter()
            .any(|l| l.to_string().contains("disk on fire") && l["level"] != "ERROR"),
        "the cause appears only on the one error line"
    );
}
