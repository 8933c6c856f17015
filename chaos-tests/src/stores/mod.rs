//! The stores workload: clients appending to and reading chat histories, adding,
//! deleting and reading ref docs in the docstore, adding, deleting and querying vectors,
//! and upserting property-graph nodes and relations and reading rel maps, every call
//! recorded for [`crate::check::acknowledged`], which holds the history against what the
//! stores hold once the faults end ([`final_state`]).
//!
//! Every value written is unique in the run (it names its process and step), so a read
//! names the writes it saw; a client deletes only what it added itself.

pub mod calls;
pub mod final_state;

use crate::history::Recorder;
use crate::rng::Rng;
use std::time::Duration;

pub use calls::{StoreAnswer, StoreCall};

/// The vector namespace the workload uses (made before the clients start).
pub const VECTOR_NAMESPACE: &str = "chaos";
/// Its dimension.
pub const DIM: usize = 8;
/// Its partitions (an add spans several).
pub const VECTOR_PARTITIONS: u32 = 3;
/// The graph the workload uses.
pub const GRAPH: &str = "chaos";
/// Chat keys shared by the clients.
pub const CHAT_KEYS: u64 = 3;
/// Entity names the graph clients draw from (few, so relations meet).
pub const ENTITIES: u64 = 24;
/// Docstore namespace.
pub const DOC_NAMESPACE: &str = "chaos";

/// How the clients behave.
#[derive(Clone, Debug)]
pub struct StoresWorkload {
    /// Concurrent clients.
    pub clients: u64,
    /// Each call's deadline: past it the call is `Unknown`.
    pub deadline: Duration,
}

/// What one client has added and not yet deleted, to pick deletes and reads from.
#[derive(Default)]
struct Own {
    docs: Vec<String>,
    vectors: Vec<String>,
}

impl Own {
    fn next_call(&mut self, rng: &mut Rng, process: u64, n: u64) -> StoreCall {
        let pick = |rng: &mut Rng, v: &Vec<String>| v.get(rng.below(v.len() as u64) as usize).cloned();
        let roll = rng.below(100);
        let nodes = 1 + rng.below(3) as u32;
        match roll {
            0..=14 => {
                StoreCall::ChatAppend { key: format!("c{}", rng.below(CHAT_KEYS)), message: format!("p{process}-{n}") }
            }
            15..=21 => StoreCall::ChatRead { key: format!("c{}", rng.below(CHAT_KEYS)) },
            22..=33 => StoreCall::DocAdd { ref_doc: format!("d-p{process}-{n}"), nodes },
            34..=37 => match take(rng, &mut self.docs) {
                Some(ref_doc) => StoreCall::DocDelete { ref_doc },
                None => StoreCall::DocRead { ref_doc: format!("d-p{process}-{}", n.saturating_sub(1)) },
            },
            38..=45 => match pick(rng, &self.docs) {
                Some(ref_doc) => StoreCall::DocRead { ref_doc },
                None => StoreCall::DocRead { ref_doc: format!("d-p{process}-{}", rng.below(n + 1)) },
            },
            46..=57 => StoreCall::VectorAdd { ref_doc: format!("v-p{process}-{n}"), nodes },
            58..=61 => match take(rng, &mut self.vectors) {
                Some(ref_doc) => StoreCall::VectorDelete { ref_doc },
                None => StoreCall::VectorQuery { near: format!("v-p{process}-{n}/0") },
            },
            62..=69 => StoreCall::VectorQuery {
                near: pick(rng, &self.vectors).map_or_else(|| format!("v-p{process}-{n}/0"), |r| format!("{r}/0")),
            },
            70..=79 => StoreCall::GraphNodes { names: vec![entity(rng), entity(rng)] },
            80..=91 => {
                StoreCall::GraphRelate { source: entity(rng), label: format!("p{process}-{n}"), target: entity(rng) }
            }
            _ => StoreCall::GraphRelMap { name: entity(rng) },
        }
    }

    /// Remembers what a call added (whatever its outcome: a delete of an add that did
    /// not happen is a delete of nothing, which the checker allows).
    fn note(&mut self, call: &StoreCall) {
        match call {
            StoreCall::DocAdd { ref_doc, .. } => self.docs.push(ref_doc.clone()),
            StoreCall::VectorAdd { ref_doc, .. } => self.vectors.push(ref_doc.clone()),
            _ => {}
        }
    }
}

fn take(rng: &mut Rng, v: &mut Vec<String>) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    let i = rng.below(v.len() as u64) as usize;
    Some(v.swap_remove(i))
}

fn entity(rng: &mut Rng) -> String {
    format!("e{}", rng.below(ENTITIES))
}

/// Runs one client until `stop` turns true.
pub async fn client(
    addrs: Vec<String>,
    work: StoresWorkload,
    process: u64,
    seed: u64,
    history: Recorder<StoreCall, StoreAnswer>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let deadline = work.deadline;
    let mut rng = Rng::new(seed ^ 0x0057_02E5_u64.wrapping_mul(process + 1));
    let Some(ctx) = crate::registers::connect(&addrs, deadline, &stop).await else { return };
    let mut own = Own::default();
    let mut n = 0u64;
    while !*stop.borrow_and_update() {
        n += 1;
        let call = own.next_call(&mut rng, process, n);
        let op = history.invoke(process, call.clone());
        // The client's own deadline bounds every call; this one is a backstop for a call
        // that would hang past it (it then counts as unknown, as it should).
        let result = match tokio::time::timeout(deadline * 2, calls::run(&ctx, &call)).await {
            Ok(r) => r,
            Err(_) => Err(strata_client::Error::Store(strata_api::Error::Unavailable("call timed out".into()))),
        };
        history.finish(op, &result, Clone::clone);
        own.note(&call);
    }
}
