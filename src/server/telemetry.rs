//! Logging: one span per request with a request id; paths without query strings (the OIDC
//! callback carries a code there), never headers or bodies.

use axum::http::Request;
use tower_http::request_id::RequestId;
use tracing::Span;

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into());
    // A second call (tests start several apps in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id = %request_id, method = %request.method(), path = %request.uri().path())
}
