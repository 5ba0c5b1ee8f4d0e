//! Wrong passwords slow a username down. Every attempt counts as a failure until its password
//! proves right (so attempts made in parallel are counted too); after `FREE_FAILURES` in a
//! row, the next attempt for that username (right or wrong) is refused until a delay has
//! passed: one second, doubling with each further failure up to `MAX_DELAY_SECONDS`. A right
//! password clears the count. Only the directory's usernames are tracked (as the directory
//! spells them), so the table is as small as the directory.

use std::collections::HashMap;
use std::sync::Mutex;

const FREE_FAILURES: u32 = 3;
const MAX_DELAY_SECONDS: i64 = 8;

#[derive(Default)]
pub struct PasswordThrottle {
    /// username -> attempts not proven right, in a row, and when the last one began.
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl PasswordThrottle {
    /// Begins an attempt for `username`, a user of the directory: `Err(seconds)` when it may
    /// try again only after that many seconds; otherwise the attempt is counted as failed until
    /// [`Self::succeeded`] says otherwise.
    pub fn begin(&self, username: &str, now: i64) -> Result<(), i64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, last) = failures.entry(username.to_string()).or_insert((0, now));
        if *count >= FREE_FAILURES {
            let delay = (1i64 << (*count - FREE_FAILURES).min(3)).min(MAX_DELAY_SECONDS);
            let wait = *last + delay - now;
            if wait > 0 {
                return Err(wait);
            }
        }
        *count = count.saturating_add(1);
        *last = now;
        Ok(())
    }

    pub fn succeeded(&self, username: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_wait_longer_and_a_success_clears_them() {
        let throttle = PasswordThrottle::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.begin("john", 100), Ok(()));
        }
        assert_eq!(throttle.begin("john", 100), Err(1));
        assert_eq!(throttle.begin("john", 101), Ok(()));
        assert_eq!(throttle.begin("john", 101), Err(2));
        assert_eq!(throttle.begin("john", 103), Ok(()));
        for now in [107, 115, 123, 131] {
            assert_eq!(throttle.begin("john", now), Ok(()));
        }
        assert_eq!(throttle.begin("john", 131), Err(MAX_DELAY_SECONDS));
        assert_eq!(throttle.begin("emily", 131), Ok(()), "per username");
        throttle.succeeded("john");
        assert_eq!(throttle.begin("john", 131), Ok(()));
    }
}
