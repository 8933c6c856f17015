//! The command line. Errors go to stderr with a non-zero exit code.
//!
//! `serve` runs a node; `import`/`export`, `vector query` and `graph` work on an embedded
//! data directory (`--data`) or a running cluster (`--cluster`); `status`, `kv` and
//! `cluster` talk to a cluster; `keys` makes credentials.

mod backup_cmds;
mod cluster_cmds;
mod graph_cmds;
mod keys_cmds;
mod probe_cmd;
mod progress;
pub mod status_view;
mod vector_cmds;

use clap::{Args, Parser, Subcommand};
use progress::{Bars, print_export, print_import};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use strata_client::cluster::ConnectOptions;
use strata_client::{Progress, StorageContext};

/// Strata: LlamaIndex's storage layer as a replicated cluster (and an embedded store).
#[derive(Parser, Debug)]
#[command(name = "strata", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which store a command works on: an embedded data directory or a running cluster.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Client addresses of cluster members (`host:port`, comma-separated).
    #[arg(long, env = "STRATA_CLUSTER", value_delimiter = ',', conflicts_with = "data")]
    pub cluster: Vec<String>,
    /// An embedded data directory (used when no cluster is named).
    #[arg(long, env = "STRATA_DATA", default_value = "./strata-data")]
    pub data: PathBuf,
    /// The API key presented to the cluster (`strata keys new`).
    #[arg(long, env = "STRATA_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The CA certificate the nodes' TLS certificates lead to (a cluster serving TLS).
    #[arg(long, env = "STRATA_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Connection options from the command line's key and CA file.
fn connect_options(api_key: &Option<String>, ca_file: &Option<PathBuf>) -> Result<ConnectOptions, CliError> {
    let tls = match ca_file {
        None => None,
        Some(ca) => {
            Some(strata_wire::TlsClient::from_ca_file(ca).map_err(|e| CliError::Usage(format!("--ca-file: {e}")))?)
        }
    };
    Ok(ConnectOptions { api_key: api_key.clone(), tls, ..ConnectOptions::default() })
}

impl Target {
    async fn open(&self) -> Result<StorageContext, CliError> {
        if self.cluster.is_empty() {
            Ok(StorageContext::open(&self.data)?)
        } else {
            let options = connect_options(&self.api_key, &self.ca_file)?;
            Ok(StorageContext::connect_options(&self.cluster, &options).await?)
        }
    }
}

/// A running cluster.
#[derive(Args, Debug, Clone)]
pub struct ClusterArg {
    /// Client addresses of cluster members (`host:port`, comma-separated).
    #[arg(long, env = "STRATA_CLUSTER", value_delimiter = ',', global = true)]
    pub cluster: Vec<String>,
    /// The API key presented to the cluster (`strata keys new`).
    #[arg(long, env = "STRATA_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// The CA certificate the nodes' TLS certificates lead to (a cluster serving TLS).
    #[arg(long, env = "STRATA_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
}

impl ClusterArg {
    /// A context on the named cluster, with the key.
    async fn context(&self) -> Result<StorageContext, CliError> {
        let addrs = self.addrs()?;
        let options = connect_options(&self.api_key, &self.ca_file)?;
        Ok(StorageContext::connect_options(addrs, &options).await?)
    }

    /// Connections to the cluster's nodes, presenting the key.
    fn connections(&self) -> Result<strata_client::cluster::Connections, CliError> {
        let options = connect_options(&self.api_key, &self.ca_file)?;
        Ok(strata_client::cluster::Connections::with_key(options.api_key).with_tls(options.tls))
    }

    fn addrs(&self) -> Result<&[String], CliError> {
        if self.cluster.is_empty() {
            return Err(CliError::Usage("name the cluster with --cluster ADDR[,ADDR...] or STRATA_CLUSTER".into()));
        }
        Ok(&self.cluster)
    }
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a node. Without configuration: a single-node cluster in ./strata-data on loopback.
    Serve {
        /// A TOML config file (default: ./strata.toml when it exists).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show members, shards, leaders, terms, applied indexes and replication lag.
    Status {
        /// The cluster.
        #[command(flatten)]
        cluster: ClusterArg,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Probe a node's HTTP port (`livez` or `readyz`): exit 0 only on 200. What the
    /// container image's HEALTHCHECK runs.
    Probe {
        /// `livez` or `readyz`.
        #[arg(value_parser = ["livez", "readyz"])]
        which: String,
        /// The node's HTTP address.
        #[arg(long, env = "STRATA_PROBE_HTTP", default_value = "127.0.0.1:7402")]
        http: String,
    },
    /// Commands about one node.
    Node {
        /// Credentials (`--api-key`, `--ca-file`).
        #[command(flatten)]
        cluster: ClusterArg,
        /// What to do.
        #[command(subcommand)]
        op: NodeOp,
    },
    /// Key-value store commands.
    Kv {
        /// The cluster.
        #[command(flatten)]
        cluster: ClusterArg,
        /// What to do.
        #[command(subcommand)]
        op: KvOp,
    },
    /// Membership changes.
    Cluster {
        /// The cluster.
        #[command(flatten)]
        cluster: ClusterArg,
        /// What to do.
        #[command(subcommand)]
        op: ClusterOp,
    },
    /// Import a LlamaIndex persist dir (docstore.json, index_store.json, chat_store.json, ...).
    Import {
        /// The persist dir written by llama-index-core.
        persist_dir: PathBuf,
        /// Where to import to.
        #[command(flatten)]
        target: Target,
    },
    /// Vector store commands.
    Vector {
        /// What to do.
        #[command(subcommand)]
        op: VectorOp,
    },
    /// Graph store commands (the property graph of a graph).
    Graph {
        /// What to do.
        #[command(subcommand)]
        op: GraphOp,
    },
    /// Export a persist dir that llama-index-core loads back.
    Export {
        /// Where to write the files (created if missing).
        out_dir: PathBuf,
        /// Where to export from.
        #[command(flatten)]
        target: Target,
    },
    /// Back up, verify and restore every store (`backup create`, `verify`, `restore`).
    Backup {
        /// What to do.
        #[command(subcommand)]
        op: backup_cmds::BackupOp,
    },
    /// Check a node's configuration file: print the effective configuration (defaults,
    /// then the file, then `STRATA_*` variables) as TOML, or what is wrong with it.
    Config {
        /// What to do.
        #[command(subcommand)]
        op: ConfigOp,
    },
    /// Make credentials: API keys and the cluster secret.
    Keys {
        /// What to make.
        #[command(subcommand)]
        op: KeysOp,
    },
}

/// `strata keys` operations.
#[derive(Subcommand, Debug)]
pub enum KeysOp {
    /// Print a new API key and the `[[auth.api_keys]]` entry (with its hash) for the nodes' configuration.
    New {
        /// The key's name in the configuration.
        #[arg(long, default_value = "client")]
        name: String,
        /// `admin`, `read-write` or `read-only`.
        #[arg(long, default_value = "read-write")]
        role: String,
        /// Names the key may touch start with one of these (repeatable); none: every name.
        #[arg(long = "prefix")]
        prefixes: Vec<String>,
    },
    /// Write a new cluster secret to FILE (mode 0600; refuses to overwrite).
    Secret {
        /// Where to write it.
        file: PathBuf,
    },
    /// Write a TLS certificate for a node, signed by the cluster's CA in DIR (made on
    /// first use: ca.pem for every node's `ca_file` and clients' `--ca-file`; ca.key, 0600).
    Tls {
        /// The folder holding the CA and the certificates.
        dir: PathBuf,
        /// The certificate's name: DIR/NAME.pem and DIR/NAME.key (0600).
        #[arg(long, default_value = "node")]
        name: String,
        /// A host (IP address or DNS name) the node is reached at; repeatable.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
    },
}

/// `strata kv` operations.
#[derive(Subcommand, Debug)]
pub enum KvOp {
    /// Store VALUE (a JSON object) under KEY.
    Put {
        /// The key.
        key: String,
        /// The value: a JSON object, as LlamaIndex's KV stores hold.
        value: String,
        /// The collection.
        #[arg(long, default_value = strata_api::DEFAULT_COLLECTION)]
        collection: String,
    },
    /// Print the value under KEY as JSON (exit 1 when absent).
    Get {
        /// The key.
        key: String,
        /// The collection.
        #[arg(long, default_value = strata_api::DEFAULT_COLLECTION)]
        collection: String,
    },
    /// Delete KEY (exit 1 when absent).
    Delete {
        /// The key.
        key: String,
        /// The collection.
        #[arg(long, default_value = strata_api::DEFAULT_COLLECTION)]
        collection: String,
    },
}

/// `strata vector` operations.
#[derive(Subcommand, Debug)]
pub enum VectorOp {
    /// Read a LlamaIndex `VectorStoreQuery` as JSON on stdin (its field names; filters as
    /// `MetadataFilters` JSON; `query_kwargs.mmr_threshold` as LlamaIndex reads it) and
    /// print `{"ids": [...], "similarities": [...], "nodes": [...]}`.
    Query {
        /// The vector store namespace.
        #[arg(long, default_value = strata_api::DEFAULT_VECTOR_NAMESPACE)]
        namespace: String,
        /// Where to query.
        #[command(flatten)]
        target: Target,
    },
}

/// `strata graph` operations.
#[derive(Subcommand, Debug)]
pub enum GraphOp {
    /// The relations around nodes (`get_rel_map`): breadth-first over both directions.
    RelMap {
        /// The nodes' ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// How many hops.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// At most this many relations.
        #[arg(long, default_value_t = 30)]
        limit: usize,
        /// Relation labels to traverse without returning (repeatable).
        #[arg(long)]
        ignore: Vec<String>,
        /// The graph.
        #[arg(long, default_value = strata_api::DEFAULT_GRAPH)]
        graph: String,
        /// Print JSON (LlamaIndex's node and relation forms).
        #[arg(long)]
        json: bool,
        /// Where to read.
        #[command(flatten)]
        target: Target,
    },
    /// Run store calls given as a JSON array on stdin (`{"op": "get", ...}`: get,
    /// get_triplets, get_rel_map, upsert_nodes, upsert_relations, delete,
    /// delete_llama_nodes, vector_query, schema, relations, upsert_triplet,
    /// delete_triplet, triplet_get, triplet_rel_map); print a JSON array of answers.
    Batch {
        /// The graph.
        #[arg(long, default_value = strata_api::DEFAULT_GRAPH)]
        graph: String,
        /// Where to run.
        #[command(flatten)]
        target: Target,
    },
    /// Run a read-only Cypher query (`structured_query`); rows as a table or JSON.
    Query {
        /// The query.
        cypher: String,
        /// A parameter `NAME=VALUE` (VALUE as JSON, else a string); repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// The graph.
        #[arg(long, default_value = strata_api::DEFAULT_GRAPH)]
        graph: String,
        /// Print JSON rows.
        #[arg(long)]
        json: bool,
        /// Where to read.
        #[command(flatten)]
        target: Target,
    },
}

/// `strata cluster` operations.
#[derive(Subcommand, Debug)]
pub enum ClusterOp {
    /// Add the node listening at CLIENT_ADDR (started with `strata serve` and `standby = true`).
    AddNode {
        /// The new node's client address.
        client_addr: String,
    },
    /// Move a node's replicas to the others and remove it from the cluster.
    RemoveNode {
        /// The node's id (see `strata status`).
        id: u64,
    },
    /// Replace a node that will never come back: add the standby node at CLIENT_ADDR,
    /// then remove DEAD_ID, so the dead node's replicas are rebuilt on the new one.
    Replace {
        /// The dead node's id (see `strata status`).
        dead_id: u64,
        /// The new node's client address (started with `strata serve` and `standby = true`).
        client_addr: String,
    },
}

/// `strata node` operations.
#[derive(Subcommand, Debug)]
pub enum NodeOp {
    /// Drain the node at ADDR and stop it, as SIGTERM does: its leaderships move to
    /// caught-up replicas, `/readyz` fails, requests in flight finish, it exits 0.
    Drain {
        /// The node's client address.
        addr: String,
        /// How long to wait for the node to stop, in seconds.
        #[arg(long, default_value_t = 60)]
        wait_secs: u64,
    },
}

/// What `strata config` does.
#[derive(Subcommand, Debug)]
pub enum ConfigOp {
    /// Parse and validate FILE as a node would at start; print the effective configuration.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// A failure the command line reports.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the store or the cluster.
    #[error(transparent)]
    Client(#[from] strata_client::Error),
    /// From the node server.
    #[error(transparent)]
    Node(#[from] strata_api::Error),
    /// From the configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Anything else the user should see.
    #[error("{0}")]
    Usage(String),
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let bars = Bars::new();
    let progress = |p: Progress<'_>| bars.update(p);
    let started = std::time::Instant::now();
    match cli.command {
        Command::Serve { config } => cluster_cmds::serve(config.as_deref()).await?,
        Command::Status { cluster, json } => cluster_cmds::status(&cluster, json).await?,
        Command::Kv { cluster, op } => cluster_cmds::kv(&cluster, op).await?,
        Command::Probe { which, http } => probe_cmd::probe(&http, &format!("/{which}")).await?,
        Command::Node { cluster, op: NodeOp::Drain { addr, wait_secs } } => {
            cluster_cmds::drain(&cluster, &addr, Duration::from_secs(wait_secs)).await?
        }
        Command::Cluster { cluster, op } => cluster_cmds::membership(&cluster, op).await?,
        Command::Keys { op } => keys_cmds::run(op)?,
        Command::Config { op: ConfigOp::Check { file } } => {
            let config = crate::config::Config::load(Some(&file))?;
            let text = toml::to_string_pretty(&config).map_err(|e| CliError::Usage(format!("printing it: {e}")))?;
            print!("{text}");
        }
        Command::Backup { op } => backup_cmds::run(op).await?,
        Command::Import { persist_dir, target } => {
            let ctx = target.open().await?;
            let summary = ctx.import_persist_dir(&persist_dir, &progress).await;
            bars.finish();
            print_import(&summary?, started.elapsed().as_secs_f64());
        }
        Command::Vector { op: VectorOp::Query { namespace, target } } => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| CliError::Usage(format!("reading the query from stdin: {e}")))?;
            let ctx = target.open().await?;
            println!("{}", vector_cmds::query(&ctx, &namespace, &input).await?);
        }
        Command::Graph { op: GraphOp::RelMap { ids, depth, limit, ignore, graph, json, target } } => {
            let ctx = target.open().await?;
            println!("{}", graph_cmds::rel_map(&ctx, &graph, &ids, (depth, limit), &ignore, json).await?);
        }
        Command::Graph { op: GraphOp::Query { cypher, params, graph, json, target } } => {
            let params = graph_cmds::params(&params)?;
            let ctx = target.open().await?;
            println!("{}", graph_cmds::query(&ctx, &graph, &cypher, &params, json).await?);
        }
        Command::Graph { op: GraphOp::Batch { graph, target } } => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| CliError::Usage(format!("reading the calls from stdin: {e}")))?;
            let ctx = target.open().await?;
            println!("{}", graph_cmds::batch(&ctx, &graph, &input).await?);
        }
        Command::Export { out_dir, target } => {
            let ctx = target.open().await?;
            let summary = ctx.export_persist_dir(&out_dir, &progress).await;
            bars.finish();
            print_export(&summary?, started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// Parses arguments, runs the subcommand, reports errors on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A node logs as its configuration says (`log_format`): `serve` starts the logs
    // once it has read it.
    if !matches!(cli.command, Command::Serve { .. }) {
        crate::telemetry::init(crate::telemetry::LogFormat::Text);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e}");
            ExitCode::FAILURE
        }
    }
}
