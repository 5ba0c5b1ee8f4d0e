//! Logging: one span per request with a request id; paths without query strings (the OIDC
//! callback carries a code there), never headers or bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
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

/// Request ids: a random prefix per process and a counter, e.g. `k3J9xQ-1042`. Unique across
/// instances without a random draw (a system call) per request.
#[derive(Clone)]
pub struct SequentialRequestId {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl SequentialRequestId {
    pub fn new() -> Result<Self, crate::server::random::RandomUnavailable> {
        let random = crate::server::random::id()?;
        Ok(Self {
            prefix: random[..6].into(),
            next: Arc::default(),
        })
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_and_share_the_process_prefix() {
        let mut ids = SequentialRequestId::new().unwrap();
        let request = Request::new(());
        let first = ids.make_request_id(&request).unwrap();
        let second = ids.make_request_id(&request).unwrap();
        let (first, second) = (
            first.header_value().to_str().unwrap(),
            second.header_value().to_str().unwrap(),
        );
        assert_ne!(first, second);
        assert_eq!(first.split('-').next(), second.split('-').next());
        assert_ne!(
            SequentialRequestId::new().unwrap().prefix,
            ids.prefix,
            "a new prefix per process"
        );
    }
}
