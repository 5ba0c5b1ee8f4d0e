//! The checked configuration the app runs with: `Config` and its parts (`ConnectionLimits`,
//! `DevIdpConfig`, `Secret`, the `TokenValidation` and `LogFormat` choices) and the environment
//! `Overrides`. `checker.rs` makes a `Config` from the file as written.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::access::{AccessHelp, FeatureScopes, Permission, RoleGrants};
use crate::model::IssueTemplate;
use crate::server::storage::database_url::DatabaseUrl;
use crate::server::support::network::TrustedProxies;

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum TokenValidation {
    /// Verify JWT access tokens locally against the IdP's JWKS.
    #[default]
    #[serde(rename = "jwks")]
    Jwks,
    /// Ask the IdP's introspection endpoint (works for opaque tokens too).
    #[serde(rename = "introspection")]
    Introspection,
}

/// `Server.LogFormat`: how log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum LogFormat {
    /// For people: one line per event (today's format).
    #[default]
    #[serde(rename = "text")]
    Text,
    /// For log pipelines: one JSON object per line, and one per request answered (request id,
    /// method, path, status, latency, the user's `sub` when known).
    #[serde(rename = "json")]
    Json,
}

// ----- the validated configuration ----------------------------------------------------------

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain at first, then upgraded (`STARTTLS`, port 587), required.
    StartTls,
    /// TLS from the start (port 465).
    Tls,
    /// None: only to a server on this machine.
    None,
}

/// `Notifications.Smtp`, checked.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// The sender, as a mailbox (`Issues <issues@example.com>`).
    pub from: String,
    /// The user name and password from the environment, when both are named.
    pub credentials: Option<(Secret, Secret)>,
}

/// `Webhooks[i]`, checked: where to post, what, and the secret that signs it.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// As config.json writes it: the webhook's name in the delivery log.
    pub url: String,
    pub parsed: Url,
    /// The kinds of change posted; empty: all.
    pub events: Vec<String>,
    /// The signing key (from the environment variable `SecretEnv` names).
    pub secret: Secret,
    pub allow_private_address: bool,
}

impl Webhook {
    /// Whether changes of `kind` are posted here.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|wanted| wanted == kind)
    }

    /// The key deliveries are signed with (see [`signing_key`]).
    pub fn secret_key(&self) -> Vec<u8> {
        signing_key(self.secret.expose())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub source: PathBuf,
    /// `BaseOrganizationUrl` without a trailing slash, e.g. `https://api.asgardeo.io/t/acme`.
    pub organization_url: String,
    /// The issuer the IdP must announce: Asgardeo's is `{organization}/oauth2/token`.
    pub issuer: String,
    pub jwks_url: Option<String>,
    /// Audiences accepted in access tokens: the client id plus any configured API identifiers.
    pub audiences: Vec<String>,
    pub token_validation: TokenValidation,
    /// `AllowInsecureProvider`: plain-http provider URLs off loopback are accepted (development).
    pub allow_insecure_provider: bool,
    /// `FormActionOrigins`: extra origins sign-in forms may be redirected through (CSP).
    pub form_action_origins: Vec<String>,
    pub hosted_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub api_scopes: Vec<String>,
    pub features: FeatureScopes,
    /// The actions config.json does not name, which got their default scopes (or are off).
    pub defaulted_actions: Vec<Permission>,
    /// `ApplicationConfig.AccessHelp`: shown with every "why" line.
    pub access_help: Option<AccessHelp>,
    /// `ApplicationConfig.AccessHelp.Roles`: which role grants which scopes, as written;
    /// `None`: the roles are learned from sign-ins (`auth::role_grants`).
    pub role_grants: Option<RoleGrants>,
    /// `Features.Issues.Templates`: the starting points the create page offers (none when the
    /// file names none). Live: a reload changes what the next page offers.
    pub issue_templates: Vec<IssueTemplate>,
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    pub database_max_connections: u32,
    pub session_key: Option<Secret>,
    /// How long a call to the IdP may take (token exchange, discovery, JWKS).
    pub identity_provider_timeout: Duration,
    /// The edge: how long a client may take to send a request's head (and how long a
    /// keep-alive connection may sit idle), how many connections may be open at once.
    pub limits: ConnectionLimits,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub data_dir: PathBuf,
    pub secure_cookies: bool,
    /// `TlsTerminatedByProxy`: TLS ends at a proxy in front (https `HostedUrl`, `Secure` cookies).
    pub behind_proxy: bool,
    /// `Server.TrustedProxies`: the peers whose `X-Forwarded-For` says who the client is
    /// (default: this machine's addresses behind a TLS proxy, else none).
    pub trusted_proxies: TrustedProxies,
    pub dev_idp: Option<DevIdpConfig>,
    /// `Server.MetricsListen`: where `/metrics` is served (off when `None`).
    pub metrics_listen: Option<SocketAddr>,
    /// `Server.MetricsBeyondLoopback`: `metrics_listen` may be an address other machines reach.
    pub metrics_beyond_loopback: bool,
    pub log_format: LogFormat,
    /// `Server.AuditRetentionDays`: how long audit events are kept.
    pub audit_retention: Duration,
    /// `Server.DeletedRetentionDays`: how long deleted issues are kept before they are erased.
    pub deleted_retention: Duration,
    /// `Server.CodeExchangesPerMinute`: sign-ins finished per client address per minute (read at
    /// start-up).
    pub code_exchanges_per_minute: u32,
    /// `Webhooks`: where changes are posted. Live: a reload changes where the next delivery goes.
    pub webhooks: Vec<Webhook>,
    /// `Server.WebhookFirstRetrySeconds`: how soon a failed delivery is first tried again.
    pub webhook_first_retry: Duration,
    /// `Notifications.Smtp`: where notifications are mailed through; none: no e-mail. Live.
    pub smtp: Option<Smtp>,
    /// The file as it was when read (`Config::load`), for noticing later changes.
    pub read_as: Option<crate::server::support::files::FileStamp>,
    /// Fields of the original demo's file this app does not use (reported at start-up).
    pub unused: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub max_open_connections: usize,
    /// `Server.MaxConnectionsPerClient`: connections one client address may hold open (a
    /// trusted proxy's are not counted), never more than `max_open_connections`.
    pub max_connections_per_client: usize,
    /// `Server.WriteTimeoutSeconds`: an answer the client does not read for this long is cut.
    pub write_timeout: Duration,
    /// How long the app may take to answer a request (then 503).
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevIdpConfig {
    pub listen: SocketAddr,
    pub public_url: String,
    pub key_file: PathBuf,
    pub directory: Option<PathBuf>,
}

/// Environment overrides, read by the caller so tests can pass their own.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub client_secret: Option<String>,
    pub session_key: Option<String>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
}

impl Overrides {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            client_secret: var("ISSUES_APP_CLIENT_SECRET"),
            session_key: var("ISSUES_APP_SESSION_KEY"),
            database_url: var("ISSUES_APP_DATABASE_URL"),
            listen: var("LEPTOS_SITE_ADDR"),
        }
    }
}

impl Config {
    /// `HostedUrl` without the trailing slash, e.g. `http://localhost:3000`.
    pub fn origin(&self) -> String {
        self.hosted_url.origin().ascii_serialization()
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.origin())
    }

    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/", self.origin())
    }

    /// Scopes requested at sign-in: APIScopes plus every feature scope.
    pub fn requested_scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        let all = self.api_scopes.iter().chain(self.features.all_scopes());
        for scope in all {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        scopes
    }
}

/// The key a secret signs with: Standard Webhooks' `whsec_<base64>` is its decoded bytes; any
/// other text is its own bytes.
pub fn signing_key(secret: &str) -> Vec<u8> {
    use base64::Engine;
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}
