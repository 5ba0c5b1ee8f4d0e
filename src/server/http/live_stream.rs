//! `GET /live`: the changes of this instance's feed (`delivery::feed`) as server-sent events,
//! for a signed-in browser that may view issues (`public/live.js` moves the board and the
//! issue page with them). Each change is sent only after the session is checked again at that
//! moment: signed in still, within its idle deadline, and granted the view scope by the
//! configuration in force; otherwise the stream ends, and the browser's reconnect is refused.
//! Watching does not count as use: an open tab does not keep a session alive.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, watch};
use tower_sessions::Session;

use crate::access::{self, Permission};
use crate::error::AppError;
use crate::server::auth::session::{Current, Sessions};
use crate::server::http::authorize::{Call, Refused};
use crate::server::http::error_body::error_response;
use crate::server::ops::live::LiveConfig;
use crate::server::state::AppState;
use crate::server::storage::audit::Door;
use crate::server::storage::outbox::Change;
use crate::server::support::clock;

/// Streams one instance keeps open at most (each costs a few kilobytes and a check per change).
pub const MAX_STREAMS: usize = 10_000;
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a stream trusts its last reading of the sign-in (a sign-out ends it within this).
const RECHECK: Duration = Duration::from_secs(1);
/// How long the browser waits before reconnecting a stream that ended.
const RETRY: Duration = Duration::from_secs(2);

pub async fn live(State(state): State<AppState>, session: Session) -> Response {
    let now = clock::now();
    let current = match state.sessions.peek(&session, now).await {
        Ok(Some(current)) => current,
        Ok(None) => return refused(StatusCode::UNAUTHORIZED, &AppError::Unauthenticated.to_string()),
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return refused(status, &error.to_string());
        }
    };
    let viewer = current.row.viewer();
    let call = Call {
        viewer: Some(&viewer),
        door: Door::Browser,
        request_id: &|| None,
        audit: &state.audit,
    };
    if let Err(Refused { why, .. }) = call.authorize(&state.config, Permission::ViewIssues).await {
        let line = why.map(|why| why.line()).unwrap_or_default();
        return refused(StatusCode::FORBIDDEN, &line);
    }
    if state.feed.streams() >= MAX_STREAMS {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many live pages are open on this server; reload later.",
        );
    }
    let idle_ends_at = state.sessions.deadlines(&current, now).idle_ends_at;
    let watcher = Watcher {
        changes: state.feed.subscribe(),
        told: state.feed.subscribe_told(),
        closing: state.feed.closing(),
        sessions: state.sessions.clone(),
        config: state.config.clone(),
        current,
        ends: tokio::time::Instant::now() + Duration::from_secs((idle_ends_at - now).max(0) as u64),
        greeted: false,
        checked: tokio::time::Instant::now(),
        _open: Open::new(),
    };
    Sse::new(watcher.events())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

fn refused(status: StatusCode, line: &str) -> Response {
    error_response(status, "live_refused", line)
}

/// One browser's stream: what it reads from the feed, and whose session it checks.
struct Watcher {
    changes: broadcast::Receiver<Arc<Change>>,
    /// Who was just told something: `inbox` when it is this person (the bell asks again).
    told: broadcast::Receiver<Arc<[String]>>,
    closing: watch::Receiver<bool>,
    sessions: Sessions,
    config: Arc<LiveConfig>,
    current: Current,
    /// The session's idle deadline as the stream began: the stream ends then, and the browser's
    /// reconnect finds whether the session was used meanwhile.
    ends: tokio::time::Instant,
    greeted: bool,
    /// When the sign-in was last read.
    checked: tokio::time::Instant,
    _open: Open,
}

impl Watcher {
    fn events(self) -> impl Stream<Item = Result<Event, std::convert::Infallible>> {
        stream::unfold(self, |mut watcher| async move {
            let event = watcher.next().await?;
            Some((Ok(event), watcher))
        })
    }

    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if !self.greeted {
            self.greeted = true;
            return Some(Event::default().event("ready").data("{}").retry(RETRY));
        }
        let event = loop {
            tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing) => return None,
                () = tokio::time::sleep_until(self.ends) => return None,
                received = self.changes.recv() => break match received {
                    Ok(change) => Event::default().event("change").data(summary(&change)),
                    // Behind by more than the feed keeps: the page reads afresh.
                    Err(broadcast::error::RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                received = self.told.recv() => match received {
                    Ok(subs) if subs.is_empty() || subs.contains(&self.current.row.sub) => {
                        break Event::default().event("inbox").data("{}");
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => break Event::default().event("inbox").data("{}"),
                    Err(broadcast::error::RecvError::Closed) => return None,
                    Ok(_) => {}
                },
            }
        };
        self.may_view().await.then_some(event)
    }

    /// Whether this session may view issues now: still signed in and within its deadline (the
    /// sign-in read again at most every [`RECHECK`]: on PostgreSQL that is a query, and a burst
    /// of changes to many streams would be one per stream per change), and granted the view
    /// scope by the configuration in force (read at every change).
    async fn may_view(&mut self) -> bool {
        if self.checked.elapsed() >= RECHECK {
            let now = clock::now();
            let Ok(Some(current)) = self.sessions.recheck(&self.current, now).await else {
                return false;
            };
            self.current = current;
            self.checked = tokio::time::Instant::now();
        }
        let viewer = self.current.row.viewer();
        access::require(Some(&viewer), &self.config.load().features, Permission::ViewIssues).is_ok()
    }
}

/// What a page needs of a change to know whether to read again: which issue, what kind, by
/// whom (never the issue's content: the page reads that with its own authorised call).
fn summary(change: &Change) -> String {
    serde_json::json!({
        "seq": change.seq,
        "issue": change.issue_id,
        "kind": change.kind,
        "by": change.actor_name,
        "at": change.at,
    })
    .to_string()
}

/// Counts a stream open while it lives (for `/metrics`).
struct Open;

impl Open {
    fn new() -> Self {
        crate::server::ops::metrics::live_streams(1);
        Self
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        crate::server::ops::metrics::live_streams(-1);
    }
}
