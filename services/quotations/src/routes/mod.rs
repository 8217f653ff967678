//! HTTP routes (seed 001). Registered with `web::resource` so a wrong method is a 405 envelope.

pub mod account;
pub mod deletes;
pub mod history;
pub mod quote;
pub mod user_tokens;

use actix_web::{HttpResponse, web};
use tessera_http::ApiError;

use crate::openapi::ApiDoc;

/// Registers every route of the service (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/quotation/{symbol}")
            .route(web::get().to(quote::show))
            .route(web::post().to(quote::collect)),
    )
    .service(web::resource("/api/quotations").route(web::get().to(history::index)))
    .service(web::resource("/api/quotations/bulk-delete").route(web::post().to(deletes::bulk)))
    .service(
        web::resource("/api/quotations/bulk-restore").route(web::post().to(deletes::bulk_restore)),
    )
    .service(
        web::resource("/api/quotations/{quotation}/restore")
            .route(web::post().to(deletes::restore)),
    )
    .service(web::resource("/api/quotations/{quotation}").route(web::delete().to(deletes::destroy)))
    .service(
        web::resource("/api/auth/token")
            .route(web::post().to(account::create))
            .route(web::delete().to(account::revoke)),
    )
    .service(web::resource("/api/user").route(web::get().to(account::me)))
    .service(web::resource("/api/user/tokens").route(web::get().to(user_tokens::index)))
    .service(
        web::resource("/api/user/tokens/{token}").route(web::delete().to(user_tokens::destroy)),
    )
    .service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
    .configure(crate::web::configure);
}

/// A numeric id of the path, or `not_found()` (a malformed id is simply not found).
///
/// # Errors
/// `not_found()`.
pub fn path_id(raw: &str, not_found: impl FnOnce() -> ApiError) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| not_found())
}

/// `GET /openapi.json`: the OpenAPI 3.1 document generated from the code.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(<ApiDoc as utoipa::OpenApi>::openapi())
}
