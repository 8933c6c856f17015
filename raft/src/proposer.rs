//! Proposal batching: concurrent writes to one group share a raft entry.
//!
//! openraft 0.9 appends (and fsyncs) each client entry on the leader before it takes the
//! next, so one entry per write would cap a group at one write per fsync. Instead, writes
//! queue here; whenever fewer than [`MAX_IN_FLIGHT`] entries are being committed, whatever
//! has queued becomes the next entry. Under load the queue fills while an entry commits,
//! so one fsync (per replica) serves many writes; an idle group proposes a lone write at
//! once, adding no delay.

use crate::error::{Error, Result};
use crate::typ::Raft;
use crate::{Request, Write};
use openraft::ServerState;
use openraft::error::{ClientWriteError, RaftError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_api::GroupId;
use strata_shards::Answer;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Entries of one group being committed at once (the next batch fills meanwhile).
pub const MAX_IN_FLIGHT: usize = 2;
/// The most writes one entry carries.
const MAX_WRITES: usize = 512;
/// The most records (see `Command::record_count`) one entry carries, unless a single
/// write has more.
const MAX_RECORDS: usize = 4096;

struct Pending {
    write: Write,
    reply: oneshot::Sender<Result<Answer>>,
}

/// The write queue of one group. Dropping it stops the batching task.
pub struct Proposer {
    tx: mpsc::UnboundedSender<Pending>,
    hold: Hold,
}

/// Until when the group's leader proposes nothing (while it hands leadership over).
#[derive(Clone)]
pub struct Hold(Arc<Mutex<Instant>>);

impl Hold {
    /// Whether the hold is over.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.until()
    }

    /// When the hold ends (a past instant once it has).
    pub fn until(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Proposer {
    /// Starts the batching task of `group` on the current runtime.
    pub fn start(group: GroupId, raft: Raft) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let hold = Hold(Arc::new(Mutex::new(Instant::now())));
        tokio::spawn(run(group, raft, rx, hold.clone()));
        Self { tx, hold }
    }

    /// Proposes nothing until `until` while this node leads (writes wait in the queue).
    pub fn hold_until(&self, until: Instant) {
        *self.hold.0.lock().unwrap_or_else(|p| p.into_inner()) = until;
    }

    /// The hold, to check later whether it is over.
    pub fn hold_handle(&self) -> Hold {
        self.hold.clone()
    }

    /// Replicates `write` (in some entry) and answers what applying it answered.
    pub async fn propose(&self, group: GroupId, write: Write) -> Result<Answer> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::Raft { group, message: "the group is shutting down".into() };
        self.tx.send(Pending { write, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(group: GroupId, raft: Raft, mut rx: mpsc::UnboundedReceiver<Pending>, hold: Hold) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut carry: Option<Pending> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut records = first.write.command.record_count();
        let mut batch = vec![first];
        while batch.len() < MAX_WRITES {
            let Ok(next) = rx.try_recv() else { break };
            let more = next.write.command.record_count();
            if records + more > MAX_RECORDS {
                carry = Some(next);
                break;
            }
            records += more;
            batch.push(next);
        }
        // Handing leadership over: wait until it is done (then the writes are refused and
        // go to the new leader) or the hold ends.
        while !hold.expired() && raft.metrics().borrow().state == ServerState::Leader {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            commit(group, &raft, batch).await;
            drop(slot);
        });
    }
}

/// Proposes one entry and hands each write its answer.
async fn commit(group: GroupId, raft: &Raft, batch: Vec<Pending>) {
    let (writes, replies): (Vec<Write>, Vec<_>) = batch.into_iter().map(|p| (p.write, p.reply)).unzip();
    let n = writes.len();
    let outcome = raft.client_write(Request { writes }).await;
    let counters = strata_api::metrics::counters();
    match &outcome {
        Ok(_) => counters.proposals_committed.inc(),
        Err(_) => counters.proposals_failed.inc(),
    }
    let failure = |e: &RaftError<u64, ClientWriteError<u64, openraft::BasicNode>>| match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            Error::NotLeader { group, leader: f.leader_id, leader_addr: f.leader_node.as_ref().map(|n| n.addr.clone()) }
        }
        e => Error::Raft { group, message: e.to_string() },
    };
    match outcome {
        Ok(r) if r.data.0.len() == n => {
            for (reply, answer) in replies.into_iter().zip(r.data.0) {
                let _ = reply.send(Ok(answer));
            }
        }
        Ok(r) => {
            let message = format!("an entry of {n} writes answered {} times", r.data.0.len());
            for reply in replies {
                let _ = reply.send(Err(Error::Raft { group, message: message.clone() }));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(failure(&e)));
            }
        }
    }
}
