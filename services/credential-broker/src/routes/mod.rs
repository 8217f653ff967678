//! HTTP routes. Registered with `web::resource` so a wrong method is a 405 envelope.

pub mod admin;
pub mod token;

use actix_web::{HttpResponse, web};

use crate::openapi::ApiDoc;

/// Registers every route of the service (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/token").route(web::post().to(token::issue_token)))
        .service(
            web::resource("/api/bindings")
                .route(web::get().to(admin::list_bindings))
                .route(web::post().to(admin::create_binding)),
        )
        .service(
            web::resource("/api/bindings/{sandbox_id}")
                .route(web::delete().to(admin::delete_binding)),
        )
        .service(
            web::resource("/api/wallet/{agent_id}/{upstream_host}")
                .route(web::put().to(admin::put_wallet)),
        )
        .service(web::resource("/api/audit").route(web::get().to(admin::list_audit)))
        .service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

/// `GET /openapi.json`: the OpenAPI 3.1 document generated from the code.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(<ApiDoc as utoipa::OpenApi>::openapi())
}
