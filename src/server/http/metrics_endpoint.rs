//! The Prometheus scrape endpoint on its own address (`Server.MetricsListen`), served by the
//! app's serve loop with its own small caps: what the recorder in `ops::metrics` holds, plus
//! two gauges read at each scrape from the services they describe: the database pool's, and the
//! sessions' (counted up to a million, one count at a time however many scrapes arrive).

use std::net::SocketAddr;
use std::sync::Arc;

use ::metrics::gauge;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::server::auth::session::Sessions;
use crate::server::http::serve;
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;
use crate::server::storage::db::Db;

/// What a scrape reads.
struct Scraped {
    db: Db,
    sessions: Sessions,
    handle: &'static PrometheusHandle,
    /// Held while the sessions are counted: scrapes at once count one after another.
    counting: tokio::sync::Mutex<()>,
}

/// Binds `address` and serves `/metrics` there until the returned task is aborted.
pub async fn serve(
    address: SocketAddr,
    live: Arc<LiveConfig>,
    db: Db,
    sessions: Sessions,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let handle = metrics::recorder()?;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} (Server.MetricsListen): {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(Arc::new(Scraped {
            db,
            sessions,
            handle,
            counting: tokio::sync::Mutex::new(()),
        }));
    let task = tokio::spawn(async move {
        // Histogram samples wait in buckets until drained: drain them even when nobody scrapes.
        let upkeep = async {
            let mut every = tokio::time::interval(metrics::UPKEEP_INTERVAL);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        };
        tokio::select! {
            served = serve::serve_metrics(listener, router, live, std::future::pending()) => {
                if let Err(error) = served {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            }
            () = upkeep => {}
        }
    });
    Ok((bound, task))
}

async fn scrape(State(scraped): State<Arc<Scraped>>) -> impl IntoResponse {
    let (in_use, idle) = scraped.db.pool_connections();
    gauge!("database_pool_connections", "state" => "in_use").set(in_use as f64);
    gauge!("database_pool_connections", "state" => "idle").set(idle as f64);
    if let Some(live) = crate::server::ops::heap::live_bytes() {
        gauge!("heap_live_bytes").set(live as f64);
    }
    let counting = scraped.counting.lock().await;
    match scraped.sessions.active_count().await {
        Ok(count) => gauge!("sessions_active").set(count as f64),
        Err(error) => tracing::warn!(%error, "could not count the active sessions"),
    }
    drop(counting);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        scraped.handle.render(),
    )
}
