//! Authenticated clients and peers (issue 14): three nodes with API keys and a cluster
//! secret. Keys are checked per connection with their roles and prefixes; nodes forward
//! to each other and a fourth node joins with the secret; a node without it cannot join
//! nor speak raft to the members.

use serde_json::json;
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster, api_key_entry};
use strata_client::{Error, StorageContext};

const WAIT: Duration = Duration::from_secs(30);

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn is_unauthenticated(e: &Error) -> bool {
    matches!(e, Error::Store(strata_api::Error::Unauthenticated(_)))
}

fn is_denied(e: &Error) -> bool {
    matches!(e, Error::Store(strata_api::Error::PermissionDenied(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_roles_and_prefixes_are_enforced_and_members_prove_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("cluster.secret");
    std::fs::write(&secret, "a-test-secret-of-at-least-thirty-two-bytes\n").expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let (admin, writer, reader) = ("strata_admin_key", "strata_tenant_key", "strata_reader_key");
    let config = format!(
        "[auth]\ncluster_secret_file = \"{}\"\n{}{}{}",
        secret.display(),
        api_key_entry("admin", admin, "admin", &[]),
        api_key_entry("tenant", writer, "read-write", &["tenant-a/"]),
        api_key_entry("reader", reader, "read-only", &[]),
    );
    let mut cluster = TestCluster::start(
        3,
        ClusterOptions { config: Some(config), api_key: Some(admin.into()), ..ClusterOptions::default() },
    );
    let addrs = cluster.client_addrs();

    // The data directory, its database and the node's identity are its owner's alone.
    let data = cluster.nodes[0].data_dir.clone();
    for (path, want) in [(data.clone(), 0o700), (data.join("db"), 0o700), (data.join("node.json"), 0o600)] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).expect("exists").permissions());
        assert_eq!(mode & 0o777, want, "{}", path.display());
    }

    // No key, a wrong key: refused, typed, saying nothing of the keys.
    let none = StorageContext::connect_within(&addrs, WAIT).await.map(|_| ()).unwrap_err();
    assert!(is_unauthenticated(&none), "{none:?}");
    let wrong = StorageContext::connect_with(&addrs, WAIT, Some("strata_wrong".into())).await.map(|_| ()).unwrap_err();
    assert!(is_unauthenticated(&wrong), "{wrong:?}");
    assert!(!wrong.to_string().contains("admin"), "the error names no key: {wrong}");

    // A read-write key with a prefix writes inside it (through any node: forwarding to
    // leaders uses the node key) and nowhere else.
    let tenant = StorageContext::connect_with(&addrs, WAIT, Some(writer.into())).await.expect("tenant");
    let kv = tenant.kv_store();
    for i in 0..20 {
        kv.put(&format!("k{i}"), &obj(json!({"i": i})), "tenant-a/data").await.expect("inside the prefix");
    }
    let outside = kv.put("k", &obj(json!({})), "tenant-b/data").await.unwrap_err();
    assert!(is_denied(&outside), "{outside:?}");

    // A read-only key reads everything and writes nothing.
    let ro = StorageContext::connect_with(&addrs, WAIT, Some(reader.into())).await.expect("reader");
    assert_eq!(ro.kv_store().get("k3", "tenant-a/data").await.expect("read"), Some(obj(json!({"i": 3}))));
    let write = ro.kv_store().put("k", &obj(json!({})), "tenant-a/data").await.unwrap_err();
    assert!(is_denied(&write), "{write:?}");

    // Membership needs admin: the CLI's remove-node with the tenant's key is refused.
    let out = std::process::Command::new(strata_chaos::cluster::strata_bin())
        .args(["cluster", "remove-node", "3", "--cluster", &addrs[0], "--api-key", writer])
        .output()
        .expect("strata cluster");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("permission denied"), "{out:?}");

    // A fourth node with the secret joins (its join and the members' forwarding use the
    // node key) and takes replicas.
    cluster.spawn_node(&addrs, false);
    cluster.wait_settled(3).await;
    assert_eq!(ro.kv_store().get("k7", "tenant-a/data").await.expect("read"), Some(obj(json!({"i": 7}))));

    // Without the secret nothing speaks raft to a member: the hello is refused.
    let raft_addr = cluster.nodes[0].raft_addr.clone();
    let map = ro.cluster().expect("a cluster").cached_map();
    let outsider =
        strata_raft::network::client::PeerPool::new(map.cluster, Default::default()).client(&raft_addr).await;
    assert!(outsider.is_err(), "a peer without the secret's proof is refused");
    let forged = strata_raft::network::client::PeerPool::new(map.cluster, Default::default())
        .with_peer_key(Some([7; 32]))
        .client(&raft_addr)
        .await;
    assert!(forged.is_err(), "a proof under another secret is refused");
}
