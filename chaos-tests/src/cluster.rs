//! `TestCluster`: real `strata serve` processes on loopback, each with its own data
//! directory under one temporary folder, ports chosen by the OS (port 0), killed when the
//! cluster is dropped. Readiness is read from each node's stdout ("... ready: ...").

#![allow(clippy::expect_used, clippy::unwrap_used)] // test harness: a failed expectation is the test failing

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strata_api::{GroupId, NodeStatus, ReadConsistency, Response, ShardMap};
use strata_client::StorageContext;
use strata_client::cluster::{Connections, context_within};

/// How long a node may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a cluster-wide condition may take to hold (generous: CI machines are noisy).
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// Settings every node of a test cluster gets.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// KV shards.
    pub shards: u32,
    /// Replicas per shard.
    pub replication: u32,
    /// A snapshot after this many entries.
    pub snapshot_after_entries: u64,
    /// Entries kept behind a snapshot.
    pub keep_entries_after_snapshot: u64,
    /// Route every raft link through a fault proxy made for this many nodes (0: none).
    pub proxied_slots: usize,
    /// Run each node under this address-space limit (`ulimit -v`, KiB), as on a host
    /// with strict overcommit: a large reservation then fails loudly instead of being
    /// granted and never touched.
    pub address_space_kib: Option<u64>,
    /// The API key the harness presents (with `[auth]` in `config`).
    pub api_key: Option<String>,
    /// TOML every node's configuration file ends with: tables only (`[auth]`,
    /// `[limits]`, ...), as it follows the proxy's settings.
    pub config: Option<String>,
    /// The CA the harness checks the nodes' TLS certificates against (with `[tls]` in
    /// `config`).
    pub ca_file: Option<PathBuf>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            shards: 4,
            replication: 3,
            snapshot_after_entries: 5000,
            keep_entries_after_snapshot: 1000,
            proxied_slots: 0,
            address_space_kib: None,
            config: None,
            api_key: None,
            ca_file: None,
        }
    }
}

impl ClusterOptions {
    /// TLS to the nodes, from `ca_file`.
    pub fn tls(&self) -> Option<strata_wire::TlsClient> {
        let ca = self.ca_file.as_ref()?;
        Some(strata_wire::TlsClient::from_ca_file(ca).expect("the test CA file"))
    }
}

/// One node process.
pub struct NodeProc {
    /// The node's data directory.
    pub data_dir: PathBuf,
    /// Its id, once ready.
    pub id: u64,
    /// Its client address.
    pub client_addr: String,
    /// Its raft address.
    pub raft_addr: String,
    /// Its HTTP address (probes, metrics, status), as of its latest start.
    pub http_addr: String,
    child: Option<Child>,
}

impl NodeProc {
    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// Several node processes forming one cluster.
pub struct TestCluster {
    dir: tempfile::TempDir,
    options: ClusterOptions,
    /// The nodes, in start order (killed ones stay, not running).
    pub nodes: Vec<NodeProc>,
    conns: Connections,
    /// The fault proxy every raft link goes through, when `proxied_slots` asked for one.
    pub links: Option<crate::net::Links>,
}

/// The `strata` binary of this workspace, brought up to date once per process (a test or
/// bench run alone, `cargo test -p strata-chaos`, does not rebuild it, and a stale node
/// binary would test old code).
pub fn strata_bin() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> (tests, benches) or target/<profile>/strata-chaos
    // → target/<profile>/strata
    let exe_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let profile_dir =
        if exe_dir.ends_with("deps") { exe_dir.parent().map(Path::to_path_buf).unwrap_or_default() } else { exe_dir };
    let bin = profile_dir.join("strata");
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut args = vec!["build", "-p", "strata-node", "--bin", "strata"];
        if profile_dir.ends_with("release") {
            args.push("--release"); // benches run the optimised node
        } else {
            // The test profile (optimised a little, into target/debug too): the tests'
            // own build has compiled nearly all of it already, where the dev profile
            // would compile every crate a second time.
            args.extend(["--profile", "test"]);
        }
        let mut build = Command::new(cargo);
        build.args(args);
        // Cargo sets these for the running test or bench; build scripts (ring's) rerun
        // when they change, which would rebuild the TLS stack and everything above it
        // here and again in the next build from a shell.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"]
                    .contains(&name.as_ref())
            {
                build.env_remove(name.as_ref());
            }
        }
        let status = build.status();
        assert!(status.map(|s| s.success()).unwrap_or(false), "building the strata binary failed");
    });
    bin
}

/// What a node printed when it became ready (or standby).
struct Ready {
    id: u64,
    client_addr: String,
    raft_addr: String,
    /// Where the raft service really listens (differs when it advertises another).
    raft_listen: Option<String>,
    /// The HTTP port.
    http_addr: String,
}

fn parse_ready(line: &str) -> Option<Ready> {
    let field = |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_string);
    let id = line.strip_prefix("strata node ")?.split_whitespace().next()?.parse().unwrap_or(0);
    Some(Ready {
        id,
        client_addr: field("client=")?,
        raft_addr: field("raft=")?,
        raft_listen: field("raft_listen="),
        http_addr: field("http=").unwrap_or_default(),
    })
}

impl TestCluster {
    /// Starts `n` nodes: the first bootstraps, the others join through it; returns once
    /// every shard has its replicas.
    pub fn start(n: usize, options: ClusterOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let links = (options.proxied_slots > 0)
            .then(|| crate::net::Links::new(options.proxied_slots).expect("fault proxy listeners"));
        let conns = Connections::with_key(options.api_key.clone()).with_tls(options.tls());
        let mut cluster = Self { dir, options, nodes: Vec::new(), conns, links };
        cluster.spawn_node(&[], false);
        for _ in 1..n {
            let seeds = vec![cluster.nodes[0].client_addr.clone()];
            cluster.spawn_node(&seeds, false);
        }
        cluster
    }

    /// The temporary folder holding every node's data.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Client addresses of the running nodes.
    pub fn client_addrs(&self) -> Vec<String> {
        self.nodes.iter().filter(|n| n.is_running()).map(|n| n.client_addr.clone()).collect()
    }

    fn command(&self, slot: usize, join: &[String], standby: bool, addrs: Option<(&str, &str)>) -> Command {
        let data_dir = &self.data_dir_of(slot);
        let mut cmd = match self.options.address_space_kib {
            None => Command::new(strata_bin()),
            Some(kib) => {
                // `exec` keeps the node's pid the child's, so kill and pause reach it.
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\"")).arg(strata_bin());
                sh
            }
        };
        let (client, raft) = addrs.unwrap_or(("127.0.0.1:0", "127.0.0.1:0"));
        let join_list = format!("[{}]", join.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(","));
        cmd.arg("serve");
        // Through the proxy: advertise the proxy's address for this node and dial peers
        // through it (the node binds a fresh raft port at every start, which the proxy
        // learns); then the test's own settings.
        let proxied = self.links.as_ref().map(|links| links.node_config(slot));
        if proxied.is_some() || self.options.config.is_some() {
            let file = data_dir.with_extension("toml");
            let text = [proxied, self.options.config.clone()].into_iter().flatten().collect::<Vec<_>>().join("\n");
            std::fs::write(&file, text).expect("node config file");
            cmd.arg("--config").arg(file);
        }
        cmd.current_dir(self.dir.path())
            .env("STRATA_DATA_DIR", data_dir)
            .env("STRATA_LISTEN", client)
            .env("STRATA_RAFT_LISTEN", raft)
            .env("STRATA_HTTP_LISTEN", "127.0.0.1:0")
            .env("STRATA_JOIN", join_list)
            .env("STRATA_STANDBY", standby.to_string())
            .env("STRATA_SHARDS", self.options.shards.to_string())
            .env("STRATA_REPLICATION", self.options.replication.to_string())
            .env("STRATA_RAFT__SNAPSHOT_AFTER_ENTRIES", self.options.snapshot_after_entries.to_string())
            .env("STRATA_RAFT__KEEP_ENTRIES_AFTER_SNAPSHOT", self.options.keep_entries_after_snapshot.to_string())
            .env("STRATA_LOG", std::env::var("STRATA_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped());
        let log = std::fs::File::create(data_dir.with_extension("log")).expect("node log file");
        cmd.stderr(Stdio::from(log));
        cmd
    }

    fn data_dir_of(&self, slot: usize) -> PathBuf {
        self.dir.path().join(format!("node{}", slot + 1))
    }

    /// Spawns node `slot`'s process and waits for its ready (or standby) line.
    fn launch(&self, slot: usize, mut cmd: Command) -> (Child, Ready) {
        let mut child = cmd.spawn().expect("spawn strata serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(r) = parse_ready(&line) {
                    let _ = tx.send(r);
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(ready) => {
                if let (Some(links), Some(at)) = (&self.links, ready.raft_listen.as_deref()) {
                    links.proxy.set_target(slot, at.parse().expect("raft_listen is host:port"));
                }
                (child, ready)
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("a node did not become ready within {READY_TIMEOUT:?}");
            }
        }
    }

    /// Starts a new node joining through `seeds` (or bootstrapping, with no seeds); answers
    /// its index in `nodes`.
    pub fn spawn_node(&mut self, seeds: &[String], standby: bool) -> usize {
        let slot = self.nodes.len();
        let data_dir = self.data_dir_of(slot);
        let cmd = self.command(slot, seeds, standby, None);
        let (child, ready) = self.launch(slot, cmd);
        self.nodes.push(NodeProc {
            data_dir,
            id: ready.id,
            client_addr: ready.client_addr,
            raft_addr: ready.raft_addr,
            http_addr: ready.http_addr,
            child: Some(child),
        });
        self.nodes.len() - 1
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `i` with SIGTERM (it drains first) and waits for it to exit; answers
    /// whether it exited successfully.
    pub fn terminate(&mut self, i: usize) -> bool {
        self.signal(i, "-TERM");
        self.wait_exit(i)
    }

    /// Stops node `i` with SIGSTOP: it holds its connections and state but does nothing,
    /// as a process stalled by the machine (GC, swap, a hung disk) does.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, "-STOP");
    }

    /// Lets a paused node `i` run again (SIGCONT).
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "-CONT");
    }

    fn signal(&self, i: usize, signal: &str) {
        if let Some(pid) = self.nodes[i].pid() {
            let status = Command::new("kill").args([signal, &pid.to_string()]).status();
            assert!(status.is_ok_and(|s| s.success()), "kill {signal} {pid}");
        }
    }

    /// Waits (at most [`SETTLE_TIMEOUT`]) for node `i`'s process to exit by itself;
    /// answers whether it exited successfully.
    pub fn wait_exit(&mut self, i: usize) -> bool {
        let until = Instant::now() + SETTLE_TIMEOUT;
        let child = self.nodes[i].child.as_mut().expect("node running");
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.nodes[i].child = None;
                return status.success();
            }
            assert!(Instant::now() < until, "node {i} did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `strata serve` on node `i`'s data directory expecting it to refuse to start:
    /// answers what it printed on stderr, or panics if it became ready.
    pub fn start_refused(&mut self, i: usize) -> String {
        let node = &self.nodes[i];
        let mut cmd = self.command(i, &[], false, Some((&node.client_addr, &self.raft_bind(i))));
        let log = node.data_dir.with_extension("refused.log");
        cmd.stderr(Stdio::from(std::fs::File::create(&log).expect("log file")));
        let mut child = cmd.spawn().expect("spawn strata serve");
        let until = Instant::now() + READY_TIMEOUT;
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() > until {
                let _ = child.kill();
                panic!("node {i} kept running");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// Where node `i` binds its raft service on a restart: its address again, or a fresh
    /// port behind the proxy (whose address the cluster knows it by does not change).
    fn raft_bind(&self, i: usize) -> String {
        if self.links.is_some() { "127.0.0.1:0".into() } else { self.nodes[i].raft_addr.clone() }
    }

    /// Restarts node `i` from its data directory, at the same addresses.
    pub fn restart(&mut self, i: usize) {
        self.start_again(i, &[], false);
    }

    /// Kills node `i`, deletes its data directory and starts it again at the same
    /// addresses, joining through the other nodes (it gets a new id).
    pub fn wipe_and_restart(&mut self, i: usize) {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != i && n.is_running())
            .map(|(_, n)| n.client_addr.clone())
            .collect();
        self.start_again(i, &seeds, true);
    }

    /// Kills node `i`, deletes its data directory and starts it again with the
    /// configuration it was first started with (the bootstrap node's: no one to join) at
    /// the same addresses, as an operator replacing a disk would. It starts a new cluster.
    pub fn wipe_and_restart_alone(&mut self, i: usize) {
        self.start_again(i, &[], true);
    }

    /// Kills node `i` (wiping its data when `wipe`) and starts it at its addresses.
    fn start_again(&mut self, i: usize, seeds: &[String], wipe: bool) {
        self.kill(i);
        if wipe {
            let _ = std::fs::remove_dir_all(&self.nodes[i].data_dir);
        }
        let node = &self.nodes[i];
        let cmd = self.command(i, seeds, false, Some((&node.client_addr, &self.raft_bind(i))));
        let (child, ready) = self.launch(i, cmd);
        let node = &mut self.nodes[i];
        node.id = ready.id;
        node.http_addr = ready.http_addr;
        node.child = Some(child);
    }

    /// A client context over every running node.
    pub async fn context(&self) -> StorageContext {
        let options = strata_client::cluster::ConnectOptions {
            api_key: self.options.api_key.clone(),
            tls: self.options.tls(),
            ..Default::default()
        };
        StorageContext::connect_options(&self.client_addrs(), &options).await.expect("connect to the cluster")
    }

    /// The shard map, asked of any running node.
    pub async fn shard_map(&self) -> Option<ShardMap> {
        for addr in self.client_addrs() {
            let Ok(client) = self.conns.get(&addr).await else { continue };
            if let Ok(Ok(map)) = client.shard_map(context_within(Duration::from_secs(10))).await {
                return Some(map);
            }
            self.conns.forget(&addr);
        }
        None
    }

    /// Every running node's status (unreachable nodes left out).
    pub async fn statuses(&self) -> Vec<NodeStatus> {
        let mut out = Vec::new();
        for addr in self.client_addrs() {
            let Ok(client) = self.conns.get(&addr).await else { continue };
            match client.status(context_within(Duration::from_secs(10))).await {
                Ok(Ok(s)) => out.push(s),
                _ => self.conns.forget(&addr),
            }
        }
        out
    }

    /// A read served by node `i`'s own replica of `group` (stale reads allowed), to look at
    /// what that replica holds.
    pub async fn local_read(&self, i: usize, group: GroupId, query: strata_api::Query) -> Result<Response, String> {
        self.read_at(i, group, query, ReadConsistency::StaleOk).await
    }

    /// A handle that reads from node `i`, usable while the cluster is being changed.
    pub fn reader(&self, i: usize) -> NodeReader {
        NodeReader { addr: self.nodes[i].client_addr.clone(), conns: self.conns.clone() }
    }

    /// A read sent to node `i` and served there, not forwarded (a linearizable one only
    /// where `i` leads `group`).
    pub async fn read_at(
        &self,
        i: usize,
        group: GroupId,
        query: strata_api::Query,
        consistency: ReadConsistency,
    ) -> Result<Response, String> {
        self.reader(i).read(group, query, consistency).await
    }

    /// A graph call run whole by node `i` (not forwarded), to look at what that node answers.
    pub async fn graph_call_at(
        &self,
        i: usize,
        group: GroupId,
        call: strata_api::GraphCall,
        consistency: ReadConsistency,
    ) -> Result<Response, strata_api::Error> {
        let client = self
            .conns
            .get(&self.nodes[i].client_addr)
            .await
            .map_err(|e| strata_api::Error::Unavailable(e.to_string()))?;
        client
            .graph_call(context_within(Duration::from_secs(30)), group, call, consistency)
            .await
            .map_err(|e| strata_api::Error::Unavailable(e.to_string()))?
            .map(|served| served.response)
    }

    /// Waits until `ready` holds for the shard map and statuses, polling (there is no push
    /// notification of cluster layout); panics with `what` after [`SETTLE_TIMEOUT`].
    pub async fn wait_for(&self, what: &str, mut ready: impl FnMut(&ShardMap, &[NodeStatus]) -> bool) {
        let until = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let map = self.shard_map().await;
            let statuses = self.statuses().await;
            if let Some(map) = &map
                && ready(map, &statuses)
            {
                return;
            }
            if Instant::now() >= until {
                let groups: Vec<String> = statuses
                    .iter()
                    .flat_map(|s| {
                        s.groups.iter().map(move |g| {
                            format!(
                                "n{} g{} {} t{} leader {:?} voters {:?} learners {:?}",
                                s.node.id, g.group, g.role, g.term, g.leader, g.voters, g.learners
                            )
                        })
                    })
                    .collect();
                panic!("timed out waiting for: {what}\nmap: {map:?}\n{}", groups.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every shard has `replicas` voting replicas on running nodes, the map and
    /// raft agree, every group has a leader, and leadership is spread (the rebalancer has
    /// no leadership move left).
    pub async fn wait_settled(&self, replicas: usize) {
        let running: Vec<u64> = self.nodes.iter().filter(|n| n.is_running()).map(|n| n.id).collect();
        self.wait_for("every shard fully replicated with a leader", |map, statuses| {
            let map_ok = !map.shards.is_empty()
                && map.shards.iter().all(|s| {
                    s.learners.is_empty()
                        && s.replicas.len() == replicas
                        && s.replicas.iter().all(|r| running.contains(r))
                });
            let leaders: std::collections::BTreeMap<GroupId, u64> = statuses
                .iter()
                .flat_map(|st| st.groups.iter().filter(|g| g.role == "Leader").map(|g| (g.group, st.node.id)))
                .collect();
            let leaders_ok = map.shards.iter().all(|s| leaders.contains_key(&s.group))
                && strata_shards::placement::leader_move(map, &leaders).is_none();
            map_ok && leaders_ok && statuses.len() == running.len()
        })
        .await;
    }

    /// Waits (at most `within`) until every group's replicas on running nodes report the
    /// same applied index, then compares their state digests. Call it once writes have
    /// stopped and faults have ended.
    pub async fn converged(&self, within: Duration) -> crate::check::convergence::ConvergenceReport {
        use crate::check::convergence::{ConvergenceReport, GroupState, compare};
        let until = Instant::now() + within;
        let mut report = ConvergenceReport::default();
        let map = loop {
            match self.shard_map().await {
                Some(map) => break map,
                // Right after a fault ends the cluster may still be electing.
                None if Instant::now() < until => tokio::time::sleep(Duration::from_millis(200)).await,
                None => {
                    report.not_caught_up.push(strata_api::META_GROUP);
                    return report;
                }
            }
        };
        let mut groups: Vec<(GroupId, Vec<u64>)> = vec![(strata_api::META_GROUP, map.nodes.keys().copied().collect())];
        groups.extend(map.shards.iter().map(|s| (s.group, s.replicas.clone())));
        report.groups = groups.len();
        for (group, replicas) in groups {
            loop {
                let mut digests = Vec::new();
                for node in self.nodes.iter().filter(|n| n.is_running() && replicas.contains(&n.id)) {
                    let Ok(client) = self.conns.get(&node.client_addr).await else { continue };
                    if let Ok(Ok(d)) = client.state_digest(context_within(Duration::from_secs(30)), group).await {
                        digests.push((node.id, d));
                    }
                }
                match compare(&digests) {
                    GroupState::Converged if !digests.is_empty() => break,
                    GroupState::Diverged(_) => {
                        report.diverged.push(group);
                        break;
                    }
                    _ if Instant::now() >= until => {
                        report.not_caught_up.push(group);
                        break;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        report
    }

    /// The node index whose process leads `group` now, if any.
    pub async fn leader_of(&self, group: GroupId) -> Option<usize> {
        for st in self.statuses().await {
            if st.groups.iter().any(|g| g.group == group && g.role == "Leader") {
                return self.nodes.iter().position(|n| n.id == st.node.id && n.is_running());
            }
        }
        None
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        // STRATA_TEST_KEEP=1 keeps the nodes' data and logs of a failed test for a look.
        if std::thread::panicking() && std::env::var("STRATA_TEST_KEEP").is_ok_and(|v| v == "1") {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir")).keep();
            eprintln!("cluster data and logs kept in {}", kept.display());
        }
    }
}

/// Reads from one node's client port, served there and not forwarded.
#[derive(Clone)]
pub struct NodeReader {
    addr: String,
    conns: Connections,
}

impl NodeReader {
    /// Sends `query` to the node (a new connection after a failed one, so a restarted
    /// node is reached again).
    pub async fn read(
        &self,
        group: GroupId,
        query: strata_api::Query,
        consistency: ReadConsistency,
    ) -> Result<Response, String> {
        let client = self.conns.get(&self.addr).await.map_err(|e| e.to_string())?;
        match client.read(context_within(Duration::from_secs(10)), group, query, consistency, 99).await {
            Ok(served) => served.map(|s| s.response).map_err(|e| e.to_string()),
            Err(e) => {
                self.conns.forget(&self.addr);
                Err(e.to_string())
            }
        }
    }
}

/// Resident memory of process `pid` in bytes (0 when it cannot be read): what the
/// benchmarks report memory growth with.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// A `[[auth.api_keys]]` entry of a node's configuration for `key`.
pub fn api_key_entry(name: &str, key: &str, role: &str, prefixes: &[&str]) -> String {
    let prefixes: Vec<String> = prefixes.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "[[auth.api_keys]]\nname = \"{name}\"\nhash = \"{}\"\nrole = \"{role}\"\nprefixes = [{}]\n",
        strata_api::access::hash_key(key),
        prefixes.join(", ")
    )
}

/// The CPU time a process has used so far: `utime + stime` of `/proc/PID/stat`, every
/// thread included, in clock ticks of 1/100 s (Linux's `USER_HZ` on every common build).
pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}
