//! Serving HTTP/1 with limits at the edge, which `axum::serve` does not set (it runs hyper
//! without a timer, so a client that sends half a request holds its connection forever):
//! - a client has `header_timeout` to send a request's head, and a keep-alive connection may
//!   sit idle between requests for as long (hyper re-arms the same timer after each answer);
//! - at most `max_open_connections` are open; beyond that new clients wait in the kernel's
//!   accept queue until one closes;
//! - one client address (IPv6: its /64) holds at most `max_connections_per_client` of them, so
//!   one host renewing half-sent heads cannot take every slot; a trusted proxy's connections
//!   are its many clients', so there the client it names (`X-Forwarded-For`) may have as many
//!   requests in flight (the proxy holds its slow clients' connections itself);
//! - an answer the client does not read (a zero TCP window) is cut after `write_timeout`;
//! - a request the app has not answered within `request_timeout` is answered 503 (and its
//!   handler dropped);
//! - a graceful stop lets answers in flight finish.
//!
//! The metrics listener is served by the same loop with its own small caps.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::server::http::time_limit::RequestClock;
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;
use crate::server::support::network;
use crate::server::support::per_key_limit::PerKeyLimit;

/// The metrics listener's caps: a scraper keeps one connection open.
const METRICS_OPEN_CONNECTIONS: usize = 8;
const METRICS_CONNECTIONS_PER_CLIENT: usize = 4;

/// What a connection refused for its client's cap is told.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 55\r\nConnection: close\r\n\r\n\
too many connections from your address; try again soon\n";

/// A request from a trusted proxy's client over its cap of requests in flight.
fn too_many_requests() -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = crate::server::http::error_body::ErrorBody::new(
        "temporarily_unavailable",
        "too many requests at once from your address; try again soon",
    );
    let headers = [(axum::http::header::RETRY_AFTER, "1")];
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, headers, body).into_response()
}

/// Which listener is served, and so which caps apply.
#[derive(Clone, Copy)]
enum Listener {
    App,
    Metrics,
}

/// The whole app as one service: its router inside the layers every request passes, composed
/// once (see `startup::app`). Boxed once, so a request clones one box, not a box per layer.
pub type HttpService = BoxCloneSyncService<hyper::Request<Incoming>, axum::response::Response, Infallible>;

/// Serves the app on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    app: HttpService,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_as(Listener::App, listener, app, live, stop).await
}

/// Serves `/metrics` on its own listener, with the same timers and smaller caps.
pub async fn serve_metrics(
    listener: TcpListener,
    router: axum::Router,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_as(
        Listener::Metrics,
        listener,
        BoxCloneSyncService::new(router),
        live,
        stop,
    )
    .await
}

async fn serve_as(
    which: Listener,
    listener: TcpListener,
    app: HttpService,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = live.load().limits;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let open = Arc::new(Semaphore::new(match which {
        Listener::App => limits.max_open_connections,
        Listener::Metrics => METRICS_OPEN_CONNECTIONS,
    }));
    // Connections open per client address; behind a trusted proxy, requests in flight per
    // client the proxy names (its connections are many clients').
    let per_client = Arc::new(PerKeyLimit::<IpAddr>::new());
    let per_proxied_client = Arc::new(PerKeyLimit::<IpAddr>::new());
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
        // Read per connection: config.json may change them while serving.
        let config = live.load();
        let limits = config.limits;
        let cap = match which {
            Listener::App => limits.max_connections_per_client,
            Listener::Metrics => METRICS_CONNECTIONS_PER_CLIENT,
        };
        let proxy = config.trusted_proxies.is_trusted(peer.ip());
        let proxied = proxy.then(|| (config.trusted_proxies.clone(), per_proxied_client.clone(), cap));
        let client_slot = if proxy {
            None
        } else {
            match per_client.admit(network::host_of(peer.ip()), cap) {
                Some(client_slot) => Some(client_slot),
                None => {
                    metrics::connection_refused(match which {
                        Listener::App => "per_client",
                        Listener::Metrics => "metrics_per_client",
                    });
                    turn_away(stream);
                    continue;
                }
            }
        };
        drop(config);
        // Pages are streamed in parts: without this, Nagle's algorithm holds a part back until
        // the client's delayed ACK (40 ms).
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        // Each request learns the client's address (`ConnectInfo`, as with `axum::serve`) and
        // must be answered in time.
        let clock = Arc::new(RequestClock::default());
        let app = app.clone();
        let answering = clock.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // From a trusted proxy: the client it names may have `cap` requests in flight.
            let in_flight = proxied.as_ref().map(|(trusted, in_flight, cap)| {
                let client = network::client_address(request.headers(), Some(peer.ip()), trusted);
                in_flight.admit(network::host_of(client), *cap)
            });
            // Boxed by the service: the app's answer is a large future (server functions,
            // pages); moving it through the wrappers below by value cost about 2 µs per request.
            let answer = app.clone().oneshot(request);
            let answer = async move { answer.await.unwrap_or_else(|never| match never {}) };
            let clock = answering.clone();
            let started = metrics::enabled().then(Instant::now);
            async move {
                if let Some(None) = in_flight {
                    metrics::connection_refused("per_proxied_client");
                    return Ok(too_many_requests());
                }
                let response = clock.limit(answer).await;
                drop(in_flight);
                if let Some(started) = started {
                    metrics::observe_request(started, &response);
                }
                Ok::<_, Infallible>(response)
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        let request_timeout = limits.request_timeout;
        tokio::spawn(async move {
            // Timeouts (head, write, answer) and resets end up here; the client is gone either way.
            tokio::select! {
                _ = connection => {}
                () = clock.watch(request_timeout) => {}
            }
            drop(client_slot);
            drop(slot);
        });
    }
    drop(listener);
    // Answers in flight get as long as any request may take; then the rest are cut.
    let _ = tokio::time::timeout(live.load().limits.request_timeout, graceful.shutdown()).await;
    Ok(())
}

/// Tells a connection over its client's cap so, and closes it, without waiting for anything (a
/// turned-away connection holds nothing). What the client has already sent is read first:
/// closing with unread bytes resets the connection, and the client would see the reset instead
/// of the answer.
fn turn_away(stream: tokio::net::TcpStream) {
    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.try_read(&mut sink) {
            Ok(read) if read > 0 => {}
            _ => break,
        }
    }
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
