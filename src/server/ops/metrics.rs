//! Prometheus metrics, recorded with the `metrics` crates and exposed as text on their own
//! address (`Server.MetricsListen`, off by default: without it nothing is recorded).
//!
//! - `http_requests_total{route,status}`, `http_request_duration_seconds{route}` (route: the
//!   route template, e.g. `/api/{*fn_name}`; `browser guard` for a browser request the
//!   cross-site or form check refused before routing; `unmatched` for the fallback);
//! - `sign_ins_total{outcome,reason}`, `token_refreshes_total{outcome}`;
//! - `authorization_decisions_total{permission,outcome,via}` (via: `server_function` or `rest`);
//! - `identity_provider_calls_total{endpoint,outcome}`,
//!   `identity_provider_call_duration_seconds{endpoint}` (discovery, jwks, token, refresh,
//!   revoke, introspect);
//! - read at each scrape: `database_pool_connections{state}` (in_use, idle), `sessions_active`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::response::Response;
use metrics::{Counter, Histogram, counter, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};

use crate::access::Permission;

/// How often histogram samples are drained into their buckets (see `http::metrics_endpoint`).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Seconds: from half a millisecond (a cached read) to ten (the longest provider call).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Whether the recorder is installed: until then recording is skipped (and no thread keeps a
/// handle that records nowhere).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The process-wide recorder (the `metrics` facade has one), installed at most once.
pub fn recorder() -> Result<&'static PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let handle = HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                // Histograms with buckets (aggregatable across instances), not summaries: a
                // sample is then a bucket count, not an insertion into a quantile sketch.
                .set_buckets(LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)?;
    ENABLED.store(true, Ordering::Release);
    Ok(handle)
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Every request by route template and status, and how long it took: called by the serve loop
/// with the answer, which carries its route template (see [`RouteLabelLayer`]).
pub fn observe_request(started: Instant, response: &Response) {
    let extensions = response.extensions();
    let route = match (extensions.get::<MatchedPath>(), extensions.get::<RouteName>()) {
        (Some(path), _) => path.as_str(),
        (None, Some(RouteName(name))) => name,
        (None, None) => "unmatched",
    };
    let status = response.status().as_u16();
    // The handles are kept per worker thread: a request costs two atomic updates, not a
    // registry lookup with its label strings.
    REQUEST_SERIES.with_borrow_mut(|routes| {
        let by_status = match routes.get_mut(route) {
            Some(by_status) => by_status,
            None => routes.entry(route.into()).or_default(),
        };
        let (requests, duration) = by_status.entry(status).or_insert_with(|| {
            (
                counter!("http_requests_total", "route" => route.to_string(), "status" => status.to_string()),
                histogram!("http_request_duration_seconds", "route" => route.to_string()),
            )
        });
        requests.increment(1);
        duration.record(started.elapsed());
    });
}

/// The route an answer made before routing is counted under (its `route` label).
#[derive(Clone, Copy)]
pub struct RouteName(pub &'static str);

/// Copies each route's template (axum's `MatchedPath`, known only inside the router) onto its
/// answer. A thin service: a middleware built with `from_fn` around every route cost ~4 µs of
/// CPU per request (its future holds the route's, moved and boxed).
#[derive(Clone, Copy)]
pub struct RouteLabelLayer;

impl<S> Layer<S> for RouteLabelLayer {
    type Service = RouteLabel<S>;
    fn layer(&self, inner: S) -> RouteLabel<S> {
        RouteLabel(inner)
    }
}

#[derive(Clone)]
pub struct RouteLabel<S>(S);

impl<S> Service<Request<Body>> for RouteLabel<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(context)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let answer = self.0.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if let Some(route) = route {
                response.extensions_mut().insert(route);
            }
            Ok(response)
        })
    }
}

/// A route's and status's request counter and duration histogram.
type RequestSeries = (Counter, Histogram);

thread_local! {
    /// `http_requests_total` and `http_request_duration_seconds` handles by route and status.
    static REQUEST_SERIES: RefCell<HashMap<Box<str>, HashMap<u16, RequestSeries>>> = RefCell::default();
    /// `authorization_decisions_total` handles by permission, outcome and via.
    static DECISIONS: RefCell<HashMap<(&'static str, &'static str, &'static str), Counter>> = RefCell::default();
}

pub fn sign_in(outcome: Result<(), &'static str>) {
    match outcome {
        Ok(()) => counter!("sign_ins_total", "outcome" => "ok", "reason" => "").increment(1),
        Err(reason) => counter!("sign_ins_total", "outcome" => "refused", "reason" => reason).increment(1),
    }
}

/// A connection closed as soon as it was accepted: `why` names the cap it would have passed.
pub fn connection_refused(why: &'static str) {
    counter!("connections_refused_total", "why" => why).increment(1);
}

/// A live stream (`GET /live`) opened (`1`) or ended (`-1`).
pub fn live_streams(delta: i8) {
    metrics::gauge!("live_streams").increment(f64::from(delta));
}

pub fn refresh(outcome: &'static str) {
    counter!("token_refreshes_total", "outcome" => outcome).increment(1);
}

pub fn authorization(permission: Permission, allowed: bool, via: &'static str) {
    if !enabled() {
        return;
    }
    let outcome = if allowed { "allowed" } else { "refused" };
    let key = (permission.name(), outcome, via);
    DECISIONS.with_borrow_mut(|decisions| {
        decisions
            .entry(key)
            .or_insert_with(
                || counter!("authorization_decisions_total", "permission" => key.0, "outcome" => key.1, "via" => key.2),
            )
            .increment(1);
    });
}

/// A call to the identity provider, counted and timed by `endpoint`. Boxed: provider calls are
/// rare, but their futures are large, and every request's future that could make one (a
/// session's refresh, a token's introspection) would otherwise carry it; moving those cost
/// ~20,000 instructions per request.
pub fn timed<'a, T: 'a, E: 'a>(
    endpoint: &'static str,
    call: impl Future<Output = Result<T, E>> + Send + 'a,
) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>> {
    Box::pin(async move {
        let started = Instant::now();
        let result = call.await;
        provider_call(endpoint, started, result.is_ok());
        result
    })
}

/// A call to the identity provider: `endpoint` names it, `ok` whether it answered usefully.
pub fn provider_call(endpoint: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    histogram!("identity_provider_call_duration_seconds", "endpoint" => endpoint).record(started.elapsed());
    counter!("identity_provider_calls_total", "endpoint" => endpoint, "outcome" => outcome).increment(1);
}
