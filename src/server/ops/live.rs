//! The configuration in force, replaced while the app serves: config.json is re-read when it
//! changes (checked every second) and on SIGHUP. A valid file takes effect at once for what can
//! change live — the feature scopes (and so the scopes sign-in requests), the issue templates
//! the create page offers, `APIScopes`, accepted audiences, token validation, the request and
//! write time limits (read per connection), the trusted proxies (read per request and
//! connection); the settings only a restart applies keep their running values and are named in
//! the log. An invalid file changes nothing: the error, naming the field, is logged and kept
//! for operators.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};

use crate::server::ops::config::{Config, Overrides};
use crate::server::support::files::FileStamp;

/// How often the file's modification time and size are looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub struct LiveConfig {
    current: ArcSwap<Config>,
    /// What the file was loaded with (environment overrides), to load it again the same way.
    overrides: Overrides,
    outcome: std::sync::Mutex<Option<Reloaded>>,
    attempts: AtomicU64,
    /// Raised when a reload changes how tokens are judged (audiences, validation mode): a
    /// verification or refusal made under an older configuration is not reused.
    generation: AtomicU64,
    /// The file as it was when the running configuration was made from it (a change made while
    /// the app starts counts as a change).
    started_from: Option<FileStamp>,
}

/// The outcome of the latest reload.
#[derive(Debug, Clone)]
pub enum Reloaded {
    /// Applied; these settings changed but wait for a restart.
    Applied { needs_restart: Vec<&'static str> },
    /// Refused: the running configuration stays.
    Refused(String),
}

impl LiveConfig {
    pub fn new(config: Config, overrides: Overrides) -> Self {
        Self {
            // As the file was read (a change while the app started counts as a change).
            started_from: config.read_as.or_else(|| FileStamp::of(&config.source)),
            generation: AtomicU64::new(0),
            current: ArcSwap::from_pointee(config),
            overrides,
            outcome: std::sync::Mutex::new(None),
            attempts: AtomicU64::new(0),
        }
    }

    /// The configuration in force (cheap: no reference count is touched).
    pub fn load(&self) -> Guard<Arc<Config>> {
        self.current.load()
    }

    /// The configuration in force, to keep.
    pub fn load_full(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Raised when a reload changes how tokens are judged.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many times the file was re-read.
    pub fn reload_attempts(&self) -> u64 {
        self.attempts.load(Ordering::Acquire)
    }

    pub fn last_reload(&self) -> Option<Reloaded> {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads config.json and applies it.
    pub fn reload(&self) -> Reloaded {
        let running = self.current.load_full();
        let outcome = match Config::load(&running.source, &self.overrides) {
            Ok(next) => {
                let (next, needs_restart) = keep_restart_only(&running, next);
                let judged_differently =
                    next.audiences != running.audiences || next.token_validation != running.token_validation;
                self.current.store(Arc::new(next));
                if judged_differently {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                if needs_restart.is_empty() {
                    tracing::info!(file = %running.source.display(), "configuration reloaded");
                } else {
                    tracing::warn!(
                        file = %running.source.display(),
                        not_applied = %needs_restart.join(", "),
                        "configuration reloaded; these changed settings need a restart and were not applied"
                    );
                }
                Reloaded::Applied { needs_restart }
            }
            Err(error) => {
                tracing::error!(%error, "configuration not reloaded; still serving with the previous one");
                Reloaded::Refused(error.to_string())
            }
        };
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.clone());
        self.attempts.fetch_add(1, Ordering::Release);
        outcome
    }

    /// Reloads whenever the file changes or the process gets SIGHUP.
    pub async fn watch(self: Arc<Self>) {
        let path = self.load().source.clone();
        let mut seen = self.started_from;
        let mut every = tokio::time::interval(POLL_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<Option<()>>();
            let asked = tokio::select! {
                _ = every.tick() => false,
                _ = signalled => true,
            };
            let now = FileStamp::of(&path);
            if !asked && now == seen {
                continue;
            }
            seen = now;
            self.reload();
        }
    }
}

/// `next` with every setting only a restart applies taken from `running`; the names of those
/// that differ.
fn keep_restart_only(running: &Config, mut next: Config) -> (Config, Vec<&'static str>) {
    let mut changed = Vec::new();
    macro_rules! keep {
        ($($field:ident $(. $sub:ident)? => $name:literal),* $(,)?) => {
            $(
                if running.$field $(. $sub)? != next.$field $(. $sub)? {
                    changed.push($name);
                }
                next.$field $(. $sub)? = running.$field $(. $sub)?.clone();
            )*
        };
    }
    keep! {
        organization_url => "AuthorizationConfig.BaseOrganizationUrl",
        issuer => "AuthorizationConfig.Issuer",
        jwks_url => "AuthorizationConfig.JwksUrl",
        allow_insecure_provider => "AuthorizationConfig.AllowInsecureProvider",
        form_action_origins => "AuthorizationConfig.FormActionOrigins",
        hosted_url => "ApplicationConfig.HostedUrl",
        client_id => "ApplicationConfig.ClientId",
        client_secret => "ApplicationConfig.ClientSecret",
        listen => "Server.ListenAddress",
        database_url => "Server.DatabaseUrl",
        database_max_connections => "Server.DatabaseMaxConnections",
        session_key => "Server.SessionKey",
        identity_provider_timeout => "Server.IdentityProviderTimeoutSeconds",
        limits.header_timeout => "Server.HeaderTimeoutSeconds",
        limits.max_open_connections => "Server.MaxOpenConnections",
        // Its default and its bound are `MaxOpenConnections`, which only a restart applies.
        limits.max_connections_per_client => "Server.MaxConnectionsPerClient",
        session_idle => "Server.SessionIdleMinutes",
        session_absolute => "Server.SessionAbsoluteHours",
        data_dir => "Server.DataDir",
        secure_cookies => "ApplicationConfig.HostedUrl",
        behind_proxy => "Server.TlsTerminatedByProxy",
        dev_idp => "DevIdentityProvider",
        metrics_listen => "Server.MetricsListen",
        metrics_beyond_loopback => "Server.MetricsBeyondLoopback",
        log_format => "Server.LogFormat",
    }
    // The client id is always the first accepted audience: it follows the client id it stays.
    if let Some(first) = next.audiences.first_mut() {
        *first = running.client_id.clone();
    }
    changed.sort_unstable();
    changed.dedup();
    (next, changed)
}
