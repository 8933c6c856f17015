//! The nemesis: a schedule of faults drawn from a seed, and the code that applies each
//! to a [`TestCluster`] and ends it.
//!
//! Faults come one at a time (each held for a while, then ended, then a quiet gap), as
//! Jepsen's standard nemeses do: overlapping faults mostly make a cluster unavailable,
//! which tests little; a sequence of single faults exercises elections, catch-up and
//! recovery over and over. The schedule is a pure function of (seed, nodes, length,
//! kinds), printed and saved with a failing history, so a run replays.

use crate::cluster::TestCluster;
use crate::net::{Slot, partition};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// The nodes split into sides that cannot reach each other (both ways).
    Partition(Vec<Vec<Slot>>),
    /// `from` cannot send to `to` (the other way works).
    OneWay {
        /// The senders cut off.
        from: Vec<Slot>,
        /// The receivers they cannot reach.
        to: Vec<Slot>,
    },
    /// The node leading the KV group at this index of the shard map is cut off from
    /// every other node.
    IsolateLeader(usize),
    /// Two sides that cannot reach each other, and one node that reaches both.
    Bridge {
        /// One side.
        left: Vec<Slot>,
        /// The node in the middle.
        middle: Slot,
        /// The other side.
        right: Vec<Slot>,
    },
    /// Every link delayed by this many milliseconds.
    Delay(u64),
    /// SIGKILL, then a restart from the same data directory when the fault ends.
    Kill(Slot),
    /// SIGSTOP, then SIGCONT when the fault ends.
    Pause(Slot),
    /// SIGKILL of every node at once, then every node restarted.
    KillAll,
    /// A membership change: the node is killed, its data directory wiped, and it starts
    /// again at its address joining through the others, so the cluster removes the old
    /// member and adds a new one, which the replicas move to (by snapshot); the fault ends
    /// once every shard is fully replicated again.
    Replace(Slot),
}

/// What kinds of faults a schedule draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Partitions, one-way partitions, bridges, an isolated leader.
    Partition,
    /// Delays on every link.
    Delay,
    /// SIGKILL and restart of one node.
    Kill,
    /// SIGSTOP/SIGCONT of one node, longer than the election timeout.
    Pause,
    /// SIGKILL of every node at once.
    KillAll,
    /// One member replaced by a new one mid-run.
    Membership,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [Kind::Partition, Kind::Delay, Kind::Kill, Kind::Pause, Kind::KillAll, Kind::Membership];

    /// The kind's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Partition => "partition",
            Kind::Delay => "delay",
            Kind::Kill => "kill",
            Kind::Pause => "pause",
            Kind::KillAll => "kill-all",
            Kind::Membership => "membership",
        }
    }

    /// The kind a name names.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A fault, when it starts (after the previous one ended) and how long it lasts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Quiet time before the fault.
    pub gap_ms: u64,
    /// The fault.
    pub fault: Fault,
    /// How long it is held.
    pub hold_ms: u64,
}

/// The schedule for `nodes` nodes over about `length`, from `seed`.
pub fn schedule(seed: u64, nodes: usize, length: Duration, kinds: &[Kind]) -> Vec<Step> {
    let mut rng = Rng::new(seed);
    let mut steps = Vec::new();
    let mut spent = 0u64;
    let total = u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
    let slots: Vec<Slot> = (0..nodes).collect();
    while !kinds.is_empty() {
        let gap_ms = rng.between(500, 3000);
        // Longer than the election timeout (600–1200 ms) so that leaders change.
        let hold_ms = rng.between(1500, 8000);
        if spent + gap_ms + hold_ms > total {
            break;
        }
        spent += gap_ms + hold_ms;
        let kind = *rng.pick(kinds).unwrap_or(&Kind::Partition);
        let mut shuffled = slots.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let one = shuffled.first().copied().unwrap_or(0);
        let fault = match kind {
            Kind::Partition => match rng.below(4) {
                0 => {
                    let cut = rng.between(1, (nodes as u64 / 2).max(1)) as usize;
                    Fault::Partition(vec![shuffled[..cut].to_vec(), shuffled[cut..].to_vec()])
                }
                1 => Fault::OneWay { from: vec![one], to: shuffled[1..].to_vec() },
                2 if nodes >= 3 => Fault::Bridge {
                    left: shuffled[..(nodes - 1) / 2].to_vec(),
                    middle: shuffled[(nodes - 1) / 2],
                    right: shuffled[(nodes - 1) / 2 + 1..].to_vec(),
                },
                _ => Fault::IsolateLeader(rng.below(4) as usize),
            },
            Kind::Delay => Fault::Delay(rng.between(20, 400)),
            Kind::Kill => Fault::Kill(one),
            Kind::Pause => Fault::Pause(one),
            Kind::KillAll => Fault::KillAll,
            Kind::Membership => Fault::Replace(one),
        };
        steps.push(Step { gap_ms, fault, hold_ms });
    }
    steps
}

/// The directions a network fault blocks, given who leads now (for `IsolateLeader`).
pub fn blocked_directions(fault: &Fault, nodes: usize, leader: Option<Slot>) -> Vec<(Slot, Slot)> {
    let all: Vec<Slot> = (0..nodes).collect();
    match fault {
        Fault::Partition(sides) => partition(sides),
        Fault::OneWay { from, to } => from.iter().flat_map(|&f| to.iter().map(move |&t| (f, t))).collect(),
        Fault::IsolateLeader(_) => match leader {
            Some(l) => partition(&[vec![l], all.into_iter().filter(|&s| s != l).collect()]),
            None => Vec::new(),
        },
        Fault::Bridge { left, right, .. } => partition(&[left.clone(), right.clone()]),
        _ => Vec::new(),
    }
}

/// Starts `fault` on the cluster (blocking: restarts wait for the node to be ready).
pub async fn start(cluster: &mut TestCluster, fault: &Fault) {
    let nodes = cluster.nodes.len();
    match fault {
        Fault::Partition(_) | Fault::OneWay { .. } | Fault::Bridge { .. } | Fault::IsolateLeader(_) => {
            let leader = match fault {
                Fault::IsolateLeader(i) => {
                    let group = cluster
                        .shard_map()
                        .await
                        .and_then(|m| m.shards.get(i % m.shards.len().max(1)).map(|s| s.group));
                    match group {
                        Some(g) => cluster.leader_of(g).await,
                        None => None,
                    }
                }
                _ => None,
            };
            let directions = blocked_directions(fault, nodes, leader);
            if let Some(links) = &cluster.links {
                links.proxy.block(&directions);
            }
        }
        Fault::Delay(ms) => {
            if let Some(links) = &cluster.links {
                let every: Vec<(Slot, Slot)> =
                    (0..nodes).flat_map(|a| (0..nodes).filter(move |&b| b != a).map(move |b| (a, b))).collect();
                links.proxy.delay(&every, Duration::from_millis(*ms));
            }
        }
        Fault::Kill(s) => cluster.kill(*s),
        Fault::Pause(s) => cluster.pause(*s),
        Fault::KillAll => (0..nodes).for_each(|s| cluster.kill(s)),
        Fault::Replace(s) => {
            // An operator replaces a member of a healthy cluster (every shard fully
            // replicated), never the last replica of anything.
            cluster.wait_settled(nodes.min(3)).await;
            cluster.wipe_and_restart(*s)
        }
    }
}

/// Ends `fault`: heals the network, resumes a paused node, restarts killed ones.
pub async fn end(cluster: &mut TestCluster, fault: &Fault) {
    if let Some(links) = &cluster.links {
        links.proxy.heal();
    }
    match fault {
        Fault::Kill(s) => cluster.restart(*s),
        Fault::Pause(s) => cluster.resume(*s),
        Fault::KillAll => (0..cluster.nodes.len()).for_each(|s| cluster.restart(s)),
        // As an operator does, the replacement completes (every shard back to full
        // replication) before anything else is done to the cluster: replacing a second
        // member before the first was caught up can leave a group without a quorum of
        // members holding its data, which Raft cannot survive and no schedule should ask.
        Fault::Replace(_) => cluster.wait_settled(cluster.nodes.len().min(3)).await,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let a = schedule(17, 3, Duration::from_secs(120), &Kind::ALL);
        let b = schedule(17, 3, Duration::from_secs(120), &Kind::ALL);
        assert_eq!(a, b);
        assert_ne!(a, schedule(18, 3, Duration::from_secs(120), &Kind::ALL));
        let total: u64 = a.iter().map(|s| s.gap_ms + s.hold_ms).sum();
        assert!(total <= 120_000 && a.len() >= 10, "{} steps over {total} ms", a.len());
    }

    #[test]
    fn schedules_draw_only_the_kinds_asked_and_name_real_nodes() {
        for seed in 0..50 {
            for step in schedule(seed, 5, Duration::from_secs(60), &[Kind::Partition, Kind::Pause]) {
                match &step.fault {
                    Fault::Pause(s) => assert!(*s < 5),
                    Fault::Partition(sides) => {
                        let mut all: Vec<Slot> = sides.concat();
                        all.sort_unstable();
                        assert_eq!(all, vec![0, 1, 2, 3, 4], "a partition places every node once");
                        assert!(sides.iter().all(|s| !s.is_empty()));
                    }
                    Fault::OneWay { .. } | Fault::Bridge { .. } | Fault::IsolateLeader(_) => {}
                    other => panic!("{other:?} was not asked for"),
                }
            }
        }
    }

    #[test]
    fn a_bridge_blocks_the_sides_but_not_the_middle() {
        let f = Fault::Bridge { left: vec![0], middle: 1, right: vec![2] };
        let mut d = blocked_directions(&f, 3, None);
        d.sort_unstable();
        assert_eq!(d, vec![(0, 2), (2, 0)]);
        let iso = blocked_directions(&Fault::IsolateLeader(0), 3, Some(2));
        assert_eq!(iso.len(), 4);
        assert!(iso.iter().all(|&(a, b)| a == 2 || b == 2));
    }
}
