//! Read-index batching: concurrent linearizable reads of one group share a leadership
//! confirmation.
//!
//! Why: openraft 0.9 answers each `get_read_log_id` with its own round of heartbeats to
//! every voter, sent from the raft core's task. Sixteen readers of a 3-replica group make
//! 32 peer calls per round of reads, and each one also holds the core that commits the
//! writes (on TLS, each is four more records to seal and open). Instead, at most one
//! confirmation per group is in flight; reads that arrive meanwhile wait for the next,
//! which starts as soon as it ends and answers them all. Under load a round serves every
//! read that queued during the one before; a lone read starts its round at once.
//!
//! What keeps it linearizable: a read never joins a round already under way. That round
//! took its commit index before the read arrived, so a write acknowledged in between
//! could be missing from it; the next round takes its index after every read waiting
//! for it arrived, and confirms leadership after that. etcd batches its ReadIndex
//! requests the same way (`linearizableReadLoop`).

use crate::error::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use strata_api::GroupId;
use tokio::sync::oneshot;

/// One confirmation: the read index, or why there is none.
pub type Confirm = Pin<Box<dyn Future<Output = Result<Option<u64>>> + Send>>;

/// What starts a confirmation.
type ConfirmFn = Arc<dyn Fn() -> Confirm + Send + Sync>;

type Waiter = oneshot::Sender<Result<Option<u64>>>;

#[derive(Default)]
struct Queue {
    /// Reads waiting for the next round.
    waiting: Vec<Waiter>,
    /// Whether a task is running rounds.
    running: bool,
}

/// The read-index batcher of one group.
pub struct ReadBatch {
    group: GroupId,
    queue: Arc<Mutex<Queue>>,
    confirm: ConfirmFn,
}

impl ReadBatch {
    /// A batcher whose rounds run `confirm` (on the leader: a quorum's confirmation and
    /// the index a read must reflect).
    pub fn new(group: GroupId, confirm: impl Fn() -> Confirm + Send + Sync + 'static) -> Self {
        Self { group, queue: Arc::default(), confirm: Arc::new(confirm) }
    }

    /// The read index of a round that started after this call.
    pub async fn read_index(&self) -> Result<Option<u64>> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.waiting.push(reply);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            // A task of its own, so that a read whose caller gives up does not strand the
            // others queued behind it.
            tokio::spawn(rounds(self.group, self.queue.clone(), self.confirm.clone()));
        }
        let group = self.group;
        answer.await.map_err(|_| Error::Raft { group, message: "the read-index round was dropped".into() })?
    }
}

/// Runs rounds until no read is waiting.
async fn rounds(group: GroupId, queue: Arc<Mutex<Queue>>, confirm: ConfirmFn) {
    loop {
        let batch = {
            let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            if queue.waiting.is_empty() {
                queue.running = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let outcome = confirm().await;
        for reply in batch {
            let _ = reply.send(match &outcome {
                Ok(index) => Ok(*index),
                Err(e) => Err(copy(group, e)),
            });
        }
    }
}

/// The same error for another reader of `group` (a round fails with `NotLeader` or
/// `Raft`; anything else is passed on as `Raft` with its text).
fn copy(group: GroupId, e: &Error) -> Error {
    match e {
        Error::NotLeader { group, leader, leader_addr } => {
            Error::NotLeader { group: *group, leader: *leader, leader_addr: leader_addr.clone() }
        }
        Error::UnknownGroup(group) => Error::UnknownGroup(*group),
        Error::Raft { group, message } => Error::Raft { group: *group, message: message.clone() },
        other => Error::Raft { group, message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)] // a test
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::sync::Semaphore;

    /// A confirmation that answers the number of rounds begun (its "commit index") once
    /// the test lets it finish.
    fn gated(started: Arc<AtomicU64>, gate: Arc<Semaphore>) -> impl Fn() -> Confirm + Send + Sync {
        move || {
            let (started, gate) = (started.clone(), gate.clone());
            Box::pin(async move {
                let round = started.fetch_add(1, Ordering::SeqCst) + 1;
                gate.acquire().await.expect("gate").forget();
                Ok(Some(round))
            })
        }
    }

    async fn until(what: impl Fn() -> bool) {
        while !what() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn reads_queued_during_a_round_share_the_next_and_never_join_the_current() {
        let (started, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(Semaphore::new(0)));
        let batch = Arc::new(ReadBatch::new(7, gated(started.clone(), gate.clone())));
        let read = |b: &Arc<ReadBatch>| {
            let b = b.clone();
            tokio::spawn(async move { b.read_index().await.expect("read") })
        };
        let first = read(&batch);
        until(|| started.load(Ordering::SeqCst) == 1).await;
        // Round 1 is under way: these must wait for round 2, all of them.
        let later: Vec<_> = (0..20).map(|_| read(&batch)).collect();
        until(|| batch.queue.lock().unwrap().waiting.len() == 20).await;
        assert_eq!(started.load(Ordering::SeqCst), 1, "no second round while one is in flight");
        gate.add_permits(1);
        assert_eq!(first.await.unwrap(), Some(1));
        until(|| started.load(Ordering::SeqCst) == 2).await;
        gate.add_permits(1);
        for r in later {
            assert_eq!(r.await.unwrap(), Some(2), "a read queued during round 1 got round 2's index");
        }
        assert_eq!(started.load(Ordering::SeqCst), 2, "twenty-one reads, two rounds");
        until(|| !batch.queue.lock().unwrap().running).await;
        // Idle again: a lone read starts a round at once.
        gate.add_permits(1);
        assert_eq!(read(&batch).await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn a_failed_round_fails_each_of_its_reads_and_the_next_round_is_tried_afresh() {
        let rounds = Arc::new(AtomicU64::new(0));
        let counted = rounds.clone();
        let batch = Arc::new(ReadBatch::new(3, move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 0 {
                    Err(Error::NotLeader { group: 3, leader: Some(2), leader_addr: Some("b:1".into()) })
                } else {
                    Ok(Some(9))
                }
            })
        }));
        match batch.read_index().await {
            Err(Error::NotLeader { group: 3, leader: Some(2), leader_addr: Some(a) }) => assert_eq!(a, "b:1"),
            other => panic!("expected NotLeader, got {other:?}"),
        }
        assert_eq!(batch.read_index().await.expect("second round"), Some(9));
    }

    #[tokio::test]
    async fn a_reader_that_gives_up_does_not_strand_the_others() {
        let (started, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(Semaphore::new(0)));
        let batch = Arc::new(ReadBatch::new(1, gated(started.clone(), gate.clone())));
        let b = batch.clone();
        let quitter = tokio::spawn(async move { b.read_index().await });
        until(|| started.load(Ordering::SeqCst) == 1).await;
        let b = batch.clone();
        let stayer = tokio::spawn(async move { b.read_index().await });
        until(|| batch.queue.lock().unwrap().waiting.len() == 1).await;
        quitter.abort();
        gate.add_permits(2);
        assert_eq!(stayer.await.unwrap().expect("read"), Some(2));
    }
}
