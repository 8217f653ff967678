//! The HTTP side of gateway-auth: `GET /verify` for the gateway's `auth_request`, the headers it
//! answers with, and the servers (the verifier and its metrics port).

use super::*;

/// `GET|… /verify` (any method: `auth_request` subrequests may keep the client's).
///
/// # Errors
/// 401 `unauthenticated` (`reason` = the failed check) or 503, per the module docs.
pub async fn verify(
    auth: web::Data<Authenticator>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = tessera_http::bearer_token(&req);
    let mut reply = HttpResponse::Ok();
    if let Some(secret) = &auth.gateway_secret {
        reply.insert_header((GATEWAY_SECRET_HEADER, secret.clone()));
    }
    match auth
        .authenticate(token.as_deref(), tessera_service::now())
        .await
    {
        Ok(None) => Ok(reply.finish()),
        Ok(Some(v)) => {
            reply
                .insert_header((GATEWAY_AUTH, "jwt"))
                .insert_header((AUTH_SUBJECT, v.subject))
                .insert_header((AUTH_ROLES, v.roles.join(",")));
            if let Some(t) = v.tenant {
                reply.insert_header((AUTH_TENANT, t));
            }
            Ok(reply.finish())
        }
        Err(Refusal::Invalid(VerifyError::KeySetUnavailable(e))) => {
            tracing::warn!(error = %e, "identity key set unavailable");
            Err(ApiError::unavailable(std::io::Error::other(
                "identity key set unavailable",
            )))
        }
        Err(Refusal::IdentityUnavailable(e)) => {
            tracing::warn!(error = %e, "identity unavailable: a token older than the revocation feed is not vouched for");
            Err(ApiError::unavailable(std::io::Error::other(
                "identity unavailable",
            )))
        }
        Err(e) => {
            let why = reason(&e);
            tracing::info!(reason = why, "bearer token refused at the gateway");
            let refused =
                ApiError::unauthenticated("The bearer token is invalid.").with_reason(why);
            let mut response = actix_web::ResponseError::error_response(&refused);
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static(AUTH_REASON),
                HeaderValue::from_static(why),
            );
            Ok(response)
        }
    }
}

pub(super) fn reason(e: &Refusal) -> &'static str {
    match e {
        Refusal::Revoked => "token_revoked",
        Refusal::IdentityUnavailable(_) => "identity_unavailable",
        Refusal::Invalid(e) => match e {
            VerifyError::Malformed => "malformed_token",
            VerifyError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::BadSignature => "invalid_signature",
            VerifyError::WrongIssuer => "wrong_issuer",
            VerifyError::WrongAudience => "wrong_audience",
            VerifyError::Expired => "token_expired",
            VerifyError::NotYetValid => "token_not_yet_valid",
            VerifyError::KeySetUnavailable(_) => "key_set_unavailable",
            VerifyError::UnknownIssuer => "unknown_issuer",
            VerifyError::CertificateMismatch => "certificate_mismatch",
        },
    }
}

/// The routes: `/verify`, and `GET /docs`, the index of the services' API references
/// (`GATEWAY_DOCS`, [`tessera_http::docs::index`]).
pub fn configure(cfg: &mut web::ServiceConfig, docs: Vec<String>) {
    cfg.route("/verify", web::route().to(verify)).service(
        web::resource("/docs")
            .route(web::get().to(move || std::future::ready(tessera_http::docs::index(&docs)))),
    );
}

/// Runs the service on `listener` until SIGTERM/SIGINT (actix drains in-flight requests for
/// up to 10 s), with the revocation feed (`identity.session.revoked` from `AMQP_URL`) when
/// `GATEWAY_REVOCATION_FEED` is on. `workers`: HTTP worker threads (default: one per core).
/// Must be called inside a Tokio runtime (the feed is a task of it).
///
/// # Errors
/// A listener that cannot be used, or metrics that cannot be registered.
pub fn serve(
    config: &Config,
    listener: std::net::TcpListener,
    workers: Option<usize>,
) -> anyhow::Result<actix_web::dev::Server> {
    Ok(serve_with(config, listener, workers)?.0)
}

/// A second server on `listener` answering only `GET /metrics` (Prometheus text format) and
/// `GET /healthz`, from `registry`: what a scraper may reach without reaching `/verify`.
///
/// # Errors
/// A listener that cannot be used.
pub fn serve_metrics(
    listener: std::net::TcpListener,
    registry: tessera_http::metrics::prometheus::Registry,
) -> anyhow::Result<actix_web::dev::Server> {
    let server = actix_web::HttpServer::new(move || {
        let registry = registry.clone();
        actix_web::App::new()
            .route(
                "/metrics",
                web::get().to(move || {
                    let families = registry.gather();
                    async move {
                        use tessera_http::metrics::prometheus::Encoder;
                        let encoder = tessera_http::metrics::prometheus::TextEncoder::new();
                        let mut body = Vec::new();
                        match encoder.encode(&families, &mut body) {
                            Ok(()) => HttpResponse::Ok()
                                .content_type(encoder.format_type())
                                .body(body),
                            Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
                        }
                    }
                }),
            )
            .route(
                "/healthz",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
            )
    })
    .workers(1)
    .shutdown_timeout(5);
    Ok(server.listen(listener)?.run())
}

/// [`serve`], also returning the [`Authenticator`] the server uses (for tests and probes).
///
/// # Errors
/// As [`serve`].
pub fn serve_with(
    config: &Config,
    listener: std::net::TcpListener,
    workers: Option<usize>,
) -> anyhow::Result<(actix_web::dev::Server, Arc<Authenticator>)> {
    let revocations = Arc::new(Revocations::default());
    if config.gateway_revocation_feed {
        revocation::spawn_feed(config.amqp_url.clone(), Arc::clone(&revocations));
    }
    let authenticator = Arc::new(Authenticator::new(config, revocations));
    let auth = web::Data::from(Arc::clone(&authenticator));
    let docs = config.docs();
    let prometheus =
        tessera_http::metrics::prometheus_metrics("gateway-auth").map_err(anyhow::Error::msg)?;
    if let Some(port) = config.gateway_metrics_port {
        let metrics = std::net::TcpListener::bind((config.app_host.as_str(), port))?;
        tokio::spawn(serve_metrics(metrics, prometheus.registry.clone())?);
    }
    let mut server = actix_web::HttpServer::new(move || {
        let auth = auth.clone();
        let docs = docs.clone();
        tessera_http::platform_app(
            move |c| {
                c.app_data(auth).configure(|c| configure(c, docs));
            },
            tessera_http::ExtractorOptions::default(),
            prometheus.clone(),
            tessera_http::gateway::GatewayGuard::default(),
        )
    })
    .shutdown_timeout(10);
    if let Some(n) = workers {
        server = server.workers(n.max(1));
    }
    Ok((server.listen(listener)?.run(), authenticator))
}
