//! config.json: the file admins edit. Accepts the original Asgardeo demo's file as it is, plus
//! optional sections this app needs. Validated once at start-up; every error names the file,
//! the field and what is expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::access::{AccessHelp, FeatureScopes};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}: invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: field `{field}`: {message}")]
    Field {
        file: String,
        field: String,
        message: String,
    },
}

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

// ----- the file as written ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(rename = "AuthorizationConfig")]
    authorization: AuthorizationSection,
    #[serde(rename = "ApplicationConfig")]
    application: ApplicationSection,
    #[serde(rename = "Features")]
    features: FeaturesSection,
    #[serde(rename = "Server", default)]
    server: ServerSection,
    #[serde(rename = "DevIdentityProvider")]
    dev_identity_provider: Option<DevIdpSection>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AuthorizationSection {
    base_organization_url: String,
    issuer: Option<String>,
    jwks_url: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    token_validation: TokenValidation,
    /// Development only: allow `http://` provider URLs whose host is not loopback.
    #[serde(default)]
    allow_insecure_provider: bool,
    /// Origins a sign-in form may pass through besides the provider's endpoints.
    #[serde(default)]
    form_action_origins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ApplicationSection {
    hosted_url: String,
    client_id: String,
    client_secret: Option<String>,
    #[serde(rename = "APIScopes")]
    api_scopes: Vec<String>,
    /// The original demo's separate API server; this app serves its API itself.
    backend_url: Option<serde::de::IgnoredAny>,
    access_help: Option<AccessHelpFile>,
}

/// `ApplicationConfig.AccessHelp`: whom to ask for more access, shown with every "why" line.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AccessHelpFile {
    text: String,
    /// A web page (`https://…`) or an address (`mailto:…`, or just `someone@example.com`).
    link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeaturesSection {
    #[serde(rename = "Issues")]
    issues: IssuesFeature,
    #[serde(rename = "Audit", default)]
    audit: AuditFeature,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditFeature {
    #[serde(default)]
    scopes: AuditScopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditScopes {
    view: Vec<String>,
}

impl Default for AuditScopes {
    fn default() -> Self {
        Self {
            view: vec!["audit:view".into()],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuesFeature {
    scopes: IssuesScopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuesScopes {
    create: Vec<String>,
    view: Vec<String>,
    /// Default: as `view`.
    comment: Option<Vec<String>>,
    /// Default: as `create`.
    edit: Option<Vec<String>>,
    /// Default: as `create`.
    close: Option<Vec<String>>,
    /// Default: as `create`.
    assign: Option<Vec<String>>,
    /// Default: turned off (no one may delete).
    delete: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ServerSection {
    listen_address: Option<String>,
    database_url: Option<String>,
    session_key: Option<String>,
    #[serde(default = "default_idle_minutes")]
    session_idle_minutes: u64,
    #[serde(default = "default_absolute_hours")]
    session_absolute_hours: u64,
    #[serde(default = "default_data_dir")]
    data_dir: String,
    #[serde(default)]
    tls_terminated_by_proxy: bool,
    #[serde(default = "default_max_connections")]
    database_max_connections: u32,
    #[serde(default = "default_idp_timeout")]
    identity_provider_timeout_seconds: u64,
    #[serde(default = "default_header_timeout")]
    header_timeout_seconds: u64,
    #[serde(default = "default_max_connections_open")]
    max_open_connections: usize,
    #[serde(default = "default_request_timeout")]
    request_timeout_seconds: u64,
    /// Where Prometheus scrapes `/metrics`; off when absent.
    metrics_listen: Option<String>,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default = "default_audit_retention_days")]
    audit_retention_days: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen_address: None,
            database_url: None,
            session_key: None,
            session_idle_minutes: default_idle_minutes(),
            session_absolute_hours: default_absolute_hours(),
            data_dir: default_data_dir(),
            tls_terminated_by_proxy: false,
            database_max_connections: default_max_connections(),
            identity_provider_timeout_seconds: default_idp_timeout(),
            header_timeout_seconds: default_header_timeout(),
            max_open_connections: default_max_connections_open(),
            request_timeout_seconds: default_request_timeout(),
            metrics_listen: None,
            log_format: LogFormat::default(),
            audit_retention_days: default_audit_retention_days(),
        }
    }
}

fn default_idle_minutes() -> u64 {
    60
}
fn default_absolute_hours() -> u64 {
    12
}
fn default_data_dir() -> String {
    "data".into()
}
fn default_max_connections() -> u32 {
    8
}
fn default_idp_timeout() -> u64 {
    10
}
fn default_header_timeout() -> u64 {
    10
}
fn default_max_connections_open() -> usize {
    1024
}
fn default_request_timeout() -> u64 {
    30
}
fn default_audit_retention_days() -> u64 {
    90
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DevIdpSection {
    listen: Option<String>,
    key_file: Option<String>,
    directory: Option<String>,
}

// ----- the validated configuration ----------------------------------------------------------

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
    /// `ApplicationConfig.AccessHelp`: shown with every "why" line.
    pub access_help: Option<AccessHelp>,
    pub listen: SocketAddr,
    pub database_url: String,
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
    /// `TlsTerminatedByProxy`: a proxy in front says who the client is (`X-Forwarded-For`).
    pub behind_proxy: bool,
    pub dev_idp: Option<DevIdpConfig>,
    /// `Server.MetricsListen`: where `/metrics` is served (off when `None`).
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// `Server.AuditRetentionDays`: how long audit events are kept.
    pub audit_retention: Duration,
    /// The file as it was when read (`Config::load`), for noticing later changes.
    pub read_as: Option<crate::server::support::files::FileStamp>,
    /// Fields of the original demo's file this app does not use (reported at start-up).
    pub unused: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub max_open_connections: usize,
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
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let read_as = crate::server::support::files::FileStamp::of(path);
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let mut config = Self::parse(&text, path, overrides)?;
        config.read_as = read_as;
        Ok(config)
    }

    pub fn parse(text: &str, path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::parse_for_build(text, path, overrides, cfg!(feature = "dev-idp"))
    }

    /// `parse`, for a build with or without the embedded dev IdP (cargo feature `dev-idp`).
    pub fn parse_for_build(
        text: &str,
        path: &Path,
        overrides: &Overrides,
        dev_idp_built: bool,
    ) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let parsed: ConfigFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return ConfigError::Syntax {
                    file: file.clone(),
                    line: inner.line(),
                    column: inner.column(),
                    message: inner.to_string(),
                };
            }
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            let (field, message) = explain(&path, message);
            ConfigError::Field {
                file: file.clone(),
                field,
                message,
            }
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Checker {
            file: &file,
            base_dir,
            dev_idp_built,
        }
        .check(parsed, overrides)
    }
}

/// A field error as an admin reads it: the field's full name, and for a misspelt key the key it
/// is probably meant to be.
fn explain(path: &str, message: &str) -> (String, String) {
    let join = |key: &str| match path {
        "." => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    let quoted = |text: &str| text.split('`').nth(1).unwrap_or_default().to_string();
    if let Some(rest) = message.strip_prefix("missing field ") {
        let key = quoted(rest);
        let what = if path == "." {
            "this section is missing"
        } else {
            "missing"
        };
        return (join(&key), what.to_string());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let key = quoted(rest);
        let known: Vec<&str> = rest.split('`').skip(3).step_by(2).collect();
        let closest = known
            .iter()
            .map(|candidate| {
                (
                    strsim::levenshtein(&key.to_lowercase(), &candidate.to_lowercase()),
                    *candidate,
                )
            })
            .min()
            .filter(|(distance, _)| *distance <= (key.len() / 3).max(2));
        let message = match closest {
            Some((_, candidate)) => format!("unknown field; did you mean `{candidate}`?"),
            None => format!("unknown field; the fields here are {}", known.join(", ")),
        };
        // The path already ends with the unknown key.
        return (path.to_string(), message);
    }
    if path == "." {
        let expected = "expected a JSON object with AuthorizationConfig, ApplicationConfig and Features sections";
        return ("(the whole file)".into(), expected.into());
    }
    (path.to_string(), message.to_string())
}

struct Checker<'a> {
    file: &'a str,
    base_dir: PathBuf,
    dev_idp_built: bool,
}

impl Checker<'_> {
    fn fail(&self, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            file: self.file.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn access_help(&self, help: AccessHelpFile) -> Result<AccessHelp, ConfigError> {
        let text = help.text.trim().to_string();
        if text.is_empty() || text.chars().count() > 300 || text.chars().any(char::is_control) {
            return Err(self.fail(
                "ApplicationConfig.AccessHelp.Text",
                "expected one line of text (1 to 300 characters)",
            ));
        }
        let link = match help.link.as_deref().map(str::trim).filter(|link| !link.is_empty()) {
            None => None,
            Some(link) if link.starts_with("http://") || link.starts_with("https://") => {
                Some(self.url("ApplicationConfig.AccessHelp.Link", link)?.to_string())
            }
            Some(link) => {
                let address = link.strip_prefix("mailto:").unwrap_or(link);
                let plausible = address.split_once('@').is_some_and(|(user, host)| {
                    !user.is_empty() && host.contains('.') && !address.contains(char::is_whitespace)
                });
                if !plausible {
                    return Err(self.fail(
                        "ApplicationConfig.AccessHelp.Link",
                        format!("expected an http(s) URL or an email address, got `{link}`"),
                    ));
                }
                Some(format!("mailto:{address}"))
            }
        };
        Ok(AccessHelp { text, link })
    }

    fn url(&self, field: &str, value: &str) -> Result<Url, ConfigError> {
        match Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(self.fail(field, format!("expected an absolute http(s) URL, got `{value}`"))),
        }
    }

    /// A provider URL: https, or http on loopback, or any http with `AllowInsecureProvider`.
    fn provider_url(&self, field: &str, value: &str, allow_insecure: bool) -> Result<Url, ConfigError> {
        let url = self.url(field, value)?;
        if !allow_insecure && !is_secure_or_loopback(&url) {
            return Err(self.fail(
                field,
                format!(
                    "`{value}` is plain http off this machine: tokens would cross the network unencrypted. \
                     Use https, or set AuthorizationConfig.AllowInsecureProvider to true (development only)"
                ),
            ));
        }
        Ok(url)
    }

    fn path(&self, value: &str) -> PathBuf {
        let path = PathBuf::from(value);
        if path.is_absolute() {
            path
        } else {
            self.base_dir.join(path)
        }
    }

    fn scopes(&self, field: &str, scopes: &[String], allow_empty: bool) -> Result<(), ConfigError> {
        if scopes.is_empty() && !allow_empty {
            return Err(self.fail(field, "expected at least one scope"));
        }
        for (index, scope) in scopes.iter().enumerate() {
            self.text(&format!("{field}[{index}]"), scope)?;
            if scope.is_empty()
                || scope
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
            {
                return Err(self.fail(
                    &format!("{field}[{index}]"),
                    format!("expected a scope name without spaces or quotes, got `{scope}`"),
                ));
            }
        }
        Ok(())
    }

    /// A value as typed: no placeholder left from the instructions (`<client-id>`), no
    /// control characters.
    fn text(&self, field: &str, value: &str) -> Result<(), ConfigError> {
        if let Some(start) = value.find('<')
            && let Some(length) = value[start..].find('>')
        {
            let placeholder = &value[start..=start + length];
            return Err(self.fail(
                field,
                format!("still holds the placeholder `{placeholder}` from the instructions: put your own value there"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(self.fail(field, "contains a control character"));
        }
        Ok(())
    }

    fn check(&self, file: ConfigFile, overrides: &Overrides) -> Result<Config, ConfigError> {
        let auth = file.authorization;
        let app = file.application;
        let server = file.server;

        let typed = [
            (
                "AuthorizationConfig.BaseOrganizationUrl",
                Some(&auth.base_organization_url),
            ),
            ("AuthorizationConfig.Issuer", auth.issuer.as_ref()),
            ("AuthorizationConfig.JwksUrl", auth.jwks_url.as_ref()),
            ("ApplicationConfig.HostedUrl", Some(&app.hosted_url)),
            ("ApplicationConfig.ClientId", Some(&app.client_id)),
            ("ApplicationConfig.ClientSecret", app.client_secret.as_ref()),
        ];
        for (field, value) in typed {
            if let Some(value) = value {
                self.text(field, value)?;
            }
        }
        for (index, audience) in auth.audiences.iter().enumerate() {
            self.text(&format!("AuthorizationConfig.Audiences[{index}]"), audience)?;
        }

        let insecure = auth.allow_insecure_provider;
        let organization = self.provider_url(
            "AuthorizationConfig.BaseOrganizationUrl",
            &auth.base_organization_url,
            insecure,
        )?;
        let organization_url = organization.as_str().trim_end_matches('/').to_string();
        let issuer = match &auth.issuer {
            Some(issuer) => self
                .provider_url("AuthorizationConfig.Issuer", issuer, insecure)?
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            None => format!("{organization_url}/oauth2/token"),
        };
        let jwks_url = match &auth.jwks_url {
            Some(url) => Some(
                self.provider_url("AuthorizationConfig.JwksUrl", url, insecure)?
                    .to_string(),
            ),
            None => None,
        };

        let mut form_action_origins = Vec::new();
        for (index, origin) in auth.form_action_origins.iter().enumerate() {
            let field = format!("AuthorizationConfig.FormActionOrigins[{index}]");
            let url = self.provider_url(&field, origin, insecure)?;
            if url.path() != "/" || url.query().is_some() {
                return Err(self.fail(&field, "expected an origin such as https://login.example.com"));
            }
            form_action_origins.push(url.origin().ascii_serialization());
        }

        let hosted_url = self.url("ApplicationConfig.HostedUrl", &app.hosted_url)?;
        if hosted_url.path() != "/" || hosted_url.query().is_some() {
            return Err(self.fail(
                "ApplicationConfig.HostedUrl",
                "expected an origin such as https://issues.example.com (no path or query)",
            ));
        }
        if app.client_id.trim().is_empty() {
            return Err(self.fail("ApplicationConfig.ClientId", "must not be empty"));
        }
        let client_secret = overrides
            .client_secret
            .clone()
            .or(app.client_secret)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                self.fail(
                    "ApplicationConfig.ClientSecret",
                    "missing: set it here or in the ISSUES_APP_CLIENT_SECRET environment variable",
                )
            })?;
        self.scopes("ApplicationConfig.APIScopes", &app.api_scopes, true)?;
        let access_help = app.access_help.map(|help| self.access_help(help)).transpose()?;
        self.scopes(
            "Features.Issues.scopes.create",
            &file.features.issues.scopes.create,
            false,
        )?;
        self.scopes("Features.Issues.scopes.view", &file.features.issues.scopes.view, false)?;
        let issues = &file.features.issues.scopes;
        for (field, scopes) in [
            ("comment", &issues.comment),
            ("edit", &issues.edit),
            ("close", &issues.close),
            ("assign", &issues.assign),
            ("delete", &issues.delete),
        ] {
            if let Some(scopes) = scopes {
                self.scopes(&format!("Features.Issues.scopes.{field}"), scopes, false)?;
            }
        }
        self.scopes("Features.Audit.scopes.view", &file.features.audit.scopes.view, false)?;

        let mut audiences = vec![app.client_id.clone()];
        for (index, audience) in auth.audiences.iter().enumerate() {
            if audience.trim().is_empty() {
                return Err(self.fail(&format!("AuthorizationConfig.Audiences[{index}]"), "must not be empty"));
            }
            audiences.push(audience.clone());
        }

        let (listen_text, listen_field) = match (&overrides.listen, &server.listen_address) {
            (Some(listen), _) => (listen.clone(), "LEPTOS_SITE_ADDR (environment)"),
            (None, Some(listen)) => (listen.clone(), "Server.ListenAddress"),
            (None, None) => (
                format!("127.0.0.1:{}", hosted_url.port_or_known_default().unwrap_or(3000)),
                "ApplicationConfig.HostedUrl",
            ),
        };
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            self.fail(
                listen_field,
                format!("expected an address like 127.0.0.1:3000, got `{listen_text}`"),
            )
        })?;
        let secure_cookies = hosted_url.scheme() == "https";
        if secure_cookies && !server.tls_terminated_by_proxy {
            return Err(self.fail(
                "ApplicationConfig.HostedUrl",
                format!(
                    "is https but the server listens with plain http on {listen}; put it behind a TLS proxy and set Server.TlsTerminatedByProxy to true"
                ),
            ));
        }
        if !secure_cookies && server.tls_terminated_by_proxy {
            return Err(self.fail(
                "Server.TlsTerminatedByProxy",
                "is true but HostedUrl is http, not https",
            ));
        }

        if server.session_idle_minutes == 0 {
            return Err(self.fail("Server.SessionIdleMinutes", "expected a positive number of minutes"));
        }
        if server.session_absolute_hours == 0 {
            return Err(self.fail("Server.SessionAbsoluteHours", "expected a positive number of hours"));
        }
        if !(1..=120).contains(&server.identity_provider_timeout_seconds) {
            return Err(self.fail("Server.IdentityProviderTimeoutSeconds", "expected 1 to 120 seconds"));
        }
        if !(1..=30).contains(&server.header_timeout_seconds) {
            return Err(self.fail("Server.HeaderTimeoutSeconds", "expected 1 to 30 seconds"));
        }
        if !(1..=600).contains(&server.request_timeout_seconds) {
            return Err(self.fail("Server.RequestTimeoutSeconds", "expected 1 to 600 seconds"));
        }
        if !(1..=3650).contains(&server.audit_retention_days) {
            return Err(self.fail("Server.AuditRetentionDays", "expected 1 to 3650 days"));
        }
        if !(1..=100_000).contains(&server.max_open_connections) {
            return Err(self.fail("Server.MaxOpenConnections", "expected 1 to 100000"));
        }
        if server.database_max_connections == 0 {
            return Err(self.fail("Server.DatabaseMaxConnections", "expected at least 1"));
        }
        let data_dir = self.path(&server.data_dir);
        let database_url = match overrides.database_url.clone().or(server.database_url) {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(url) => {
                return Err(self.fail(
                    "Server.DatabaseUrl",
                    format!(
                        "expected sqlite://FILE or postgres://…, got `{}`",
                        url.split('@').next_back().unwrap_or_default()
                    ),
                ));
            }
            None => format!("sqlite://{}?mode=rwc", data_dir.join("issues.db").display()),
        };
        let session_key = overrides.session_key.clone().or(server.session_key).map(Secret::new);
        let metrics_listen = match &server.metrics_listen {
            None => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                self.fail(
                    "Server.MetricsListen",
                    format!("expected an address like 127.0.0.1:9100, got `{text}`"),
                )
            })?),
        };

        let dev_idp = match file.dev_identity_provider {
            None => None,
            Some(_) if !self.dev_idp_built => {
                return Err(self.fail(
                    "DevIdentityProvider",
                    "this build has no development IdP (it is built in only with the cargo feature `dev-idp`, \
                     as scripts/run does). Remove the DevIdentityProvider section and point AuthorizationConfig \
                     at your organization, e.g. https://api.asgardeo.io/t/<org>",
                ));
            }
            Some(section) => {
                if hosted_url.scheme() == "https" || !is_loopback(&hosted_url) {
                    return Err(self.fail(
                        "ApplicationConfig.HostedUrl",
                        "is not a plain-http URL on this machine, but DevIdentityProvider is set: the embedded IdP is for development on this machine only (its users and secrets are public). Remove the DevIdentityProvider section and point AuthorizationConfig at a real organization",
                    ));
                }
                if !is_loopback(&organization) {
                    return Err(self.fail(
                        "AuthorizationConfig.BaseOrganizationUrl",
                        "points elsewhere, but DevIdentityProvider is set: the embedded IdP serves on localhost. Remove the DevIdentityProvider section to use a real organization",
                    ));
                }
                let port = organization.port_or_known_default().unwrap_or(80);
                let listen = match &section.listen {
                    Some(text) => text.parse().map_err(|_| {
                        self.fail(
                            "DevIdentityProvider.Listen",
                            format!("expected an address like 127.0.0.1:9443, got `{text}`"),
                        )
                    })?,
                    None => SocketAddr::from(([127, 0, 0, 1], port)),
                };
                Some(DevIdpConfig {
                    listen,
                    public_url: organization.origin().ascii_serialization(),
                    key_file: self.path(section.key_file.as_deref().unwrap_or("data/dev-idp-keys.json")),
                    directory: section.directory.as_deref().map(|d| self.path(d)),
                })
            }
        };

        Ok(Config {
            source: PathBuf::from(self.file),
            organization_url,
            issuer,
            jwks_url,
            audiences,
            token_validation: auth.token_validation,
            allow_insecure_provider: insecure,
            form_action_origins,
            hosted_url,
            client_id: app.client_id,
            client_secret: Secret::new(client_secret),
            api_scopes: app.api_scopes,
            features: feature_scopes(file.features),
            access_help,
            listen,
            database_url,
            database_max_connections: server.database_max_connections,
            session_key,
            identity_provider_timeout: Duration::from_secs(server.identity_provider_timeout_seconds),
            limits: ConnectionLimits {
                header_timeout: Duration::from_secs(server.header_timeout_seconds),
                max_open_connections: server.max_open_connections,
                request_timeout: Duration::from_secs(server.request_timeout_seconds),
            },
            session_idle: Duration::from_secs(server.session_idle_minutes * 60),
            session_absolute: Duration::from_secs(server.session_absolute_hours * 3600),
            data_dir,
            secure_cookies,
            behind_proxy: server.tls_terminated_by_proxy,
            dev_idp,
            metrics_listen,
            log_format: server.log_format,
            audit_retention: Duration::from_secs(server.audit_retention_days * 86_400),
            read_as: None,
            unused: app.backend_url.iter().map(|_| "ApplicationConfig.BackendUrl").collect(),
        })
    }
}

/// Whether the URL's host is this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|host| is_loopback_host(&host))
}

/// Whether a host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_host<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Domain(name) => name.as_ref().eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// https anywhere, http only to this machine: what a provider URL may be by default.
pub fn is_secure_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || is_loopback(url)
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

/// Each action's scopes; an action the file does not name gets a default never wider than
/// a named one: `comment` as `view`; `edit`, `close` and `assign` as `create`; `delete` off.
fn feature_scopes(features: FeaturesSection) -> FeatureScopes {
    let IssuesScopes {
        create,
        view,
        comment,
        edit,
        close,
        assign,
        delete,
    } = features.issues.scopes;
    FeatureScopes {
        comment: comment.unwrap_or_else(|| view.clone()),
        edit: edit.unwrap_or_else(|| create.clone()),
        close: close.unwrap_or_else(|| create.clone()),
        assign: assign.unwrap_or_else(|| create.clone()),
        delete,
        create,
        view,
        audit_view: features.audit.scopes.view,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{
      "AuthorizationConfig": { "BaseOrganizationUrl": "https://api.asgardeo.io/t/acme" },
      "ApplicationConfig": { "HostedUrl": "http://localhost:3000", "ClientId": "abc", "ClientSecret": "xyz",
                             "APIScopes": ["openid", "email", "profile", "internal_login"] },
      "Features": { "Issues": { "scopes": { "create": ["issues:create"], "view": ["issues:view"] } } } }"#;

    /// As a build with the embedded dev IdP parses it.
    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_for_build(text, Path::new("config.json"), &Overrides::default(), true)
    }

    #[test]
    fn accepts_the_original_demo_file() {
        let config = parse(DEMO).unwrap();
        assert_eq!(config.issuer, "https://api.asgardeo.io/t/acme/oauth2/token");
        assert_eq!(config.redirect_uri(), "http://localhost:3000/auth/callback");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert_eq!(
            config.requested_scopes(),
            [
                "openid",
                "email",
                "profile",
                "internal_login",
                "issues:view",
                "issues:create",
                "audit:view"
            ]
        );
        assert!(config.dev_idp.is_none());
        assert!(format!("{config:?}").contains("redacted") && !format!("{config:?}").contains("xyz"));
    }

    #[test]
    fn access_help_is_one_line_and_a_web_page_or_an_address() {
        let with = |help: &str| DEMO.replace("\"APIScopes\"", &format!("\"AccessHelp\": {help}, \"APIScopes\""));
        let config = parse(&with(r#"{"Text": " Ask the IT desk. ", "Link": "it@example.com"}"#)).unwrap();
        assert_eq!(
            config.access_help,
            Some(AccessHelp {
                text: "Ask the IT desk.".into(),
                link: Some("mailto:it@example.com".into())
            })
        );
        let config = parse(&with(r#"{"Text": "Ask", "Link": "https://it.example.com/access"}"#)).unwrap();
        assert_eq!(
            config.access_help.unwrap().link.as_deref(),
            Some("https://it.example.com/access")
        );
        for (help, field) in [
            (r#"{"Text": ""}"#, "ApplicationConfig.AccessHelp.Text"),
            (
                r#"{"Text": "Ask", "Link": "javascript:alert(1)"}"#,
                "ApplicationConfig.AccessHelp.Link",
            ),
            (r#"{"Text": "Ask", "Whom": "x"}"#, "ApplicationConfig.AccessHelp"),
        ] {
            let error = parse(&with(help)).unwrap_err().to_string();
            assert!(
                error.starts_with("config.json: field `") && error.contains(field),
                "{error}"
            );
        }
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let cases = [
            (
                DEMO.replace("\"http://localhost:3000\"", "\"localhost\""),
                "ApplicationConfig.HostedUrl",
            ),
            (DEMO.replace("\"ClientId\": \"abc\",", ""), "ApplicationConfig"),
            (
                DEMO.replace("\"create\": [\"issues:create\"]", "\"create\": []"),
                "Features.Issues.scopes.create",
            ),
            (
                DEMO.replace("\"HostedUrl\"", "\"Colour\": 1, \"HostedUrl\""),
                "ApplicationConfig",
            ),
            (
                DEMO.replace("http://localhost:3000", "https://issues.example.com"),
                "ApplicationConfig.HostedUrl",
            ),
        ];
        for (text, field) in cases {
            let error = parse(&text).unwrap_err().to_string();
            assert!(
                error.starts_with("config.json: field `") && error.contains(field),
                "{error}"
            );
        }
        let error = parse("{ nope").unwrap_err().to_string();
        assert!(error.starts_with("config.json: invalid JSON at line 1"), "{error}");
        let error = parse(&DEMO.replace("\"ClientSecret\": \"xyz\",", ""))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ISSUES_APP_CLIENT_SECRET"), "{error}");
    }

    #[test]
    fn environment_overrides_secrets_and_address() {
        let overrides = Overrides {
            client_secret: Some("from-env".into()),
            listen: Some("127.0.0.1:4000".into()),
            ..Default::default()
        };
        let config = Config::parse(DEMO, Path::new("config.json"), &overrides).unwrap();
        assert_eq!(config.client_secret.expose(), "from-env");
        assert_eq!(config.listen.port(), 4000);
    }

    #[test]
    fn plain_http_provider_urls_are_refused_off_this_machine_unless_allowed() {
        let insecure = DEMO.replace("https://api.asgardeo.io", "http://api.asgardeo.io");
        let error = parse(&insecure).unwrap_err().to_string();
        assert!(
            error.starts_with("config.json: field `AuthorizationConfig.BaseOrganizationUrl`")
                && error.contains("AllowInsecureProvider"),
            "{error}"
        );
        let jwks = DEMO.replace(
            "\"BaseOrganizationUrl\"",
            "\"JwksUrl\": \"http://keys.example.com/jwks\", \"BaseOrganizationUrl\"",
        );
        let error = parse(&jwks).unwrap_err().to_string();
        assert!(error.contains("`AuthorizationConfig.JwksUrl`"), "{error}");
        let allowed = insecure.replace(
            "\"BaseOrganizationUrl\"",
            "\"AllowInsecureProvider\": true, \"BaseOrganizationUrl\"",
        );
        assert!(parse(&allowed).unwrap().allow_insecure_provider);
        for loopback in [
            "http://localhost:9443/t/dev",
            "http://127.0.0.2:9443/t/dev",
            "http://[::1]:9443/t/dev",
        ] {
            let text = DEMO.replace("https://api.asgardeo.io/t/acme", loopback);
            assert!(parse(&text).is_ok(), "{loopback}");
        }
    }

    /// The demo's file with the embedded dev IdP as its provider.
    fn with_embedded_idp() -> String {
        let dev = r#""DevIdentityProvider": {}, "AuthorizationConfig": { "BaseOrganizationUrl": "http://localhost:9443/t/dev" },"#;
        DEMO.replacen(
            r#""AuthorizationConfig": { "BaseOrganizationUrl": "https://api.asgardeo.io/t/acme" },"#,
            dev,
            1,
        )
    }

    #[test]
    fn the_embedded_identity_provider_serves_only_this_machine() {
        let local = with_embedded_idp();
        assert!(parse(&local).unwrap().dev_idp.is_some());
        for hosted in ["http://issues.example.com", "http://192.168.1.20:3000"] {
            let error = parse(&local.replace("http://localhost:3000", hosted))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("`ApplicationConfig.HostedUrl`") && error.contains("DevIdentityProvider"),
                "{error}"
            );
        }
        let https = local
            .replace("http://localhost:3000", "https://localhost:3000")
            .replacen("{", r#"{ "Server": { "TlsTerminatedByProxy": true },"#, 1);
        let error = parse(&https).unwrap_err().to_string();
        assert!(error.contains("DevIdentityProvider"), "{error}");
    }

    #[test]
    fn a_build_without_the_dev_idp_says_so() {
        let local = with_embedded_idp();
        let production =
            |text: &str| Config::parse_for_build(text, Path::new("config.json"), &Overrides::default(), false);
        let error = production(&local).unwrap_err().to_string();
        assert!(
            error.starts_with("config.json: field `DevIdentityProvider`: this build has no development IdP"),
            "{error}"
        );
        assert!(production(DEMO).is_ok());
    }

    #[test]
    fn the_demo_s_file_as_its_instructions_show_it_is_accepted() {
        // The original demo's README: HostedUrl and BackendUrl, placeholders filled in.
        let demo = DEMO.replace(
            r#""HostedUrl": "http://localhost:3000","#,
            r#""HostedUrl": "http://localhost:3000", "BackendUrl": "http://localhost:3001","#,
        );
        let config = parse(&demo).unwrap();
        assert_eq!(config.unused, ["ApplicationConfig.BackendUrl"]);
        assert!(parse(DEMO).unwrap().unused.is_empty());
    }

    #[test]
    fn admins_mistakes_are_named_plainly() {
        let error = |text: &str| parse(text).unwrap_err().to_string();
        // A misspelt key: the one it is probably meant to be.
        let message = error(&DEMO.replace("\"HostedUrl\"", "\"HostedURL\""));
        assert_eq!(
            message,
            "config.json: field `ApplicationConfig.HostedURL`: unknown field; did you mean `HostedUrl`?"
        );
        let message = error(&DEMO.replace("\"HostedUrl\"", "\"Colour\": 1, \"HostedUrl\""));
        assert!(
            message.contains("`ApplicationConfig.Colour`: unknown field; the fields here are HostedUrl"),
            "{message}"
        );
        // Placeholders left from the instructions.
        let message = error(&DEMO.replace("acme", "<tenant-name>"));
        assert!(
            message.starts_with("config.json: field `AuthorizationConfig.BaseOrganizationUrl`: still holds the placeholder `<tenant-name>`"),
            "{message}"
        );
        let message = error(&DEMO.replace("\"abc\"", "\"<client-id>\""));
        assert!(
            message.contains("`ApplicationConfig.ClientId`: still holds the placeholder `<client-id>`"),
            "{message}"
        );
        // A missing section is missing, not invalid JSON.
        let without_features = DEMO.replace(
            r#"      "Features": { "Issues": { "scopes": { "create": ["issues:create"], "view": ["issues:view"] } } } }"#,
            "}",
        );
        let without_features = without_features.replacen(r#"] },"#, "] }", 1);
        assert_eq!(
            error(&without_features),
            "config.json: field `Features`: this section is missing"
        );
        // Control characters in ids, secrets and scopes.
        let message = error(&DEMO.replace("\"abc\"", "\"ab\\u0000c\""));
        assert_eq!(
            message,
            "config.json: field `ApplicationConfig.ClientId`: contains a control character"
        );
        let message = error(&DEMO.replace("\"xyz\"", "\"x\\ty\""));
        assert!(
            message.contains("`ApplicationConfig.ClientSecret`: contains a control character"),
            "{message}"
        );
    }
}
