//! One raft group on this node: its raft handle and its shard, with the operations the
//! node server needs (write, read, status, membership changes).

use crate::Write;
use crate::error::{Error, Result};
use crate::network::service::AdminOp;
use crate::proposer::Proposer;
use crate::typ::Raft;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ServerState};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_api::{GroupId, GroupStatus, NodeId, Query, ReadConsistency, Response};
use strata_shards::{Answer, Shard};

/// A hosted raft group.
pub struct Group {
    /// The group's id.
    pub id: GroupId,
    /// Its raft.
    pub raft: Raft,
    pub(crate) shard: Arc<Shard>,
    pub(crate) proposer: Proposer,
    /// Its linearizable reads' shared confirmations.
    pub(crate) reads: crate::read_batch::ReadBatch,
    /// The committed index this replica knows, plus one (0: none).
    pub(crate) committed: Arc<std::sync::atomic::AtomicU64>,
    /// Set when the node drains ([`crate::Registry::step_down`]): no campaign, no election.
    pub(crate) stepping_down: Arc<std::sync::atomic::AtomicBool>,
}

pub(crate) fn not_leader(group: GroupId, f: &openraft::error::ForwardToLeader<NodeId, BasicNode>) -> Error {
    Error::NotLeader { group, leader: f.leader_id, leader_addr: f.leader_node.as_ref().map(|n| n.addr.clone()) }
}

pub(crate) fn raft_err(group: GroupId, e: impl std::fmt::Display) -> Error {
    Error::Raft { group, message: e.to_string() }
}

impl Group {
    /// Replicates `write` and answers what applying it answered (once committed on a
    /// majority, durable there, and applied here). Concurrent writes share log entries.
    pub async fn write(&self, write: Write) -> Result<Answer> {
        self.proposer.propose(self.id, write).await
    }

    /// Confirms this node still leads the group and waits until its state machine has
    /// applied everything committed before the call (the read index).
    pub async fn ensure_linearizable(&self) -> Result<()> {
        let index = self.read_index().await?;
        self.raft
            .wait(Some(crate::read_index::READ_WAIT))
            .applied_index_at_least(index, "read index")
            .await
            .map_err(|e| raft_err(self.id, format!("applying up to the read index: {e}")))?;
        Ok(())
    }

    /// Answers `query` from this replica's state, linearizably when asked.
    pub async fn read(&self, query: Query, consistency: ReadConsistency) -> Result<Response> {
        if consistency == ReadConsistency::Linearizable {
            self.ensure_linearizable().await?;
        }
        let shard = self.shard.clone();
        let answer =
            tokio::task::spawn_blocking(move || shard.query(&query)).await.map_err(|e| raft_err(self.id, e))??;
        Ok(answer)
    }

    /// Answers `query` from this replica's state as it is now, on the calling thread: for
    /// a caller that may block (a Cypher pool thread, which would otherwise hand the read
    /// to the blocking pool and wait to be woken).
    pub fn read_here(&self, query: &Query) -> Result<Response> {
        Ok(self.shard.query(query)?)
    }

    /// Answers a short graph read (a few records: see `strata_node::graph_call`) from this
    /// replica's state as it is now: on the calling task when no write is being applied,
    /// else on the blocking pool.
    pub async fn read_graph_now(&self, query: strata_api::GraphQuery) -> Result<Response> {
        if let Some(answer) = self.shard.graph_query_now(&query) {
            return Ok(answer?);
        }
        self.read(Query::Graph(query), ReadConsistency::StaleOk).await
    }

    /// The replica's state (for figures: metrics and status read it, never write).
    pub fn shard(&self) -> &Arc<Shard> {
        &self.shard
    }

    /// The highest log index this replica knows to be committed.
    pub fn committed_index(&self) -> Option<u64> {
        self.committed.load(std::sync::atomic::Ordering::Relaxed).checked_sub(1)
    }

    /// The leader this node knows of, with its raft address.
    pub fn leader(&self) -> Option<(NodeId, Option<String>)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id).map(|n| n.addr.clone());
        Some((id, addr))
    }

    /// A digest of this replica's state, taken between two applies (replicas at the same
    /// applied index must agree).
    pub fn state_digest(&self) -> Result<strata_api::StateDigest> {
        crate::state_machine::digest(self.id, &self.shard)
    }

    /// Writes this replica's state to `out` as one image, taken between two applies (a
    /// backup; blocking: call it off the async workers, after [`Group::ensure_linearizable`]
    /// for a linearizable point); answers its figures and the index and term it holds.
    pub fn capture<W: std::io::Write>(&self, out: W) -> Result<(strata_shards::backup::image::Written, u64, u64)> {
        crate::state_machine::capture(self.id, &self.shard, out)
    }

    /// How many voters the group has (in the membership this replica knows).
    pub fn voter_count(&self) -> usize {
        self.raft.metrics().borrow().membership_config.membership().voter_ids().count()
    }

    /// This replica's view of the group.
    pub fn status(&self) -> GroupStatus {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let role = match m.state {
            ServerState::Leader => "Leader",
            ServerState::Follower if !membership.voter_ids().any(|v| v == m.id) => "Learner",
            ServerState::Follower => "Follower",
            ServerState::Candidate => "Candidate",
            ServerState::Learner => "Learner",
            ServerState::Shutdown => "Shutdown",
        };
        let last = m.last_log_index.unwrap_or(0);
        let lag: BTreeMap<NodeId, u64> = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .map(|(id, matched)| (*id, last.saturating_sub(matched.map(|l| l.index).unwrap_or(0))))
                    .collect()
            })
            .unwrap_or_default();
        GroupStatus {
            group: self.id,
            role: role.to_string(),
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index,
            applied_index: m.last_applied.map(|l| l.index),
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
            lag,
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
        }
    }

    /// Ends a yield or an election hold: heartbeats, elections and proposals as usual.
    pub fn resume(&self) {
        self.proposer.hold_until(Instant::now());
        self.raft.runtime_config().heartbeat(true);
        self.raft.runtime_config().elect(!self.stepping_down());
    }

    /// Whether this node is draining (its groups never campaign again).
    fn stepping_down(&self) -> bool {
        self.stepping_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resumes once the hold is over: at `until`, or later if a later hold moved it. The
    /// task ends only by resuming, whatever the clock or a later hold did meanwhile (a
    /// group left with elections off would never elect a leader again).
    fn resume_at(&self, until: Instant) {
        let raft = self.raft.clone();
        let hold = self.proposer.hold_handle();
        let stepping_down = self.stepping_down.clone();
        tokio::spawn(async move {
            let mut until = until;
            loop {
                tokio::time::sleep_until(until.into()).await;
                if hold.expired() {
                    break;
                }
                until = hold.until().max(Instant::now() + Duration::from_millis(10));
            }
            raft.runtime_config().heartbeat(true);
            raft.runtime_config().elect(!stepping_down.load(std::sync::atomic::Ordering::SeqCst));
        });
    }

    /// As the leader, waits up to `timeout` until `to` holds every entry of this node's
    /// log; `Unavailable` if it does not by then (or this node stops leading).
    async fn wait_holds_log(&self, to: NodeId, timeout: Duration) -> Result<()> {
        let caught_up = |m: &openraft::RaftMetrics<NodeId, BasicNode>| {
            let matched = m.replication.as_ref().and_then(|r| r.get(&to).copied().flatten());
            m.state != ServerState::Leader || matched.map(|l| l.index) >= m.last_log_index
        };
        let waited = self.raft.wait(Some(timeout)).metrics(caught_up, "the voter taking over holds the log").await;
        match waited {
            Ok(m) if m.state == ServerState::Leader => Ok(()),
            Ok(m) => Err(Error::NotLeader { group: self.id, leader: m.current_leader, leader_addr: None }),
            Err(_) => Err(Error::Raft {
                group: self.id,
                message: format!("node {to} does not hold the whole log: leadership stays"),
            }),
        }
    }

    /// Performs a membership change as the group's leader.
    pub async fn admin(&self, op: AdminOp) -> Result<()> {
        let map_write = |e: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>| match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => not_leader(self.id, &f),
            e => raft_err(self.id, e),
        };
        match op {
            AdminOp::AddLearner { node, addr } => {
                self.raft.add_learner(node, BasicNode { addr }, true).await.map_err(map_write)?;
            }
            AdminOp::ChangeVoters { voters } => {
                self.raft.change_membership(voters, false).await.map_err(map_write)?;
            }
            AdminOp::RemoveLearners { nodes } => {
                let change = openraft::ChangeMembers::RemoveNodes(nodes);
                self.raft.change_membership(change, false).await.map_err(map_write)?;
            }
            AdminOp::Yield { millis, to } => {
                let until = hold_until(millis)?;
                if self.raft.metrics().borrow().state != ServerState::Leader {
                    let leader = self.raft.metrics().borrow().current_leader;
                    return Err(Error::NotLeader { group: self.id, leader, leader_addr: None });
                }
                self.proposer.hold_until(until);
                if let Some(to) = to
                    && let Err(e) = self.wait_holds_log(to, CATCH_UP).await
                {
                    self.proposer.hold_until(Instant::now());
                    return Err(e);
                }
                self.raft.runtime_config().heartbeat(false);
                self.raft.runtime_config().elect(false);
                self.resume_at(until);
            }
            AdminOp::HoldElection { millis } => {
                let until = hold_until(millis)?;
                self.proposer.hold_until(until);
                self.raft.runtime_config().elect(false);
                self.resume_at(until);
            }
            AdminOp::Resume => self.resume(),
            AdminOp::Elect => {
                if self.stepping_down() {
                    return Err(Error::Raft {
                        group: self.id,
                        message: "this node is draining: it leads nothing".into(),
                    });
                }
                self.raft.runtime_config().elect(true);
                self.raft.trigger().elect().await.map_err(|e| raft_err(self.id, e))?;
            }
        }
        Ok(())
    }
}

/// How long a yielding leader waits for the voter taking over to hold its whole log.
const CATCH_UP: Duration = Duration::from_secs(2);

/// When a hold of `millis` asked by an admin call ends; a hold longer than
/// [`MAX_HOLD_MILLIS`](crate::network::service::MAX_HOLD_MILLIS) is refused (it would keep
/// a group from electing a leader that long, and a large one overflowed the clock).
fn hold_until(millis: u64) -> Result<Instant> {
    let max = crate::network::service::MAX_HOLD_MILLIS;
    if millis > max {
        return Err(Error::Shard(strata_shards::Error::Api(strata_api::Error::LimitExceeded {
            what: "milliseconds of an election hold".into(),
            limit: max,
            got: millis,
        })));
    }
    Ok(Instant::now() + Duration::from_millis(millis))
}
