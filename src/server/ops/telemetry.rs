//! Logging: one span per request with a request id; paths without query strings (the OIDC
//! callback carries a code there), never headers or bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use crate::server::ops::config::LogFormat;

/// Whether answered requests are logged with the user's `sub` (JSON logs).
static SUBJECTS: AtomicBool = AtomicBool::new(false);

/// Logs to stderr at `default_level` (`info` serving, `warn` checking) unless `RUST_LOG` says,
/// as text or as one JSON object per line.
pub fn init(default_level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| format!("{default_level},sqlx=warn,tower_sessions=warn").into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    // A second call (tests start several apps in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => {
            SUBJECTS.store(true, Ordering::Relaxed);
            logs.json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .try_init()
        }
    };
}

/// The level of the line logged per answered request: `info` in JSON logs (an access log for
/// pipelines), `debug` in text logs.
pub fn answer_level(format: LogFormat) -> tracing::Level {
    match format {
        LogFormat::Json => tracing::Level::INFO,
        LogFormat::Text => tracing::Level::DEBUG,
    }
}

/// The request's id (`X-Request-Id`, set or kept by the request-id layer), for records.
pub fn request_id_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(&X_REQUEST_ID).and_then(|value| value.to_str().ok())
}

/// Records who is calling on the request's span (JSON logs only: it costs a span lookup).
pub fn note_subject(sub: &str) {
    if SUBJECTS.load(Ordering::Relaxed) {
        Span::current().record("sub", sub);
    }
}

pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        sub = tracing::field::Empty
    )
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied `X-Request-Id` that is kept.
const MAX_REQUEST_ID_BYTES: usize = 64;

/// A client-supplied `X-Request-Id` is kept (and logged, and echoed) only when it is short and
/// printable ASCII without spaces; otherwise it is removed here, and a fresh id is made for
/// the request.
pub fn drop_unfit_request_id<B>(mut request: Request<B>) -> Request<B> {
    let unfit = request
        .headers()
        .get_all(X_REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(index, id)| {
            index > 0
                || id.is_empty()
                || id.len() > MAX_REQUEST_ID_BYTES
                || !id.as_bytes().iter().all(u8::is_ascii_graphic)
        });
    if unfit {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request
}

/// Request ids: a random prefix per process and a counter, e.g. `k3J9xQ-1042`. Unique across
/// instances without a random draw (a system call) per request.
#[derive(Clone)]
pub struct SequentialRequestId {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl SequentialRequestId {
    pub fn new() -> Result<Self, crate::server::support::random::RandomUnavailable> {
        let random = crate::server::support::random::id()?;
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
    fn only_short_printable_request_ids_are_kept() {
        let with = |values: &[&[u8]]| {
            let mut request = Request::new(axum::body::Body::empty());
            for value in values {
                request
                    .headers_mut()
                    .append("x-request-id", HeaderValue::from_bytes(value).unwrap());
            }
            drop_unfit_request_id(request)
                .headers()
                .get("x-request-id")
                .map(|id| id.as_bytes().to_vec())
        };
        assert_eq!(with(&[b"trace-42.a:b"]), Some(b"trace-42.a:b".to_vec()));
        assert_eq!(with(&[&[b'a'; 64]]), Some(vec![b'a'; 64]));
        for unfit in [&[b'a'; 65][..], b"two words", b"tab\there", b"caf\xc3\xa9", b""] {
            assert_eq!(with(&[unfit]), None, "{unfit:?}");
        }
        assert_eq!(with(&[b"one", b"two"]), None, "a repeated header");
    }

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
