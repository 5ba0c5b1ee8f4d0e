//! Time as a value the tests can move (feature `testing`): every timestamp the provider writes comes from here.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    /// Seconds since the Unix epoch, shifted by the test offset.
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or_default();
        real + self.offset_seconds.load(Ordering::Relaxed)
    }

    /// Moves the provider's clock by `seconds` (negative: into the past).
    #[cfg(feature = "testing")]
    pub fn shift(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}
