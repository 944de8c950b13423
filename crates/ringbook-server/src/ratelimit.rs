//! Keyed rate limiting (GCRA via `governor`) for codes, logins and look-ups.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

pub struct KeyedLimiter {
    inner: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyedLimiter {
    pub fn per_hour(n: u32) -> Self {
        Self::new(Quota::per_hour(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)))
    }

    pub fn per_minute(n: u32) -> Self {
        Self::new(Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)))
    }

    pub fn per_second(n: u32) -> Self {
        Self::new(Quota::per_second(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)))
    }

    fn new(quota: Quota) -> Self {
        KeyedLimiter { inner: governor::RateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// `Ok` when `key` may go on now; otherwise how long to wait.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.inner
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets idle keys so memory does not grow with every number ever seen.
    pub fn retain_recent(&self) {
        self.inner.retain_recent();
    }
}
