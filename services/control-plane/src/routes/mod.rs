//! HTTP routes. Registered with `web::resource` so a wrong method is a 405 envelope.

pub mod admin;
pub mod jwks;
pub mod peer_token;

use actix_web::{HttpResponse, web};

use crate::openapi::ApiDoc;

/// Registers every route of the service (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/wls/{importerId}/peer-token")
            .route(web::post().to(peer_token::issue_peer_token)),
    )
    .service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks::jwks)))
    .service(
        web::resource("/wls")
            .route(web::get().to(admin::list_wls))
            .route(web::post().to(admin::create_wl)),
    )
    .service(
        web::resource("/wls/{id}")
            .route(web::get().to(admin::get_wl))
            .route(web::patch().to(admin::update_wl)),
    )
    .service(
        web::resource("/wls/{importerId}/relationships")
            .route(web::get().to(admin::list_relationships)),
    )
    .service(
        web::resource("/wls/{importerId}/relationships/{targetId}")
            .route(web::put().to(admin::put_relationship))
            .route(web::delete().to(admin::delete_relationship)),
    )
    .service(
        web::resource("/wls/{id}/api-keys")
            .route(web::get().to(admin::list_api_keys))
            .route(web::post().to(admin::issue_api_key)),
    )
    .service(
        web::resource("/wls/{id}/api-keys/{keyId}").route(web::delete().to(admin::revoke_api_key)),
    )
    .service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

/// `GET /openapi.json`: the OpenAPI 3.1 document generated from the code.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(<ApiDoc as utoipa::OpenApi>::openapi())
}
