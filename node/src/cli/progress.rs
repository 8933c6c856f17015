//! Progress bars and summaries for import and export.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;
use strata_client::{ExportSummary, ImportSummary, Progress};

/// Shows a bar per stage once there is enough to watch; silent when stderr is not a terminal.
pub struct Bars {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl Bars {
    /// No bar yet.
    pub fn new() -> Self {
        Self { current: Mutex::new(None) }
    }

    /// Shows `p`.
    pub fn update(&self, p: Progress<'_>) {
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

    /// Ends the current bar.
    pub fn finish(&self) {
        if let Some((_, bar)) = self.current.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
    }
}

/// Prints an import summary.
pub fn print_import(s: &ImportSummary, secs: f64) {
    println!("imported {} bytes in {secs:.2}s", s.bytes);
    for (coll, n) in &s.collections {
        println!("  {coll:<32} {n:>8} entries");
    }
    println!(
        "  nodes {}, index structs {}, chat keys {} ({} messages)",
        s.nodes, s.index_structs, s.chat_keys, s.chat_messages
    );
    for (ns, n) in &s.vector_namespaces {
        println!("  vector store {ns:<19} {n:>8} vectors");
    }
    if s.graph_triplets > 0 {
        println!("  graph store {:>29} triplets", s.graph_triplets);
    }
    if s.property_graph != (0, 0) {
        println!("  property graph {:>17} nodes, {} relations", s.property_graph.0, s.property_graph.1);
    }
    if !s.kept_files.is_empty() {
        println!("  kept verbatim for export: {}", s.kept_files.join(", "));
    }
}

/// Prints an export summary.
pub fn print_export(s: &ExportSummary, secs: f64) {
    println!("exported {} bytes in {secs:.2}s", s.bytes);
    for (coll, n) in &s.collections {
        println!("  {coll:<32} {n:>8} entries");
    }
    println!("  chat keys {}", s.chat_keys);
    for (ns, n) in &s.vector_namespaces {
        println!("  vector store {ns:<19} {n:>8} vectors");
    }
    println!("  graph store {:>29} subjects", s.graph_subjects);
    if s.property_graph != (0, 0) {
        println!("  property graph {:>17} nodes, {} relations", s.property_graph.0, s.property_graph.1);
    }
    println!("  files: {}", s.files.join(", "));
}
