//! Calls counted in fixed windows: per client address (`PerClientWindow`: each address, IPv6 by
//! its /64 since one host is usually given a whole /64, or by its /48 where one site must not
//! count as many clients, with its window's start and the calls made in it, in a bounded map),
//! and for all clients together (`AllClientsWindow`: a budget that many addresses cannot
//! multiply).

use std::net::IpAddr;
use std::sync::Mutex;

use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::network;

pub struct PerClientWindow {
    /// When full, a new address keeps the addresses whose window is still open, then the oldest
    /// tracked are dropped: never all at once, since a cleared map would hand every client (the
    /// one filling it too) a fresh window. A tracked address costs no room.
    spent: Mutex<BoundedMap<IpAddr, (i64, u32)>>,
    calls: u32,
    seconds: i64,
    ipv6_client: Ipv6Client,
}

/// How much of an IPv6 address is one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ipv6Client {
    /// Its /64: what one host (or one home) is usually given.
    Host,
    /// Its /48: what one site is usually given, so 65,536 /64s that one holder can spread over.
    Site,
}

/// The first 48 bits of an IPv6 address.
const SITE_MASK: u128 = !(u128::MAX >> 48);

impl PerClientWindow {
    /// `calls` per `seconds` for each client (IPv6: each /64), at most `tracked` clients
    /// remembered.
    pub fn new(calls: u32, seconds: i64, tracked: usize) -> Self {
        Self {
            spent: Mutex::new(BoundedMap::new(tracked, Replacement::Free).evicting_oldest()),
            calls,
            seconds,
            ipv6_client: Ipv6Client::Host,
        }
    }

    /// This window with an IPv6 client counted by its /48, not its /64: for a limit that one
    /// holder of a /48 must not multiply by spreading calls over its /64s. Neighbours who share
    /// a /48 (customers of one provider, one company) share the window too, so it suits a limit
    /// that only a flood reaches.
    pub fn ipv6_by_site(mut self) -> Self {
        self.ipv6_client = Ipv6Client::Site;
        self
    }

    /// Counts one call of `client` at `now` (Unix seconds); when its window is spent, the
    /// seconds until it opens again.
    pub fn spend(&self, client: IpAddr, now: i64) -> Result<(), u64> {
        let client = match (network::host_of(client), self.ipv6_client) {
            (IpAddr::V6(host), Ipv6Client::Site) => IpAddr::V6((u128::from(host) & SITE_MASK).into()),
            (host, _) => host,
        };
        let seconds = self.seconds;
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let window = spent.get_or_insert_with(client, || (now, 0), |_, (start, _)| now - *start < seconds);
        spend_in(window, now, self.calls, seconds)
    }
}

/// Calls by all clients together in a fixed window.
pub struct AllClientsWindow {
    /// The window's start and the calls made in it.
    spent: Mutex<(i64, u32)>,
    calls: u32,
    seconds: i64,
}

impl AllClientsWindow {
    /// `calls` per `seconds`, whoever makes them.
    pub fn new(calls: u32, seconds: i64) -> Self {
        Self {
            spent: Mutex::new((0, 0)),
            calls,
            seconds,
        }
    }

    /// Counts one call at `now` (Unix seconds); when the window is spent, the seconds until it
    /// opens again.
    pub fn spend(&self, now: i64) -> Result<(), u64> {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        spend_in(&mut spent, now, self.calls, self.seconds)
    }
}

/// Counts one call at `now` in `window` (its start, the calls made in it), which starts again
/// once `seconds` have passed; when `calls` are spent, the seconds until it starts again.
fn spend_in(window: &mut (i64, u32), now: i64, calls: u32, seconds: i64) -> Result<(), u64> {
    let (start, spent) = window;
    if now - *start >= seconds {
        (*start, *spent) = (now, 0);
    }
    if *spent >= calls {
        return Err((*start + seconds - now).max(1) as u64);
    }
    *spent += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::{AllClientsWindow, PerClientWindow};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn each_client_has_its_own_window() {
        let window = PerClientWindow::new(2, 10, 100);
        assert_eq!(window.spend(ip("192.0.2.1"), 100), Ok(()));
        assert_eq!(window.spend(ip("192.0.2.1"), 101), Ok(()));
        assert_eq!(window.spend(ip("192.0.2.1"), 103), Err(7));
        assert_eq!(window.spend(ip("192.0.2.2"), 103), Ok(()));
        // One /64 is one client; an IPv4-mapped address is the IPv4 address.
        assert_eq!(window.spend(ip("2001:db8::1"), 103), Ok(()));
        assert_eq!(window.spend(ip("2001:db8::2"), 103), Ok(()));
        assert_eq!(window.spend(ip("2001:db8::3"), 103), Err(10));
        assert_eq!(window.spend(ip("::ffff:192.0.2.1"), 104), Err(6));
        // The window opens again.
        assert_eq!(window.spend(ip("192.0.2.1"), 110), Ok(()));
    }

    #[test]
    fn by_site_one_ipv6_48_is_one_client_and_ipv4_is_unchanged() {
        let window = PerClientWindow::new(2, 10, 100).ipv6_by_site();
        // Two /64s of one /48 share its window.
        assert_eq!(window.spend(ip("2001:db8:1:1::1"), 100), Ok(()));
        assert_eq!(window.spend(ip("2001:db8:1:ffff::9"), 100), Ok(()));
        assert_eq!(window.spend(ip("2001:db8:1:2::1"), 101), Err(9));
        // Another /48 is another client.
        assert_eq!(window.spend(ip("2001:db8:2:1::1"), 101), Ok(()));
        // IPv4 addresses (mapped ones too) are still one client each.
        assert_eq!(window.spend(ip("192.0.2.1"), 101), Ok(()));
        assert_eq!(window.spend(ip("::ffff:192.0.2.1"), 101), Ok(()));
        assert_eq!(window.spend(ip("192.0.2.1"), 101), Err(10));
        assert_eq!(window.spend(ip("192.0.2.2"), 101), Ok(()));
    }

    #[test]
    fn a_flood_of_new_addresses_forgets_only_the_oldest_spent_windows() {
        let window = PerClientWindow::new(1, 60, 16);
        let client = |n: u8| IpAddr::from([198, 51, 100, n]);
        for n in 0..16 {
            assert_eq!(window.spend(client(n), 0), Ok(()));
        }
        // Full of open windows: a new address drops the two oldest (an eighth), not everyone.
        assert_eq!(window.spend(ip("203.0.113.1"), 1), Ok(()));
        assert_eq!(window.spend(client(0), 1), Ok(()), "forgotten");
        assert!((2..16).all(|n| window.spend(client(n), 1).is_err()), "still spent");
    }

    #[test]
    fn all_clients_share_one_budget() {
        let budget = AllClientsWindow::new(3, 60);
        assert_eq!(budget.spend(1_000), Ok(()));
        assert_eq!(budget.spend(1_001), Ok(()));
        assert_eq!(budget.spend(1_002), Ok(()));
        assert_eq!(budget.spend(1_030), Err(30));
        assert_eq!(budget.spend(1_059), Err(1));
        assert_eq!(budget.spend(1_060), Ok(()));
    }
}
