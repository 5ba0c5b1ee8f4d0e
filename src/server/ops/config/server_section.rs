//! The `Server` section (and where the database and metrics are): listen address, cookies,
//! limits, connection caps and trusted proxies, checked as part of `Checker::check`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use url::Url;

use super::checked::{ConnectionLimits, Overrides};
use super::checker::Checker;
use super::file::{ConfigError, ServerSection};
use crate::server::storage::database_url::DatabaseUrl;
use crate::server::support::network::TrustedProxies;

impl Checker<'_> {
    /// Where the app listens: `LEPTOS_SITE_ADDR`, else `Server.ListenAddress`, else this machine
    /// on `HostedUrl`'s port.
    pub(super) fn listen(
        &self,
        server: &ServerSection,
        overrides: &Overrides,
        hosted_url: &Url,
    ) -> Result<SocketAddr, ConfigError> {
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
        Ok(listen)
    }

    /// An https `HostedUrl` exactly when a TLS proxy is in front (`Server.TlsTerminatedByProxy`);
    /// then cookies are `Secure`.
    pub(super) fn secure_cookies(
        &self,
        server: &ServerSection,
        hosted_url: &Url,
        listen: SocketAddr,
    ) -> Result<bool, ConfigError> {
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
        Ok(secure_cookies)
    }

    /// `Server`'s numbers: session lengths, provider timeout, retention and pool size in range.
    pub(super) fn server_limits(&self, server: &ServerSection) -> Result<(), ConfigError> {
        if server.session_idle_minutes == 0 {
            return Err(self.fail("Server.SessionIdleMinutes", "expected a positive number of minutes"));
        }
        if server.session_absolute_hours == 0 {
            return Err(self.fail("Server.SessionAbsoluteHours", "expected a positive number of hours"));
        }
        if !(1..=120).contains(&server.identity_provider_timeout_seconds) {
            return Err(self.fail("Server.IdentityProviderTimeoutSeconds", "expected 1 to 120 seconds"));
        }
        if !(1..=3650).contains(&server.audit_retention_days) {
            return Err(self.fail("Server.AuditRetentionDays", "expected 1 to 3650 days"));
        }
        if !(1..=100_000).contains(&server.code_exchanges_per_minute) {
            return Err(self.fail("Server.CodeExchangesPerMinute", "expected 1 to 100000"));
        }
        if !(1..=3650).contains(&server.deleted_retention_days) {
            return Err(self.fail("Server.DeletedRetentionDays", "expected 1 to 3650 days"));
        }
        if server.database_max_connections == 0 {
            return Err(self.fail("Server.DatabaseMaxConnections", "expected at least 1"));
        }
        Ok(())
    }

    /// The edge's timers and caps in range; one client's share of the connections defaults to
    /// half of them (so one host cannot hold every slot) and is never more than all of them.
    pub(super) fn connection_limits(&self, server: &ServerSection) -> Result<ConnectionLimits, ConfigError> {
        if !(1..=30).contains(&server.header_timeout_seconds) {
            return Err(self.fail("Server.HeaderTimeoutSeconds", "expected 1 to 30 seconds"));
        }
        if !(1..=600).contains(&server.request_timeout_seconds) {
            return Err(self.fail("Server.RequestTimeoutSeconds", "expected 1 to 600 seconds"));
        }
        if !(1..=3600).contains(&server.write_timeout_seconds) {
            return Err(self.fail("Server.WriteTimeoutSeconds", "expected 1 to 3600 seconds"));
        }
        let max_open_connections = server.max_open_connections;
        if !(1..=100_000).contains(&max_open_connections) {
            return Err(self.fail("Server.MaxOpenConnections", "expected 1 to 100000"));
        }
        let max_connections_per_client = match server.max_connections_per_client {
            None => max_open_connections.div_ceil(2).max(1),
            Some(per_client) if !(1..=100_000).contains(&per_client) => {
                return Err(self.fail("Server.MaxConnectionsPerClient", "expected 1 to 100000"));
            }
            Some(per_client) if per_client > max_open_connections => {
                return Err(self.fail(
                    "Server.MaxConnectionsPerClient",
                    format!(
                        "is {per_client}, more than Server.MaxOpenConnections ({max_open_connections}): \
                         expected at most {max_open_connections}"
                    ),
                ));
            }
            Some(per_client) => per_client,
        };
        Ok(ConnectionLimits {
            header_timeout: Duration::from_secs(server.header_timeout_seconds),
            max_open_connections,
            max_connections_per_client,
            write_timeout: Duration::from_secs(server.write_timeout_seconds),
            request_timeout: Duration::from_secs(server.request_timeout_seconds),
        })
    }

    /// `Server.TrustedProxies`: addresses and CIDR ranges; absent, this machine's addresses
    /// behind a TLS proxy (one on the same machine is the common case), else none. A range that
    /// holds every address is refused: every client could then write its own address.
    pub(super) fn trusted_proxies(&self, server: &ServerSection) -> Result<TrustedProxies, ConfigError> {
        let Some(entries) = &server.trusted_proxies else {
            return Ok(if server.tls_terminated_by_proxy {
                TrustedProxies::loopback()
            } else {
                TrustedProxies::none()
            });
        };
        let mut ranges = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let field = format!("Server.TrustedProxies[{index}]");
            let range = TrustedProxies::parse_entry(entry).map_err(|problem| self.fail(&field, problem))?;
            if range.prefix_len() == 0 {
                return Err(self.fail(
                    &field,
                    format!(
                        "`{}` holds every address, so any client could say who it is: name your proxies' \
                         addresses or ranges",
                        entry.trim()
                    ),
                ));
            }
            ranges.push(range);
        }
        Ok(TrustedProxies::new(ranges))
    }

    /// The database: `ISSUES_APP_DATABASE_URL`, else `Server.DatabaseUrl`, else SQLite in the data
    /// directory.
    pub(super) fn database_url(
        &self,
        configured: Option<String>,
        overrides: &Overrides,
        data_dir: &Path,
    ) -> Result<DatabaseUrl, ConfigError> {
        match overrides.database_url.clone().or(configured) {
            Some(url) => DatabaseUrl::parse(&url).map_err(|problem| self.fail("Server.DatabaseUrl", problem)),
            None => Ok(DatabaseUrl::sqlite_in(data_dir)),
        }
    }

    /// `Server.MetricsListen`: where `/metrics` is served, if anywhere; on this machine only,
    /// unless `Server.MetricsBeyondLoopback` says otherwise (what it shows is for operators).
    pub(super) fn metrics_listen(
        &self,
        metrics_listen: Option<&str>,
        beyond_loopback: bool,
    ) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(text) = metrics_listen else {
            return Ok(None);
        };
        let address = text.parse::<SocketAddr>().map_err(|_| {
            self.fail(
                "Server.MetricsListen",
                format!("expected an address like 127.0.0.1:9100, got `{text}`"),
            )
        })?;
        if !beyond_loopback && !address.ip().to_canonical().is_loopback() {
            return Err(self.fail(
                "Server.MetricsListen",
                format!(
                    "`{text}` is reachable from other machines: use a loopback address such as \
                     127.0.0.1:{port}, or set Server.MetricsBeyondLoopback to true (and keep it off the internet)",
                    port = address.port()
                ),
            ));
        }
        Ok(Some(address))
    }
}
