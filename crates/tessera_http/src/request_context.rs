//! The current request's id as a task-local (ARCHITECTURE.md §2 "Request ids and tracing"):
//! set by [`crate::RequestIdMiddleware`] around each request, read by [`crate::ApiError`] for
//! the envelope's `request_id` and by the events' envelopes. A leaf module: it imports nothing of
//! the crate, so the error type and the middleware both depend on it and not on each other.

tokio::task_local! {
    static CURRENT: String;
}

/// The current request's id, when called inside a request handled by
/// [`crate::RequestIdMiddleware`] (or inside [`scope`]).
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id (for background work done on behalf of a request).
pub async fn scope<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}
