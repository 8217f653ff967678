//! OpenAPI pieces every service's document shares, and the registration of a service's
//! routes from its document.
//!
//! A service declares its API once, with [`api!`](crate::api): every handler is named once in
//! `operations = [...]` and its path and method are written once, in its `#[utoipa::path]`.
//! The document lists those operations, and [`configure`] registers exactly them (plus
//! `GET /openapi.json` and its reference page at `/docs`), so a route cannot be served
//! undocumented or documented unserved.

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use utoipa::Modify;
use utoipa::openapi::path::PathItem;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

pub mod examples;
mod responses;

pub use examples::Examples;
pub use responses::{
    BAD_REQUEST, ErrorCodes, FRAMEWORK_ERROR_CODES, FrameworkResponses, UNPROCESSABLE,
    UNPROCESSABLE_THROTTLED, document_headers,
};

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
    serve_document(cfg, service, &D::openapi());
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

/// `GET /openapi.json`: `doc` as JSON, serialised once, here; and the API reference of it at
/// `/docs` and `/docs/<service>` ([`crate::docs`]).
pub fn serve_document(
    cfg: &mut web::ServiceConfig,
    service: &'static str,
    doc: &impl serde::Serialize,
) {
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
    crate::docs::configure(cfg, service, json);
}

/// Declares a service's OpenAPI document and its operations at once (module docs).
///
/// ```text
/// tessera_http::api! {
///     service = "control-plane";                  // optional: also `yaml()` and `configure()`
///     bearer = [("adminToken", "CP_ADMIN_TOKEN", None)];   // (name, description, format)
///     error_codes = [UnknownScope, Conflict];     // besides the framework's
///     modifiers = [&UNPROCESSABLE];               // after BEARER, ERROR_CODES, Examples
///     /// The document.
///     #[openapi(info(title = "…"), components(schemas(…)), tags(…))]
///     pub struct ApiDoc;
///     operations = [white_labels::{create_wl, list_wls}, jwks::{jwks}];
/// }
/// ```
///
/// Each operation is `module::{handler, …}` (each handler carries `#[utoipa::path]`). The macro
/// declares `BEARER` ([`BearerSchemes`]), `EXAMPLES` ([`Examples`]) and `ERROR_CODES` ([`ErrorCodes`], the
/// [`crate::ErrorCode`] variants this service answers with besides
/// [`FRAMEWORK_ERROR_CODES`]), adds `paths(…)` and `modifiers(&BEARER, &ERROR_CODES,
/// &EXAMPLES, …)` to the `#[openapi(…)]` attributes, and implements [`Operations`]. With
/// `service = "<name>"` it also declares `pub fn yaml() -> anyhow::Result<String>` (the document
/// as committed in `docs/openapi/<name>.yaml`) and `pub fn configure(&mut ServiceConfig)` (every
/// operation, `/openapi.json` and `/docs`, by [`configure`]); a service whose document is more
/// than the generated one writes those two itself.
#[macro_export]
macro_rules! api {
    (
        $(service = $service:literal;)?
        bearer = [$(($bearer:literal, $bearer_description:literal, $bearer_format:expr)),* $(,)?];
        error_codes = [$($code:ident),* $(,)?];
        modifiers = [$(&$modifier:ident),* $(,)?];
        $(#[doc = $doc:literal])*
        #[openapi($($args:tt)*)]
        $vis:vis struct $name:ident;
        operations = [$($module:ident :: {$($handler:ident),+ $(,)?}),+ $(,)?];
    ) => {
        /// The security schemes of the document.
        const BEARER: $crate::openapi::BearerSchemes = $crate::openapi::BearerSchemes(&[$(
            $crate::openapi::Bearer { name: $bearer, description: $bearer_description, format: $bearer_format }
        ),*]);

        /// The `error_code`s this service answers with besides the framework's
        /// ([`tessera_http::openapi::FRAMEWORK_ERROR_CODES`]).
        const ERROR_CODES: $crate::openapi::ErrorCodes =
            $crate::openapi::ErrorCodes(&[$($crate::ErrorCode::$code),*]);

        /// Each operation's request and response examples.
        const EXAMPLES: $crate::openapi::Examples = $crate::openapi::Examples;

        $(#[doc = $doc])*
        #[derive(::utoipa::OpenApi)]
        #[openapi(
            paths($($($module::$handler),+),+),
            modifiers(&BEARER, &ERROR_CODES, &EXAMPLES $(, &$modifier)*),
            $($args)*
        )]
        $vis struct $name;

        impl $crate::openapi::Operations for $name {
            fn operations() -> ::std::vec::Vec<(::utoipa::openapi::OpenApi, $crate::openapi::RouteFactory)> {
                ::std::vec![$($({
                    #[derive(::utoipa::OpenApi)]
                    #[openapi(paths($module::$handler))]
                    struct Operation;
                    let route: $crate::openapi::RouteFactory =
                        || ::actix_web::web::route().to($module::$handler);
                    (<Operation as ::utoipa::OpenApi>::openapi(), route)
                }),+),+]
            }
        }

        $(
            #[doc = concat!("The document as YAML (what `docs/openapi/", $service, ".yaml` holds).")]
            ///
            /// # Errors
            /// Serialisation failures.
            pub fn yaml() -> ::anyhow::Result<::std::string::String> {
                Ok(<$name as ::utoipa::OpenApi>::openapi().to_yaml()?)
            }

            #[doc = concat!("Registers every route of the service: the operations of [`", stringify!($name), "`], `/openapi.json`")]
            /// and `/docs` (health, readiness and metrics are added by startup).
            pub fn configure(cfg: &mut ::actix_web::web::ServiceConfig) {
                $crate::openapi::configure::<$name>(cfg, $service);
            }
        )?
    };
}
