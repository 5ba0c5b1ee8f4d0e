//! What counts as this machine (loopback: `localhost`, 127.0.0.0/8, `::1`) and which provider URLs
//! are safe by default (https, or http to this machine). Used by the config check, `issues-app
//! check`, the sign-in client and the database.

use url::Url;

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

/// Who is calling, for per-client limits: the connection's peer; behind the TLS proxy
/// (`Server.TlsTerminatedByProxy`), the address the proxy appended last to `X-Forwarded-For`
/// (the earlier ones are the client's to write).
pub fn client_address(
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::IpAddr>,
    behind_proxy: bool,
) -> std::net::IpAddr {
    let forwarded = behind_proxy
        .then(|| headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    forwarded.or(peer).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}
