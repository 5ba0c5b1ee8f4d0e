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
