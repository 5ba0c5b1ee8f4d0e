//! Serving HTTP/1 with limits at the edge, which `axum::serve` does not set (it runs hyper
//! without a timer, so a client that sends half a request holds its connection forever):
//! - a client has `header_timeout` to send a request's head, and a keep-alive connection may
//!   sit idle between requests for as long (hyper re-arms the same timer after each answer);
//! - at most `max_open_connections` are open; beyond that new clients wait in the kernel's
//!   accept queue until one closes;
//! - one client address (IPv6: its /64) holds at most `max_connections_per_client` of them, so
//!   one host renewing half-sent heads cannot take every slot (a trusted proxy's connections are
//!   its many clients': the proxy holds its own slow clients);
//! - an answer the client does not read (a zero TCP window) is cut after `write_timeout`;
//! - a request the app has not answered within `request_timeout` is answered 503 (and its
//!   handler dropped);
//! - a graceful stop lets answers in flight finish.
//!
//! The metrics listener is served by the same loop with its own small caps.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
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

use crate::server::http::time_limit::RequestClock;
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;
use crate::server::support::network;

/// The metrics listener's caps: a scraper keeps one connection open.
const METRICS_OPEN_CONNECTIONS: usize = 8;
const METRICS_CONNECTIONS_PER_CLIENT: usize = 4;

/// What a connection refused for its client's cap is told, written without waiting (a client
/// that does not read it just loses it).
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 55\r\nConnection: close\r\n\r\n\
too many connections from your address; try again soon\n";

/// Which listener is served, and so which caps apply.
#[derive(Clone, Copy)]
enum Listener {
    App,
    Metrics,
}

/// Serves the app on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_as(Listener::App, listener, router, live, stop).await
}

/// Serves `/metrics` on its own listener, with the same timers and smaller caps.
pub async fn serve_metrics(
    listener: TcpListener,
    router: axum::Router,
    live: Arc<LiveConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_as(Listener::Metrics, listener, router, live, stop).await
}

async fn serve_as(
    which: Listener,
    listener: TcpListener,
    router: axum::Router,
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
    let per_client = Arc::new(OpenPerClient::default());
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
        let client_slot = if config.trusted_proxies.is_trusted(peer.ip()) {
            None
        } else {
            let cap = match which {
                Listener::App => limits.max_connections_per_client,
                Listener::Metrics => METRICS_CONNECTIONS_PER_CLIENT,
            };
            match per_client.admit(peer.ip(), cap) {
                Some(client_slot) => Some(client_slot),
                None => {
                    metrics::connection_refused("per_client");
                    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
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

/// Open connections per client address. An address leaves the map with its last connection,
/// so the map never holds more entries than there are open connections.
#[derive(Default)]
struct OpenPerClient(Mutex<HashMap<IpAddr, usize>>);

impl OpenPerClient {
    /// One more connection for `peer`'s address, unless it already has `cap`.
    fn admit(self: &Arc<Self>, peer: IpAddr, cap: usize) -> Option<ClientSlot> {
        let client = network::host_of(peer);
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(client).or_insert(0);
        if *count >= cap {
            if *count == 0 {
                open.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: self.clone(),
            client,
        })
    }
}

/// One open connection of `client`, given back when dropped.
struct ClientSlot {
    clients: Arc<OpenPerClient>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::OpenPerClient;

    #[test]
    fn a_client_holds_at_most_its_cap_and_gets_slots_back_as_connections_close() {
        let open = Arc::new(OpenPerClient::default());
        let one = "192.0.2.1".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| open.admit(one, 3).unwrap()).collect();
        assert!(open.admit(one, 3).is_none());
        assert!(open.admit("192.0.2.2".parse().unwrap(), 3).is_some());
        // Two addresses of one IPv6 /64 are one host.
        let _v6 = open.admit("2001:db8::1".parse().unwrap(), 1).unwrap();
        assert!(open.admit("2001:db8::2".parse().unwrap(), 1).is_none());
        drop(slots);
        assert!(open.admit(one, 3).is_some());
        assert_eq!(open.0.lock().unwrap().len(), 1, "closed clients leave the map");
    }
}
