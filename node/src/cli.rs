//! The command line. Errors go to stderr with a non-zero exit code.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use strata_client::{ExportSummary, ImportSummary, Progress, StorageContext};

/// Strata: LlamaIndex's storage layer as a replicated cluster (and an embedded store).
#[derive(Parser, Debug)]
#[command(name = "strata", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a LlamaIndex persist dir (docstore.json, index_store.json, chat_store.json, ...).
    Import {
        /// The persist dir written by llama-index-core.
        persist_dir: PathBuf,
        /// The embedded data directory.
        #[arg(long, env = "STRATA_DATA", default_value = "./strata-data")]
        data: PathBuf,
    },
    /// Export a persist dir that llama-index-core loads back.
    Export {
        /// Where to write the files (created if missing).
        out_dir: PathBuf,
        /// The embedded data directory.
        #[arg(long, env = "STRATA_DATA", default_value = "./strata-data")]
        data: PathBuf,
    },
}

/// Shows a bar per stage once there is enough to watch; silent when stderr is not a terminal.
struct Bars {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl Bars {
    fn new() -> Self {
        Self { current: Mutex::new(None) }
    }

    fn update(&self, p: Progress<'_>) {
        if p.total < 1000 {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().map(|(stage, _)| stage.as_str()) != Some(p.stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(p.total);
            let style = ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(p.stage.to_string());
            *current = Some((p.stage.to_string(), bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(p.done);
        }
    }

    fn finish(&self) {
        if let Some((_, bar)) = self.current.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
    }
}

fn print_import(s: &ImportSummary, secs: f64) {
    println!("imported {} bytes in {secs:.2}s", s.bytes);
    for (coll, n) in &s.collections {
        println!("  {coll:<32} {n:>8} entries");
    }
    println!(
        "  nodes {}, index structs {}, chat keys {} ({} messages)",
        s.nodes, s.index_structs, s.chat_keys, s.chat_messages
    );
    if !s.kept_files.is_empty() {
        println!("  kept verbatim for export: {}", s.kept_files.join(", "));
    }
}

fn print_export(s: &ExportSummary, secs: f64) {
    println!("exported {} bytes in {secs:.2}s", s.bytes);
    for (coll, n) in &s.collections {
        println!("  {coll:<32} {n:>8} entries");
    }
    println!("  chat keys {}", s.chat_keys);
    println!("  files: {}", s.files.join(", "));
}

async fn run(cli: Cli) -> Result<(), strata_client::Error> {
    let bars = Bars::new();
    let progress = |p: Progress<'_>| bars.update(p);
    let started = std::time::Instant::now();
    match cli.command {
        Command::Import { persist_dir, data } => {
            let ctx = StorageContext::open(&data)?;
            let summary = ctx.import_persist_dir(&persist_dir, &progress).await;
            bars.finish();
            print_import(&summary?, started.elapsed().as_secs_f64());
        }
        Command::Export { out_dir, data } => {
            let ctx = StorageContext::open(&data)?;
            let summary = ctx.export_persist_dir(&out_dir, &progress).await;
            bars.finish();
            print_export(&summary?, started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// Parses arguments, runs the subcommand, reports errors on stderr.
pub fn main() -> ExitCode {
    crate::telemetry::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e}");
            ExitCode::FAILURE
        }
    }
}
