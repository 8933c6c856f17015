//! A cap on the memory the graph builders of a process hold, so that many namespaces
//! building at once (a restore, an import into several namespaces, a node that reopens
//! with large unindexed tails) queue their builds instead of running the node out of
//! memory.
//!
//! What is counted: hnsw_rs's graphs, the part of a namespace's memory that exists only
//! while it builds (a full f32 copy of every vector and a heap node per edge:
//! [`point_bytes`], measured). A builder holds a reservation for the points of its
//! resident graph and grows it before each round of inserts. The rules, which make a
//! deadlock impossible (no builder ever waits while it holds a reservation):
//! - a resident builder grows when the growth fits under the cap, or when it is the only
//!   builder holding any (one build larger than the cap runs alone rather than never);
//! - otherwise it parks (saves its graph whole and drops it, releasing everything) and
//!   queues; queued builders are admitted first come, first served, each when its
//!   reservation fits or when no graph is resident at all;
//! - an idle resident builder parks at once while others queue ([`Budget::has_waiters`]).
//!
//! Searches never wait for any of this: points a graph does not cover yet are searched
//! exactly. A builder that cannot park (no folder to save to: an in-memory namespace) is
//! not counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// hnsw_rs's memory per point beyond its f32 copy of the vector: its point record, the
/// neighbour lists of every layer (up to 32 on layer 0, each an `Arc` and a distance) and
/// the allocator's overhead. Measured at 100k × 384 (docs/benchmarks.md): a namespace held
/// 13.9 KB a vector while building and 7.4 KB parked, so the builder's graph is ~6.5 KB a
/// point, 1.5 KB of it the vector.
pub const POINT_OVERHEAD: u64 = 5_000;

/// The bytes one point of a `dim`-dimensional graph holds while resident.
pub fn point_bytes(dim: usize) -> u64 {
    (dim as u64).saturating_mul(4).saturating_add(POINT_OVERHEAD)
}

/// The process's graph builders' memory cap.
pub struct Budget {
    /// The cap in bytes.
    cap: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
    /// Builders that had to queue, since the process started.
    queued: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Bytes reserved by resident builders.
    used: u64,
    /// The most ever reserved at once.
    peak: u64,
    /// Resident builders holding a reservation.
    holders: usize,
    /// Tickets of queued builders, in arrival order.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// A builder's reservation: the bytes it holds (0: none).
#[derive(Debug, Default)]
pub struct Held(u64);

impl Held {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.0
    }
}

static GLOBAL: OnceLock<Budget> = OnceLock::new();
static CONFIGURED: AtomicU64 = AtomicU64::new(0);

/// Sets the process's cap (a node's `vector_build_memory_bytes`); 0 keeps the default:
/// half the machine's memory. Takes effect at once, for builders already running too.
pub fn configure(bytes: u64) {
    CONFIGURED.store(bytes, Ordering::SeqCst);
    if let Some(b) = GLOBAL.get() {
        b.set_cap(if bytes == 0 { default_cap() } else { bytes });
    }
}

/// The budget every builder of this process shares.
pub fn global() -> &'static Budget {
    GLOBAL.get_or_init(|| {
        let configured = CONFIGURED.load(Ordering::SeqCst);
        Budget::new(if configured == 0 { default_cap() } else { configured })
    })
}

/// Half the machine's memory (8 GiB when it cannot be read).
fn default_cap() -> u64 {
    physical_memory().map_or(8 << 30, |m| m / 2)
}

/// The machine's memory, from `/proc/meminfo` (Linux).
fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

impl Budget {
    /// A budget of `cap` bytes.
    pub fn new(cap: u64) -> Self {
        Self { cap: AtomicU64::new(cap), state: Mutex::default(), changed: Condvar::new(), queued: AtomicU64::new(0) }
    }

    fn set_cap(&self, cap: u64) {
        self.cap.store(cap, Ordering::SeqCst);
        self.changed.notify_all();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cap in bytes.
    pub fn cap(&self) -> u64 {
        self.cap.load(Ordering::SeqCst)
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.state().used
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> u64 {
        self.state().peak
    }

    /// How many builders had to queue so far.
    pub fn queued_total(&self) -> u64 {
        self.queued.load(Ordering::SeqCst)
    }

    /// Whether builders are queued (an idle resident builder then parks).
    pub fn has_waiters(&self) -> bool {
        !self.state().queue.is_empty()
    }

    /// Grows a resident builder's reservation to `want` bytes if the rules allow it now
    /// (see the module doc); answers whether they did. Never waits.
    pub fn try_grow(&self, held: &mut Held, want: u64) -> bool {
        if want <= held.0 {
            return true;
        }
        let mut s = self.state();
        // A builder holding nothing never passes the queue.
        if held.0 == 0 && !s.queue.is_empty() {
            return false;
        }
        let fits = s.used - held.0 + want <= self.cap();
        let alone = held.0 > 0 && s.holders == 1;
        let nothing_resident = s.holders == 0;
        if !(fits || alone || nothing_resident) {
            return false;
        }
        if held.0 == 0 {
            s.holders += 1;
        }
        s.used = s.used - held.0 + want;
        s.peak = s.peak.max(s.used);
        held.0 = want;
        true
    }

    /// Waits its turn for a reservation of `want` bytes (the caller holds none: it parked
    /// or never started); answers it held.
    pub fn admit(&self, want: u64) -> Held {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut s = self.state();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.queue.push_back(ticket);
        self.changed.notify_all(); // idle builders see a waiter
        loop {
            let head = s.queue.front() == Some(&ticket);
            if head && (s.holders == 0 || s.used + want <= self.cap()) {
                s.queue.pop_front();
                s.holders += 1;
                s.used += want;
                s.peak = s.peak.max(s.used);
                self.changed.notify_all(); // the next in line may fit too
                return Held(want);
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Grows a reservation to `want` bytes whatever the cap (a resident graph that could
    /// not be parked: counted, so others wait for it).
    pub fn force(&self, held: &mut Held, want: u64) {
        if want <= held.0 {
            return;
        }
        let mut s = self.state();
        if held.0 == 0 {
            s.holders += 1;
        }
        s.used = s.used - held.0 + want;
        s.peak = s.peak.max(s.used);
        held.0 = want;
    }

    /// Gives a reservation back (the builder parked or stopped).
    pub fn release(&self, held: &mut Held) {
        if held.0 == 0 {
            return;
        }
        let mut s = self.state();
        s.used = s.used.saturating_sub(held.0);
        s.holders = s.holders.saturating_sub(1);
        held.0 = 0;
        drop(s);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn the_default_cap_is_half_the_machine() {
        let total = physical_memory().expect("this machine's memory");
        assert!(total > 1 << 30, "{total}");
        assert_eq!(default_cap(), total / 2);
    }

    #[test]
    fn growth_fits_under_the_cap_or_runs_alone() {
        let b = Budget::new(100);
        let (mut x, mut y) = (Held::default(), Held::default());
        assert!(b.try_grow(&mut x, 60), "a first build starts");
        assert!(b.try_grow(&mut y, 40), "a second fits beside it");
        assert!(!b.try_grow(&mut y, 50), "growing past the cap beside another build");
        assert_eq!((b.used(), y.bytes()), (100, 40), "a refused growth changes nothing");
        b.release(&mut x);
        assert!(b.try_grow(&mut y, 500), "alone, a build may pass the cap");
        assert_eq!(b.used(), 500);
        b.release(&mut y);
        assert_eq!(b.used(), 0);
        let mut z = Held::default();
        assert!(b.try_grow(&mut z, 1_000), "a build larger than the cap starts when nothing is resident");
    }

    #[test]
    fn queued_builders_are_admitted_in_order_once_the_memory_is_free() {
        let b = Arc::new(Budget::new(100));
        let mut resident = Held::default();
        assert!(b.try_grow(&mut resident, 80));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut waiters = Vec::new();
        for (i, want) in [(0, 50u64), (1, 10)] {
            let (budget, tx) = (b.clone(), tx.clone());
            waiters.push(std::thread::spawn(move || {
                let held = budget.admit(want);
                tx.send(i).expect("send");
                held
            }));
            // The second arrives after the first is queued (first come, first served).
            while b.queued_total() < i + 1 {
                std::thread::yield_now();
            }
        }
        assert!(b.has_waiters());
        // The second would fit (80 + 10) but waits behind the first, which does not.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "nobody is admitted while 80 are held");
        let mut fresh = Held::default();
        assert!(!b.try_grow(&mut fresh, 1), "a new build queues behind the waiters");
        b.release(&mut resident);
        let mut admitted: Vec<u64> =
            (0..2).map(|_| rx.recv_timeout(Duration::from_secs(30)).expect("admitted")).collect();
        admitted.sort_unstable();
        assert_eq!(admitted, vec![0, 1], "both fit once the resident build left");
        let mut held: Vec<Held> = waiters.into_iter().map(|w| w.join().expect("join")).collect();
        assert_eq!(b.used(), 60);
        for h in &mut held {
            b.release(h);
        }
        assert!(!b.has_waiters());
        assert_eq!(b.used(), 0);
    }
}
