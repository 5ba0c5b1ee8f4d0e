//! Wrong passwords slow down. After `FREE_FAILURES` wrong passwords for one username, every
//! further attempt for it (right or wrong) first waits, doubling from one second up to
//! `MAX_DELAY`, until a right password or `FORGET_AFTER` without failures. Usernames are
//! compared case-insensitively; the table is bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 3;
const MAX_DELAY: Duration = Duration::from_secs(8);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct PasswordThrottle {
    /// username → failures in a row, and when the last one was.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl PasswordThrottle {
    /// How long an attempt for `username` must wait before its password is checked.
    pub fn delay_for(&self, username: &str) -> Duration {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&username.to_lowercase()) {
            Some((count, last)) if *count >= FREE_FAILURES && last.elapsed() < FORGET_AFTER => {
                let doublings = (*count - FREE_FAILURES).min(3);
                (Duration::from_secs(1) * 2u32.pow(doublings)).min(MAX_DELAY)
            }
            _ => Duration::ZERO,
        }
    }

    pub fn failed(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
            if failures.len() >= MAX_TRACKED {
                failures.clear();
            }
        }
        let entry = failures.entry(username.to_lowercase()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), Instant::now());
    }

    pub fn succeeded(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&username.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_wait_longer_and_a_success_clears_them() {
        let throttle = PasswordThrottle::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.delay_for("john"), Duration::ZERO);
            throttle.failed("John");
        }
        assert_eq!(throttle.delay_for("JOHN"), Duration::from_secs(1));
        throttle.failed("john");
        assert_eq!(throttle.delay_for("john"), Duration::from_secs(2));
        for _ in 0..10 {
            throttle.failed("john");
        }
        assert_eq!(throttle.delay_for("john"), MAX_DELAY);
        assert_eq!(throttle.delay_for("emily"), Duration::ZERO, "per username");
        throttle.succeeded("john");
        assert_eq!(throttle.delay_for("john"), Duration::ZERO);
    }
}
