//! Serving HTTP/1 with limits at the edge, which `axum::serve` does not set (it runs hyper
//! without a timer, so a client that sends half a request holds its connection forever):
//! - a client has `header_timeout` to send a request's head, and a keep-alive connection may
//!   sit idle between requests for as long (hyper re-arms the same timer after each answer);
//! - at most `max_open_connections` are open; beyond that new clients wait in the kernel's
//!   accept queue until one closes;
//! - a request the app has not answered within `request_timeout` is answered 503 (and its
//!   handler dropped);
//! - a graceful stop lets answers in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::server::http::time_limit::RequestClock;
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;

pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = live.load().limits;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let open = Arc::new(Semaphore::new(limits.max_open_connections));
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = open.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(&error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Pages are streamed in parts: without this, Nagle's algorithm holds a part back until
        // the client's delayed ACK (40 ms).
        let _ = stream.set_nodelay(true);
        // Each request learns the client's address (`ConnectInfo`, as with `axum::serve`) and
        // must be answered in time.
        let clock = Arc::new(RequestClock::default());
        let app = router.clone();
        let answering = clock.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // Boxed: the app's answer is a large future (server functions, pages); moving it
            // through the wrappers below by value cost about 2 µs of CPU per request.
            let answer = Box::pin(app.clone().oneshot(request));
            let answer = async move { answer.await.unwrap_or_else(|never| match never {}) };
            let clock = answering.clone();
            let started = metrics::enabled().then(Instant::now);
            async move {
                let response = clock.limit(answer).await;
                if let Some(started) = started {
                    metrics::observe_request(started, &response);
                }
                Ok::<_, Infallible>(response)
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        // Read per connection: config.json may change it while serving.
        let request_timeout = live.load().limits.request_timeout;
        tokio::spawn(async move {
            // Timeouts and resets end up here; the client is gone either way.
            tokio::select! {
                _ = connection => {}
                () = clock.watch(request_timeout) => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    // Answers in flight get as long as any request may take; then the rest are cut.
    let _ = tokio::time::timeout(live.load().limits.request_timeout, graceful.shutdown()).await;
    Ok(())
}

/// A failed accept: per-connection errors are the client's; anything else (out of file
/// descriptors) is worth a pause rather than a busy loop. (As `axum::serve` does.)
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!(%error, "accepting a connection failed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
