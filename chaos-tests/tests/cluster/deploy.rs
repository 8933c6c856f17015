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
