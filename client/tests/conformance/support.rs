//! Helpers shared by the suite.

use serde_json::{Map, Value};
use strata_client::StorageContext;
use strata_client::api::{Node, RelatedNodeInfo};

/// What keeps a test's store alive (and gives it a scratch folder: `path()`).
pub type Guard = tempfile::TempDir;

/// A fresh embedded context in its own temporary directory (removed on drop). The cluster
/// suite (`chaos-tests/tests/cluster`) runs the same modules with a `ctx()` that starts a
/// 3-node cluster instead.
pub async fn ctx() -> (Guard, StorageContext) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ctx = StorageContext::open(dir.path().join("data")).expect("open");
    (dir, ctx)
}

/// A JSON object literal.
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// `TextNode(id_=id, text=text, relationships={SOURCE: RelatedNodeInfo(node_id=source)})`.
pub fn child(id: &str, text: &str, source: &str) -> Node {
    Node::text_node(id, text).with_source(RelatedNodeInfo::new(source))
}

/// The fixtures folder (`testdata/fixtures`: copies of the shared fixtures, so the
/// repository tests alone).
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures")
}

/// No-op progress callback.
pub fn quiet(_: strata_client::Progress<'_>) {}
