//! What the deployment files rely on, on the real binary: a node under systemd
//! (`Type=notify`) says `READY=1` on `NOTIFY_SOCKET` once it serves and `STOPPING=1` when
//! SIGTERM starts its drain, then exits 0.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;
use strata_chaos::cluster::strata_bin;

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 1024];
    let n = socket.recv(&mut buf).expect("a notification before the deadline");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn a_node_under_systemd_says_ready_then_stopping_on_its_notify_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
    socket.set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
    let mut node = Command::new(strata_bin())
        .arg("serve")
        .env("STRATA_DATA_DIR", dir.path().join("data"))
        .env("STRATA_LISTEN", "127.0.0.1:0")
        .env("STRATA_RAFT_LISTEN", "127.0.0.1:0")
        .env("STRATA_HTTP_LISTEN", "127.0.0.1:0")
        .env("NOTIFY_SOCKET", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a node");
    let ready = receive(&socket);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(ready.lines().any(|l| l == format!("MAINPID={}", node.id())), "{ready}");
    let term = Command::new("kill").args(["-TERM", &node.id().to_string()]).status().expect("kill");
    assert!(term.success());
    let stopping = receive(&socket);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    assert!(node.wait().expect("the node exits").success(), "a drained node exits 0");
}

fn strata_config_check(file: &std::path::Path) -> std::process::Output {
    Command::new(strata_bin())
        .args(["config", "check", file.to_str().expect("a UTF-8 path")])
        .env_clear()
        .output()
        .expect("run strata config check")
}

#[test]
fn config_check_prints_the_effective_configuration_or_names_what_is_wrong() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/strata.example.toml");
    let out = strata_config_check(&example);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(printed.contains("http_listen = \"127.0.0.1:7402\""), "{printed}");
    // What it prints is itself a configuration that checks to the same thing.
    let dir = tempfile::tempdir().expect("temp dir");
    let again = dir.path().join("printed.toml");
    std::fs::write(&again, &printed).expect("write");
    let out = strata_config_check(&again);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).expect("UTF-8"), printed);

    for (text, names) in
        [("shard = 4\n", "shard"), ("shards = 0\n", "shards"), ("[raft]\nheartbeat_ms = \"fast\"\n", "heartbeat_ms")]
    {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).expect("write");
        let out = strata_config_check(&bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(names), "{text:?}: {err}");
    }
}

/// `deploy/` (Kubernetes base rendered by kustomize, Dockerfile, compose.yaml, systemd
/// unit and env file) against what the binary parses and serves:
/// `scripts/check_deploy.py` (PyYAML, `kubectl kustomize`, `systemd-analyze verify`,
/// nodes started from the Kubernetes and the image's configurations, the probes, the
/// HEALTHCHECK command and the preStop drain run against them).
#[test]
fn the_deployment_files_agree_with_what_the_binary_parses_and_serves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // scripts/test.sh installs PyYAML with moto into this virtual environment.
    let python = std::env::var("STRATA_MOTO_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/venv-moto/bin/python"));
    let out = Command::new(python)
        .arg(root.join("scripts/check_deploy.py"))
        .arg(strata_bin())
        .output()
        .expect("run scripts/check_deploy.py (scripts/test.sh installs what it needs)");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
