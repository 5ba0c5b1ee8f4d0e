//! `Application::build(config)`: opens the database, starts the embedded dev IdP when
//! configured (and built in), wires the routes, binds the listener. `run_until_stopped()` serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list_with_exclusions, handle_server_fns_with_context,
};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::server::auth;
use crate::server::auth::bearer::TokenVerifier;
use crate::server::auth::jwks::JwksCache;
use crate::server::auth::oidc::Oidc;
use crate::server::auth::role_grants::RoleGuide;
use crate::server::auth::session::Sessions;
use crate::server::delivery::feed::Feed;
use crate::server::delivery::{mail, notify, webhooks};
use crate::server::http::{
    access_fns, auth_routes, board_export, live_stream, metrics_endpoint, rest, security, serve, site, status,
};
use crate::server::ops::config::{Config, Overrides};
use crate::server::ops::live::LiveConfig;
use crate::server::ops::{metrics, telemetry};
use crate::server::state::{AppState, Shared};
use crate::server::storage::access_requests::AccessRequests;
use crate::server::storage::audit::{AuditTrail, Event, EventKind};
use crate::server::storage::db::{Db, DbError, SingleWriter};
use crate::server::storage::issues::Issues;
use crate::server::storage::lifecycle;
use crate::server::storage::notifications::Notifications;
use crate::server::storage::outbox;
use crate::server::storage::people::People;
use crate::server::storage::session_store::Store;
use crate::server::storage::sign_ins::SignIns;
use crate::server::support::clock;
use crate::server::support::random::RandomUnavailable;
use crate::server::support::seal::Sealer;
use crate::server::tracker::Tracker;
use crate::ui::app::{App, shell};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] crate::server::storage::db::MigrationError),
    #[error("session key: {0}")]
    SessionKey(#[from] crate::server::support::seal::SealError),
    #[cfg(feature = "dev-idp")]
    #[error("embedded identity provider: {0}")]
    DevIdp(#[from] crate::server::ops::embedded_idp::EmbeddedIdpError),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    #[error("metrics: {0}")]
    Metrics(String),
}

/// How often ended sessions and their sign-ins are purged.
const CLEANUP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Application {
    listener: TcpListener,
    app: serve::HttpService,
    state: AppState,
    #[cfg(feature = "dev-idp")]
    dev_idp: Option<dev_idp::RunningIdp>,
    /// The periodic purge of ended sessions: stopped with the app.
    _cleanup: AbortOnDrop,
    _jwks_refresh: AbortOnDrop,
    /// Re-reads config.json when it changes (and on SIGHUP).
    _config_watch: AbortOnDrop,
    /// The outbox's readers: this instance's feed of live pages, notifications, their mail.
    _deliveries: [AbortOnDrop; 3],
    /// Posting webhooks: awaited at a stop (an attempt under way finishes), aborted if dropped.
    webhooks: tokio::task::JoinHandle<()>,
    _webhooks_abort: AbortOnDrop,
    /// `/metrics` on `Server.MetricsListen`, when set.
    metrics: Option<(SocketAddr, AbortOnDrop)>,
    /// Released when the app stops serving.
    _single_writer: Option<SingleWriter>,
}

/// A background task that ends with its owner.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Application {
    /// The database first: a second process on an SQLite file in use is told so before
    /// anything else (such as the port being taken) can fail.
    pub async fn build(config: Config, leptos_options: LeptosOptions) -> Result<Self, StartupError> {
        let storage = Db::connect(&config.database_url, config.database_max_connections).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Listen {
                addr: config.listen,
                source,
            })?;
        Self::build_on(config, leptos_options, listener, storage).await
    }

    /// Like `build`, on a listener the caller bound (tests bind port 0 first).
    pub async fn build_with_listener(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let storage = Db::connect(&config.database_url, config.database_max_connections).await?;
        Self::build_on(config, leptos_options, listener, storage).await
    }

    async fn build_on(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
        (db, single_writer): (Db, Option<SingleWriter>),
    ) -> Result<Self, StartupError> {
        for field in &config.unused {
            tracing::warn!(file = %config.source.display(), field, "not used by this app; ignored");
        }
        db.migrate().await?;
        if let Some(writer) = &single_writer
            && let Err(error) = writer.announce(listener.local_addr().unwrap_or(config.listen))
        {
            tracing::warn!(%error, "could not write who holds the database's lock");
        }
        #[cfg(feature = "dev-idp")]
        let dev_idp = match &config.dev_idp {
            Some(dev) => Some(crate::server::ops::embedded_idp::start(&config, dev).await?),
            None => None,
        };

        let sealer = Arc::new(match &config.session_key {
            Some(key) => Sealer::from_base64(key.expose())?,
            None => Sealer::load_or_create(&config.data_dir.join("session.key"))?,
        });
        let store = Store::new(&db, sealer.clone());
        let http = auth::provider_client::client(config.identity_provider_timeout)?;
        let jwks = Arc::new(JwksCache::new(http.clone()));
        let (session_lifetimes, secure_cookies, exchanges_per_minute) = (
            (config.session_idle, config.session_absolute),
            config.secure_cookies,
            config.code_exchanges_per_minute,
        );
        // A reload reads the file with the environment's overrides, as the server started.
        let live = Arc::new(LiveConfig::new(config, Overrides::from_env()));
        let oidc = Arc::new(Oidc::new(live.clone(), http, jwks.clone()));
        let tokens = Arc::new(TokenVerifier::new(live.clone(), jwks.clone(), oidc.clone()));

        // Discover in the background: the app starts even while the IdP is down.
        let discovering = oidc.clone();
        tokio::spawn(async move {
            let _ = discovering.discovered().await;
        });

        let sessions = Sessions::new(
            SignIns::new(db.clone()),
            oidc.clone(),
            tokens.clone(),
            sealer,
            session_lifetimes,
            (secure_cookies, exchanges_per_minute),
        );
        let (issues, people, audit) = (
            Issues::new(db.clone()),
            People::new(db.clone()),
            AuditTrail::new(db.clone()),
        );
        let state = AppState::new(Shared {
            config: live.clone(),
            feed: Arc::new(Feed::new()),
            notifications: Notifications::new(db.clone()),
            tracker: Tracker::new(issues.clone(), people.clone(), audit.clone()),
            roles: RoleGuide::new(live.clone(), people.clone()),
            access_requests: AccessRequests::new(db.clone()),
            issues,
            people,
            audit,
            db,
            sessions,
            oidc,
            jwks,
            tokens,
            leptos_options,
        });
        let app = app(state.clone(), store.clone())?;
        let metrics = match live.load().metrics_listen {
            Some(address) => {
                let (bound, task) =
                    metrics_endpoint::serve(address, live.clone(), state.db.clone(), state.sessions.clone())
                        .await
                        .map_err(StartupError::Metrics)?;
                tracing::info!(address = %bound, "metrics at /metrics");
                Some((bound, AbortOnDrop(task.abort_handle())))
            }
            None => None,
        };
        #[cfg(feature = "dev-idp")]
        let dev_idp = match dev_idp {
            Some(started) => {
                if let Some(author) = &started.first_user
                    && let Err(error) = crate::server::ops::embedded_idp::add_sample_issues(&state.issues, author).await
                {
                    tracing::warn!(%error, "could not add the sample issues");
                }
                Some(started.idp)
            }
            None => None,
        };
        let cleanup = AbortOnDrop(tokio::spawn(clean_up_continuously(state.clone(), store)).abort_handle());
        let jwks_refresh = AbortOnDrop(tokio::spawn(state.jwks.clone().refresh_continuously()).abort_handle());
        let config_watch = AbortOnDrop(tokio::spawn(live.clone().watch()).abort_handle());
        let feed = state.feed.clone().run(state.db.clone(), state.issues.writes());
        let notify = notify::run(state.db.clone(), state.issues.writes(), state.feed.clone());
        let deliveries_feed = AbortOnDrop(tokio::spawn(feed).abort_handle());
        let deliveries_notify = AbortOnDrop(tokio::spawn(notify).abort_handle());
        let posting = webhooks::run(
            state.db.clone(),
            live.clone(),
            state.issues.writes(),
            state.feed.closing(),
        );
        let webhooks = tokio::spawn(posting);
        let mailing = mail::run(
            state.db.clone(),
            live.clone(),
            state.feed.subscribe_told(),
            state.feed.closing(),
        );
        let mailing = AbortOnDrop(tokio::spawn(mailing).abort_handle());
        Ok(Self {
            listener,
            app,
            state,
            #[cfg(feature = "dev-idp")]
            dev_idp,
            _cleanup: cleanup,
            _jwks_refresh: jwks_refresh,
            _config_watch: config_watch,
            _deliveries: [deliveries_feed, deliveries_notify, mailing],
            _webhooks_abort: AbortOnDrop(webhooks.abort_handle()),
            webhooks,
            metrics,
            _single_writer: single_writer,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.load().listen)
    }

    /// Where `/metrics` is served, when `Server.MetricsListen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    #[cfg(feature = "dev-idp")]
    pub fn dev_idp(&self) -> Option<&dev_idp::RunningIdp> {
        self.dev_idp.as_ref()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // Live streams never end by themselves: told to, so that the stop need not wait.
        let feed = self.state.feed.clone();
        let stop = async move {
            stop.await;
            feed.close();
        };
        let served = serve::serve(self.listener, self.app, self.state.config.clone(), stop).await;
        // The stop told webhooks to stop too: an attempt under way finishes (it is bounded).
        if tokio::time::timeout(Duration::from_secs(15), self.webhooks)
            .await
            .is_err()
        {
            tracing::warn!("webhooks were still posting at the stop; their deliveries are posted again later");
        }
        #[cfg(feature = "dev-idp")]
        if let Some(idp) = self.dev_idp {
            idp.shutdown().await;
        }
        served
    }
}

/// The page routes, generated once per process. While Leptos generates a route list it stops
/// resource loading process-wide, and a resource first polled meanwhile never loads
/// (leptos-rs/leptos#4773): a second instance started in the same process (tests, embedding)
/// would stall the first one's pages. Server functions are left out: `server_fn_handler` below
/// answers them (it provides the session and marks the call), and `leptos_routes_with_context`
/// would otherwise claim their exact paths.
fn page_routes() -> &'static [AxumRouteListing] {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let server_fns = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_string())
            .collect();
        generate_route_list_with_exclusions(App, Some(server_fns))
    })
}

/// Ended sessions and the sign-ins that belonged to them (refresh tokens revoked), audit events
/// past their retention and deleted issues past theirs, every `CLEANUP_INTERVAL`. A failed round is logged and the next one runs anyway.
async fn clean_up_continuously(state: AppState, store: Store) {
    let mut every = tokio::time::interval(CLEANUP_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(error) = tower_sessions::session_store::ExpiredDeletion::delete_expired(&store).await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
        match state.sessions.end_expired(clock::now()).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "sign-ins of ended sessions purged"),
            Err(error) => tracing::warn!(%error, "could not purge the sign-ins of ended sessions"),
        }
        let kept_since = clock::now() - state.config.load().audit_retention.as_secs() as i64;
        match state.audit.purge(kept_since).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "audit events past their retention purged"),
            Err(error) => tracing::warn!(%error, "could not purge old audit events"),
        }
        let deleted_before_ms = clock::now_millis() - state.config.load().deleted_retention.as_millis() as i64;
        match lifecycle::erase_deleted(&state.db, deleted_before_ms).await {
            Ok(0) => {}
            Ok(erased) => {
                tracing::info!(erased, "deleted issues past their retention erased");
                let mut event = Event::new(EventKind::DeletedIssuesErased);
                event.detail = Some(format!(
                    "{erased} issues deleted before the retention of Server.DeletedRetentionDays"
                ));
                state.audit.record(event).await;
            }
            Err(error) => tracing::warn!(%error, "could not erase deleted issues"),
        }
        let kept_since_ms = clock::now_millis() - outbox::KEPT_DAYS * 86_400_000;
        match outbox::prune(&state.db, kept_since_ms).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "changes past the outbox's days erased"),
            Err(error) => tracing::warn!(%error, "could not erase old changes from the outbox"),
        }
        let done_before_ms = clock::now_millis() - webhooks::KEPT_DAYS * 86_400_000;
        match crate::server::storage::webhooks::prune(&state.db, done_before_ms).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "finished webhook deliveries past their days erased"),
            Err(error) => tracing::warn!(%error, "could not erase old webhook deliveries"),
        }
    }
}

/// The whole app: the routes, and around them, composed once, the layers every request passes.
/// (A layer given to `Router::layer` wraps each route instead: a request then cloned and boxed
/// the stack of services once per layer.)
fn app(state: AppState, store: Store) -> Result<serve::HttpService, StartupError> {
    let config = state.config.load_full();
    let leptos_options = state.leptos_options.clone();
    let page_routes = page_routes().to_vec();

    let sessions = SessionManagerLayer::new(store)
        .with_name(if config.secure_cookies {
            "__Host-issues_session"
        } else {
            "issues_session"
        })
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::seconds(
            config.session_idle.as_secs() as i64,
        )));

    let context_state = state.clone();
    let shell_options = leptos_options.clone();
    let (oidc, fallback_oidc) = (state.oidc.clone(), state.oidc.clone());
    // Browser-facing routes: sessions, cross-site refusal, form checks.
    let browser = Router::new()
        .merge(auth_routes::router())
        .route("/api/{*fn_name}", post(server_fn_handler))
        .route("/issues/export", get(board_export::browser_export))
        .route("/access/review.csv", get(access_fns::review_file))
        .route("/live", get(live_stream::live))
        .leptos_routes_with_context(
            &state,
            page_routes,
            move || provide_context(context_state.clone()),
            move || page_shell(shell_options.clone(), oidc.form_action()),
        )
        .fallback(site::fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            move |options| page_shell(options, fallback_oidc.form_action()),
        )));
    let browser = ServiceBuilder::new()
        .layer(security::BrowserGuardLayer::new(config.origin()))
        .layer(sessions)
        .service(labelled(browser, &config).with_state(state.clone()));
    // Programs and probes carry no cookies: the bearer API and health checks skip those layers;
    // every other path is the browser's.
    let router = Router::new()
        .merge(rest::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback_service(browser);
    let router = labelled(router, &config).with_state(state);
    let app = ServiceBuilder::new()
        .layer(security::SecurityHeadersLayer::new(config.secure_cookies))
        .map_response(IntoResponse::into_response)
        .map_request(telemetry::drop_unfit_request_id)
        .layer(SetRequestIdLayer::x_request_id(telemetry::SequentialRequestId::new()?))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(
                    DefaultOnResponse::new()
                        .level(telemetry::answer_level(config.log_format))
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(RequestBodyLimitLayer::new(security::MAX_BODY_BYTES))
        .service(router);
    Ok(serve::HttpService::new(app))
}

/// Only when scraped: answers carry their route template for the request metrics.
fn labelled(router: Router<AppState>, config: &Config) -> Router<AppState> {
    match config.metrics_listen {
        Some(_) => router.route_layer(metrics::RouteLabelLayer),
        None => router,
    }
}

/// The app's HTML document, with this response's Content-Security-Policy.
fn page_shell(options: LeptosOptions, form_action: Option<String>) -> impl leptos::IntoView {
    security::set_content_security_policy(form_action);
    shell(options)
}

async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    // The session goes in as context: cheaper than extracting it from cloned request parts.
    let session = request.extensions().get::<tower_sessions::Session>().cloned();
    let context = move || {
        provide_context(state.clone());
        if let Some(session) = session.clone() {
            provide_context(session);
        }
    };
    status::of_call(handle_server_fns_with_context(context, request).await.into_response()).await
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.ping().await;
    let identity_provider = state.oidc.discovered().await.is_ok();
    let status = if database && identity_provider {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "database": database, "identity_provider": identity_provider })),
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
