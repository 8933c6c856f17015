//! A cluster's side of backups for the client: capturing one group through its leader
//! into a local file (read in chunks, checked against the SHA-256 the node computed),
//! and a restore's writes to one group.

use super::{ATTEMPT_TIMEOUT, BACKOFF, Cluster, connect_error, context_within};
use crate::error::Result;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use strata_api::backup::{BackupPart, RestoreCommand};
use strata_api::{Command, GraphNamespace, GroupId};

impl Cluster {
    /// Captures `group` at a linearizable point and writes its image to `path` (replaced
    /// on each attempt); retries another node when the one asked does not lead the group.
    pub async fn capture_group(&self, group: GroupId, path: &Path) -> Result<BackupPart> {
        let until = Instant::now() + self.deadline;
        let mut backoff = BACKOFF.0;
        loop {
            let addr = self.candidates(Some(group)).into_iter().next().unwrap_or_default();
            let e = match self.capture_from(&addr, group, path).await {
                Ok(part) => return Ok(part),
                Err(e) if !e.is_retryable() => return Err(e.into()),
                Err(e) => e,
            };
            self.forget_leader(group);
            if Instant::now() + backoff >= until {
                return Err(e.into());
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF.1);
            let _ = self.refresh_map(Instant::now() + ATTEMPT_TIMEOUT).await;
        }
    }

    async fn capture_from(&self, addr: &str, group: GroupId, path: &Path) -> strata_api::Result<BackupPart> {
        let client = self.conns.get(addr).await.map_err(|e| connect_error(addr, &e))?;
        let rpc = |e: tarpc::client::RpcError| self.transport_error(addr, e);
        // Capturing writes the whole group to the node's disk first: the deadline is the
        // client's, not one attempt's.
        let part = client.backup_open(context_within(self.deadline), group).await.map_err(rpc)??;
        let copied = async {
            let io = |e: std::io::Error| strata_api::Error::Storage(format!("{}: {e}", path.display()));
            let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
            let mut sha = Sha256::new();
            let mut offset = 0u64;
            while offset < part.bytes {
                let chunk =
                    client.backup_read(context_within(ATTEMPT_TIMEOUT), part.token, offset).await.map_err(rpc)??;
                if chunk.bytes.is_empty() {
                    break;
                }
                sha.update(&chunk.bytes);
                out.write_all(&chunk.bytes).map_err(io)?;
                offset += chunk.bytes.len() as u64;
            }
            out.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
            let sha = hex::encode(sha.finalize());
            if offset != part.bytes || sha != part.sha256 {
                return Err(strata_api::Error::Unavailable(format!(
                    "group {group}'s capture arrived as {offset} bytes with SHA-256 {sha}, not {} bytes with {}",
                    part.bytes, part.sha256
                )));
            }
            Ok(())
        }
        .await;
        let _ = client.backup_close(context_within(ATTEMPT_TIMEOUT), part.token).await;
        copied.map(|()| part)
    }

    /// Applies one of a restore's writes to its group.
    pub async fn restore_write(&self, cmd: RestoreCommand) -> Result<()> {
        self.write_group(cmd.group(), Command::Restore(cmd)).await.map(|_| ())
    }

    /// Creates a graph with `settings.partitions` partitions (0: the nodes' default);
    /// answers its partitions' groups.
    pub async fn create_graph(&self, settings: GraphNamespace) -> Result<Vec<GroupId>> {
        let name = settings.name.clone();
        self.ask_meta(|c, ctx| {
            let settings = settings.clone();
            async move { c.create_graph(ctx, settings).await }
        })
        .await?;
        Ok(self.with_cached_map(|m| m.graph_partitions(&name)))
    }
}
