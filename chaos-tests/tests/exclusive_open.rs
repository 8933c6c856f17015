//! Two processes on one data directory: the second is refused with a clear error and the
//! first keeps working.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use strata_client::StorageContext;
use strata_client::api::{Error, Node};

#[tokio::test]
async fn a_second_process_gets_already_open() {
    let tmp = tempfile::tempdir().expect("temp");
    let dir = tmp.path().join("data");
    {
        let ctx = StorageContext::open(&dir).expect("create");
        ctx.docstore().add_documents(&[Node::text_node("n", "kept")]).await.expect("add");
    }
    let mut holder = Command::new(env!("CARGO_BIN_EXE_chaos_worker"))
        .arg("hold")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn holder");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready");
    let refused = StorageContext::open(&dir);
    let err = refused.err().expect("second process refused");
    assert!(matches!(err.as_store(), Some(Error::AlreadyOpen { .. })), "{err}");
    assert!(err.to_string().contains("already open"));
    // Closing the holder's stdin lets it exit; then the directory opens, data intact.
    let mut stdin = holder.stdin.take().expect("stdin");
    stdin.flush().expect("flush");
    drop(stdin);
    assert!(holder.wait().expect("holder exits").success());
    let ctx = StorageContext::open(&dir).expect("open after release");
    assert_eq!(
        ctx.docstore().get_document("n", true).await.expect("get").map(|n| n.text().to_string()).as_deref(),
        Some("kept")
    );
}
