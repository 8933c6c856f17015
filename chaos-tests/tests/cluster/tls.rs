//! TLS on both ports (issue 14): three nodes with certificates from `strata keys tls`
//! join, replicate and fail over over TLS; a client checking the cluster's CA works, a
//! plain client and a client trusting another CA are refused, and so is a plain peer on
//! the raft port.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};
use strata_client::StorageContext;
use strata_client::cluster::ConnectOptions;

const WAIT: Duration = Duration::from_secs(10);

/// `strata keys tls DIR --name node --host 127.0.0.1`: (ca, cert, key).
fn make_certs(dir: &Path) -> (String, String, String) {
    let out = Command::new(strata_bin())
        .args(["keys", "tls"])
        .arg(dir)
        .args(["--name", "node", "--host", "127.0.0.1", "--host", "localhost"])
        .output()
        .expect("run strata keys tls");
    assert!(out.status.success(), "strata keys tls: {}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("[tls]"), "prints the configuration: {printed}");
    let path = |name: &str| dir.join(name).display().to_string();
    (path("ca.pem"), path("node.pem"), path("node.key"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_tls_on_both_ports_and_refuses_plain_and_foreign_clients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = make_certs(&dir.path().join("pki"));
    let (other_ca, _, _) = make_certs(&dir.path().join("other-pki"));
    let config = format!("[tls]\ncert_file = \"{cert}\"\nkey_file = \"{key}\"\nca_file = \"{ca}\"\n");
    let options = ClusterOptions { config: Some(config), ca_file: Some(ca.clone().into()), ..Default::default() };
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    let addrs = cluster.client_addrs();

    // A client that checks the CA: writes and reads go through, on every shard.
    let ctx = cluster.context().await;
    let kv = ctx.kv_store();
    for i in 0..40 {
        let value = serde_json::json!({ "i": i }).as_object().cloned().unwrap_or_default();
        kv.put(&format!("k{i}"), &value, "tls").await.expect("a write over TLS");
    }
    assert_eq!(kv.get_all("tls").await.expect("read over TLS").len(), 40);

    // A plain client, and one trusting another CA, get no session.
    let plain = StorageContext::connect_within(&addrs, WAIT).await;
    assert!(plain.is_err(), "a plain client was served by a TLS port");
    let foreign = ConnectOptions {
        deadline: WAIT,
        tls: Some(strata_wire::TlsClient::from_ca_file(Path::new(&other_ca)).expect("other CA")),
        ..Default::default()
    };
    assert!(StorageContext::connect_options(&addrs, &foreign).await.is_err(), "another CA's client was served");

    // The raft port speaks TLS only: a plain peer cannot even say hello.
    let map = cluster.shard_map().await.expect("shard map");
    let plain_peer = strata_raft::network::client::PeerPool::new(map.cluster, Default::default());
    assert!(plain_peer.client(&cluster.nodes[0].raft_addr).await.is_err(), "a plain peer was greeted");

    // Replication and failover over TLS: a node killed and restarted catches up.
    cluster.kill(2);
    for i in 40..60 {
        let value = serde_json::json!({ "i": i }).as_object().cloned().unwrap_or_default();
        kv.put(&format!("k{i}"), &value, "tls").await.expect("a write with a node down");
    }
    cluster.restart(2);
    cluster.wait_settled(3).await;
    let converged = cluster.converged(Duration::from_secs(120)).await;
    assert!(converged.diverged.is_empty(), "replicas differ after catching up over TLS: {converged:?}");
    assert!(converged.not_caught_up.is_empty(), "a replica did not catch up over TLS: {converged:?}");
    assert_eq!(kv.get_all("tls").await.expect("read").len(), 60);
}
