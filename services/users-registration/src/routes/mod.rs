//! HTTP routes (seed 004 "API REST"). Registered with `web::resource` so a wrong method is a
//! 405 envelope.

pub mod registrations;
pub mod session;
pub mod users;

use actix_web::{HttpResponse, web};

/// Registers every route of the service (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/registrations").route(web::post().to(registrations::submit)))
        .service(web::resource("/registrations/{id}").route(web::get().to(registrations::get)))
        .service(web::resource("/auth/login").route(web::post().to(session::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(session::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(session::logout)))
        .service(
            web::resource("/users/{id}")
                .route(web::get().to(users::get))
                .route(web::patch().to(users::update)),
        )
        .service(web::resource("/users/{id}/status").route(web::patch().to(users::change_status)))
        .service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

/// `GET /openapi.json`: the OpenAPI 3.1 document generated from the code, with the committed
/// JSON Schemas as request bodies.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
