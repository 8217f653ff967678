//! The human-facing API reference of a service's OpenAPI document (issue #20): Swagger UI,
//! its assets compiled into the binary (`utoipa-swagger-ui`, `vendored`), served by the
//! service itself under a strict `Content-Security-Policy` (own origin only, no inline script).
//!
//! Two mounts of the same page, so it works both directly and through the gateway, which
//! forwards `/docs/<service>/…` unchanged (`deploy/platform.toml`):
//!
//! | path | answer |
//! |---|---|
//! | `GET /docs`, `GET /docs/<service>` | **308** to the same path with a trailing `/` |
//! | `GET /docs/`, `GET /docs/<service>/` | the page (`text/html`) |
//! | `GET /docs/[<service>/]openapi.json` | the service's document, as `GET /openapi.json` |
//! | `GET /docs/[<service>/]<asset>` | Swagger UI's CSS/JS/images; anything else **404** envelope |
//!
//! The page loads the document from the relative URL `openapi.json`, so the same bytes work
//! under either mount.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::ApiError;

/// `Content-Security-Policy` of every docs response: scripts, styles and fonts from the service's
/// own origin only, images also as `data:` URLs (Swagger UI's icons), requests only to the same
/// origin, no framing, no plugins. One inline style is allowed by its hash, not by
/// `'unsafe-inline'`: the `<style>` of the logo SVG inside the vendored Swagger UI bundle
/// (`.logo_small_svg__cls-2{…}`); a new Swagger UI with another one fails `make browser-test`,
/// whose console check prints the hash to put here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; \
                       style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
                       img-src 'self' data:; font-src 'self'; connect-src 'self'; \
                       form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// What the docs handlers share: the Swagger UI configuration, the document as JSON, and the
/// service's name (its mount under `/docs/<service>/`).
struct Docs {
    config: Arc<Config<'static>>,
    document: web::Bytes,
    service: &'static str,
}

/// Registers `/docs` and `/docs/<service>` (module docs) for `document`, the bytes of the
/// service's OpenAPI document as JSON.
pub fn configure(cfg: &mut web::ServiceConfig, service: &'static str, document: web::Bytes) {
    let config = Config::new(["openapi.json"])
        .try_it_out_enabled(false)
        .display_request_duration(true);
    let docs = web::Data::new(Docs {
        config: Arc::new(config),
        document,
        service,
    });
    cfg.app_data(docs)
        .service(web::resource("/docs").route(web::get().to(add_slash)))
        .service(web::resource(format!("/docs/{service}")).route(web::get().to(add_slash)))
        .service(web::resource("/docs/{tail:.*}").route(web::get().to(serve)));
}

/// A 200 with the docs' security headers: [`CSP`], `nosniff`, no referrer.
fn ok() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}

/// `GET /docs` and `GET /docs/<service>`: 308 to the path with a trailing slash, so the page's
/// relative URLs resolve beneath it.
async fn add_slash(req: HttpRequest) -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("{}/", req.path())))
        .finish()
}

/// `GET /docs/{tail}`: the page, the document or an asset (module docs).
async fn serve(docs: web::Data<Docs>, tail: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let tail = tail.into_inner();
    let prefix = format!("{}/", docs.service);
    let file = tail.strip_prefix(&prefix).unwrap_or(&tail);
    let mut response = ok();
    if file == "openapi.json" {
        return Ok(response
            .content_type(header::ContentType::json())
            .body(docs.document.clone()));
    }
    let asset = utoipa_swagger_ui::serve(file, docs.config.clone())
        .map_err(|e| ApiError::internal(format!("docs asset {file}: {e}")))?
        .ok_or_else(|| ApiError::not_found("no such page"))?;
    if asset.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    // The assets are compiled in: served from the binary, not copied per request (the bundle
    // is 1.5 MB). Only the initializer, which carries the configuration, is built.
    let body = match asset.bytes {
        std::borrow::Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
        std::borrow::Cow::Owned(bytes) => web::Bytes::from(bytes),
    };
    Ok(response
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .content_type(asset.content_type)
        .body(body))
}

/// A service name the index may link to: lower-case letters, digits and `-` (so it needs no
/// escaping in a path or in HTML).
pub fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The gateway's `GET /docs`: a page linking each service's reference at `/docs/<service>/`,
/// under [`CSP`]. `services` must pass [`is_service_name`] (checked at configuration).
pub fn index(services: &[String]) -> HttpResponse {
    let items: String = services
        .iter()
        .filter(|s| is_service_name(s))
        .map(|s| format!("<li><a href=\"/docs/{s}/\">{s}</a> (<a href=\"/docs/{s}/openapi.json\">OpenAPI document</a>)</li>\n"))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Tessera API reference</title></head>\n\
         <body>\n<h1>Tessera API reference</h1>\n<p>Each service's operations, request and response \
         shapes and error codes.</p>\n<ul>\n{items}</ul>\n</body>\n</html>\n"
    );
    ok().content_type(header::ContentType::html()).body(html)
}
