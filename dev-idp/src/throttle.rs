//! Wrong passwords slow a username down. After `FREE_FAILURES` wrong passwords in a row, the
//! next attempt for that username (right or wrong) is refused until a delay has passed: one
//! second, doubling with each further failure up to `MAX_DELAY_SECONDS`. A right password
//! clears the count. Only the directory's usernames are tracked, so the table is as small as
//! the directory.

use std::collections::HashMap;
use std::sync::Mutex;

const FREE_FAILURES: u32 = 3;
const MAX_DELAY_SECONDS: i64 = 8;

#[derive(Default)]
pub struct PasswordThrottle {
    /// username (lower case) -> wrong passwords in a row, and when the last one was.
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl PasswordThrottle {
    /// `Err(seconds)`: `username` may try again only after that many seconds.
    pub fn check(&self, username: &str, now: i64) -> Result<(), i64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&username.to_lowercase()) {
            Some((count, last)) if *count >= FREE_FAILURES => {
                let delay = (1i64 << (*count - FREE_FAILURES).min(3)).min(MAX_DELAY_SECONDS);
                match last + delay - now {
                    wait if wait > 0 => Err(wait),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// A wrong password for `username`, a user of the directory.
    pub fn failed(&self, username: &str, now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = failures.entry(username.to_lowercase()).or_insert((0, now));
        *entry = (entry.0.saturating_add(1), now);
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
            assert_eq!(throttle.check("john", 100), Ok(()));
            throttle.failed("John", 100);
        }
        assert_eq!(throttle.check("JOHN", 100), Err(1));
        assert_eq!(throttle.check("john", 101), Ok(()));
        throttle.failed("john", 101);
        assert_eq!(throttle.check("john", 101), Err(2));
        for _ in 0..10 {
            throttle.failed("john", 200);
        }
        assert_eq!(throttle.check("john", 200), Err(MAX_DELAY_SECONDS));
        assert_eq!(throttle.check("emily", 200), Ok(()), "per username");
        throttle.succeeded("john");
        assert_eq!(throttle.check("john", 200), Ok(()));
    }
}
