//! What counts as this machine (loopback: `localhost`, 127.0.0.0/8, `::1`) and which provider URLs
//! are safe by default (https, or http to this machine), and who the client is behind trusted
//! proxies (`TrustedProxies`, `client_address`). Used by the config check, `issues-app check`,
//! the sign-in client, the database and the per-client limits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;
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

/// The proxies whose `X-Forwarded-For` is believed (`Server.TrustedProxies`): addresses and
/// CIDR ranges. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as a dual-stack socket reports
/// an IPv4 peer) is judged as the IPv4 address it carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// This machine: 127.0.0.0/8 and `::1`.
const LOOPBACK: [IpNet; 2] = [
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
];

impl TrustedProxies {
    /// No proxy: every peer is the client.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// A proxy on this machine (127.0.0.0/8, `::1`): the default behind a TLS proxy.
    pub fn loopback() -> Self {
        Self(LOOPBACK.to_vec())
    }

    pub fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges.into_iter().map(|range| range.trunc()).collect())
    }

    /// One entry as config.json writes it: an address (`127.0.0.1`, `::1`) or a CIDR range
    /// (`10.0.0.0/8`); the problem in words otherwise.
    pub fn parse_entry(entry: &str) -> Result<IpNet, String> {
        let entry = entry.trim();
        let parsed = if entry.contains('/') {
            entry.parse::<IpNet>().ok()
        } else {
            entry.parse::<IpAddr>().ok().map(IpNet::from)
        };
        parsed.ok_or_else(|| format!("expected an address or a CIDR range such as 10.0.0.0/8, got `{entry}`"))
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|range| range.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The host an address stands for, for per-client limits: an IPv4 address (also written as
/// `::ffff:a.b.c.d`), or an IPv6 address's /64, since one host is usually given a whole /64.
pub fn host_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(address) => IpAddr::V6((u128::from(address) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// Who is calling, for per-client limits. A peer that is not a trusted proxy is the client,
/// whatever it writes. From a trusted proxy, `X-Forwarded-For` is read from the right, nearest
/// hop first (across every such header, the last one first): trusted proxies are skipped and the
/// first other address is the client; the entries left of it are the client's to write. An entry
/// that is not an address ends the walk at the last trusted hop seen (the one that wrote it cannot
/// be told from the client); when every entry is trusted, the leftmost is the client.
pub fn client_address(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &TrustedProxies) -> IpAddr {
    let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
        // No connection to judge (never with the app's serve loop): no header is believed.
        return IpAddr::from([0, 0, 0, 0]);
    };
    if !trusted.is_trusted(peer) {
        return peer;
    }
    let mut nearest_trusted = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return nearest_trusted;
        };
        for entry in value.rsplit(',') {
            let Some(hop) = forwarded_hop(entry) else {
                return nearest_trusted;
            };
            if !trusted.is_trusted(hop) {
                return hop;
            }
            nearest_trusted = hop;
        }
    }
    nearest_trusted
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as some proxies write it
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn forwarded_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|address| address.ip()))?;
    Some(ip.to_canonical())
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local, shared (100.64/10), unspecified, multicast, broadcast or set aside for
/// documentation; an IPv4 address written as IPv6 is judged as IPv4. What a webhook may reach
/// unless config.json allows it a private one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let [first, second, ..] = v6.segments();
                // IPv4 inside IPv6 by other roads: "compatible" (::a.b.c.d, deprecated),
                // NAT64 (64:ff9b::/96) and 6to4 (2002::/16), judged as the IPv4 they carry.
                let octets = v6.octets();
                let carried = match (first, second) {
                    (0, 0) if v6.segments()[..6] == [0; 6] => Some([octets[12], octets[13], octets[14], octets[15]]),
                    (0x64, 0xff9b) => Some([octets[12], octets[13], octets[14], octets[15]]),
                    (0x2002, _) => Some([octets[2], octets[3], octets[4], octets[5]]),
                    _ => None,
                };
                if let Some(v4) = carried {
                    return is_public(IpAddr::V4(v4.into()));
                }
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
                    // Site-local (deprecated, still routed privately) and documentation.
                    || (first & 0xffc0) == 0xfec0
                    || (first == 0x2001 && second == 0x0db8))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderValue};

    use super::{TrustedProxies, client_address};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            entries
                .iter()
                .map(|entry| TrustedProxies::parse_entry(entry).unwrap())
                .collect(),
        )
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_writes() {
        let headers = forwarded(&["203.0.113.9"]);
        let peer = Some(ip("198.51.100.7"));
        assert_eq!(
            client_address(&headers, peer, &TrustedProxies::none()),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(&headers, peer, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "::1"]);
        // The client wrote a first entry itself; the proxy appended the address it heard from.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(
            client_address(&headers, Some(ip("10.0.0.2")), &proxies),
            ip("203.0.113.9")
        );
        // Two proxies, the outer one trusted too, and the entries split over two headers.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(client_address(&headers, Some(ip("::1")), &proxies), ip("203.0.113.9"));
        // Ports and spaces, as some proxies write them.
        let headers = forwarded(&["[2001:db8::5]:4711 ,  10.0.0.9:80"]);
        assert_eq!(
            client_address(&headers, Some(ip("10.0.0.2")), &proxies),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_at_the_last_trusted_hop() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.9, unknown, 10.0.0.7"]);
        assert_eq!(client_address(&headers, Some(ip("10.0.0.2")), &proxies), ip("10.0.0.7"));
        let headers = forwarded(&["203.0.113.9, "]);
        assert_eq!(client_address(&headers, Some(ip("10.0.0.2")), &proxies), ip("10.0.0.2"));
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_bytes(b"203.0.113.\xff").unwrap());
        assert_eq!(client_address(&headers, Some(ip("10.0.0.2")), &proxies), ip("10.0.0.2"));
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        let headers = forwarded(&["10.9.9.9, 127.0.0.1"]);
        assert_eq!(client_address(&headers, Some(ip("10.0.0.2")), &proxies), ip("10.9.9.9"));
        // No header at all: the proxy itself.
        assert_eq!(
            client_address(&HeaderMap::new(), Some(ip("10.0.0.2")), &proxies),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let proxies = TrustedProxies::loopback();
        assert!(proxies.is_trusted(ip("::ffff:127.0.0.1")));
        assert!(proxies.is_trusted(ip("127.8.9.10")) && proxies.is_trusted(ip("::1")));
        assert!(!proxies.is_trusted(ip("::2")) && !proxies.is_trusted(ip("128.0.0.1")));
        let headers = forwarded(&["::ffff:203.0.113.9"]);
        assert_eq!(
            client_address(&headers, Some(ip("::ffff:127.0.0.1")), &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn entries_are_addresses_or_cidr_ranges() {
        for good in ["10.0.0.0/8", "::1", "127.0.0.1", "2001:db8::/32", " 192.168.1.7/24 "] {
            assert!(TrustedProxies::parse_entry(good).is_ok(), "{good}");
        }
        for bad in ["", "10.0.0.0/33", "localhost", "10.0.0", "10.0.0.0/8/8", "::1/129"] {
            let problem = TrustedProxies::parse_entry(bad).unwrap_err();
            assert!(problem.starts_with("expected an address or a CIDR range"), "{problem}");
        }
        // Host bits are dropped: 192.168.1.7/24 is 192.168.1.0/24.
        let proxies = trusted(&["192.168.1.7/24"]);
        assert!(proxies.is_trusted(ip("192.168.1.200")) && !proxies.is_trusted(ip("192.168.2.1")));
    }

    #[test]
    fn no_connection_believes_no_header() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            client_address(&headers, None, &TrustedProxies::loopback()),
            ip("0.0.0.0")
        );
    }

    #[test]
    fn only_addresses_on_the_internet_are_public() {
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(super::is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "224.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::1",
            "::10.0.0.1",
            "fec0::1",
        ] {
            assert!(!super::is_public(private.parse().unwrap()), "{private}");
        }
    }
}
