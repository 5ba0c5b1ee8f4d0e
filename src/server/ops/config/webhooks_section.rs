//! What changes reach beyond the app: `Webhooks` (where changes are posted, what, signed with
//! which secret), `Server.WebhookFirstRetrySeconds`, and `Notifications.Smtp` (the mail server
//! notifications are sent through), checked as part of `Checker::check`.

use std::time::Duration;

use url::Url;

use super::checked::{Secret, Smtp, SmtpTls, Webhook, signing_key};
use super::checker::Checker;
use super::file::{ConfigError, SmtpFile, WebhookFile};
use crate::model::change_kind as kind;

/// Webhooks config.json may list at most.
pub const WEBHOOKS_MAX: usize = 20;
/// A signing secret this short is refused (Standard Webhooks asks for 24 to 64 bytes).
const SECRET_MIN_BYTES: usize = 24;

impl Checker<'_> {
    /// Each webhook: an `https://` URL (or `http://` to a private or loopback address it is
    /// allowed), its kinds of change among those there are, and a secret of at least
    /// [`SECRET_MIN_BYTES`] in the environment variable it names.
    pub(super) fn webhooks(&self, webhooks: &[WebhookFile]) -> Result<Vec<Webhook>, ConfigError> {
        if webhooks.len() > WEBHOOKS_MAX {
            return Err(self.fail(
                "Webhooks",
                format!("expected at most {WEBHOOKS_MAX} webhooks, got {}", webhooks.len()),
            ));
        }
        let mut checked: Vec<Webhook> = Vec::with_capacity(webhooks.len());
        for (index, webhook) in webhooks.iter().enumerate() {
            let field = |name: &str| format!("Webhooks[{index}].{name}");
            let parsed = Url::parse(&webhook.url)
                .ok()
                .filter(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some())
                .filter(|url| url.username().is_empty() && url.password().is_none() && url.fragment().is_none())
                .ok_or_else(|| {
                    self.fail(
                        &field("Url"),
                        "expected an https:// URL without credentials or #fragment",
                    )
                })?;
            if parsed.scheme() == "http" && !webhook.allow_private_address {
                return Err(self.fail(
                    &field("Url"),
                    "expected https:// (plain http:// only to a private address, with \"AllowPrivateAddress\": true)",
                ));
            }
            if let Some(earlier) = checked.iter().position(|other| other.url == webhook.url) {
                return Err(self.fail(
                    &field("Url"),
                    format!("Webhooks[{earlier}] posts there too: list each URL once"),
                ));
            }
            let events = webhook.events.clone().unwrap_or_default();
            if webhook.events.as_ref().is_some_and(Vec::is_empty) {
                return Err(self.fail(
                    &field("Events"),
                    "names no kind of change: leave it out to post all of them",
                ));
            }
            for (at, event) in events.iter().enumerate() {
                if !kind::ALL.contains(&event.as_str()) {
                    return Err(self.fail(
                        &format!("Webhooks[{index}].Events[{at}]"),
                        format!("`{event}` is not a kind of change; they are {}", kind::ALL.join(", ")),
                    ));
                }
            }
            let secret = self.webhook_secret(webhook, index)?;
            checked.push(Webhook {
                url: webhook.url.clone(),
                parsed,
                events,
                secret,
                allow_private_address: webhook.allow_private_address,
            });
        }
        Ok(checked)
    }

    /// The signing secret, from the environment variable `SecretEnv` names or the file
    /// `SecretFile` names (exactly one of them): at least [`SECRET_MIN_BYTES`].
    fn webhook_secret(&self, webhook: &WebhookFile, index: usize) -> Result<Secret, ConfigError> {
        let field = |name: &str| format!("Webhooks[{index}].{name}");
        let (secret, from, field) = match (&webhook.secret_env, &webhook.secret_file) {
            (Some(variable), None) => {
                let variable = variable.trim();
                if variable.is_empty() {
                    return Err(self.fail(&field("SecretEnv"), "expected the name of an environment variable"));
                }
                let secret = std::env::var(variable).ok().filter(|value| !value.is_empty());
                let secret = secret.ok_or_else(|| {
                    self.fail(
                        &field("SecretEnv"),
                        format!("the environment variable {variable} is not set: put the signing secret there"),
                    )
                })?;
                (
                    secret,
                    format!("the environment variable {variable}"),
                    field("SecretEnv"),
                )
            }
            (None, Some(file)) => {
                let path = self.path(file);
                let secret = std::fs::read_to_string(&path).map_err(|error| {
                    self.fail(&field("SecretFile"), format!("cannot read {}: {error}", path.display()))
                })?;
                (
                    secret.trim().to_string(),
                    path.display().to_string(),
                    field("SecretFile"),
                )
            }
            _ => {
                return Err(self.fail(
                    &field("SecretEnv"),
                    "name the signing secret's environment variable (SecretEnv) or file (SecretFile), one of them",
                ));
            }
        };
        if signing_key(&secret).len() < SECRET_MIN_BYTES {
            return Err(self.fail(
                &field,
                format!(
                    "the secret in {from} is shorter than {SECRET_MIN_BYTES} bytes: make one with \
                     `openssl rand -base64 32` (or use `whsec_…`)"
                ),
            ));
        }
        Ok(Secret::new(secret))
    }

    /// `Notifications.Smtp`: a host, the sender as a mailbox, TLS (`starttls` by default; `none`
    /// only to this machine), the port (587, or 465 with `tls`, or 25 with `none`), and the
    /// credentials' environment variables (both, or neither).
    pub(super) fn smtp(&self, smtp: SmtpFile) -> Result<Smtp, ConfigError> {
        let field = |name: &str| format!("Notifications.Smtp.{name}");
        let host = smtp.host.trim().to_string();
        if host.is_empty() || host.chars().any(|c| c.is_control() || c.is_whitespace() || c == '/') {
            return Err(self.fail(&field("Host"), "expected the mail server's host name or address"));
        }
        let tls = match smtp.tls.as_deref().unwrap_or("starttls") {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                return Err(self.fail(
                    &field("Tls"),
                    format!("expected `starttls`, `tls` or `none`, got `{other}`"),
                ));
            }
        };
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if tls == SmtpTls::None && !loopback {
            return Err(self.fail(
                &field("Tls"),
                "`none` sends mail (and any password) in the clear: only to a server on this machine (localhost)",
            ));
        }
        let port = smtp.port.unwrap_or(match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        if port == 0 {
            return Err(self.fail(&field("Port"), "expected a port, 1 to 65535"));
        }
        if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(self.fail(
                &field("From"),
                format!(
                    "expected a mailbox such as `Issues <issues@example.com>`, got `{}`",
                    smtp.from
                ),
            ));
        }
        let variable = |name: &str, variable: &Option<String>| -> Result<Option<Secret>, ConfigError> {
            let Some(variable) = variable else {
                return Ok(None);
            };
            let value = std::env::var(variable.trim()).ok().filter(|value| !value.is_empty());
            value.map(|value| Some(Secret::new(value))).ok_or_else(|| {
                self.fail(
                    &field(name),
                    format!("the environment variable {} is not set", variable.trim()),
                )
            })
        };
        let credentials = match (
            variable("UsernameEnv", &smtp.username_env)?,
            variable("PasswordEnv", &smtp.password_env)?,
        ) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => {
                return Err(self.fail(
                    &field("PasswordEnv"),
                    "name both the user name's and the password's environment variables, or neither",
                ));
            }
        };
        Ok(Smtp {
            host,
            port,
            tls,
            from: smtp.from.trim().to_string(),
            credentials,
        })
    }

    /// `Server.WebhookFirstRetrySeconds`: 1 to 3,600.
    pub(super) fn webhook_first_retry(&self, seconds: u64) -> Result<Duration, ConfigError> {
        if !(1..=3600).contains(&seconds) {
            return Err(self.fail(
                "Server.WebhookFirstRetrySeconds",
                format!("expected 1 to 3600 seconds, got {seconds}"),
            ));
        }
        Ok(Duration::from_secs(seconds))
    }
}
