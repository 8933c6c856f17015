//! Log lines that repeat at most so often: a failure that recurs (a save that cannot be
//! written, a flood of refused connections) is logged once per interval with the number
//! of times it was left unsaid, not once per occurrence.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One kind of line's limiter. `const`-constructible, for statics.
pub struct RateLimited {
    every: Duration,
    last: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl RateLimited {
    /// At most once per `every`.
    pub const fn new(every: Duration) -> Self {
        Self { every, last: Mutex::new(None), skipped: AtomicU64::new(0) }
    }

    /// At most once a second.
    pub const fn per_second() -> Self {
        Self::new(Duration::from_secs(1))
    }

    /// Whether to log now: `Some(n)`, with the `n` occurrences left unlogged since the
    /// last line; `None` (and one more left unlogged) otherwise.
    pub fn allow(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < self.every) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(Instant::now());
        Some(self.skipped.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_line_and_a_count() {
        let limiter = RateLimited::new(Duration::from_secs(3600));
        assert_eq!(limiter.allow(), Some(0));
        for _ in 0..5 {
            assert_eq!(limiter.allow(), None);
        }
        let zero = RateLimited::new(Duration::ZERO);
        assert_eq!(zero.allow(), Some(0));
        assert_eq!(zero.allow(), Some(0));
        assert_eq!(limiter.skipped.load(Ordering::Relaxed), 5);
    }
}
