//! The approximate index of one namespace: hnsw_rs builds the graph on a thread of its
//! own (an insert costs about a millisecond, far too slow for the write path), and every
//! so often publishes a [`graph::Graph`] copy that queries search. Slots the published
//! graph does not cover yet are searched exactly by the caller, so a write is searchable
//! as soon as it is applied. The builder also saves the graph ([`saved`]) when asked (a
//! raft snapshot) and when it goes idle having grown a good deal since its last save.
//!
//! hnsw_rs's graph holds a full f32 copy of every vector and a heap node per edge, about
//! half a namespace's memory, yet only inserts need it: searches walk the published copy.
//! So a builder that stays idle for [`SaveTo::park_after`] saves the graph in full and
//! drops it ("parks"); the next insert loads it back from that save first. Should that
//! load fail (the files gone or damaged), the builder reports itself broken and the
//! namespace starts a new one from its vectors. A builder that had to load its graph back
//! waits twice as long before parking again (up to an hour), so a namespace written every
//! few minutes stays resident rather than saving and loading its whole graph each time.
//! Each save also holds the searchable copy ([`graph_file`]), so a reopened namespace
//! starts parked: it searches that copy and loads hnsw_rs's graph only when a write comes.

pub mod budget;
pub mod graph;
pub mod graph_file;
pub mod saved;

use super::simd;
use graph::Graph;
use hnsw_rs::anndists::dist::Distance as HnswDistance;
use hnsw_rs::prelude::Hnsw;
use saved::HnswGraph;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use strata_api::Distance;

/// Neighbours per node and layer (M) of the graphs we build.
pub const MAX_NEIGHBOURS: usize = 16;
/// Candidates considered while inserting.
pub const EF_CONSTRUCTION: usize = 200;
/// The most points one round of the builder inserts.
const ROUND: usize = 20_000;
/// New points that make the builder publish a graph copy at once (or a tenth of those
/// already published, when more).
const PUBLISH_MIN: u32 = 2_000;
/// How long the builder waits for more points before it publishes what it has.
const IDLE_PUBLISH: Duration = Duration::from_millis(200);
/// An idle builder saves its graph once it covers this fraction more points than the last
/// save did (a restart then re-inserts at most about that many).
const SAVE_GROWTH: f64 = 0.1;

/// The distance hnsw_rs builds with: ours, which cannot panic (anndists' `DistDot`
/// asserts on unnormalised input). Cosine vectors arrive normalised, so it is `1 - dot`.
#[derive(Clone, Copy, Debug)]
pub struct BuildDistance(pub Distance);

impl HnswDistance<f32> for BuildDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.0 {
            Distance::Cosine => (1.0 - simd::dot(a, b)).max(0.0),
            Distance::Dot => 1.0 - simd::dot(a, b),
            Distance::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
        }
    }
}

struct Published {
    /// The searchable graph, and whether the builder holds hnsw_rs's graph or has parked it.
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    graph: Option<Arc<Graph>>,
    builder: BuilderState,
}

/// Where the builder's hnsw_rs graph is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuilderState {
    /// In memory, taking inserts.
    #[default]
    Resident,
    /// Saved in full and dropped from memory; loaded back on the next insert.
    Parked,
    /// Its saved graph could not be loaded back: the builder stopped, and the namespace
    /// must start a new one.
    Broken,
}

/// What the builder is asked to do.
enum Job {
    /// Insert a point: its slot, the vector to index, its node id and the fingerprint of
    /// the vector as stored.
    Insert(u32, Vec<f32>, Arc<str>, u64),
    /// Save the graph if it changed since the last save; report when done.
    Save(Option<mpsc::Sender<bool>>),
}

/// How long a builder stays idle before it parks its graph (see the module doc).
pub const PARK_AFTER: Duration = Duration::from_secs(60);
/// How often an idle builder holding memory of the [`budget`] looks for queued builds
/// (it parks at once when there are).
const WAITER_POLL: Duration = Duration::from_millis(500);
/// The longest a builder that keeps taking writes waits before parking.
const PARK_AFTER_MAX: Duration = Duration::from_secs(3600);

/// Where and how a builder saves its graph.
#[derive(Clone, Debug)]
pub struct SaveTo {
    /// The namespace's folder of saved graphs.
    pub dir: PathBuf,
    /// The namespace's dimension.
    pub dim: u32,
    /// How long the builder stays idle before it parks its graph on disk.
    pub park_after: Duration,
}

/// A namespace's approximate index. Dropping it stops its builder.
pub struct Ann {
    tx: mpsc::Sender<Job>,
    published: Arc<Published>,
}

/// The builder's state: hnsw_rs's graph and who its points are.
struct Builder {
    distance: Distance,
    /// `None` while parked (then the last save holds every point).
    hnsw: Option<HnswGraph>,
    /// Node id and vector fingerprint of each slot inserted so far.
    names: Vec<(Arc<str>, u64)>,
    save_to: Option<SaveTo>,
    saved_upto: u32,
    /// Whether the last save holds the searchable copy too (saves of older versions do
    /// not: the next save writes everything again).
    saved_search: bool,
    /// How long to stay idle before parking: [`SaveTo::park_after`], doubled by every
    /// load back.
    park_after: Duration,
    /// The memory cap builders share (none for a builder that cannot park), and what
    /// this one holds of it.
    budget: Option<&'static budget::Budget>,
    held: budget::Held,
}

impl Drop for Builder {
    fn drop(&mut self) {
        if let Some(b) = self.budget {
            b.release(&mut self.held);
        }
    }
}

impl Builder {
    /// A builder whose points so far, `names`, all came from the last save.
    fn new(
        distance: Distance,
        hnsw: Option<HnswGraph>,
        names: Vec<(Arc<str>, u64)>,
        save_to: Option<SaveTo>,
        saved_search: bool,
    ) -> Self {
        let saved_upto = names.len() as u32;
        let park_after = save_to.as_ref().map_or(PARK_AFTER, |s| s.park_after);
        let budget = save_to.as_ref().map(|_| budget::global());
        let held = budget::Held::default();
        Self { distance, hnsw, names, save_to, saved_upto, saved_search, park_after, budget, held }
    }
}

impl Ann {
    /// Starts a builder for vectors under `distance`, saving to `save_to` when set.
    pub fn start(distance: Distance, expected: usize, save_to: Option<SaveTo>) -> Self {
        let hnsw = Hnsw::new(MAX_NEIGHBOURS, expected.max(1024), 16, EF_CONSTRUCTION, BuildDistance(distance));
        Self::spawn(Builder::new(distance, Some(hnsw), Vec::new(), save_to, false), None)
    }

    /// Resumes building on a saved graph whose points are slots `0..names.len()` (named
    /// by node id and fingerprint); its copy is searchable as soon as this returns.
    pub fn resume(distance: Distance, hnsw: HnswGraph, names: Vec<(Arc<str>, u64)>, save_to: Option<SaveTo>) -> Self {
        let graph = Arc::new(Graph::export(&hnsw, names.len() as u32, distance));
        Self::spawn(Builder::new(distance, Some(hnsw), names, save_to, false), Some(graph))
    }

    /// Resumes from a saved graph's searchable copy alone, whose points are slots
    /// `0..names.len()`: the builder starts parked (the save holds hnsw_rs's graph, loaded
    /// when a point is inserted), so a reopened namespace that only answers queries never
    /// loads hnsw_rs's graph.
    pub fn resume_parked(distance: Distance, graph: Graph, names: Vec<(Arc<str>, u64)>, save_to: SaveTo) -> Self {
        Self::spawn(Builder::new(distance, None, names, Some(save_to), true), Some(Arc::new(graph)))
    }

    fn spawn(builder: Builder, graph: Option<Arc<Graph>>) -> Self {
        let (tx, rx) = mpsc::channel();
        let state = if builder.hnsw.is_some() { BuilderState::Resident } else { BuilderState::Parked };
        let state = State { graph, builder: state };
        let published = Arc::new(Published { state: Mutex::new(state), changed: Condvar::new() });
        let shared = published.clone();
        let spawned = std::thread::Builder::new().name("strata-hnsw".into()).spawn(move || builder.run(rx, &shared));
        if let Err(e) = spawned {
            // Searches then stay exact: slower, never wrong.
            tracing::error!(error = %e, "cannot start an HNSW builder thread");
        }
        Self { tx, published }
    }

    /// Queues `vector` (normalised for cosine by the caller) as slot `slot`, the vector of
    /// node `node_id` stored with fingerprint `fingerprint`; slots must come in
    /// increasing order.
    pub fn insert(&self, slot: u32, vector: Vec<f32>, node_id: Arc<str>, fingerprint: u64) {
        let _ = self.tx.send(Job::Insert(slot, vector, node_id, fingerprint));
    }

    /// Asks the builder to save its graph (once the points queued so far are in it).
    pub fn save(&self) {
        let _ = self.tx.send(Job::Save(None));
    }

    /// As [`Ann::save`], waiting at most `timeout`; answers whether a save holding every
    /// point queued so far is on disk.
    pub fn save_and_wait(&self, timeout: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Job::Save(Some(tx))).is_err() {
            return false;
        }
        rx.recv_timeout(timeout).unwrap_or(false)
    }

    /// The newest published graph.
    pub fn graph(&self) -> Option<Arc<Graph>> {
        self.published.state().graph.clone()
    }

    /// Where the builder's graph is.
    pub fn builder_state(&self) -> BuilderState {
        self.published.state().builder
    }

    /// Waits (at most `timeout`) until a published graph covers `slots` slots; answers
    /// whether one does (false at once for a broken builder).
    pub fn wait_covering(&self, slots: u32, timeout: Duration) -> bool {
        let covers = |s: &State| s.graph.as_ref().is_some_and(|g| g.covered >= slots);
        let guard = self.published.state();
        let (guard, _) = self
            .published
            .changed
            .wait_timeout_while(guard, timeout, |s| !covers(s) && s.builder != BuilderState::Broken)
            .unwrap_or_else(|p| p.into_inner());
        covers(&guard)
    }

    /// Waits (at most `timeout`) until the builder is in state `wanted`; answers whether it is.
    pub fn wait_builder(&self, wanted: BuilderState, timeout: Duration) -> bool {
        let guard = self.published.state();
        let (guard, _) = self
            .published
            .changed
            .wait_timeout_while(guard, timeout, |s| s.builder != wanted)
            .unwrap_or_else(|p| p.into_inner());
        guard.builder == wanted
    }
}

impl Published {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_builder(&self, builder: BuilderState) {
        self.state().builder = builder;
        self.changed.notify_all();
    }
}

impl Builder {
    fn covered(&self) -> u32 {
        self.names.len() as u32
    }

    /// Whether the graph has grown enough since the last save to save again.
    fn grown(&self) -> bool {
        f64::from(self.covered()) >= f64::from(self.saved_upto) * (1.0 + SAVE_GROWTH) + 1.0
    }

    /// Whether the builder may park: its graph is in memory and can be saved.
    fn can_park(&self) -> bool {
        self.hnsw.is_some() && self.save_to.is_some() && self.covered() > 0
    }

    fn run(mut self, rx: mpsc::Receiver<Job>, published: &Published) {
        let mut published_upto = published.state().graph.as_ref().map_or(0, |g| g.covered);
        if let (Some(b), Some(_)) = (self.budget, &self.hnsw) {
            // A graph loaded resident counts at once (over the cap if need be: it is here).
            let bytes = self.bytes_for(0);
            b.force(&mut self.held, bytes);
        }
        let mut quiet_since = Instant::now();
        loop {
            // With points not yet published or saved, wait only a little: an idle builder
            // publishes and saves; with nothing pending, wait to park (at once while other
            // builds queue for the memory this one holds).
            let pending = self.covered() > published_upto || (self.save_to.is_some() && self.grown());
            let others_wait = self.held.bytes() > 0 && self.budget.is_some_and(|b| b.has_waiters());
            let park_after = Some(if others_wait { Duration::ZERO } else { self.park_after })
                .filter(|_| !pending && self.can_park());
            let wait = match park_after {
                _ if pending => IDLE_PUBLISH,
                Some(after) => after.saturating_sub(quiet_since.elapsed()),
                None => Duration::from_secs(3600),
            };
            let wait = if self.held.bytes() > 0 { wait.min(WAITER_POLL) } else { wait };
            let mut inserts = Vec::new();
            let mut waiters: Vec<Option<mpsc::Sender<bool>>> = Vec::new();
            let idle = match rx.recv_timeout(wait) {
                Ok(first) => {
                    quiet_since = Instant::now();
                    let mut job = Some(first);
                    while let Some(j) = job.take() {
                        match j {
                            Job::Insert(slot, v, name, fp) => inserts.push((slot, v, name, fp)),
                            Job::Save(reply) => waiters.push(reply),
                        }
                        if inserts.len() < ROUND {
                            job = rx.try_recv().ok();
                        }
                    }
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => true,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            if idle && park_after.is_some_and(|after| quiet_since.elapsed() >= after) {
                self.park(published);
                continue;
            }
            if idle && !pending {
                continue; // a poll for queued builds
            }
            if !inserts.is_empty() && !self.make_room(published, inserts.len()) {
                for waiter in waiters.into_iter().flatten() {
                    let _ = waiter.send(false);
                }
                return;
            }
            self.insert_all(inserts);
            // Copying the graph costs a pass over it: do it when enough is new, when idle,
            // or before a save.
            let new = self.covered() - published_upto;
            if let Some(hnsw) = &self.hnsw
                && new > 0
                && (idle || !waiters.is_empty() || new >= PUBLISH_MIN.max(published_upto / 10))
            {
                let graph = Arc::new(Graph::export(hnsw, self.covered(), self.distance));
                published.state().graph = Some(graph);
                published.changed.notify_all();
                published_upto = self.covered();
            }
            if !waiters.is_empty() || (idle && self.grown()) {
                let ok = self.save(published);
                for waiter in waiters.into_iter().flatten() {
                    let _ = waiter.send(ok);
                }
            }
        }
    }

    /// The budget's bytes for the graph's points and `more`.
    fn bytes_for(&self, more: usize) -> u64 {
        let dim = self.save_to.as_ref().map_or(0, |s| s.dim as usize);
        budget::point_bytes(dim).saturating_mul((self.covered() as usize + more) as u64)
    }

    /// Readies the graph for `more` points: memory reserved under the [`budget`] (this
    /// builder parks and queues when the cap is reached beside other builds) and the
    /// graph resident; answers false when a parked graph cannot be loaded back.
    fn make_room(&mut self, published: &Published, more: usize) -> bool {
        if let Some(b) = self.budget {
            let want = self.bytes_for(more);
            if !b.try_grow(&mut self.held, want) {
                if self.covered() > 0 {
                    self.park(published);
                }
                if self.held.bytes() == 0 {
                    tracing::debug!(points = self.covered(), more, "HNSW build queued for memory");
                    self.held = b.admit(want);
                } else {
                    // Could not park (the save failed): the graph is here either way.
                    b.force(&mut self.held, want);
                }
            }
        }
        self.hnsw.is_some() || self.unpark(published)
    }

    /// Saves the whole graph and drops it from memory (kept when the save fails).
    fn park(&mut self, published: &Published) {
        if self.save(published) {
            self.hnsw = None;
            if let Some(b) = self.budget {
                b.release(&mut self.held);
            }
            release_freed_memory();
            published.set_builder(BuilderState::Parked);
            tracing::debug!(points = self.covered(), "HNSW builder parked its graph on disk");
        }
    }

    /// Loads the parked graph back; answers whether it did (else the builder is broken).
    fn unpark(&mut self, published: &Published) -> bool {
        let Some(to) = &self.save_to else { return false };
        let loaded = saved::load(&to.dir, self.distance, to.dim).and_then(|l| {
            let l = l.ok_or_else(|| std::io::Error::other("no saved graph"))?;
            let same = l.manifest.fingerprints.len() == self.names.len()
                && l.manifest.fingerprints.iter().zip(&self.names).all(|(fp, (_, mine))| fp == mine);
            if same { Ok(l.hnsw) } else { Err(std::io::Error::other("the saved graph is not the parked one")) }
        });
        match loaded {
            Ok(hnsw) => {
                self.hnsw = Some(hnsw);
                self.park_after = (self.park_after * 2).min(PARK_AFTER_MAX);
                published.set_builder(BuilderState::Resident);
                true
            }
            Err(e) => {
                tracing::warn!(dir = %to.dir.display(), error = %e, "cannot load a parked HNSW graph back (rebuilding it)");
                published.set_builder(BuilderState::Broken);
                false
            }
        }
    }

    fn insert_all(&mut self, batch: Vec<(u32, Vec<f32>, Arc<str>, u64)>) {
        if batch.is_empty() {
            return;
        }
        let Some(hnsw) = &mut self.hnsw else { return };
        let refs: Vec<(&[f32], usize)> = batch.iter().map(|(s, v, _, _)| (v.as_slice(), *s as usize)).collect();
        if refs.len() >= 256 {
            hnsw.parallel_insert_slice(&refs);
        } else {
            for r in refs {
                hnsw.insert_slice(r);
            }
        }
        for (slot, _, name, fp) in batch {
            // Slots arrive in order, each once: `names[slot]` names the point.
            debug_assert_eq!(slot as usize, self.names.len());
            self.names.push((name, fp));
        }
    }

    /// Saves the graph if it has points the last save lacks; answers whether the saved
    /// graph now holds every point.
    fn save(&mut self, published: &Published) -> bool {
        let Some(to) = &self.save_to else { return false };
        // A parked graph is saved whole.
        let stale = self.covered() != self.saved_upto || !self.saved_search;
        let Some(hnsw) = self.hnsw.as_ref().filter(|_| stale) else { return true };
        let manifest = saved::manifest(self.distance, to.dim, &self.names);
        // The published copy goes with it when it covers every point (it does unless
        // inserts came in since the last publication).
        let search = published.state().graph.clone().filter(|g| g.covered == self.covered());
        match saved::save(&to.dir, hnsw, search.as_deref(), manifest) {
            Ok(()) => {
                self.saved_upto = self.covered();
                self.saved_search = search.is_some();
                true
            }
            Err(e) => {
                // A save that fails fails again at the next idle moment: one line a minute.
                static FAILED: strata_api::RateLimited =
                    strata_api::RateLimited::new(std::time::Duration::from_secs(60));
                if let Some(skipped) = FAILED.allow() {
                    tracing::warn!(dir = %to.dir.display(), error = %e, skipped, "could not save an HNSW graph (a restart rebuilds it)");
                }
                false
            }
        }
    }
}

/// Hands memory just freed back to the system: glibc keeps freed heap pages of small
/// allocations (a parked graph is millions of them) for reuse otherwise.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: `malloc_trim` works on the allocator's own free lists under its own locks; it
    // is safe to call from any thread at any time and touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}
