//! Calls per client address in a fixed window: each address (IPv6 by its /64, since one host is
//! usually given a whole /64) with its window's start and the calls made in it, in a bounded map.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::server::support::bounded_map::{BoundedMap, Replacement};

pub struct PerClientWindow {
    /// When full, a new address keeps the addresses whose window is still open; a tracked
    /// address costs no room.
    spent: Mutex<BoundedMap<IpAddr, (i64, u32)>>,
    calls: u32,
    seconds: i64,
}

impl PerClientWindow {
    /// `calls` per `seconds` for each client, at most `tracked` clients remembered.
    pub fn new(calls: u32, seconds: i64, tracked: usize) -> Self {
        Self {
            spent: Mutex::new(BoundedMap::new(tracked, Replacement::Free)),
            calls,
            seconds,
        }
    }

    /// Counts one call of `client` at `now` (Unix seconds); when its window is spent, the
    /// seconds until it opens again.
    pub fn spend(&self, client: IpAddr, now: i64) -> Result<(), u64> {
        let client = match client {
            IpAddr::V6(address) => IpAddr::V6((u128::from(address) & !u128::from(u64::MAX)).into()),
            v4 => v4,
        };
        let seconds = self.seconds;
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let (start, calls) = spent.get_or_insert_with(client, || (now, 0), |_, (start, _)| now - *start < seconds);
        if now - *start >= seconds {
            (*start, *calls) = (now, 0);
        }
        if *calls >= self.calls {
            return Err((*start + seconds - now).max(1) as u64);
        }
        *calls += 1;
        Ok(())
    }
}
