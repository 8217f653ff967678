//! HTTP routes, all under `/tenants/{tenant_slug}` (seed 002). Registered with
//! `web::resource` so a wrong method is a 405 envelope.

pub mod agents;
pub mod enroll;
pub mod jwks;
pub mod roles;
pub mod session;

use actix_web::{HttpResponse, web};

use crate::openapi::ApiDoc;

/// Registers every route of the service (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants/{tenant_slug}/login").route(web::post().to(session::login)),
    )
    .service(
        web::resource("/tenants/{tenant_slug}/mfa/verify")
            .route(web::post().to(session::verify_mfa)),
    )
    .service(web::resource("/tenants/{tenant_slug}/logout").route(web::post().to(session::logout)))
    .service(
        web::resource("/tenants/{tenant_slug}/session")
            .route(web::get().to(session::current_session)),
    )
    .service(
        web::resource("/tenants/{tenant_slug}/mfa/enroll").route(web::post().to(enroll::enroll)),
    )
    .service(
        web::resource("/tenants/{tenant_slug}/mfa/enroll/confirm")
            .route(web::post().to(enroll::confirm)),
    )
    .service(web::resource("/tenants/{tenant_slug}/roles").route(web::get().to(roles::list_roles)))
    .service(
        web::resource("/tenants/{tenant_slug}/roles/{agent_id}")
            .route(web::put().to(roles::put_role))
            .route(web::delete().to(roles::delete_role)),
    )
    .service(
        web::resource("/tenants/{tenant_slug}/agents/{agent_id}")
            .route(web::patch().to(agents::update_agent)),
    )
    .service(
        web::resource("/tenants/{tenant_slug}/.well-known/jwks.json")
            .route(web::get().to(jwks::jwks)),
    )
    .service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

/// `GET /openapi.json`: the OpenAPI 3.1 document generated from the code.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(<ApiDoc as utoipa::OpenApi>::openapi())
}
