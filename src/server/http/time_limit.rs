//! The time limit on answering a request, kept per connection: one watchdog timer per
//! connection instead of one timer per request. A timer per request (`tower::timeout`) cost
//! about 1.5 µs of server CPU per request (measured with `bench`: +9% CPU per request on the
//! REST API's cached page); this costs two counter increments. The watchdog ticks every second;
//! a request still unanswered after `limit` is answered 503 and its handler dropped (at most a
//! second late; HTTP/1 answers one request of a connection at a time). The limit covers
//! producing the answer's head; a page streaming its body afterwards is bounded by its own
//! loads (the database pool's 5 s, the provider's timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::server::http::error_body::ErrorBody;

const TICK: Duration = Duration::from_secs(1);

/// The requests of one connection: how many started and finished, and the signal that the one
/// in flight is over its time.
#[derive(Default)]
pub struct RequestClock {
    started: AtomicU64,
    finished: AtomicU64,
    expired: Notify,
}

impl RequestClock {
    /// `answer`, or 503 if the watchdog says it is over its time.
    pub async fn limit(self: Arc<Self>, answer: impl Future<Output = Response>) -> Response {
        self.started.fetch_add(1, Ordering::Relaxed);
        // Counts the request finished however it ends (answered, or dropped with the connection).
        let _finished = Finished(&self);
        tokio::select! {
            biased;
            response = answer => response,
            () = self.expired.notified() => over_time(),
        }
    }

    /// Watches this connection's requests for as long as it is polled (with the connection).
    pub async fn watch(&self, limit: Duration) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The request in flight (its number) and at how many ticks it was seen in flight.
        let mut in_flight: Option<(u64, u32)> = None;
        loop {
            tick.tick().await;
            let started = self.started.load(Ordering::Relaxed);
            if started == self.finished.load(Ordering::Relaxed) {
                in_flight = None;
                continue;
            }
            let seen = match in_flight {
                Some((request, seen)) if request == started => seen + 1,
                _ => 1,
            };
            in_flight = Some((started, seen));
            // Seen at `seen` ticks: in flight for at least `seen - 1` of them.
            if TICK * (seen - 1) >= limit {
                self.expired.notify_waiters();
            }
        }
    }
}

struct Finished<'a>(&'a RequestClock);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

fn over_time() -> Response {
    tracing::warn!("request answered 503: over the request time limit");
    let body = ErrorBody::new(
        "temporarily_unavailable",
        "the server took too long to answer; try again",
    );
    let headers = [(header::CACHE_CONTROL, "no-store"), (header::RETRY_AFTER, "1")];
    (StatusCode::SERVICE_UNAVAILABLE, headers, body).into_response()
}
