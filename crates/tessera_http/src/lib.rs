#![doc = include_str!("../README.md")]

pub mod app;
pub mod bearer;
pub mod client_addr;
pub mod config;
#[cfg(feature = "db")]
pub mod db;
pub mod docs;
pub mod email;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod health;
pub mod jwks;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod request_context;
pub mod request_id;
pub mod tracing_span;

pub use app::platform_app;
pub use bearer::{bearer_matches, bearer_token, secrets_equal};
pub use client_addr::TrustedProxies;
pub use error::{ApiError, ErrorCode, ErrorEnvelope, FieldErrors};
pub use extract::{ExtractorOptions, envelope_for_framework_errors};
pub use gateway::{GatewayGuard, GatewayTrust};
pub use health::{Probe, Readiness};
pub use request_id::{RequestId, RequestIdMiddleware};
pub use tracing_span::RequestSpan;

/// HTTP status codes (actix-web's), for crates that build [`ApiError`]s without depending on actix-web.
pub use actix_web::http::StatusCode;
