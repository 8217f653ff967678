//! The platform's actix `App`: a service's routes and data inside the middleware every service
//! runs, in the same order (ARCHITECTURE.md §2), so a new service cannot forget one.
//!
//! Outermost first: request id (and panics → 500 envelope) → gateway trust → root span →
//! RED metrics → framework errors as envelopes → the routes, plus `/healthz`, `/readyz` and the
//! extractor configuration (JSON limits, 400/415/422 envelopes).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use tracing_actix_web::TracingLogger;

use crate::metrics::PrometheusMetrics;
use crate::{
    ExtractorOptions, GatewayGuard, RequestIdMiddleware, RequestSpan,
    envelope_for_framework_errors, extract, health,
};

/// Builds the app: `configure` registers the service's `app_data` and routes (with
/// `web::resource`, so a wrong method is a 405 envelope); register a
/// `web::Data<`[`crate::Readiness`]`>` there for `/readyz`.
pub fn platform_app<F>(
    configure: F,
    extractors: ExtractorOptions,
    prometheus: PrometheusMetrics,
    gateway: GatewayGuard,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    F: FnOnce(&mut web::ServiceConfig),
{
    App::new()
        .configure(|c| extract::configure(c, extractors))
        .configure(health::configure)
        .configure(configure)
        .wrap(envelope_for_framework_errors())
        .wrap(prometheus)
        .wrap(TracingLogger::<RequestSpan>::new())
        .wrap(from_fn(move |req, next| gateway.clone().check(req, next)))
        .wrap(RequestIdMiddleware)
}
