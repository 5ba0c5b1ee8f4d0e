//! Serving HTTP/1 with limits at the edge, which `axum::serve` does not set (it runs hyper
//! without a timer, so a client that sends half a request holds its connection forever):
//! - a client has `header_timeout` to send a request's head, and a keep-alive connection may
//!   sit idle between requests for as long (hyper re-arms the same timer after each answer);
//! - at most `max_open_connections` are open; beyond that new clients wait in the kernel's
//!   accept queue until one closes;
//! - a request the app has not answered within `request_timeout` is answered 503 (and its
//!   handler dropped);
//! - a graceful stop lets answers in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{BoxError, ServiceBuilder};
use tower_http::add_extension::AddExtension;

use crate::server::config::ConnectionLimits;

pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
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
        // Each request learns the client's address (`ConnectInfo`), as with `axum::serve`.
        let service = ServiceBuilder::new()
            .map_result(answer_in_time)
            .timeout(limits.request_timeout)
            .service(AddExtension::new(router.clone(), ConnectInfo(peer)));
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Timeouts and resets end up here; the client is gone either way.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The app's answer, or 503 when it took longer than the request time limit.
fn answer_in_time(answer: Result<Response, BoxError>) -> Result<Response, BoxError> {
    Ok(answer.unwrap_or_else(|_| {
        tracing::warn!("request answered 503: over the request time limit");
        let body = serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "the server took too long to answer; try again",
        });
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }))
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
