//! The node's configuration: built-in defaults, then `strata.toml` (or `--config FILE`),
//! then `STRATA_*` environment variables (`STRATA_RAFT__HEARTBEAT_MS=75` sets
//! `raft.heartbeat_ms`). With no configuration at all a node starts a single-node cluster
//! with its data in `./strata-data` on loopback.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The top-level keys of [`Config`], as `STRATA_*` variables name them (lower-cased).
const CONFIG_KEYS: [&str; 22] = [
    "auth",
    "metrics",
    "log_format",
    "slow_request_ms",
    "http_listen",
    "ready_max_lag_entries",
    "tls",
    "data_dir",
    "listen",
    "advertise",
    "limits",
    "raft_listen",
    "raft_advertise",
    "join",
    "standby",
    "shards",
    "replication",
    "vector_partitions",
    "graph_partitions",
    "request_timeout_ms",
    "raft",
    "backup",
];

/// Everything a node reads at start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its state (created if missing).
    pub data_dir: PathBuf,
    /// Address of the client service (`host:port`; port 0 picks a free port).
    pub listen: String,
    /// The client address clients and other nodes are told to reach this one at, when it
    /// is not the listening address (a node listening on `0.0.0.0` must set it). Unset:
    /// the listening address.
    pub advertise: Option<String>,
    /// Address of the raft service between nodes (port 0 picks a free port).
    pub raft_listen: String,
    /// Address of the operators' HTTP port: `/livez`, `/readyz`, `/metrics`, `/status`
    /// and the status page (port 0 picks a free port; `docs/operations.md`).
    pub http_listen: String,
    /// `/readyz` fails while a group's applied index is more than this many entries
    /// behind the commit index its leader announced.
    pub ready_max_lag_entries: u64,
    /// `text` (for people) or `json` (one object per line, for log pipelines).
    pub log_format: crate::telemetry::LogFormat,
    /// Count requests for `/metrics` (off only to measure what counting costs: the
    /// port then answers 404 there).
    pub metrics: bool,
    /// Requests that take longer than this inside the node are logged at WARN with
    /// their id and the time each stage took.
    pub slow_request_ms: u64,
    /// The raft address the other nodes are told to reach this one at, when it is not
    /// the listening address (a forwarder or NAT in front of the node). Keep it stable:
    /// the cluster's membership records it. Unset: the listening address.
    pub raft_advertise: Option<String>,
    /// Client addresses of existing members to join through. Empty: start a new cluster
    /// (or restart this node's own, when its data directory already holds one).
    pub join: Vec<String>,
    /// With no `join` and an empty data directory: wait to be added to a cluster
    /// (`strata cluster add-node`) instead of starting a new one.
    pub standby: bool,
    /// Number of KV shards of a new cluster.
    pub shards: u32,
    /// Replicas per shard (capped by the number of nodes).
    pub replication: u32,
    /// Partitions of a vector namespace created without a partition count (`default`
    /// and `image` among them).
    pub vector_partitions: u32,
    /// Partitions of a graph created without a partition count (`default` among them).
    pub graph_partitions: u32,
    /// How long a client request may take inside the node before it answers `Unavailable`.
    pub request_timeout_ms: u64,
    /// Raft timing and log retention.
    pub raft: RaftSettings,
    /// What one request or connection may ask of the node (`docs/security.md`).
    pub limits: strata_api::Limits,
    /// API keys and the cluster secret; none: the node serves loopback only.
    pub auth: crate::auth::AuthSettings,
    /// TLS on both ports (the node's certificate, the cluster's CA); none: plain TCP.
    pub tls: crate::tls::TlsSettings,
    /// Scheduled backups, run by the meta group's leader (`docs/operations.md`).
    pub backup: BackupSchedule,
}

/// Scheduled backups: every `every`, a backup of the whole cluster under `to` (a directory
/// or `s3://bucket/prefix`), named by its start time; the newest `keep` are kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSchedule {
    /// How often: a number and a unit, `90s`, `30m`, `6h`, `1d` (none: no scheduled backups).
    pub every: Option<String>,
    /// How many backups to keep (default 7).
    pub keep: Option<usize>,
    /// Where they go: a directory on the node running them, or `s3://bucket/prefix`.
    pub to: Option<String>,
}

impl BackupSchedule {
    /// The interval, the number kept and the location, when backups are scheduled.
    pub fn parsed(&self) -> Result<Option<(std::time::Duration, usize, String)>, ConfigError> {
        let Some(every) = &self.every else {
            return match &self.to {
                Some(_) => Err(ConfigError::Invalid("backup.to is set but backup.every is not".into())),
                None => Ok(None),
            };
        };
        let invalid = |why: &str| ConfigError::Invalid(format!("backup.every = {every:?}: {why}"));
        let (digits, unit) = every.split_at(every.find(|c: char| !c.is_ascii_digit()).unwrap_or(every.len()));
        let n: u64 = digits.parse().map_err(|_| invalid("a number and a unit (s, m, h, d)"))?;
        let secs = match unit {
            "s" => n,
            "m" => n.saturating_mul(60),
            "h" => n.saturating_mul(3600),
            "d" => n.saturating_mul(86_400),
            _ => return Err(invalid("a number and a unit (s, m, h, d)")),
        };
        if secs == 0 {
            return Err(invalid("at least one second"));
        }
        let to = self.to.clone().ok_or_else(|| ConfigError::Invalid("backup.every needs backup.to".into()))?;
        let keep = self.keep.unwrap_or(7);
        if keep == 0 {
            return Err(ConfigError::Invalid("backup.keep is at least 1".into()));
        }
        Ok(Some((std::time::Duration::from_secs(secs), keep, to)))
    }
}

/// Raft timing and log retention, shared by every group of the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    /// Leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the election timeout.
    pub election_timeout_max_ms: u64,
    /// A snapshot is taken after this many entries since the last one.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log behind a snapshot (followers this close catch up by log).
    pub keep_entries_after_snapshot: u64,
    /// Deadline of one snapshot chunk transfer.
    pub install_snapshot_timeout_ms: u64,
    /// The most log entries one append to a follower carries. openraft gives an append a
    /// heartbeat interval to complete and resends it whole after that, so appends must
    /// stay small: an entry may hold thousands of vectors.
    pub max_append_entries: u64,
    /// Peers' advertised raft addresses to reach through another address instead
    /// (`"10.0.0.5:7401" = "127.0.0.1:17401"`): a tunnel or forwarder in front of a
    /// peer; the fault tests route every link through their proxy this way.
    pub routes: std::collections::BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./strata-data"),
            listen: "127.0.0.1:7400".into(),
            advertise: None,
            raft_listen: "127.0.0.1:7401".into(),
            http_listen: "127.0.0.1:7402".into(),
            ready_max_lag_entries: 1000,
            log_format: crate::telemetry::LogFormat::Text,
            metrics: true,
            slow_request_ms: 1000,
            raft_advertise: None,
            join: Vec::new(),
            standby: false,
            shards: 8,
            replication: 3,
            vector_partitions: 3,
            graph_partitions: 3,
            request_timeout_ms: 30_000,
            raft: RaftSettings::default(),
            limits: strata_api::Limits::default(),
            auth: crate::auth::AuthSettings::default(),
            tls: crate::tls::TlsSettings::default(),
            backup: BackupSchedule::default(),
        }
    }
}

impl Default for RaftSettings {
    fn default() -> Self {
        Self {
            heartbeat_ms: 100,
            election_timeout_min_ms: 600,
            election_timeout_max_ms: 1200,
            snapshot_after_entries: 5000,
            keep_entries_after_snapshot: 1000,
            install_snapshot_timeout_ms: 10_000,
            max_append_entries: 8,
            routes: std::collections::BTreeMap::new(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or variable does not parse, or names an unknown key.
    #[error("configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    /// The values parse but cannot work together.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads defaults, then `file` (or `strata.toml` in the working directory when it
    /// exists), then `STRATA_*` variables; validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        figment = match file {
            Some(f) => figment.merge(Toml::file_exact(f)),
            None => figment.merge(Toml::file("strata.toml")),
        };
        // The environment is shared with other tools (`STRATA_CLUSTER`, `STRATA_BIN`, ...):
        // only variables naming a configuration key are read; a file is read strictly.
        let env = Env::prefixed("STRATA_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            CONFIG_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
        });
        let config: Config = figment.merge(env).extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.backup.parsed()?;
        let r = &self.raft;
        if self.shards == 0 || self.replication == 0 || self.vector_partitions == 0 || self.graph_partitions == 0 {
            return Err(ConfigError::Invalid(
                "shards, replication, vector_partitions and graph_partitions must be at least 1".into(),
            ));
        }
        if r.heartbeat_ms == 0 || r.election_timeout_min_ms < 2 * r.heartbeat_ms {
            return Err(ConfigError::Invalid(
                "raft.election_timeout_min_ms must be at least twice heartbeat_ms".into(),
            ));
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        if r.election_timeout_max_ms <= r.election_timeout_min_ms {
            return Err(ConfigError::Invalid(
                "raft.election_timeout_max_ms must exceed election_timeout_min_ms".into(),
            ));
        }
        Ok(())
    }

    /// openraft's settings from these.
    pub fn openraft(&self) -> openraft::Config {
        let r = &self.raft;
        openraft::Config {
            cluster_name: "strata".into(),
            heartbeat_interval: r.heartbeat_ms,
            election_timeout_min: r.election_timeout_min_ms,
            election_timeout_max: r.election_timeout_max_ms,
            install_snapshot_timeout: r.install_snapshot_timeout_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(r.snapshot_after_entries),
            max_in_snapshot_log_to_keep: r.keep_entries_after_snapshot,
            max_payload_entries: r.max_append_entries,
            ..Default::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's error type
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/strata.example.toml");
        figment::Jail::expect_with(|_| {
            let c = Config::load(Some(Path::new(example))).map_err(|e| e.to_string())?;
            assert_eq!(c, Config::default());
            Ok(())
        });
    }

    #[test]
    fn the_static_cluster_configs_parse() {
        for i in 1..=3 {
            let file = format!("{}/../deploy/node{i}.toml", env!("CARGO_MANIFEST_DIR"));
            figment::Jail::expect_with(|_| {
                let c = Config::load(Some(Path::new(&file))).map_err(|e| e.to_string())?;
                assert_eq!(c.join.is_empty(), i == 1);
                Ok(())
            });
        }
    }

    #[test]
    fn environment_overrides_the_file_and_unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("strata.toml", "shards = 4\n[raft]\nheartbeat_ms = 50\n")?;
            jail.set_env("STRATA_SHARDS", "16");
            jail.set_env("STRATA_BIN", "/usr/bin/strata"); // another tool's variable: not ours
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!((c.shards, c.raft.heartbeat_ms), (16, 50));
            jail.create_file("bad.toml", "shard = 4\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            jail.set_env("STRATA_RAFT__HEARTBEAT", "50"); // a typo inside a section we own
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn an_advertised_raft_address_and_peer_routes_are_read_from_the_file() {
        figment::Jail::expect_with(|jail| {
            let file = "raft_advertise = \"127.0.0.1:9000\"\n[raft.routes]\n\"127.0.0.1:9001\" = \"127.0.0.1:19001\"\n";
            jail.create_file("node.toml", file)?;
            let c = Config::load(Some(Path::new("node.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.raft_advertise.as_deref(), Some("127.0.0.1:9000"));
            assert_eq!(c.raft.routes.get("127.0.0.1:9001").map(String::as_str), Some("127.0.0.1:19001"));
            Ok(())
        });
    }

    #[test]
    fn a_backup_schedule_parses_or_says_what_is_wrong() {
        let schedule = |every: Option<&str>, keep: Option<usize>, to: Option<&str>| BackupSchedule {
            every: every.map(str::to_string),
            keep,
            to: to.map(str::to_string),
        };
        assert_eq!(schedule(None, None, None).parsed().ok(), Some(None));
        let six_hours = schedule(Some("6h"), None, Some("/b")).parsed().ok().flatten();
        assert_eq!(six_hours, Some((std::time::Duration::from_secs(6 * 3600), 7, "/b".to_string())));
        assert_eq!(
            schedule(Some("90s"), Some(2), Some("s3://b/p")).parsed().ok().flatten().map(|p| (p.0.as_secs(), p.1)),
            Some((90, 2))
        );
        for (every, keep, to) in [
            (Some("6"), None, Some("/b")),
            (Some("h"), None, Some("/b")),
            (Some("0s"), None, Some("/b")),
            (Some("5w"), None, Some("/b")),
            (Some("1d"), Some(0), Some("/b")),
            (Some("1d"), None, None),
            (None, None, Some("/b")),
        ] {
            let e = schedule(every, keep, to).parsed().expect_err("refused");
            assert!(e.to_string().contains("backup."), "{e}");
        }
    }
}
