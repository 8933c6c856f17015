//! Subcommands that run a node or talk to a running cluster.

use super::{CliError, ClusterArg, ClusterOp, KvOp};
use crate::config::Config;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use strata_api::NodeStatus;
use strata_client::cluster::context_within;

const CALL: Duration = Duration::from_secs(30);

/// `strata serve`: runs until SIGINT or SIGTERM.
pub async fn serve(config: Option<&Path>) -> Result<(), CliError> {
    let config = Config::load(config);
    crate::telemetry::init(config.as_ref().map_or(crate::telemetry::LogFormat::Text, |c| c.log_format));
    let config = config?;
    crate::telemetry::set_slow_request(std::time::Duration::from_millis(config.slow_request_ms));
    let node = crate::server::start(&config).await?;
    // Scripts and tests wait for this line: it is printed once the node serves.
    println!(
        "strata node {} ready: client={} raft={} http={} raft_listen={}",
        node.info.id, node.info.client_addr, node.info.raft_addr, node.http_addr, node.raft_listen
    );
    tracing::info!(id = node.info.id, client = %node.info.client_addr, raft = %node.info.raft_addr, "node ready");
    crate::notify::ready(&format!("node {} serving on {}", node.info.id, node.info.client_addr));
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = node.stop_asked() => {}
        removed = node.removed() => {
            removed?;
            println!("strata node {} removed from the cluster: exiting", node.info.id);
            tracing::info!(id = node.info.id, "removed from the cluster: exiting");
        }
    }
    node.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `strata status`.
pub async fn status(cluster: &ClusterArg, json: bool) -> Result<(), CliError> {
    let ctx = cluster.context().await?;
    let map = ctx.cluster().map(|c| c.cached_map()).unwrap_or_default();
    let conns = cluster.connections()?;
    let mut nodes: Vec<Result<NodeStatus, String>> = Vec::new();
    for info in map.nodes.values() {
        let status = async {
            let c = conns.get(&info.client_addr).await.map_err(|e| e.to_string())?;
            c.status(context_within(CALL)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
        };
        nodes.push(status.await.map_err(|e| format!("node {} at {}: {e}", info.id, info.client_addr)));
    }
    let answers: std::collections::BTreeMap<u64, Result<NodeStatus, String>> =
        map.nodes.keys().copied().zip(nodes.iter().cloned()).collect();
    let picture = super::status_view::picture(&map, &answers);
    if json {
        let out = serde_json::json!({
            "epoch": map.epoch,
            "replication": map.replication,
            "members": map.nodes.values().collect::<Vec<_>>(),
            "shards": map.shards,
            "nodes": nodes.iter().map(|n| match n {
                Ok(s) => serde_json::to_value(s).unwrap_or(Value::Null),
                Err(e) => serde_json::json!({ "error": e }),
            }).collect::<Vec<_>>(),
            "groups": picture.groups,
            "cannot_lose": picture.cannot_lose,
            "warnings": picture.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| CliError::Usage(e.to_string()))?);
        return Ok(());
    }
    print!("{}", super::status_view::render(&picture, &map));
    Ok(())
}

/// `strata kv ...`.
pub async fn kv(cluster: &ClusterArg, op: KvOp) -> Result<(), CliError> {
    let ctx = cluster.context().await?;
    let kv = ctx.kv_store();
    match op {
        KvOp::Put { key, value, collection } => {
            let value: Value =
                serde_json::from_str(&value).map_err(|e| CliError::Usage(format!("VALUE is not JSON: {e}")))?;
            let Value::Object(map) = value else {
                return Err(CliError::Usage("VALUE must be a JSON object, as LlamaIndex's KV stores hold".into()));
            };
            kv.put(&key, &map, &collection).await?;
        }
        KvOp::Get { key, collection } => match kv.get(&key, &collection).await? {
            Some(map) => println!("{}", Value::Object(map)),
            None => return Err(CliError::Usage(format!("key {key:?} not found in collection {collection:?}"))),
        },
        KvOp::Delete { key, collection } => {
            if !kv.delete(&key, &collection).await? {
                return Err(CliError::Usage(format!("key {key:?} not found in collection {collection:?}")));
            }
        }
    }
    Ok(())
}

/// Asks the standby node at `client_addr` to join the cluster.
async fn adopt(
    cluster: &ClusterArg,
    conns: &strata_client::cluster::Connections,
    client_addr: &str,
) -> Result<Result<Result<u64, strata_api::Error>, tarpc::client::RpcError>, CliError> {
    let standby = conns.get(client_addr).await.map_err(|e| CliError::Usage(format!("{client_addr}: {e}")))?;
    let seeds = cluster.addrs()?.to_vec();
    Ok(standby.adopt(context_within(Duration::from_secs(180)), seeds).await)
}

/// `strata node drain ADDR`: asks the node to drain and stop, then waits until it no
/// longer accepts connections.
pub async fn drain(cluster: &ClusterArg, addr: &str, wait: Duration) -> Result<(), CliError> {
    let conns = cluster.connections()?;
    let client = conns.get(addr).await.map_err(|e| CliError::Usage(format!("{addr}: {e}")))?;
    let started = std::time::Instant::now();
    client.drain(context_within(CALL)).await.map_err(|e| CliError::Usage(format!("{addr}: {e}")))??;
    println!("node at {addr} is draining");
    drop(client);
    conns.forget(addr);
    loop {
        // The node stops listening once it has drained and shut its groups down.
        match tokio::net::TcpStream::connect(addr).await {
            Err(_) => break,
            Ok(_) if started.elapsed() > wait => {
                return Err(CliError::Usage(format!(
                    "node at {addr} still accepts connections {} s after it was asked to drain",
                    wait.as_secs()
                )));
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    println!("node at {addr} drained and stopped in {} ms", started.elapsed().as_millis());
    Ok(())
}

/// `strata cluster ...`.
pub async fn membership(cluster: &ClusterArg, op: ClusterOp) -> Result<(), CliError> {
    match op {
        ClusterOp::AddNode { client_addr } => ask_members(cluster, Change::Add(client_addr)).await,
        ClusterOp::RemoveNode { id } => ask_members(cluster, Change::Remove(id)).await,
        ClusterOp::Replace { dead_id, client_addr } => {
            let ctx = cluster.context().await?;
            let map = ctx.cluster().map(|c| c.cached_map()).unwrap_or_default();
            if !map.nodes.contains_key(&dead_id) {
                return Err(CliError::Usage(format!("node {dead_id} is not a member (see `strata status`)")));
            }
            // The new node first, so the dead one's replicas have somewhere to go and
            // each group is back to full strength as soon as the new one catches up.
            ask_members(cluster, Change::Add(client_addr)).await?;
            ask_members(cluster, Change::Remove(dead_id)).await
        }
    }
}

/// One membership change.
enum Change {
    /// Adopt the standby node at this client address.
    Add(String),
    /// Remove the node with this id.
    Remove(u64),
}

/// Makes `change` through the first member that answers.
async fn ask_members(cluster: &ClusterArg, change: Change) -> Result<(), CliError> {
    let conns = cluster.connections()?;
    let mut last = CliError::Usage("no member answered".into());
    for addr in cluster.addrs()? {
        let client = match conns.get(addr).await {
            Ok(c) => c,
            Err(e) => {
                last = CliError::Usage(format!("{addr}: {e}"));
                continue;
            }
        };
        let answer = match &change {
            Change::Remove(id) => client.remove_node(context_within(CALL), *id).await.map(|r| r.map(|()| None)),
            Change::Add(client_addr) => adopt(cluster, &conns, client_addr).await?.map(|r| r.map(Some)),
        };
        match answer {
            Ok(Ok(Some(id))) => {
                println!("node {id} added");
                return Ok(());
            }
            Ok(Ok(None)) => {
                println!("removal recorded; the rebalancer moves the node's replicas away");
                return Ok(());
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => last = CliError::Usage(format!("{addr}: {e}")),
        }
    }
    Err(last)
}
