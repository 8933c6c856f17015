//! openraft's own storage conformance suite, run over our sled log store and shard state
//! machine (a fresh sled database per case).

use strata_raft::TypeConfig;
use strata_raft::log_store::SledLogStore;
use strata_raft::state_machine::ShardStateMachine;
use strata_raft::typ::StorageError;
use strata_shards::flusher::Flusher;

struct SledBuilder;

impl openraft::testing::StoreBuilder<TypeConfig, SledLogStore, ShardStateMachine, tempfile::TempDir> for SledBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, SledLogStore, ShardStateMachine), StorageError> {
        let io = |e: &dyn std::fmt::Display| openraft::StorageIOError::write(&std::io::Error::other(e.to_string()));
        let dir = tempfile::tempdir().map_err(|e| io(&e))?;
        let db = sled::Config::new().path(dir.path()).open().map_err(|e| io(&e))?;
        let flusher = Flusher::start(db.clone());
        let log = SledLogStore::open(&db, 1, flusher.clone()).map_err(|e| io(&e))?;
        let sm = ShardStateMachine::open(&db, 1, flusher, None).map_err(|e| io(&e))?;
        Ok((dir, log, sm))
    }
}

#[test]
#[allow(clippy::result_large_err)] // openraft's error type
fn sled_storage_passes_openraft_suite() -> Result<(), StorageError> {
    openraft::testing::Suite::test_all(SledBuilder)
}
