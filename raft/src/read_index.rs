//! Linearizable reads on any replica of a group: Raft's read index (Ongaro's thesis,
//! §6.4). The leader confirms with a quorum that it still leads and names the log index
//! a read must reflect (its commit point, at least its term's first entry); a follower
//! waits until it has applied that index and then reads its own state. Everything
//! committed before the read began is then visible, which is all linearizability asks.
//!
//! Why: a node running a whole graph traversal for a client (several rounds of reads
//! over every partition) pays one such confirmation per partition and then reads its
//! own replicas, instead of a network round to each partition's leader per hop.
//! No clocks are involved (no leases), so paused or partitioned leaders cannot make a
//! read stale: a deposed leader cannot gather the quorum.

use crate::error::{Error, Result};
use crate::group::Group;
use crate::network::client::{PeerPool, context_within};
use crate::restored::RestoredLeader;
use crate::typ::Raft;
use openraft::error::{CheckIsLeaderError, RaftError};
use std::time::Duration;
use strata_api::GroupId;

/// How long a read waits for its replica to apply up to the read index.
pub(crate) const READ_WAIT: Duration = Duration::from_secs(60);

impl Group {
    /// On the leader: the index a linearizable read must reflect, once a quorum has
    /// confirmed this node still leads (others answer `NotLeader`). Concurrent reads
    /// share a confirmation ([`crate::read_batch`]).
    pub async fn read_index(&self) -> Result<Option<u64>> {
        self.reads.read_index().await
    }

    /// Makes this replica fit for a linearizable read: on the leader, its own read index;
    /// elsewhere the leader's (asked over the peer service), then waits up to `timeout`
    /// until this replica has applied it.
    pub async fn catch_up_for_read(&self, pool: &PeerPool, timeout: Duration) -> Result<()> {
        match self.ensure_linearizable().await {
            Err(Error::NotLeader { .. }) => {}
            done => return done,
        }
        // openraft's refusal does not always name the leader; its metrics do.
        let Some((_, Some(addr))) = self.leader() else {
            return Err(Error::NotLeader { group: self.id, leader: None, leader_addr: None });
        };
        let client = pool.client(&addr).await.map_err(|e| crate::group::raft_err(self.id, e))?;
        let index = match client.read_index(context_within(timeout), self.id).await {
            Ok(Ok(index)) => index,
            Ok(Err(e)) => return Err(crate::group::raft_err(self.id, format!("the leader's read index: {e}"))),
            Err(e) => {
                pool.forget(&addr);
                return Err(crate::group::raft_err(self.id, format!("asking {addr} for its read index: {e}")));
            }
        };
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(index, "read index")
            .await
            .map_err(|e| crate::group::raft_err(self.id, format!("catching up to the read index: {e}")))?;
        Ok(())
    }
}

/// One confirmation round of `group` (see [`crate::read_batch`]).
pub(crate) async fn confirm(group: GroupId, raft: &Raft, restored: Option<RestoredLeader>) -> Result<Option<u64>> {
    match raft.get_read_log_id().await {
        Ok((read, _applied)) => {
            let term = raft.metrics().borrow().current_term;
            Ok(RestoredLeader::floor(restored, read.map(|l| l.index), term))
        }
        Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => Err(crate::group::not_leader(group, &f)),
        Err(e) => Err(crate::group::raft_err(group, e)),
    }
}
