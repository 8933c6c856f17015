//! Behaviour of the embedded mode only (the cluster suite leaves this module out).

use crate::support::ctx;

#[tokio::test]
async fn a_directory_open_in_this_process_is_refused() {
    let (dir, _ctx) = ctx().await;
    let err = strata_client::StorageContext::open(dir.path().join("data")).err().expect("second open refused");
    assert!(matches!(err.as_store(), Some(strata_client::api::Error::AlreadyOpen { .. })), "{err}");
}
