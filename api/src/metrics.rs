//! What a node counts as it runs, in the cheapest form that can be read at a scrape:
//! relaxed atomics, fixed histogram buckets, and request counters found by the two
//! `&'static str` names of their call.
//!
//! The counting lives in the crates that do the work (the flusher times fsyncs, the
//! proposer counts commits, the connection loop counts connections); the node's `/metrics`
//! reads these and writes Prometheus' text format (`strata_node::metrics`). No crate
//! below the node depends on an exporter, and counting costs an atomic add, never a lock
//! on the request path once a call's counters exist. Every name a label takes here is a
//! `&'static str` from the code (a store, a method, an outcome): nothing a peer or client
//! sends becomes a label value.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A count that only grows.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero (usable in a `static`).
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (open connections).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// A gauge at zero (usable in a `static`).
    pub const fn new() -> Self {
        Self(AtomicI64::new(0))
    }
    /// Adds `n` (negative to lower it).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Upper bounds of every histogram's buckets, in seconds: from half a millisecond (a
/// read served locally) to ten seconds (a request timing out).
pub const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Durations by [`BUCKETS`] (each observation counts in the first bucket it fits; the
/// exporter makes them cumulative), with their sum in nanoseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

/// A histogram as read at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts per bound of [`BUCKETS`], then `+Inf` (the total count).
    pub cumulative: Vec<u64>,
    /// The sum of the observations, in seconds.
    pub sum_seconds: f64,
}

impl Histogram {
    /// An empty histogram (usable in a `static`).
    pub const fn new() -> Self {
        Self { buckets: [const { AtomicU64::new(0) }; BUCKETS.len() + 1], sum_nanos: AtomicU64::new(0) }
    }

    /// Counts one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The counts now, cumulative as Prometheus wants them.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        HistogramSnapshot { cumulative, sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9 }
    }
}

/// What this process counts outside the request path's own table: one per process (a
/// node is one process; tests that run several nodes in one process share them).
#[derive(Debug, Default)]
pub struct Counters {
    /// Times a group this node replicates saw a new leader.
    pub leader_changes: Counter,
    /// Proposals this node's groups committed (each client write batch is one).
    pub proposals_committed: Counter,
    /// Proposals that failed (not leader, timed out, the group stopped).
    pub proposals_failed: Counter,
    /// Snapshots this node built of its groups' state.
    pub snapshots_built: Counter,
    /// Snapshots this node installed from a leader.
    pub snapshots_installed: Counter,
    /// How long each flush of the database to disk (one fsync'd group commit) took.
    pub fsync: Histogram,
    /// Client keys that failed to authenticate (and peers that failed their hello).
    pub auth_failures: Counter,
    /// Client calls answered busy inside the node (in-flight places, the Cypher pool).
    pub busy: Counter,
    /// Actors restarted by their supervisor, by actor name.
    pub actor_restarts: CallTable,
    /// Client calls by store and method.
    pub calls: CallTable,
    /// Partition searches of vector namespaces this node answered from its own replica:
    /// `[as the leader, as a follower]` (a follower answers `stale_ok` ones).
    pub vector_searches: [Counter; 2],
    /// Scheduled backups that failed.
    pub backup_failures: Counter,
    /// When the newest scheduled backup this node knows of finished (ms since the Unix
    /// epoch; 0: none known, or no schedule).
    pub backup_last_success_ms: Gauge,
}

static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns the request path's counting on or off (a node's `metrics` setting: off only to
/// measure what counting costs).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether requests are counted.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The process's counters.
pub fn counters() -> &'static Counters {
    static COUNTERS: std::sync::OnceLock<Counters> = std::sync::OnceLock::new();
    COUNTERS.get_or_init(Counters::default)
}

/// How a client call ended, as a label value.
pub fn outcome<T>(result: &Result<T, crate::Error>) -> &'static str {
    use crate::Error;
    match result {
        Ok(_) => "ok",
        Err(Error::Busy(_)) => "busy",
        Err(Error::Unauthenticated(_) | Error::PermissionDenied(_)) => "denied",
        Err(Error::LimitExceeded { .. }) => "limited",
        Err(e) if e.is_retryable() => "unavailable",
        Err(e) if e.is_deterministic() => "rejected",
        Err(_) => "failed",
    }
}

/// Every outcome [`outcome`] names, in the order the counters keep them.
pub const OUTCOMES: [&str; 7] = ["ok", "busy", "denied", "limited", "unavailable", "rejected", "failed"];

/// The counters of one `(store, method)`.
#[derive(Debug, Default)]
pub struct CallStats {
    /// Calls by outcome, in [`OUTCOMES`] order.
    pub outcomes: [Counter; OUTCOMES.len()],
    /// How long the calls took inside the node.
    pub seconds: Histogram,
}

impl CallStats {
    /// Counts one call that ended with `outcome` after `took`.
    pub fn record(&self, outcome: &'static str, took: Duration) {
        let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(OUTCOMES.len() - 1);
        self.outcomes[i].inc();
        self.seconds.observe(took);
    }
}

/// The client calls a node served, by store and method.
#[derive(Debug, Default)]
pub struct CallTable {
    calls: RwLock<HashMap<(&'static str, &'static str), Arc<CallStats>>>,
}

impl CallTable {
    /// The counters of `(store, method)`, made on first use (the names are the code's
    /// own, so the table stays as small as the API).
    pub fn of(&self, store: &'static str, method: &'static str) -> Arc<CallStats> {
        if let Some(s) = self.calls.read().unwrap_or_else(|p| p.into_inner()).get(&(store, method)) {
            return s.clone();
        }
        self.calls.write().unwrap_or_else(|p| p.into_inner()).entry((store, method)).or_default().clone()
    }

    /// Every call's counters, sorted by store and method.
    pub fn all(&self) -> Vec<((&'static str, &'static str), Arc<CallStats>)> {
        let mut all: Vec<_> =
            self.calls.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }
}

/// The name serde gives the outermost enum variant of `value` (`None` for a value that
/// is not an enum), and of the enum inside it when that variant wraps one: for
/// `Command::Kv(KvCommand::Put { .. })`, `("kv", Some("put"))` as the types name them.
/// Nothing is serialised beyond the names: the walk stops at the second variant.
pub fn variant_names<T: Serialize + ?Sized>(value: &T) -> (Option<&'static str>, Option<&'static str>) {
    match value.serialize(VariantName { depth: 0 }) {
        Err(Found(names)) => names,
        Ok(()) => (None, None),
    }
}

/// What [`VariantName`] "fails" with: the names it found.
#[derive(Debug)]
struct Found((Option<&'static str>, Option<&'static str>));

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl serde::ser::Error for Found {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Found((None, None))
    }
}

/// A serializer that reads enum variant names and stops (by "failing" with them).
struct VariantName {
    depth: u8,
}

impl VariantName {
    fn found(&self, variant: &'static str) -> Found {
        Found((Some(variant), None))
    }
}

macro_rules! not_an_enum {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), Found> { Err(Found((None, None))) })*
    };
}

impl serde::Serializer for VariantName {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = serde::ser::Impossible<(), Found>;
    type SerializeTuple = serde::ser::Impossible<(), Found>;
    type SerializeTupleStruct = serde::ser::Impossible<(), Found>;
    type SerializeTupleVariant = serde::ser::Impossible<(), Found>;
    type SerializeMap = serde::ser::Impossible<(), Found>;
    type SerializeStruct = serde::ser::Impossible<(), Found>;
    type SerializeStructVariant = serde::ser::Impossible<(), Found>;

    not_an_enum!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Found> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Found> {
        value.serialize(self)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Found> {
        Err(self.found(variant))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Found> {
        if self.depth > 0 {
            return Err(self.found(variant));
        }
        let inner = match value.serialize(VariantName { depth: 1 }) {
            Err(Found((inner, _))) => inner,
            Ok(()) => None,
        };
        Err(Found((Some(variant), inner)))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found((None, None)))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found((None, None)))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found((None, None)))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(self.found(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found((None, None)))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found((None, None)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(self.found(variant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, KvCommand, Query};

    #[test]
    fn a_call_is_named_by_its_two_variants() {
        let put = Command::Kv(KvCommand::Put {
            collection: "c".into(),
            key: "k".into(),
            value: crate::JsonText::from_map(&serde_json::Map::new()),
        });
        let (store, method) = variant_names(&put);
        assert!(store.is_some() && method.is_some(), "{store:?} {method:?}");
        assert_ne!(store, method);
        let get = Query::Kv(crate::query::KvQuery::Get { collection: "c".into(), key: "k".into() });
        let (s2, m2) = variant_names(&get);
        assert_eq!(s2, store, "a kv read and a kv write name the same store");
        assert_ne!(m2, method);
        assert_eq!(variant_names(&5u32), (None, None));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.cumulative.len(), BUCKETS.len() + 1);
        assert_eq!(s.cumulative[0], 1); // ≤ 0.5 ms
        assert_eq!(s.cumulative[3], 2); // ≤ 5 ms
        assert_eq!(s.cumulative[BUCKETS.len() - 1], 2); // ≤ 10 s
        assert_eq!(*s.cumulative.last().unwrap(), 3); // +Inf
        assert!((s.sum_seconds - 60.0031).abs() < 1e-6, "{}", s.sum_seconds);
    }

    #[test]
    fn each_call_counts_once_under_its_outcome() {
        let t = CallTable::default();
        t.of("kv", "put").record(outcome::<()>(&Ok(())), Duration::from_millis(1));
        t.of("kv", "put").record(outcome::<()>(&Err(crate::Error::Busy("x".into()))), Duration::from_millis(1));
        let all = t.all();
        assert_eq!(all.len(), 1);
        let stats = &all[0].1;
        assert_eq!(stats.outcomes[0].get(), 1);
        assert_eq!(stats.outcomes[1].get(), 1);
        assert_eq!(*stats.seconds.snapshot().cumulative.last().unwrap(), 2);
    }
}
