//! config.json as written: the serde structs that mirror the file (`deny_unknown_fields`, so a
//! misspelt key is an error, not ignored), the defaults of its optional fields, and
//! `ConfigError`, which names the file and the field of every mistake.

use serde::Deserialize;

use super::checked::{LogFormat, TokenValidation};

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

// ----- the file as written ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    #[serde(rename = "AuthorizationConfig")]
    pub(super) authorization: AuthorizationSection,
    #[serde(rename = "ApplicationConfig")]
    pub(super) application: ApplicationSection,
    #[serde(rename = "Features")]
    pub(super) features: FeaturesSection,
    #[serde(rename = "Server", default)]
    pub(super) server: ServerSection,
    #[serde(rename = "DevIdentityProvider")]
    pub(super) dev_identity_provider: Option<DevIdpSection>,
    /// Where changes are posted for other programs; none when absent.
    #[serde(rename = "Webhooks", default)]
    pub(super) webhooks: Vec<WebhookFile>,
    /// How people are told of what concerns them besides the bell; no e-mail when absent.
    #[serde(rename = "Notifications", default)]
    pub(super) notifications: NotificationsSection,
}

/// `Notifications`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct NotificationsSection {
    pub(super) smtp: Option<SmtpFile>,
}

/// `Notifications.Smtp`: the mail server notifications are sent through.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct SmtpFile {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    /// `starttls` (the default), `tls`, or `none` (a server on this machine only).
    pub(super) tls: Option<String>,
    /// The sender, e.g. `Issues <issues@example.com>`.
    pub(super) from: String,
    /// The environment variables holding the user name and password, when the server wants them.
    pub(super) username_env: Option<String>,
    pub(super) password_env: Option<String>,
}

/// `Webhooks[i]`: a program that receives changes as signed JSON posts.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct WebhookFile {
    pub(super) url: String,
    /// The kinds of change to post (`issue.created`, …); all when absent.
    pub(super) events: Option<Vec<String>>,
    /// The environment variable that holds the signing secret (or `SecretFile`).
    pub(super) secret_env: Option<String>,
    /// A file that holds the signing secret (relative to config.json; or `SecretEnv`).
    pub(super) secret_file: Option<String>,
    /// The URL may name a private or loopback address (a program on this machine or network).
    #[serde(default)]
    pub(super) allow_private_address: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct AuthorizationSection {
    pub(super) base_organization_url: String,
    pub(super) issuer: Option<String>,
    pub(super) jwks_url: Option<String>,
    #[serde(default)]
    pub(super) audiences: Vec<String>,
    #[serde(default)]
    pub(super) token_validation: TokenValidation,
    /// Development only: allow `http://` provider URLs whose host is not loopback.
    #[serde(default)]
    pub(super) allow_insecure_provider: bool,
    /// Origins a sign-in form may pass through besides the provider's endpoints.
    #[serde(default)]
    pub(super) form_action_origins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct ApplicationSection {
    pub(super) hosted_url: String,
    pub(super) client_id: String,
    pub(super) client_secret: Option<String>,
    #[serde(rename = "APIScopes")]
    pub(super) api_scopes: Vec<String>,
    /// The original demo's separate API server; this app serves its API itself.
    pub(super) backend_url: Option<serde::de::IgnoredAny>,
    pub(super) access_help: Option<AccessHelpFile>,
}

/// `ApplicationConfig.AccessHelp`: whom to ask for more access, shown with every "why" line,
/// and which role grants which scopes (as set up at the identity provider), so a refusal can
/// name the role to ask for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct AccessHelpFile {
    pub(super) text: Option<String>,
    /// A web page (`https://…`) or an address (`mailto:…`, or just `someone@example.com`).
    pub(super) link: Option<String>,
    /// Role → the scopes it grants, e.g. `{"Manager": ["issues:create", "issues:view"]}`.
    pub(super) roles: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeaturesSection {
    #[serde(rename = "Issues")]
    pub(super) issues: IssuesFeature,
    #[serde(rename = "Audit", default)]
    pub(super) audit: AuditFeature,
    #[serde(rename = "Access", default)]
    pub(super) access: AccessFeature,
}

/// `Features.Access`: who answers requests for access (`scopes.review`; when not named, as
/// `Features.Audit.scopes.view`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessFeature {
    #[serde(default)]
    pub(super) scopes: AccessScopes,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessScopes {
    pub(super) review: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFeature {
    #[serde(default)]
    pub(super) scopes: AuditScopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditScopes {
    pub(super) view: Vec<String>,
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
pub(super) struct IssuesFeature {
    pub(super) scopes: IssuesScopes,
    /// Starting points offered on the create page; none when absent (the original demo's file).
    #[serde(rename = "Templates", default)]
    pub(super) templates: Vec<TemplateFile>,
    /// The actions (named as in `scopes`) that need a recent authentication: seconds.
    #[serde(rename = "StepUp", default)]
    pub(super) step_up: std::collections::BTreeMap<String, u64>,
}

/// `Features.Issues.Templates[i]`: a new issue's starting point.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct TemplateFile {
    pub(super) name: String,
    #[serde(default)]
    pub(super) title_prefix: String,
    #[serde(default)]
    pub(super) body: String,
    #[serde(default)]
    pub(super) labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssuesScopes {
    pub(super) create: Vec<String>,
    pub(super) view: Vec<String>,
    /// Default: as `create` (never `view`: the demo's Employee only views).
    pub(super) comment: Option<Vec<String>>,
    /// Default: as `create`.
    pub(super) edit: Option<Vec<String>>,
    /// Default: as `create`.
    pub(super) close: Option<Vec<String>>,
    /// Default: as `create`.
    pub(super) assign: Option<Vec<String>>,
    /// Default: turned off (no one may delete).
    pub(super) delete: Option<Vec<String>>,
    /// Define, change and delete labels. Default: as `edit`.
    pub(super) labels: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct ServerSection {
    pub(super) listen_address: Option<String>,
    pub(super) database_url: Option<String>,
    pub(super) session_key: Option<String>,
    #[serde(default = "default_idle_minutes")]
    pub(super) session_idle_minutes: u64,
    #[serde(default = "default_absolute_hours")]
    pub(super) session_absolute_hours: u64,
    #[serde(default = "default_data_dir")]
    pub(super) data_dir: String,
    #[serde(default)]
    pub(super) tls_terminated_by_proxy: bool,
    #[serde(default = "default_max_connections")]
    pub(super) database_max_connections: u32,
    #[serde(default = "default_idp_timeout")]
    pub(super) identity_provider_timeout_seconds: u64,
    #[serde(default = "default_header_timeout")]
    pub(super) header_timeout_seconds: u64,
    #[serde(default = "default_max_connections_open")]
    pub(super) max_open_connections: usize,
    /// Connections one client address may hold open; default: half of `MaxOpenConnections`.
    pub(super) max_connections_per_client: Option<usize>,
    /// How long an answer may wait for the client to read it before the connection is cut.
    #[serde(default = "default_write_timeout")]
    pub(super) write_timeout_seconds: u64,
    /// The proxies whose `X-Forwarded-For` is believed; default: this machine's behind a TLS
    /// proxy, else none.
    pub(super) trusted_proxies: Option<Vec<String>>,
    #[serde(default = "default_request_timeout")]
    pub(super) request_timeout_seconds: u64,
    /// Where Prometheus scrapes `/metrics`; off when absent.
    pub(super) metrics_listen: Option<String>,
    /// `MetricsListen` may be an address other machines reach.
    #[serde(default)]
    pub(super) metrics_beyond_loopback: bool,
    #[serde(default)]
    pub(super) log_format: LogFormat,
    #[serde(default = "default_audit_retention_days")]
    pub(super) audit_retention_days: u64,
    /// How long a deleted issue (and its comments) is kept before it is erased.
    #[serde(default = "default_deleted_retention_days")]
    pub(super) deleted_retention_days: u64,
    /// How soon a failed webhook delivery is tried again the first time (then twice as long
    /// each time, up to an hour, for a day).
    #[serde(default = "default_webhook_first_retry")]
    pub(super) webhook_first_retry_seconds: u64,
    /// Sign-ins finished (code exchanges at the provider) per client address per minute.
    #[serde(default = "default_code_exchanges_per_minute")]
    pub(super) code_exchanges_per_minute: u32,
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
            max_connections_per_client: None,
            write_timeout_seconds: default_write_timeout(),
            trusted_proxies: None,
            request_timeout_seconds: default_request_timeout(),
            metrics_listen: None,
            metrics_beyond_loopback: false,
            log_format: LogFormat::default(),
            audit_retention_days: default_audit_retention_days(),
            deleted_retention_days: default_deleted_retention_days(),
            webhook_first_retry_seconds: default_webhook_first_retry(),
            code_exchanges_per_minute: default_code_exchanges_per_minute(),
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
fn default_write_timeout() -> u64 {
    30
}
fn default_audit_retention_days() -> u64 {
    90
}
fn default_deleted_retention_days() -> u64 {
    30
}
fn default_code_exchanges_per_minute() -> u32 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct DevIdpSection {
    pub(super) listen: Option<String>,
    pub(super) key_file: Option<String>,
    pub(super) directory: Option<String>,
}

fn default_webhook_first_retry() -> u64 {
    5
}
