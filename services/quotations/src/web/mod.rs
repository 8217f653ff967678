//! The web side of quotations (issue #7, seed 001): session auth pages and routes, the two
//! dashboards and the auto-collect JSON routes. Server-rendered with minijinja from the
//! templates in `services/quotations/templates` (compiled into the binary); the only script and
//! stylesheet are served from `/assets` — no CDN.
//!
//! State-changing routes take JSON (the pages' script sends their forms as JSON with the CSRF
//! header) and answer JSON: errors are the standard envelope (`validation_error` 422,
//! `unauthenticated` 401, `csrf_mismatch` 419, `forbidden` 403, `too_many_requests` 429).
//! Pages answer HTML: without a session they redirect to `/login`, with an unverified e-mail to
//! `/verify-email`, and outside `APP_ENV=local|testing` the dashboards are 403 (seed 001
//! "Dashboard de operacoes").

pub mod auth;
pub mod charts;
pub mod dashboard;
pub mod operations;
pub mod session;
pub mod signed;

use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use minijinja::Environment;
use tessera_http::ApiError;

use crate::config::AppEnv;
use crate::state::AppState;
use session::{Session, SetCookie, WebUser};

/// `Content-Security-Policy` of every web response: own origin only, no inline script.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();

fn templates() -> &'static Environment<'static> {
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("../../templates/layout.html")),
            (
                "auth_form.html",
                include_str!("../../templates/auth_form.html"),
            ),
            (
                "verify_notice.html",
                include_str!("../../templates/verify_notice.html"),
            ),
            (
                "quotations.html",
                include_str!("../../templates/quotations.html"),
            ),
            (
                "operations.html",
                include_str!("../../templates/operations.html"),
            ),
            ("error.html", include_str!("../../templates/error.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// Renders `name` with `ctx` as an HTML response with `status`.
///
/// # Errors
/// 500 when the template fails (a defect; the cause is logged).
pub fn render(
    status: StatusCode,
    name: &str,
    ctx: minijinja::Value,
) -> Result<HttpResponse, ApiError> {
    let html = templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", tessera_http::extract::NO_STORE))
        .body(html))
}

/// A `302 Found` to `location`.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location))
        .finish()
}

/// Adds the queued session cookie and the security headers to a web response.
async fn web_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let cookie = res.request().extensions().get::<SetCookie>().cloned();
    if let Some(SetCookie(c)) = cookie {
        res.response_mut().add_cookie(&c)?;
    }
    let headers = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from_static(value),
        );
    }
    Ok(res)
}

fn resource(
    path: &str,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(from_fn(web_headers))
}

/// Registers the web routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body) in ASSETS {
        cfg.service(
            resource(path)
                .route(web::get().to(move || std::future::ready(asset(content_type, body)))),
        );
    }
    cfg.service(resource("/").route(web::get().to(|| async { redirect("/dashboard") })))
        .service(
            resource("/register")
                .route(web::get().to(auth::register_page))
                .route(web::post().to(auth::register)),
        )
        .service(
            resource("/login")
                .route(web::get().to(auth::login_page))
                .route(web::post().to(auth::login)),
        )
        .service(resource("/logout").route(web::post().to(auth::logout)))
        .service(
            resource("/forgot-password")
                .route(web::get().to(auth::forgot_page))
                .route(web::post().to(auth::forgot)),
        )
        .service(resource("/reset-password").route(web::post().to(auth::reset)))
        .service(resource("/reset-password/{token}").route(web::get().to(auth::reset_page)))
        .service(resource("/verify-email").route(web::get().to(auth::verify_notice)))
        .service(resource("/verify-email/{id}/{hash}").route(web::get().to(auth::verify)))
        .service(resource("/email/verification-notification").route(web::post().to(auth::resend)))
        .service(
            resource("/dashboard")
                .route(web::get().to(|| async { redirect("/dashboard/quotations") })),
        )
        .service(resource("/dashboard/quotations").route(web::get().to(dashboard::quotations)))
        .service(resource("/dashboard/quotations/series").route(web::get().to(charts::series)))
        .service(resource("/dashboard/operations").route(web::get().to(operations::page)))
        .service(
            resource("/dashboard/operations/auto-collect")
                .route(web::get().to(operations::show))
                .route(web::put().to(operations::update)),
        )
        .service(
            resource("/dashboard/operations/auto-collect/run")
                .route(web::post().to(operations::run)),
        )
        .service(
            resource("/dashboard/operations/auto-collect/history")
                .route(web::get().to(operations::history)),
        );
}

/// A file of `assets/` (compiled in), cached for 5 minutes.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body)
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files under `/assets`: `(path, content type, body)`. uPlot (MIT) is pinned by
/// `assets/package-lock.json` and copied into `assets/vendor` by `make assets`.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/assets/app.js", JS, include_str!("../../assets/app.js")),
    ("/assets/app.css", CSS, include_str!("../../assets/app.css")),
    (
        "/assets/charts.js",
        JS,
        include_str!("../../assets/charts.js"),
    ),
    (
        "/assets/vendor/uPlot.iife.min.js",
        JS,
        include_str!("../../assets/vendor/uPlot.iife.min.js"),
    ),
    (
        "/assets/vendor/uPlot.min.css",
        CSS,
        include_str!("../../assets/vendor/uPlot.min.css"),
    ),
];

/// The session lifetime.
pub fn lifetime(state: &AppState) -> TimeDelta {
    TimeDelta::minutes(i64::try_from(state.config.session_lifetime_minutes.max(1)).unwrap_or(120))
}

/// Whether cookies are `Secure` (outside `APP_ENV=local`).
pub fn secure_cookies(state: &AppState) -> bool {
    state.config.base.app_env != AppEnv::Local
}

/// The request's live session, if any.
///
/// # Errors
/// 503 when the database is down.
pub async fn current(state: &AppState, req: &HttpRequest) -> Result<Option<Session>, ApiError> {
    let mut conn = state.pool.get().await?;
    session::load(&mut conn, req, lifetime(state))
        .await
        .map_err(ApiError::from)
}

/// The request's session, or a new guest session (pages need one for their CSRF token).
///
/// # Errors
/// 503 when the database is down.
pub async fn current_or_new(state: &AppState, req: &HttpRequest) -> Result<Session, ApiError> {
    if let Some(s) = current(state, req).await? {
        return Ok(s);
    }
    let mut conn = state.pool.get().await?;
    session::start(&mut conn, req, None, lifetime(state), secure_cookies(state))
        .await
        .map_err(ApiError::internal)
}

/// Whether the dashboards are open in this environment (seed 001: `local`/`testing` only).
pub fn dashboard_allowed(state: &AppState) -> bool {
    matches!(state.config.base.app_env, AppEnv::Local | AppEnv::Testing)
}

/// 403 of the environment gate.
pub fn gate_closed() -> ApiError {
    ApiError::forbidden(
        "environment",
        "The dashboards are available only when APP_ENV is local or testing.",
    )
}

/// The common page context: the CSRF token, the user, and `extra`'s entries.
pub fn page_ctx(session: &Session, extra: minijinja::Value) -> minijinja::Value {
    minijinja::context! { csrf_token => session.csrf_token.as_str(), user => minijinja::Value::from(minijinja::value::Serde(&session.user)), ..extra }
}

/// What a dashboard page request may do next.
pub enum PageAccess {
    /// Signed in, verified, environment open.
    Granted(Session, WebUser),
    /// A redirect or an error page to return as is.
    Denied(HttpResponse),
}

/// The guard of the dashboard pages: `/login` without a user, `/verify-email` when unverified,
/// an HTML 403 when the environment gate is closed.
///
/// # Errors
/// 503 when the database is down.
pub async fn page_access(state: &AppState, req: &HttpRequest) -> Result<PageAccess, ApiError> {
    let session = current_or_new(state, req).await?;
    let Some(user) = session.user.clone() else {
        return Ok(PageAccess::Denied(redirect("/login")));
    };
    if !user.email_verified {
        return Ok(PageAccess::Denied(redirect("/verify-email")));
    }
    if !dashboard_allowed(state) {
        let page = render(
            StatusCode::FORBIDDEN,
            "error.html",
            page_ctx(
                &session,
                minijinja::context! { status => 403, message => "The dashboards are available only when APP_ENV is local or testing." },
            ),
        )?;
        return Ok(PageAccess::Denied(page));
    }
    Ok(PageAccess::Granted(session, user))
}

/// The body of a state-changing web route, after the CSRF check (419 comes before anything
/// else, including a malformed body, which is then 422). Returns the session too.
///
/// # Errors
/// 419 `csrf_mismatch`, 422 for a body that is not a JSON object, 503.
pub async fn csrf_json(
    state: &AppState,
    req: &HttpRequest,
    raw: &[u8],
) -> Result<(Option<Session>, serde_json::Value), ApiError> {
    let parsed = json_body(raw);
    let session = current(state, req).await?;
    session::verify_csrf(session.as_ref(), req, parsed.as_ref().ok())?;
    Ok((session, parsed?))
}

/// The user a dashboard JSON route may serve: signed in (401), verified (403
/// `email_unverified`), and the environment gate open (403 `environment`), in that order.
///
/// # Errors
/// As listed.
pub fn dashboard_user(state: &AppState, session: Option<Session>) -> Result<WebUser, ApiError> {
    let user = session
        .and_then(|s| s.user)
        .ok_or_else(|| ApiError::unauthenticated("Unauthenticated."))?;
    if !user.email_verified {
        return Err(ApiError::forbidden(
            "email_unverified",
            "Your e-mail address is not verified.",
        ));
    }
    if !dashboard_allowed(state) {
        return Err(gate_closed());
    }
    Ok(user)
}

/// [`dashboard_user`] of the request's session (the read-only dashboard JSON routes).
///
/// # Errors
/// As [`dashboard_user`], and 503.
pub async fn json_access(state: &AppState, req: &HttpRequest) -> Result<WebUser, ApiError> {
    dashboard_user(state, current(state, req).await?)
}

/// Parses a JSON body (`{}` when empty); anything else is 422 `validation_error`.
///
/// # Errors
/// The 422.
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(ApiError::invalid_field(
            "body",
            "The body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::invalid_field(
            "body",
            format!("The body must be a JSON object: {e}"),
        )),
    }
}
