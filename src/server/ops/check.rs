//! `issues-app check`: what can be checked without serving — the file, the identity provider
//! (live) and the database — one finding per check, each problem with how to fix it.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::access::Permission;
use crate::server::auth::jwks::KeySet;
use crate::server::auth::provider_client::{client, client_secret_basic, read_limited};
use crate::server::ops::config::{Config, Overrides, TokenValidation};
use crate::server::storage::db::{Db, DbError, holder_of, newer_database};
use crate::server::support::network::{TrustedProxies, is_loopback, is_secure_or_loopback};

const MAX_ANSWER_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Worth knowing; not wrong.
    Note,
    Problem,
}

/// One check's outcome: `area` is `file`, `provider` or `database`.
#[derive(Debug, Clone)]
pub struct Finding {
    pub verdict: Verdict,
    pub area: &'static str,
    pub message: String,
    /// How to fix a problem.
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Note => "note",
            Verdict::Problem => "PROBLEM",
        };
        write!(f, "{verdict:<8} {:<9} {}", self.area, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n{:18} fix: {fix}", "")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Problem)
    }

    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Problem)
    }

    fn add(&mut self, verdict: Verdict, area: &'static str, message: String, fix: Option<String>) {
        self.findings.push(Finding {
            verdict,
            area,
            message,
            fix,
        });
    }

    fn ok(&mut self, area: &'static str, message: impl Into<String>) {
        self.add(Verdict::Ok, area, message.into(), None);
    }

    fn note(&mut self, area: &'static str, message: impl Into<String>) {
        self.add(Verdict::Note, area, message.into(), None);
    }

    fn problem(&mut self, area: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.add(Verdict::Problem, area, message.into(), Some(fix.into()));
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let problems = self.problems().count();
        match problems {
            0 => write!(f, "all checks passed"),
            1 => write!(f, "1 problem"),
            n => write!(f, "{n} problems"),
        }
    }
}

/// Checks the configuration at `path` as the server would load it.
pub async fn check(path: &Path, overrides: &Overrides) -> Report {
    let mut report = Report::default();
    let config = match Config::load(path, overrides) {
        Ok(config) => config,
        Err(error) => {
            report.problem(
                "file",
                error.to_string(),
                "correct the field named; the README's configuration reference lists every field",
            );
            return report;
        }
    };
    report.ok("file", format!("{} is valid", path.display()));
    let named_proxies = trusted_proxies_as_written(path);
    check_file(&config, overrides, named_proxies.as_deref(), &mut report);
    check_identity_provider(&config, &mut report).await;
    check_database(&config, &mut report).await;
    report
}

/// `named_proxies`: `Server.TrustedProxies` as the file writes it, `None` when it is not set.
fn check_file(config: &Config, overrides: &Overrides, named_proxies: Option<&[String]>, report: &mut Report) {
    for field in &config.unused {
        report.note(
            "file",
            format!("`{field}` is not used by this app (it serves its own API); it may go"),
        );
    }
    match overrides.client_secret.is_some() {
        true => report.ok("file", "client secret from the ISSUES_APP_CLIENT_SECRET environment variable"),
        false if config.secure_cookies => report.note(
            "file",
            "client secret from ApplicationConfig.ClientSecret; in production prefer the ISSUES_APP_CLIENT_SECRET environment variable",
        ),
        false => report.ok("file", "client secret from ApplicationConfig.ClientSecret"),
    }
    match (&config.session_key, overrides.session_key.is_some()) {
        (Some(_), true) => report.ok(
            "file",
            "session key from the ISSUES_APP_SESSION_KEY environment variable",
        ),
        (Some(_), false) => report.ok("file", "session key from Server.SessionKey"),
        (None, _) => report.ok(
            "file",
            format!(
                "session key kept in {} (made at first start)",
                config.data_dir.join("session.key").display()
            ),
        ),
    }

    let hosted_port = config.hosted_url.port_or_known_default().unwrap_or(80);
    if config.behind_proxy {
        report.ok(
            "file",
            format!(
                "{} is served by a TLS proxy in front of {}",
                config.origin(),
                config.listen
            ),
        );
    } else if hosted_port != config.listen.port() {
        report.problem(
            "file",
            format!(
                "HostedUrl {} names port {hosted_port}, but the server listens on {}: browsers would be sent where nothing answers",
                config.origin(),
                config.listen
            ),
            "make the ports of ApplicationConfig.HostedUrl and Server.ListenAddress agree",
        );
    } else if config.listen.ip().is_loopback() && !is_loopback(&config.hosted_url) {
        report.problem(
            "file",
            format!(
                "HostedUrl {} is not this machine, but the server listens on {} (this machine only)",
                config.origin(),
                config.listen
            ),
            "set Server.ListenAddress to 0.0.0.0:PORT, or HostedUrl to http://localhost:PORT",
        );
    } else {
        report.ok("file", format!("{} is served on {}", config.origin(), config.listen));
    }
    check_trusted_proxies(config, named_proxies, report);

    let requested = config.requested_scopes();
    let added: Vec<&str> = requested
        .iter()
        .filter(|scope| !config.api_scopes.contains(scope))
        .map(String::as_str)
        .collect();
    let mut message = format!("sign-in requests `{}`", requested.join(" "));
    if !added.is_empty() {
        message.push_str(&format!(
            "; added to APIScopes: `{}` (openid always, and each scope Features names)",
            added.join(" ")
        ));
    }
    report.ok("file", message);
    report.ok("file", access_table(config));
}

/// The proxies whose `X-Forwarded-For` names the client for the per-client limits, as the server
/// takes them. Behind a TLS proxy with `Server.TrustedProxies` not set, only a proxy on this
/// machine is believed: right for the usual proxy beside the app, and silently wrong for one on
/// another host (its address would be every client's), so that case gets a note.
fn check_trusted_proxies(config: &Config, named: Option<&[String]>, report: &mut Report) {
    match named {
        Some([]) => report.ok(
            "file",
            "trusted proxies: none (Server.TrustedProxies is empty); every peer is the client",
        ),
        Some(entries) => report.ok(
            "file",
            format!(
                "trusted proxies: {} (Server.TrustedProxies); their X-Forwarded-For names the client",
                ranges_in_effect(entries)
            ),
        ),
        None if config.behind_proxy => {
            report.ok(
                "file",
                "trusted proxies: 127.0.0.0/8, ::1 (this machine: the default behind a TLS proxy); their X-Forwarded-For names the client",
            );
            report.note(
                "file",
                "Server.TlsTerminatedByProxy is true and Server.TrustedProxies is not set: every client's address is \
                 taken from X-Forwarded-For written by a proxy on this machine (127.0.0.0/8, ::1); if your proxy runs \
                 on another host, list it in Server.TrustedProxies, or every client will share one address for the \
                 per-client limits",
            );
        }
        None => report.ok(
            "file",
            "trusted proxies: none (no TLS proxy in front); every peer is the client",
        ),
    }
}

/// Entries of `Server.TrustedProxies` as the server takes them: a range without its host bits
/// (`10.1.2.3/8` is `10.0.0.0/8`), a single address without a prefix length.
fn ranges_in_effect(entries: &[String]) -> String {
    let ranges: Vec<String> = entries
        .iter()
        .filter_map(|entry| TrustedProxies::parse_entry(entry).ok())
        .map(|range| {
            let range = range.trunc();
            match range.prefix_len() == range.max_prefix_len() {
                true => range.addr().to_string(),
                false => range.to_string(),
            }
        })
        .collect();
    ranges.join(", ")
}

/// `Server.TrustedProxies` as the file at `path` writes it, `None` when it is not set: the
/// checked configuration holds the ranges in effect, not whether they were named or defaulted.
/// The file loaded a moment ago, so every entry is a string the server accepted.
fn trusted_proxies_as_written(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let file: Value = serde_json::from_str(&text).ok()?;
    let entries = file.get("Server")?.get("TrustedProxies")?.as_array()?;
    entries.iter().map(|entry| entry.as_str().map(str::to_string)).collect()
}

/// What each action needs, as the server decides it: the scopes config.json names, or the
/// default an action it does not name gets.
fn access_table(config: &Config) -> String {
    let mut table = String::from("what each action needs (all scopes listed):");
    for permission in Permission::ALL {
        let scopes = match config.features.required(permission) {
            Some(scopes) => scopes.join(" "),
            None => "off (no one may)".to_string(),
        };
        let defaulted = match config.defaulted_actions.contains(&permission) {
            true if permission == Permission::DeleteIssue => "  (not named: off)",
            true => "  (not named: as create)",
            false => "",
        };
        table.push_str(&format!("\n{:21}{:<24}{scopes}{defaulted}", "", permission.describe()));
    }
    table
}

async fn check_identity_provider(config: &Config, report: &mut Report) {
    #[cfg(feature = "dev-idp")]
    let _embedded = match &config.dev_idp {
        Some(dev) => match crate::server::ops::embedded_idp::start(config, dev).await {
            Ok(started) => {
                report.ok(
                    "provider",
                    format!("embedded development IdP started on {}", started.idp.local_addr()),
                );
                Some(started.idp)
            }
            Err(error) if error.is_address_in_use() => {
                report.note(
                    "provider",
                    format!(
                        "{} is in use (a running issues-app?): checking what answers there",
                        dev.listen
                    ),
                );
                None
            }
            Err(error) => {
                report.problem(
                    "provider",
                    format!("the embedded development IdP does not start: {error}"),
                    "correct the DevIdentityProvider section",
                );
                return;
            }
        },
        None => None,
    };
    let Ok(http) = client(config.identity_provider_timeout) else {
        report.problem(
            "provider",
            "cannot make an HTTP client",
            "check the machine's TLS set-up",
        );
        return;
    };
    let Some(discovery) = discover(config, &http, report).await else {
        return;
    };
    let text = |key: &str| discovery.get(key).and_then(Value::as_str).map(str::to_string);

    match text("issuer") {
        Some(issuer) if issuer == config.issuer => report.ok("provider", format!("issuer is `{issuer}`")),
        announced => report.problem(
            "provider",
            format!(
                "the provider announces issuer `{}`, this app expects `{}`",
                announced.unwrap_or_default(),
                config.issuer
            ),
            "Asgardeo's issuer is BaseOrganizationUrl + /oauth2/token: correct AuthorizationConfig.BaseOrganizationUrl \
             (or set AuthorizationConfig.Issuer for a provider that differs)",
        ),
    }

    let endpoints = [
        ("authorization_endpoint", "sign-in cannot start"),
        ("token_endpoint", "sign-in cannot finish"),
        ("revocation_endpoint", "sign-out cannot revoke refresh tokens"),
        ("end_session_endpoint", "sign-out cannot end the provider's session"),
    ];
    let mut announced = Vec::new();
    for (key, without) in endpoints {
        match text(key).map(|url| (url::Url::parse(&url), url)) {
            Some((Ok(url), _)) if config.allow_insecure_provider || is_secure_or_loopback(&url) => {
                announced.push(key)
            }
            Some((_, url)) => report.problem(
                "provider",
                format!("`{key}` is `{url}`: not an https URL (or http on this machine)"),
                "the provider must announce https endpoints (AuthorizationConfig.AllowInsecureProvider allows http, for development only)",
            ),
            None => report.problem(
                "provider",
                format!("discovery announces no `{key}`: {without}"),
                "use a provider that supports it, as Asgardeo does",
            ),
        }
    }
    if !announced.is_empty() {
        report.ok("provider", format!("announces {}", announced.join(", ")));
    }

    let jwks_url = config.jwks_url.clone().or_else(|| text("jwks_uri"));
    match jwks_url {
        Some(url) => check_jwks(&http, &url, report).await,
        None => report.problem(
            "provider",
            "discovery announces no `jwks_uri`",
            "set AuthorizationConfig.JwksUrl",
        ),
    }
    if config.token_validation == TokenValidation::Introspection && text("introspection_endpoint").is_none() {
        report.problem(
            "provider",
            "TokenValidation is `introspection`, but discovery announces no `introspection_endpoint`",
            "set AuthorizationConfig.TokenValidation to `jwks`",
        );
    }

    // The client secret goes only where the app itself would send it: not to a plain-http
    // endpoint off this machine that was just flagged above.
    if let Some(token_endpoint) = text("token_endpoint")
        && url::Url::parse(&token_endpoint)
            .is_ok_and(|url| config.allow_insecure_provider || is_secure_or_loopback(&url))
    {
        check_client_credentials(config, &http, &token_endpoint, report).await;
    }
    if let Some(authorization_endpoint) = text("authorization_endpoint") {
        check_redirect_uri(config, &http, &authorization_endpoint, report).await;
    }
    let back_channel = format!("{}/auth/backchannel-logout", config.origin());
    match discovery.get("backchannel_logout_supported").and_then(Value::as_bool) {
        Some(true) => report.note(
            "provider",
            format!(
                "register `{back_channel}` as the application's back-channel logout URL, so a sign-out at the provider ends sessions here"
            ),
        ),
        _ => report.note(
            "provider",
            "the provider announces no back-channel logout: after a sign-out elsewhere, sessions here last until they expire",
        ),
    }
}

/// The discovery document at Asgardeo's path, `{issuer}/.well-known/openid-configuration`.
async fn discover(config: &Config, http: &reqwest::Client, report: &mut Report) -> Option<Value> {
    let url = format!("{}/.well-known/openid-configuration", config.issuer);
    let fix_url = "check AuthorizationConfig.BaseOrganizationUrl (https://api.asgardeo.io/t/<organization>) and that this machine reaches it";
    let response = match http.get(&url).header("accept", "application/json").send().await {
        Ok(response) => response,
        Err(error) => {
            report.problem(
                "provider",
                format!("discovery at {url}: no answer ({})", with_causes(&error)),
                fix_url,
            );
            return None;
        }
    };
    let status = response.status();
    if !status.is_success() {
        report.problem("provider", format!("discovery at {url} answered {status}"), fix_url);
        return None;
    }
    let parsed = read_limited(response, MAX_ANSWER_BYTES)
        .await
        .and_then(|body| serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string()));
    match parsed {
        Ok(document) if document.is_object() => {
            report.ok("provider", format!("discovery answered at {url}"));
            Some(document)
        }
        Ok(_) | Err(_) => {
            report.problem("provider", format!("discovery at {url} is not a JSON object"), fix_url);
            None
        }
    }
}

async fn check_jwks(http: &reqwest::Client, url: &str, report: &mut Report) {
    let keys = match http.get(url).send().await {
        Ok(response) if response.status().is_success() => read_limited(response, MAX_ANSWER_BYTES)
            .await
            .and_then(|body| KeySet::parse(&body)),
        Ok(response) => Err(format!("answered {}", response.status())),
        Err(error) => Err(format!("no answer ({})", with_causes(&error))),
    };
    match keys {
        Ok(keys) if !keys.all.is_empty() => report.ok(
            "provider",
            format!("JWKS at {url} has {} RS256 signing key(s)", keys.all.len()),
        ),
        Ok(_) => report.problem(
            "provider",
            format!("JWKS at {url} has no RS256 signing key"),
            "tokens cannot be verified: the provider must publish an RS256 key",
        ),
        Err(error) => report.problem(
            "provider",
            format!("JWKS at {url}: {error}"),
            "check AuthorizationConfig.JwksUrl, or the provider's jwks_uri",
        ),
    }
}

/// Sends the client id and secret with a made-up authorization code: a provider that accepts the
/// credentials refuses the code (`invalid_grant`), one that does not says `invalid_client`.
async fn check_client_credentials(config: &Config, http: &reqwest::Client, token_endpoint: &str, report: &mut Report) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "issues-app-check-made-up-code"),
        ("redirect_uri", &config.redirect_uri()),
        ("code_verifier", &"v".repeat(43)),
    ];
    let answer = client_secret_basic(
        http.post(token_endpoint),
        &config.client_id,
        config.client_secret.expose(),
    )
    .form(&form)
    .send()
    .await;
    let (status, error) = match answer {
        Ok(response) => {
            let status = response.status();
            let body = read_limited(response, MAX_ANSWER_BYTES).await.unwrap_or_default();
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
            (status, error)
        }
        Err(error) => {
            report.problem(
                "provider",
                format!("token endpoint {token_endpoint}: no answer ({})", with_causes(&error)),
                "check that this machine reaches the provider",
            );
            return;
        }
    };
    let id = &config.client_id;
    match error.as_deref() {
        Some("invalid_grant") => report.ok(
            "provider",
            format!("client `{id}` and its secret are accepted by the token endpoint"),
        ),
        Some("invalid_client") => report.problem(
            "provider",
            format!("the token endpoint refuses client `{id}` with this secret (invalid_client)"),
            "copy the client id and secret from the application's Protocol tab in Asgardeo into \
             ApplicationConfig.ClientId and ApplicationConfig.ClientSecret (or ISSUES_APP_CLIENT_SECRET)",
        ),
        Some(code @ ("unauthorized_client" | "unsupported_grant_type")) => report.problem(
            "provider",
            format!("client `{id}` is accepted but may not use the authorization code grant ({code})"),
            "allow the `Code` grant type in the application's Protocol tab",
        ),
        other => report.problem(
            "provider",
            format!(
                "the token endpoint answered {status} ({}) to the credentials probe",
                other.unwrap_or("no OAuth error")
            ),
            "check the provider's logs for this client",
        ),
    }
}

/// Asks for a sign-in without any interaction (`prompt=none`): a provider sends the browser back
/// to a registered redirect URI (with `login_required`), and refuses an unregistered one.
async fn check_redirect_uri(
    config: &Config,
    http: &reqwest::Client,
    authorization_endpoint: &str,
    report: &mut Report,
) {
    let redirect_uri = config.redirect_uri();
    let Ok(mut probe) = url::Url::parse(authorization_endpoint) else {
        return;
    };
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &[b'v'; 43]));
    probe
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", "issues-app-check")
        .append_pair("prompt", "none")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let fix = format!(
        "add `{redirect_uri}` to the application's Authorized redirect URLs (Protocol tab), or correct ApplicationConfig.HostedUrl"
    );
    let response = match http.get(probe).send().await {
        Ok(response) => response,
        Err(error) => {
            report.problem(
                "provider",
                format!(
                    "authorization endpoint {authorization_endpoint}: no answer ({})",
                    with_causes(&error)
                ),
                "check that this machine reaches the provider",
            );
            return;
        }
    };
    let back = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| url::Url::parse(authorization_endpoint).ok()?.join(location).ok())
        .is_some_and(|location| location[..url::Position::AfterPath] == redirect_uri);
    match back {
        true => report.ok("provider", format!("redirect URI `{redirect_uri}` is registered")),
        false => report.problem(
            "provider",
            format!(
                "redirect URI `{redirect_uri}` is not registered for client `{}` (the provider answered {} instead of sending the browser back)",
                config.client_id,
                response.status()
            ),
            fix,
        ),
    }
}

async fn check_database(config: &Config, report: &mut Report) {
    let url = &config.database_url;
    let backend = url.backend_name();
    if let Some(file) = url.sqlite_file()
        && !file.exists()
    {
        // Checking changes nothing: the file is made at start-up.
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let creatable = parent
            .ancestors()
            .find(|dir| dir.exists())
            .is_some_and(|dir| dir.metadata().is_ok_and(|m| !m.permissions().readonly()));
        match creatable {
            true => report.ok(
                "database",
                format!("SQLite database {} will be made at start-up", file.display()),
            ),
            false => report.problem(
                "database",
                format!(
                    "SQLite database {} cannot be made: its directory is not writable",
                    file.display()
                ),
                "set Server.DataDir (or Server.DatabaseUrl) to a writable place",
            ),
        }
        return;
    }
    if !url.is_sqlite()
        && let Err(error) = Db::reach_postgres(url.as_str()).await
    {
        report.problem(
            "database",
            format!("PostgreSQL database: cannot connect: {}", with_causes(&error)),
            "check Server.DatabaseUrl (or ISSUES_APP_DATABASE_URL): host, port, user, password and database name",
        );
        return;
    }
    let db = match Db::connect(url, 1).await {
        Ok((db, _single_writer)) => db,
        Err(DbError::InUse { path }) => match url.sqlite_file().map(|file| (holder_of(file), file)) {
            // The usual "did my edit break anything?" before a reload: this configuration's own
            // instance holds the file; read it without taking the lock.
            Some((Some(holder), file)) if holder == config.listen => {
                report.note(
                    "database",
                    format!("SQLite database {path} is in use by this configuration's running instance (on {holder}): read only"),
                );
                match Db::open_read_only(file).await {
                    Ok(db) => db,
                    Err(error) => {
                        report.problem(
                            "database",
                            format!("SQLite database {path}: cannot read it: {error}"),
                            "check the file's permissions for this user",
                        );
                        return;
                    }
                }
            }
            holder => {
                let by = match holder.and_then(|(holder, _)| holder) {
                    Some(holder) => format!("the issues-app on {holder}"),
                    None => "another process (a running issues-app?)".to_string(),
                };
                report.problem(
                    "database",
                    format!("SQLite database {path} is held by {by}: a second instance would not start"),
                    "stop the other process; to run several instances use PostgreSQL (Server.DatabaseUrl: postgres://…)",
                );
                return;
            }
        },
        Err(error) => {
            report.problem(
                "database",
                format!("{backend} database: cannot connect: {error}"),
                "check Server.DatabaseUrl (or ISSUES_APP_DATABASE_URL): host, port, user, password and database name",
            );
            return;
        }
    };
    report.ok("database", format!("{backend} database reachable"));
    match db.migration_status().await {
        Ok(status) if !status.unknown.is_empty() => report.problem(
            "database",
            newer_database(&status.unknown),
            "see the README's \"Backing up, moving and upgrading\"",
        ),
        Ok(status) if !status.changed.is_empty() => report.problem(
            "database",
            format!("migrations {:?} were applied with different contents", status.changed),
            "a migration file was edited after it was applied: restore it as released",
        ),
        Ok(status) => report.ok(
            "database",
            format!(
                "migrations: {} applied, {} to apply at start-up",
                status.applied, status.pending
            ),
        ),
        Err(error) => report.problem(
            "database",
            format!("cannot read the applied migrations: {error}"),
            "check that the database user may read the _sqlx_migrations table",
        ),
    }
}

/// An error and what caused it, e.g. "error sending request: client error (Connect): tcp connect
/// error: Connection refused (os error 111)".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
