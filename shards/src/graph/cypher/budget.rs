//! What one Cypher query may spend: nesting depth, memory held by its values, and time;
//! and whether its client is still waiting.
//!
//! A read-only query is still a program: `a AND a AND ...` nests as deep as it is long,
//! `[x IN range(1, 200000) | range(1, 200000)]` asks for 40 billion values in 60 bytes,
//! and a cross product of ranges runs for hours. The row limit bounds rows, not what is
//! inside them, so the query carries a budget that the parser and evaluator charge as
//! they go, the same embedded and on a node:
//!
//! * **Depth**: every recursive construct (an expression's operators, chains included;
//!   nested lists, maps, `CASE`, comprehensions) counts against
//!   [`CypherLimits::max_depth`], in the parser and again in the evaluator.
//! * **Memory**: a value is priced ([`super::value::Val::weight`]) *before* it is made
//!   where its size is known in advance (`range()`, `replace()`, `split()`, `+` of strings
//!   and lists, a row copied for `UNWIND` or a match) and as soon as it exists otherwise;
//!   what an expression made on the way to its result is given back once the result is
//!   kept, and a clause's input rows once its output replaced them. Past
//!   [`CypherLimits::max_memory_bytes`] the query fails with `LimitExceeded`.
//! * **Time**: every evaluation step and every row counts a tick; every
//!   [`CHECK_EVERY`] ticks the clock and the cancel flag are read, so a query stops
//!   within microseconds of its deadline or of its client going away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use strata_api::Error;

/// Ticks between two reads of the clock.
pub const CHECK_EVERY: u32 = 256;

/// A query's limits (`[limits]` on a node; the same defaults embedded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CypherLimits {
    /// Deepest nesting of expressions (parser and evaluator).
    pub max_depth: usize,
    /// Most bytes the query's values may hold at once.
    pub max_memory_bytes: usize,
    /// Longest the query may run.
    pub max_time: Duration,
}

impl Default for CypherLimits {
    fn default() -> Self {
        Self { max_depth: 128, max_memory_bytes: 256 << 20, max_time: Duration::from_secs(5) }
    }
}

/// One running query's account.
#[derive(Debug)]
pub struct Budget {
    limits: CypherLimits,
    deadline: Instant,
    cancelled: Arc<AtomicBool>,
    depth: AtomicUsize,
    used: AtomicUsize,
    ticks: AtomicU32,
}

/// The query's depth, one level deeper until dropped.
pub struct Deeper<'a>(&'a Budget);

impl Drop for Deeper<'_> {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::Relaxed);
    }
}

fn exceeded(what: &str, limit: usize, got: usize) -> Error {
    Error::LimitExceeded { what: what.to_string(), limit: limit as u64, got: got as u64 }
}

impl Budget {
    /// A budget starting now, cancelled when `cancelled` is raised.
    pub fn new(limits: CypherLimits, cancelled: Arc<AtomicBool>) -> Self {
        let deadline = Instant::now() + limits.max_time;
        Self {
            limits,
            deadline,
            cancelled,
            depth: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
            ticks: AtomicU32::new(0),
        }
    }

    /// The default limits, never cancelled (tests, and callers without a client).
    pub fn standalone() -> Self {
        Self::new(CypherLimits::default(), Arc::default())
    }

    /// The limits.
    pub fn limits(&self) -> &CypherLimits {
        &self.limits
    }

    /// One level deeper (and a tick), or the depth error past the limit.
    pub fn deeper(&self) -> Result<Deeper<'_>, Error> {
        let depth = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = Deeper(self);
        if depth > self.limits.max_depth {
            return Err(exceeded("nesting depth of a Cypher expression", self.limits.max_depth, depth));
        }
        self.tick()?;
        Ok(guard)
    }

    /// One step of work; every [`CHECK_EVERY`] steps, the deadline and the cancel flag.
    pub fn tick(&self) -> Result<(), Error> {
        if self.ticks.fetch_add(1, Ordering::Relaxed).is_multiple_of(CHECK_EVERY) {
            self.check()?;
        }
        Ok(())
    }

    /// The deadline and the cancel flag, now.
    pub fn check(&self) -> Result<(), Error> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::Unavailable("the Cypher query was cancelled: its client went away".into()));
        }
        if Instant::now() > self.deadline {
            let ms = self.limits.max_time.as_millis() as usize;
            return Err(exceeded("milliseconds of a Cypher query", ms, ms + 1));
        }
        Ok(())
    }

    /// Charges `bytes` the query is about to hold; past the limit, an error (and nothing
    /// charged).
    pub fn charge(&self, bytes: usize) -> Result<(), Error> {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        let now = before.saturating_add(bytes);
        if now > self.limits.max_memory_bytes {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
            return Err(exceeded("bytes of values a Cypher query holds", self.limits.max_memory_bytes, now));
        }
        Ok(())
    }

    /// Gives back `bytes` no longer held.
    pub fn release(&self, bytes: usize) {
        let _ = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| Some(u.saturating_sub(bytes)));
    }

    /// What the query holds now (a mark to [`Budget::reset_to`]).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Back to a mark: what was charged since is no longer held.
    pub fn reset_to(&self, mark: usize) {
        self.used.store(mark.min(self.used()), Ordering::Relaxed);
    }
}

/// Raises a query's cancel flag when dropped: the future awaiting a query holds it, so a
/// client that goes away (its request's future dropped) stops the query.
pub struct CancelOnDrop(pub Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_and_given_back() {
        let b = Budget::new(CypherLimits { max_depth: 2, ..CypherLimits::default() }, Arc::default());
        let one = b.deeper().unwrap();
        let two = b.deeper().unwrap();
        assert!(matches!(b.deeper(), Err(Error::LimitExceeded { limit: 2, got: 3, .. })));
        drop(two);
        let _again = b.deeper().unwrap();
        drop(one);
    }

    #[test]
    fn memory_past_the_limit_is_refused_and_not_charged() {
        let b = Budget::new(CypherLimits { max_memory_bytes: 100, ..CypherLimits::default() }, Arc::default());
        b.charge(60).unwrap();
        assert!(b.charge(50).is_err());
        assert_eq!(b.used(), 60);
        b.release(30);
        b.charge(50).unwrap();
        let mark = b.used();
        b.charge(10).unwrap();
        b.reset_to(mark);
        assert_eq!(b.used(), 80);
    }

    #[test]
    fn time_and_cancellation_stop_the_query() {
        let b = Budget::new(CypherLimits { max_time: Duration::ZERO, ..CypherLimits::default() }, Arc::default());
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(b.check(), Err(Error::LimitExceeded { .. })));
        let flag = Arc::new(AtomicBool::new(false));
        let b = Budget::new(CypherLimits::default(), flag.clone());
        assert!(b.check().is_ok());
        drop(CancelOnDrop(flag));
        assert!(matches!(b.check(), Err(Error::Unavailable(_))));
    }
}
