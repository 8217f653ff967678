//! OpenAPI pieces every service's document shares, and the registration of a service's
//! routes from its document.
//!
//! A service declares its API once, with [`api!`](crate::api): every handler is named once in
//! `operations = [...]` and its path and method are written once, in its `#[utoipa::path]`.
//! The document lists those operations, and [`configure`] registers exactly them (plus
//! `GET /openapi.json`), so a route cannot be served undocumented or documented unserved.

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use utoipa::Modify;
use utoipa::openapi::path::PathItem;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

/// One HTTP bearer security scheme (RFC 6750).
#[derive(Debug, Clone, Copy)]
pub struct Bearer {
    /// The scheme's name in `components.securitySchemes` (what `security((…))` refers to).
    pub name: &'static str,
    /// What the credential is.
    pub description: &'static str,
    /// `bearerFormat`, e.g. `JWT`.
    pub format: Option<&'static str>,
}

/// Adds bearer security schemes to a document: `modifiers(&BearerSchemes(&[Bearer { … }]))`.
#[derive(Debug, Clone, Copy)]
pub struct BearerSchemes(pub &'static [Bearer]);

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for b in self.0 {
            let mut http = Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(b.description));
            if let Some(format) = b.format {
                http = http.bearer_format(format);
            }
            components.add_security_scheme(b.name, SecurityScheme::Http(http.build()));
        }
    }
}

/// Documents the responses the shared extractors produce on every operation
/// ([`crate::extract`]), in the error envelope, where an operation does not list them already:
///
/// - with a request body: **400** `invalid_json` (not JSON), **413** `payload_too_large`,
///   **415** `unsupported_media_type` (not `application/json`), and the validation status
///   (a well-formed body with wrong, missing or unknown fields);
/// - with query parameters: the validation status (a query string that does not parse);
/// - with path parameters: **404** `not_found` (a segment of the wrong type).
///
/// `validation_status` is the service's [`crate::ExtractorOptions::validation_status`]
/// (422, or 400 for seed 004). Found by fuzzing the documents (schemathesis: undocumented
/// status codes), issue #8.
#[derive(Debug, Clone, Copy)]
pub struct FrameworkResponses {
    /// 422 or 400.
    pub validation_status: u16,
    /// The service throttles every route: **429** `too_many_requests` (with `Retry-After`)
    /// on every operation.
    pub throttled: bool,
}

/// [`FrameworkResponses`]: validation failures are 422 (seed 001's rule, most services); no
/// throttle on every route. Name it in `modifiers(&UNPROCESSABLE)` (utoipa takes a bare name).
pub const UNPROCESSABLE: FrameworkResponses = FrameworkResponses {
    validation_status: 422,
    throttled: false,
};

/// [`FrameworkResponses`]: validation failures are 400 (seed 004: users-registration).
pub const BAD_REQUEST: FrameworkResponses = FrameworkResponses {
    validation_status: 400,
    throttled: false,
};

/// [`FrameworkResponses`]: validation failures are 422 and every route is throttled
/// (quotations' API throttle).
pub const UNPROCESSABLE_THROTTLED: FrameworkResponses = FrameworkResponses {
    validation_status: 422,
    throttled: true,
};

impl Default for FrameworkResponses {
    fn default() -> Self {
        Self {
            validation_status: 422,
            throttled: false,
        }
    }
}

fn envelope_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .build()
        .into()
}

impl Modify for FrameworkResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        let validation = self.validation_status.to_string();
        for item in openapi.paths.paths.values_mut() {
            let shared = item.parameters.clone().unwrap_or_default();
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let params: Vec<ParameterIn> = shared
                    .iter()
                    .chain(op.parameters.iter().flatten())
                    .filter_map(|p| match p {
                        RefOr::T(p) => Some(p.parameter_in.clone()),
                        RefOr::Ref(_) => None,
                    })
                    .collect();
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| envelope_response(description));
                };
                if op.request_body.is_some() {
                    add("400", "`invalid_json`: the body is not JSON");
                    add("413", "`payload_too_large`: the body is over the limit");
                    add(
                        "415",
                        "`unsupported_media_type`: the body is not `application/json`",
                    );
                    add(
                        &validation,
                        "`validation_error`: the body's fields are invalid",
                    );
                }
                if params.iter().any(|p| matches!(p, ParameterIn::Query)) {
                    add(
                        &validation,
                        "`validation_error`: the query string is invalid",
                    );
                }
                if params.iter().any(|p| matches!(p, ParameterIn::Path)) {
                    add(
                        "404",
                        "`not_found`: no such resource, or a malformed path segment",
                    );
                }
                if self.throttled {
                    add(
                        "429",
                        "`too_many_requests`: over the rate limit; `Retry-After` in seconds",
                    );
                }
            }
        }
    }
}

/// Builds the actix route of one operation (its handler); the method guard is added by
/// [`configure`].
pub type RouteFactory = fn() -> actix_web::Route;

/// A document whose operations carry their handlers: implemented by [`api!`](crate::api).
pub trait Operations: utoipa::OpenApi {
    /// Each operation as a one-operation document (its path and method) with its handler.
    fn operations() -> Vec<(utoipa::openapi::OpenApi, RouteFactory)>;
}

/// The (method, operation) pairs of a path item.
fn methods(item: &PathItem) -> impl Iterator<Item = Method> {
    [
        (Method::GET, item.get.is_some()),
        (Method::PUT, item.put.is_some()),
        (Method::POST, item.post.is_some()),
        (Method::DELETE, item.delete.is_some()),
        (Method::OPTIONS, item.options.is_some()),
        (Method::HEAD, item.head.is_some()),
        (Method::PATCH, item.patch.is_some()),
        (Method::TRACE, item.trace.is_some()),
    ]
    .into_iter()
    .filter_map(|(m, present)| present.then_some(m))
}

/// Every operation of `D` as `(path, [(method, handler)])`, one entry per path, in the order
/// routes are registered: by path, so a literal segment (`/api/quotations/bulk-delete`) comes
/// before a parameter at the same place (`/api/quotations/{quotation}`), as `{` sorts after
/// every character a literal segment uses.
pub fn route_table<D: Operations>() -> BTreeMap<String, Vec<(Method, RouteFactory)>> {
    let mut table: BTreeMap<String, Vec<(Method, RouteFactory)>> = BTreeMap::new();
    for (doc, route) in D::operations() {
        for (path, item) in &doc.paths.paths {
            for method in methods(item) {
                table.entry(path.clone()).or_default().push((method, route));
            }
        }
    }
    table
}

/// Registers every operation of `D` (one `web::resource` per path, so a wrong method is a 405
/// envelope), `GET /openapi.json` serving `D`'s document, and its API reference page at
/// `/docs` and `/docs/<service>` ([`crate::docs`]).
pub fn configure<D: Operations>(cfg: &mut web::ServiceConfig, service: &'static str) {
    register_operations::<D>(cfg);
    let json = serve_document(cfg, &D::openapi());
    crate::docs::configure(cfg, service, json);
}

/// Registers every operation of `D`, one `web::resource` per path ([`route_table`]).
pub fn register_operations<D: Operations>(cfg: &mut web::ServiceConfig) {
    for (path, routes) in route_table::<D>() {
        let mut resource = web::resource(path);
        for (method, route) in routes {
            resource = resource.route(route().method(method));
        }
        cfg.service(resource);
    }
}

/// `GET /openapi.json`: `doc` as JSON, serialised once, here; returns those bytes.
pub fn serve_document(cfg: &mut web::ServiceConfig, doc: &impl serde::Serialize) -> web::Bytes {
    let json = web::Bytes::from(serde_json::to_vec(doc).unwrap_or_default());
    let served = json.clone();
    cfg.service(web::resource("/openapi.json").route(web::get().to(move || {
        let json = served.clone();
        async move {
            HttpResponse::Ok()
                .content_type(actix_web::http::header::ContentType::json())
                .body(json)
        }
    })));
    json
}

/// Declares a service's OpenAPI document and its operations at once (module docs).
///
/// ```text
/// tessera_http::api! {
///     /// The document.
///     #[openapi(info(title = "…"), components(schemas(…)), modifiers(&…), tags(…))]
///     pub struct ApiDoc;
///     operations = [white_labels::create_wl, white_labels::list_wls];
/// }
/// // routes/mod.rs: cfg.configure(tessera_http::openapi::configure::<ApiDoc>);
/// ```
///
/// Each operation is `module::handler` (the handler carries `#[utoipa::path]`); the macro
/// adds `paths(…)` to the `#[openapi(…)]` attributes and implements [`Operations`].
#[macro_export]
macro_rules! api {
    (
        $(#[doc = $doc:literal])*
        #[openapi($($args:tt)*)]
        $vis:vis struct $name:ident;
        operations = [$($module:ident :: $handler:ident),+ $(,)?];
    ) => {
        $(#[doc = $doc])*
        #[derive(::utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),+), $($args)*)]
        $vis struct $name;

        impl $crate::openapi::Operations for $name {
            fn operations() -> ::std::vec::Vec<(::utoipa::openapi::OpenApi, $crate::openapi::RouteFactory)> {
                ::std::vec![$({
                    #[derive(::utoipa::OpenApi)]
                    #[openapi(paths($module::$handler))]
                    struct Operation;
                    let route: $crate::openapi::RouteFactory =
                        || ::actix_web::web::route().to($module::$handler);
                    (<Operation as ::utoipa::OpenApi>::openapi(), route)
                }),+]
            }
        }
    };
}
