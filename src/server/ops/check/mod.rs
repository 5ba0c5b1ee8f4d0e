//! `issues-app check`: what can be checked without serving — the file (here), the identity
//! provider (live, `provider.rs`) and the database (`database.rs`) — one finding per check, each
//! problem with how to fix it (`report.rs`).

mod database;
mod provider;
mod report;

use std::path::Path;

use serde_json::Value;

use crate::access::Permission;
use crate::server::ops::config::{Config, Overrides};
use crate::server::support::network::{TrustedProxies, is_loopback};
use database::check_database;
use provider::check_identity_provider;
pub use report::{Finding, Report, Verdict};

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
/// default an action it does not name gets; and which roles grant them, when config.json says
/// (`ApplicationConfig.AccessHelp.Roles`); and how recent a sign-in it needs, if it says
/// (`Features.Issues.StepUp`).
fn access_table(config: &Config) -> String {
    let mut table = String::from(match config.role_grants {
        Some(_) => "what each action needs (all scopes listed) and the roles that grant it:",
        None => {
            "what each action needs (all scopes listed; the roles that grant it are learned from \
             sign-ins, or named by ApplicationConfig.AccessHelp.Roles):"
        }
    });
    for permission in Permission::ALL {
        let required = config.features.required(permission);
        let granted_by = match (&config.role_grants, required) {
            (Some(grants), Some(required)) if !required.is_empty() => {
                let roles: Vec<&str> = grants.granting(required).collect();
                match roles.is_empty() {
                    true => "  (no role grants it all)".to_string(),
                    false => format!("  (granted by {})", roles.join(", ")),
                }
            }
            _ => String::new(),
        };
        let scopes = match required {
            Some(scopes) => scopes.join(" "),
            None => "off (no one may)".to_string(),
        };
        let defaulted = match config.defaulted_actions.contains(&permission) {
            true if permission == Permission::DeleteIssue => "  (not named: off)",
            true if permission == Permission::ManageLabels => "  (not named: as edit)",
            true if permission == Permission::ReviewAccess => "  (not named: as audit)",
            true => "  (not named: as create)",
            false => "",
        };
        let step_up = match config.features.step_up(permission) {
            Some(max_age) => format!("  (a sign-in within {max_age} s: Features.Issues.StepUp)"),
            None => String::new(),
        };
        table.push_str(&format!(
            "\n{:21}{:<24}{scopes}{defaulted}{granted_by}{step_up}",
            "",
            permission.describe()
        ));
    }
    table
}
