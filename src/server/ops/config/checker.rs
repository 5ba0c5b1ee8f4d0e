//! The check that turns config.json as written (`file.rs`) into the `Config` the app runs with
//! (`checked.rs`): `Config::load` reads the file, `explain` (`hints.rs`) words the reader's errors,
//! and `Checker::check` goes through the file one section at a time, in the order mistakes are
//! reported, stopping at the first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::checked::{Config, DevIdpConfig, Overrides, Secret};
use super::file::{
    AccessHelpFile, ApplicationSection, AuthorizationSection, ConfigError, ConfigFile, DevIdpSection, TemplateFile,
};
use super::hints::{editor_column, explain, organization_url_mistake, paste_accident};
use crate::access::{AccessHelp, RoleGrants};
use crate::model::{
    DESCRIPTION_MAX_CHARS, IssueTemplate, LABELS_PER_ISSUE_MAX, LabelInput, TEMPLATE_NAME_MAX_CHARS,
    TEMPLATE_PREFIX_MAX_CHARS, TEMPLATES_MAX, description_problem, label_key, title_problem,
};
use crate::server::support::network::{is_loopback, is_secure_or_loopback};

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
                let (line, column) = (inner.line(), inner.column());
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or_default();
                let message = match paste_accident(text, message, line, column) {
                    Some(hint) => format!("{message}; {hint}"),
                    None => message.to_string(),
                };
                return ConfigError::Syntax {
                    file: file.clone(),
                    line,
                    column: editor_column(text, line, column),
                    message,
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

pub(super) struct Checker<'a> {
    file: &'a str,
    base_dir: PathBuf,
    dev_idp_built: bool,
}

impl Checker<'_> {
    pub(super) fn fail(&self, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            file: self.file.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// `ApplicationConfig.AccessHelp`: its line and link, and its roles.
    fn access_help(&self, help: AccessHelpFile) -> Result<(Option<AccessHelp>, Option<RoleGrants>), ConfigError> {
        let roles = help.roles.map(|roles| self.role_grants(roles)).transpose()?;
        let line = match help.text {
            Some(text) => Some(self.access_line(text, help.link)?),
            None if help.link.is_some() => {
                return Err(self.fail(
                    "ApplicationConfig.AccessHelp.Text",
                    "missing: a Link is shown after a line of text saying whom to ask",
                ));
            }
            None => None,
        };
        Ok((line, roles))
    }

    /// `ApplicationConfig.AccessHelp.Roles`: each role's name and the scopes it grants.
    fn role_grants(&self, roles: std::collections::BTreeMap<String, Vec<String>>) -> Result<RoleGrants, ConfigError> {
        let mut grants = Vec::with_capacity(roles.len());
        for (role, scopes) in roles {
            let field = format!("ApplicationConfig.AccessHelp.Roles.{role}");
            self.text(&field, &role)?;
            if role.trim().is_empty() || role.chars().count() > 100 || role.chars().any(char::is_control) {
                return Err(self.fail(&field, "expected a role's name (1 to 100 characters)"));
            }
            self.scopes(&field, &scopes, false)?;
            grants.push((role, scopes));
        }
        Ok(RoleGrants {
            roles: grants,
            learned: false,
        })
    }

    fn access_line(&self, text: String, link: Option<String>) -> Result<AccessHelp, ConfigError> {
        let text = text.trim().to_string();
        if text.is_empty() || text.chars().count() > 300 || text.chars().any(char::is_control) {
            return Err(self.fail(
                "ApplicationConfig.AccessHelp.Text",
                "expected one line of text (1 to 300 characters)",
            ));
        }
        let link = match link.as_deref().map(str::trim).filter(|link| !link.is_empty()) {
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

    pub(super) fn url(&self, field: &str, value: &str) -> Result<Url, ConfigError> {
        match Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(self.fail(field, format!("expected an absolute http(s) URL, got `{value}`"))),
        }
    }

    /// A provider URL: https, or http on loopback, or any http with `AllowInsecureProvider`.
    pub(super) fn provider_url(&self, field: &str, value: &str, allow_insecure: bool) -> Result<Url, ConfigError> {
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

    /// `AuthorizationConfig.BaseOrganizationUrl`: a provider URL, and not what admins copy from
    /// Asgardeo by mistake (the organization's name, its issuer), which is refused with the value
    /// to write instead.
    pub(super) fn organization_url(&self, value: &str, allow_insecure: bool) -> Result<Url, ConfigError> {
        let field = "AuthorizationConfig.BaseOrganizationUrl";
        if let Some(mistake) = organization_url_mistake(value) {
            return Err(self.fail(field, mistake));
        }
        self.provider_url(field, value, allow_insecure)
    }

    pub(super) fn path(&self, value: &str) -> PathBuf {
        let path = PathBuf::from(value);
        if path.is_absolute() {
            path
        } else {
            self.base_dir.join(path)
        }
    }

    pub(super) fn scopes(&self, field: &str, scopes: &[String], allow_empty: bool) -> Result<(), ConfigError> {
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
    pub(super) fn text(&self, field: &str, value: &str) -> Result<(), ConfigError> {
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

    /// config.json as written to the `Config` the app runs with: section by section, in the order
    /// mistakes are reported; the first mistake ends the check.
    fn check(&self, file: ConfigFile, overrides: &Overrides) -> Result<Config, ConfigError> {
        let auth = file.authorization;
        let server = file.server;
        self.typed_values(&auth, &file.application)?;
        let provider = self.identity_provider(&auth)?;
        let app = self.application(file.application, overrides)?;
        let issue_templates = self.issue_templates(&file.features.issues.templates)?;
        let (features, defaulted_actions) = self.features(file.features)?;
        let audiences = self.audiences(&app.client_id, &auth.audiences)?;
        let listen = self.listen(&server, overrides, &app.hosted_url)?;
        let secure_cookies = self.secure_cookies(&server, &app.hosted_url, listen)?;
        self.server_limits(&server)?;
        let limits = self.connection_limits(&server)?;
        let trusted_proxies = self.trusted_proxies(&server)?;
        let data_dir = self.path(&server.data_dir);
        let database_url = self.database_url(server.database_url, overrides, &data_dir)?;
        let session_key = overrides.session_key.clone().or(server.session_key).map(Secret::new);
        let metrics_listen = self.metrics_listen(server.metrics_listen.as_deref(), server.metrics_beyond_loopback)?;
        let dev_idp =
            self.dev_identity_provider(file.dev_identity_provider, &app.hosted_url, &provider.organization)?;
        let webhooks = self.webhooks(&file.webhooks)?;
        let smtp = file.notifications.smtp.map(|smtp| self.smtp(smtp)).transpose()?;
        let webhook_first_retry = self.webhook_first_retry(server.webhook_first_retry_seconds)?;

        Ok(Config {
            source: PathBuf::from(self.file),
            organization_url: provider.organization_url,
            issuer: provider.issuer,
            jwks_url: provider.jwks_url,
            audiences,
            token_validation: auth.token_validation,
            allow_insecure_provider: auth.allow_insecure_provider,
            form_action_origins: provider.form_action_origins,
            hosted_url: app.hosted_url,
            client_id: app.client_id,
            client_secret: Secret::new(app.client_secret),
            api_scopes: app.api_scopes,
            features,
            defaulted_actions,
            access_help: app.access_help,
            role_grants: app.role_grants,
            issue_templates,
            listen,
            database_url,
            database_max_connections: server.database_max_connections,
            session_key,
            identity_provider_timeout: Duration::from_secs(server.identity_provider_timeout_seconds),
            limits,
            session_idle: Duration::from_secs(server.session_idle_minutes * 60),
            session_absolute: Duration::from_secs(server.session_absolute_hours * 3600),
            data_dir,
            secure_cookies,
            behind_proxy: server.tls_terminated_by_proxy,
            trusted_proxies,
            dev_idp,
            metrics_listen,
            metrics_beyond_loopback: server.metrics_beyond_loopback,
            log_format: server.log_format,
            audit_retention: Duration::from_secs(server.audit_retention_days * 86_400),
            deleted_retention: Duration::from_secs(server.deleted_retention_days * 86_400),
            code_exchanges_per_minute: server.code_exchanges_per_minute,
            webhooks,
            webhook_first_retry,
            smtp,
            read_as: None,
            unused: app.unused,
        })
    }

    /// Every value as typed, before any is read: no placeholder left from the instructions, no
    /// control characters.
    fn typed_values(&self, auth: &AuthorizationSection, app: &ApplicationSection) -> Result<(), ConfigError> {
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
        Ok(())
    }

    /// `AuthorizationConfig`: the organization, issuer and JWKS URLs (https or this machine unless
    /// `AllowInsecureProvider`), and the origins sign-in forms may pass through.
    fn identity_provider(&self, auth: &AuthorizationSection) -> Result<Provider, ConfigError> {
        let insecure = auth.allow_insecure_provider;
        let organization = self.organization_url(&auth.base_organization_url, insecure)?;
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
        Ok(Provider {
            organization,
            organization_url,
            issuer,
            jwks_url,
            form_action_origins,
        })
    }

    /// `ApplicationConfig`: the app's origin, its client id and secret (or
    /// `ISSUES_APP_CLIENT_SECRET`), the API scopes it asks for, and whom to ask for access.
    fn application(&self, app: ApplicationSection, overrides: &Overrides) -> Result<Application, ConfigError> {
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
        let (access_help, role_grants) = match app.access_help {
            Some(help) => self.access_help(help)?,
            None => (None, None),
        };
        Ok(Application {
            hosted_url,
            client_id: app.client_id,
            client_secret,
            api_scopes: app.api_scopes,
            access_help,
            role_grants,
            unused: app.backend_url.iter().map(|_| "ApplicationConfig.BackendUrl").collect(),
        })
    }

    /// `Features.Issues.Templates`: at most 20, each named (1 to 50 characters, no two alike
    /// whatever their case), a title prefix of at most 50 characters, a body no longer than a
    /// description, and at most as many labels as an issue carries, each a label's name (the
    /// labels need not be defined yet: those no label has are skipped when an issue is created).
    fn issue_templates(&self, templates: &[TemplateFile]) -> Result<Vec<IssueTemplate>, ConfigError> {
        let list = "Features.Issues.Templates";
        if templates.len() > TEMPLATES_MAX {
            return Err(self.fail(
                list,
                format!("expected at most {TEMPLATES_MAX} templates, got {}", templates.len()),
            ));
        }
        let mut checked: Vec<IssueTemplate> = Vec::with_capacity(templates.len());
        for (index, template) in templates.iter().enumerate() {
            let field = |name: &str| format!("{list}[{index}].{name}");
            let name = template.name.trim();
            let length = name.chars().count();
            if length == 0 || length > TEMPLATE_NAME_MAX_CHARS || title_problem(name).is_some() {
                return Err(self.fail(
                    &field("Name"),
                    format!("expected one line of text (1 to {TEMPLATE_NAME_MAX_CHARS} characters)"),
                ));
            }
            if let Some(earlier) = checked.iter().position(|other| other.is_named(name)) {
                return Err(self.fail(
                    &field("Name"),
                    format!("`{name}` names {list}[{earlier}] too: give each template its own name"),
                ));
            }
            let prefix = &template.title_prefix;
            if prefix.chars().count() > TEMPLATE_PREFIX_MAX_CHARS
                || prefix.chars().any(char::is_control)
                || (!prefix.trim().is_empty() && title_problem(prefix).is_some())
            {
                return Err(self.fail(
                    &field("TitlePrefix"),
                    format!("expected one line of text of at most {TEMPLATE_PREFIX_MAX_CHARS} characters"),
                ));
            }
            if description_problem(&template.body).is_some() {
                let length = template.body.chars().count();
                let message = match length > DESCRIPTION_MAX_CHARS {
                    true => format!(
                        "expected at most {DESCRIPTION_MAX_CHARS} characters (a description's limit), got {length}"
                    ),
                    false => "contains a control character (line breaks and tabs are fine)".to_string(),
                };
                return Err(self.fail(&field("Body"), message));
            }
            if template.labels.len() > LABELS_PER_ISSUE_MAX {
                return Err(self.fail(
                    &field("Labels"),
                    format!(
                        "expected at most {LABELS_PER_ISSUE_MAX} labels (as many as an issue carries), got {}",
                        template.labels.len()
                    ),
                ));
            }
            let mut labels: Vec<String> = Vec::with_capacity(template.labels.len());
            for (at, label) in template.labels.iter().enumerate() {
                let label_field = format!("{list}[{index}].Labels[{at}]");
                let label = LabelInput::parse(label, "#000000", "")
                    .map_err(|problem| self.fail(&label_field, format!("expected a label's name: {problem}")))?;
                if labels.iter().any(|earlier| label_key(earlier) == label.key()) {
                    return Err(self.fail(&label_field, format!("names the label `{}` twice", label.name)));
                }
                labels.push(label.name);
            }
            checked.push(IssueTemplate {
                name: name.to_string(),
                title_prefix: prefix.clone(),
                body: template.body.clone(),
                labels,
            });
        }
        Ok(checked)
    }

    /// The audiences access tokens may carry: the client id, then `AuthorizationConfig.Audiences`.
    fn audiences(&self, client_id: &str, configured: &[String]) -> Result<Vec<String>, ConfigError> {
        let mut audiences = vec![client_id.to_string()];
        for (index, audience) in configured.iter().enumerate() {
            if audience.trim().is_empty() {
                return Err(self.fail(&format!("AuthorizationConfig.Audiences[{index}]"), "must not be empty"));
            }
            audiences.push(audience.clone());
        }
        Ok(audiences)
    }

    /// `DevIdentityProvider`: the embedded IdP, only in a build that has it, and only for plain
    /// http on this machine, serving at the organization URL.
    fn dev_identity_provider(
        &self,
        dev_identity_provider: Option<DevIdpSection>,
        hosted_url: &Url,
        organization: &Url,
    ) -> Result<Option<DevIdpConfig>, ConfigError> {
        let dev_idp = match dev_identity_provider {
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
                if hosted_url.scheme() == "https" || !is_loopback(hosted_url) {
                    return Err(self.fail(
                        "ApplicationConfig.HostedUrl",
                        "is not a plain-http URL on this machine, but DevIdentityProvider is set: the embedded IdP is for development on this machine only (its users and secrets are public). Remove the DevIdentityProvider section and point AuthorizationConfig at a real organization",
                    ));
                }
                if !is_loopback(organization) {
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
        Ok(dev_idp)
    }
}

/// `AuthorizationConfig` as checked: where the organization is and what it announces.
struct Provider {
    organization: Url,
    organization_url: String,
    issuer: String,
    jwks_url: Option<String>,
    form_action_origins: Vec<String>,
}

/// `ApplicationConfig` as checked.
struct Application {
    hosted_url: Url,
    client_id: String,
    client_secret: String,
    api_scopes: Vec<String>,
    access_help: Option<AccessHelp>,
    role_grants: Option<RoleGrants>,
    unused: Vec<&'static str>,
}
