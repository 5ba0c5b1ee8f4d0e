//! `dev-idp`: a development OpenID Provider that behaves on the wire like Asgardeo.
//!
//! Start it with [`start`] on an address (port 0 allowed); the returned [`RunningIdp`] tells the
//! issuer URL, rotates signing keys, moves the clock for tests (feature `testing`), changes a
//! user's roles as an administrator would, and shuts down cleanly. It knows nothing of any
//! particular application: what it serves comes from a [`Directory`].

mod clock;
pub mod directory;
mod endpoints;
pub mod error;
mod keys;
mod pages;
mod password;
mod provider;
mod serve;
mod store;
mod throttle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use directory::{DEFAULT_DIRECTORY_JSON, Directory, DirectoryError, DirectoryFile, Registration, RoleChangeError};
pub use keys::{KeyError, SigningKey};

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct Options {
    pub directory: Directory,
    pub listen: SocketAddr,
    /// Where signing keys persist; `None` keeps them in memory only.
    pub key_file: Option<PathBuf>,
    /// The URL people and clients use, when it differs from `http://{listen}` (e.g.
    /// `http://localhost:9443`).
    pub public_url: Option<String>,
    /// Allow binding to a non-loopback address. Off by default: this is a development tool.
    pub allow_remote: bool,
}

impl Options {
    pub fn new(directory: Directory, listen: SocketAddr) -> Self {
        Self {
            directory,
            listen,
            key_file: None,
            public_url: None,
            allow_remote: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to listen on {0}: dev-idp binds to loopback unless allow_remote is set")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("public URL `{0}` is not an absolute http(s) URL")]
    PublicUrl(String),
    #[error(
        "{0} uses a secret committed in dev-idp's directory.json, and this provider is reachable \
         beyond this machine: give it a secret (or password) of its own"
    )]
    CommittedSecret(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot build the back-channel HTTP client: {0}")]
    Client(String),
}

/// A provider serving on its address until [`RunningIdp::shutdown`] (or drop).
pub struct RunningIdp {
    provider: Arc<provider::Provider>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningIdp {
    /// `{base}/t/{org}/oauth2/token`, exactly as in discovery and in every token.
    pub fn issuer(&self) -> &str {
        &self.provider.urls.issuer
    }

    /// `{base}/t/{org}`: what Asgardeo calls the base organization URL.
    pub fn organization_url(&self) -> String {
        format!("{}{}", self.provider.urls.base, self.provider.urls.org_path)
    }

    pub fn base_url(&self) -> &str {
        &self.provider.urls.base
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The directory as it stands; a later role change does not alter the returned one.
    pub fn directory(&self) -> Arc<Directory> {
        self.provider.directory()
    }

    /// Replaces `username`'s roles, as an administrator does in Asgardeo's console (the HTTP
    /// way: `PUT {organization_url}/dev/users/{username}/roles`). The next authorization, a
    /// silent one too, grants by the new roles; the next refresh drops scopes no longer held.
    pub fn set_user_roles(&self, username: &str, roles: Vec<String>) -> Result<(), RoleChangeError> {
        self.provider.set_user_roles(username, roles)
    }

    /// The published key set.
    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.provider.keys.jwks()
    }

    /// Adds a new signing key and makes it current; old keys stay published. Returns its kid.
    pub fn rotate_signing_key(&self) -> Result<String, KeyError> {
        self.provider.keys.rotate()
    }

    /// Removes every signing key but the current one from the JWKS.
    #[cfg(feature = "testing")]
    pub fn retire_old_signing_keys(&self) -> Result<(), KeyError> {
        self.provider.keys.retire_old()
    }

    pub fn current_kid(&self) -> String {
        self.provider.keys.current_kid()
    }

    /// Moves the provider's clock (tests: issue tokens that are already expired, and the like).
    #[cfg(feature = "testing")]
    pub fn shift_clock(&self, seconds: i64) {
        self.provider.clock.shift(seconds);
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `options.listen` and serves the provider in a background task.
pub async fn start(options: Options) -> Result<RunningIdp, StartError> {
    if !options.allow_remote && !options.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(options.listen));
    }
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: options.listen,
        source,
    })?;
    let base = match &options.public_url {
        Some(url) => match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => url.trim_end_matches('/').to_string(),
            _ => return Err(StartError::PublicUrl(url.clone())),
        },
        None => format!("http://{local_addr}"),
    };
    let beyond_loopback = !options.listen.ip().is_loopback()
        || url::Url::parse(&base).is_ok_and(|url| match url.host() {
            Some(url::Host::Domain(name)) => !name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
            None => true,
        });
    if beyond_loopback && let Some(app) = directory::uses_committed_secret(&options.directory) {
        return Err(StartError::CommittedSecret(app));
    }
    let key_file = options.key_file.clone();
    let keys = tokio::task::spawn_blocking(move || keys::SigningKeys::load_or_create(key_file.as_deref()))
        .await
        .map_err(|e| StartError::Client(e.to_string()))??;
    let back_channel = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        // Logout notices are rare: a new connection each, never one the application is closing.
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| StartError::Client(e.to_string()))?;
    let urls = provider::Urls::new(&base, &options.directory.organization.name);
    let provider = Arc::new(provider::Provider {
        secure_cookies: base.starts_with("https://"),
        directory: std::sync::RwLock::new(Arc::new(options.directory)),
        keys,
        store: store::Store::default(),
        clock: clock::Clock::default(),
        urls,
        back_channel,
        throttle: Default::default(),
    });
    tracing::warn!(
        issuer = %provider.urls.issuer,
        "dev-idp is a DEVELOPMENT identity provider: never use it in production"
    );

    let app = endpoints::router(provider.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::serve(listener, app, stopped));
    Ok(RunningIdp {
        provider,
        local_addr,
        stop: Some(stop),
        task: Some(task),
    })
}
