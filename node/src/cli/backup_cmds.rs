//! `strata backup create | verify | restore`: the command line over
//! `strata_client::backup`, with a progress bar on a terminal and the figures at the end.

use super::{CliError, Target};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use strata_client::backup::remote::{Location, Remote};
use strata_client::backup::{Progress, restore, verify};

/// A backup's directory: the one named, or (for `s3://`) a local staging directory,
/// removed when dropped, and the bucket it goes to or comes from.
fn local(location: &str) -> Result<(PathBuf, Option<(tempfile::TempDir, Remote)>), CliError> {
    match Location::parse(location)? {
        Location::Dir(dir) => Ok((dir, None)),
        Location::S3 { bucket, prefix } => {
            let staging = tempfile::tempdir().map_err(|e| CliError::Usage(format!("a staging directory: {e}")))?;
            let dir = staging.path().join("backup");
            Ok((dir, Some((staging, Remote::new(&bucket, &prefix)?))))
        }
    }
}

/// The backup at `location` on local disk (downloaded when it is in an object store).
async fn fetched(location: &str) -> Result<(PathBuf, Option<(tempfile::TempDir, Remote)>), CliError> {
    let (dir, remote) = local(location)?;
    if let Some((_, r)) = &remote {
        std::fs::create_dir_all(&dir).map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
        r.download(&dir).await?;
    }
    Ok((dir, remote))
}

/// What `strata backup` does.
#[derive(Subcommand, Debug)]
pub enum BackupOp {
    /// Back up every store of a cluster (online, each group at a linearizable point) or of
    /// an embedded directory into DEST, a new or empty directory.
    Create {
        /// Where the backup goes: a directory, or `s3://bucket/prefix` (credentials and
        /// endpoint from the AWS environment variables).
        dest: String,
        /// What to back up.
        #[command(flatten)]
        target: Target,
    },
    /// Check a backup: every file, size, checksum, record and item count; `--deep` also
    /// restores it into a temporary directory and reads every item back.
    Verify {
        /// The backup: a directory or `s3://bucket/prefix`.
        src: String,
        /// Restore and read back too.
        #[arg(long)]
        deep: bool,
    },
    /// Restore a backup into a fresh, empty cluster of any size, or a new embedded directory.
    Restore {
        /// The backup: a directory or `s3://bucket/prefix`.
        src: String,
        /// Partitions for every vector namespace and graph (default: the backup's counts).
        #[arg(long)]
        partitions: Option<u32>,
        /// Where to restore to.
        #[command(flatten)]
        target: Target,
    },
}

/// A bar of groups done, on a terminal only.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(what: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} groups, {binary_bytes} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        Self(Some(bar))
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
        }
    }

    fn group_done(&self, _bytes: u64) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// Runs one `strata backup` command.
pub async fn run(op: BackupOp) -> Result<(), CliError> {
    let started = Instant::now();
    match op {
        BackupOp::Create { dest: location, target } => {
            let dest = Location::parse(&location)?;
            let bar = Bar::new("backup");
            let manifest = if target.cluster.is_empty() {
                strata_client::backup::create_embedded_at(&target.data, &dest, &bar).await?
            } else {
                let ctx = target.open().await?;
                let cluster = ctx.cluster().ok_or_else(|| CliError::Usage("not a cluster".into()))?;
                strata_client::backup::create_cluster_at(cluster, &dest, &bar).await?
            };
            drop(bar);
            let secs = started.elapsed().as_secs_f64();
            let bytes: u64 = manifest.groups.iter().map(|g| g.bytes).sum();
            let items = manifest.items();
            println!(
                "backed up {} group(s), {} items ({} KV entries, {} chat messages, {} vectors, {} graph nodes, {} relations) \
                 in {secs:.1} s: {:.1} MB, {:.1} MB/s, {:.0} items/s -> {}",
                manifest.groups.len(),
                items.total(),
                items.kv_entries,
                items.chat_messages,
                items.vectors,
                items.graph_nodes,
                items.graph_relations,
                bytes as f64 / 1e6,
                mb_per_s(bytes, secs),
                items.total() as f64 / secs.max(1e-9),
                location
            );
        }
        BackupOp::Verify { src: location, deep } => {
            let (src, _remote) = fetched(&location).await?;
            let v = verify::verify(&src, deep).await?;
            let secs = started.elapsed().as_secs_f64();
            print!(
                "{location}: {} image(s), {} records, {} items, checksums and counts as the manifest says",
                v.images,
                v.records,
                v.items.total()
            );
            match v.read_back {
                Some(n) => println!("; restored and read back {n} items ({secs:.1} s)"),
                None => println!(" ({secs:.1} s)"),
            }
        }
        BackupOp::Restore { src: location, partitions, target } => {
            if target.cluster.is_empty() {
                refuse_non_empty_dir(&target.data)?;
            }
            let (src, _remote) = fetched(&location).await?;
            let ctx = target.open().await?;
            let bar = Bar::new("restore");
            let options = restore::RestoreOptions { partitions };
            let done = restore::restore(&src, &ctx, &options, &bar).await?;
            drop(bar);
            ctx.flush()?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "restored {} records ({:.1} MB) in {secs:.1} s: {:.1} MB/s, {:.0} records/s; vector indexes built \
                 (records written in {:.1} s, derived state recounted in {:.1} s, indexes built in {:.1} s)",
                done.records,
                done.bytes as f64 / 1e6,
                mb_per_s(done.bytes, secs),
                done.records as f64 / secs.max(1e-9),
                done.phases[0],
                done.phases[1],
                done.phases[2]
            );
        }
    }
    Ok(())
}

/// A restore makes a new embedded directory; it never mixes into one that holds data.
fn refuse_non_empty_dir(dir: &Path) -> Result<(), CliError> {
    let holds_something = std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if holds_something {
        return Err(CliError::Usage(format!("{}: a restore goes into a new or empty directory", dir.display())));
    }
    Ok(())
}
