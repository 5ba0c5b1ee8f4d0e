//! Serving with limits at the edge (`axum::serve` sets none): a client has `HEADER_TIMEOUT` to
//! send a request's head, and a kept-alive connection may sit idle as long; at most
//! `MAX_CONNECTIONS` are open (others wait in the accept queue); a stop lets answers in flight
//! finish.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_CONNECTIONS: usize = 1024;

pub async fn serve(listener: TcpListener, router: axum::Router, mut stop: oneshot::Receiver<()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    loop {
        let (slot, accepted) = tokio::select! {
            _ = &mut stop => break,
            slot = open.clone().acquire_owned() => {
                let Ok(slot) = slot else { break };
                tokio::select! {
                    _ = &mut stop => break,
                    accepted = listener.accept() => (slot, accepted),
                }
            }
        };
        let Ok((stream, _)) = accepted else {
            // Out of descriptors or a client gone before accept: pause rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
