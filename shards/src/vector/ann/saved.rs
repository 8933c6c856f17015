//! A namespace's HNSW graph saved next to its shard, so that reopening the shard does not
//! rebuild a large index from scratch.
//!
//! The save is a cache, never the truth: sled holds every record. A saved graph names the
//! node (and a fingerprint of the vector) behind each of its points; on load a point
//! counts as live only when the shard still stores that node with that very vector, so a
//! graph saved at any earlier moment is correct to reuse (points of since-deleted or
//! replaced vectors become tombstones; vectors the graph lacks are inserted anew).
//!
//! Layout, per namespace (`<dir>/<hex of the name>/`): one folder per saved generation
//! holding hnsw_rs's own dump (`*.hnsw.graph`, `*.hnsw.data`), the searchable copy of the
//! graph ([`super::graph_file`], `search.graph`; absent in saves of older versions) and
//! our `slots` manifest (node ids, fingerprints, sizes and checksums of those files), and
//! a `CURRENT` file
//! naming the live generation, replaced by rename after everything it names is synced. A
//! crash mid-save leaves the previous generation current. The checksums are verified
//! before hnsw_rs reads a dump: its loader exits the process on some malformed input.

use super::BuildDistance;
use super::graph::Graph;
use super::graph_file;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{AnnT, Hnsw};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use strata_api::Distance;

/// Bumped when the manifest's meaning changes; other versions are ignored (rebuilt).
const FORMAT: u32 = 1;
/// The dump's base name inside a generation folder.
const BASENAME: &str = "graph";
const MANIFEST: &str = "slots";
const SEARCH_GRAPH: &str = "search.graph";
const HNSW_FILES: [&str; 2] = ["graph.hnsw.graph", "graph.hnsw.data"];
const CURRENT: &str = "CURRENT";

/// The graph of a namespace as hnsw_rs holds it.
pub type HnswGraph = Hnsw<'static, f32, BuildDistance>;

/// Which node each point of a saved graph stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    format: u32,
    /// The namespace's distance (the graph is meaningless under another).
    pub distance: Distance,
    /// The vectors' dimension.
    pub dim: u32,
    /// Point `i` (hnsw_rs origin id `i`) is the vector of node `node_ids[i]` ...
    pub node_ids: Vec<String>,
    /// ... whose [`fingerprint`] was `fingerprints[i]`.
    pub fingerprints: Vec<u64>,
    files: Vec<FileSum>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct FileSum {
    name: String,
    len: u64,
    sum: u64,
}

/// The searchable copy of a saved graph, loaded without hnsw_rs's.
pub struct LoadedSearch {
    /// The graph to search.
    pub graph: Graph,
    /// Who its points are.
    pub manifest: Manifest,
}

/// A saved graph, loaded.
pub struct Loaded {
    /// hnsw_rs's graph, ready to take more points.
    pub hnsw: HnswGraph,
    /// Who its points are.
    pub manifest: Manifest,
}

/// A 64-bit fingerprint of a vector's exact components.
pub fn fingerprint(v: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in v {
        h = (h ^ u64::from(x.to_bits())).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The longest folder name a namespace is spelled out in (file systems allow 255 bytes).
const MAX_DIR_NAME: usize = 200;

/// The folder of `namespace`'s saved graphs under `dir`: its name in hex, or, for a name
/// too long to be a file name (a namespace may be named by up to `max_id_bytes`), the
/// hex of its start and a 128-bit hash of the whole. Two namespaces sharing a folder
/// would only cost a rebuild: a saved graph is reused only for the vectors whose
/// fingerprints it records.
pub fn namespace_dir(dir: &Path, namespace: &str) -> PathBuf {
    let hex: String = namespace.bytes().map(|b| format!("{b:02x}")).collect();
    if hex.len() + 3 <= MAX_DIR_NAME {
        return dir.join(format!("ns-{hex}"));
    }
    let hash = |seed: u64| namespace.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    dir.join(format!("nh-{}-{a:016x}{b:016x}", &hex[..120]))
}

fn checksum(path: &Path) -> io::Result<FileSum> {
    let mut file = io::BufReader::with_capacity(1 << 20, fs::File::open(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let (mut h, mut len) = (0xcbf2_9ce4_8422_2325u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        len += n as u64;
        for chunk in buf[..n].chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(FileSum { name, len, sum: h })
}

fn sync_file(path: &Path) -> io::Result<()> {
    fs::File::open(path)?.sync_all()
}

/// Saves `hnsw`, whose points are named by `manifest`, as the current generation of
/// `ns_dir`, with `search`, its searchable copy, when given (it must cover every point).
pub fn save(ns_dir: &Path, hnsw: &HnswGraph, search: Option<&Graph>, mut manifest: Manifest) -> io::Result<()> {
    fs::create_dir_all(ns_dir)?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let generation = format!("gen-{nanos:x}");
    let gen_dir = ns_dir.join(&generation);
    fs::create_dir(&gen_dir)?;
    let written = (|| {
        let dumped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hnsw.file_dump(&gen_dir, BASENAME)))
            .map_err(|_| io::Error::other("hnsw_rs panicked while dumping"))?
            .map_err(|e| io::Error::other(format!("hnsw_rs dump: {e}")))?;
        if dumped != BASENAME {
            return Err(io::Error::other(format!("hnsw_rs dumped under {dumped:?}")));
        }
        manifest.format = FORMAT;
        manifest.files = Vec::new();
        if let Some(graph) = search {
            let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(gen_dir.join(SEARCH_GRAPH))?);
            graph_file::write(graph, &mut out)?;
            out.flush()?;
        }
        let written = HNSW_FILES.iter().chain(search.map(|_| &SEARCH_GRAPH));
        for name in written {
            let path = gen_dir.join(name);
            sync_file(&path)?;
            manifest.files.push(checksum(&path)?);
        }
        let bytes = rmp_serde::to_vec_named(&manifest).map_err(io::Error::other)?;
        let mut f = fs::File::create(gen_dir.join(MANIFEST))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        let tmp = ns_dir.join("CURRENT.tmp");
        let mut f = fs::File::create(&tmp)?;
        f.write_all(generation.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, ns_dir.join(CURRENT))?;
        fs::File::open(ns_dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&gen_dir);
        return Err(e);
    }
    // Older generations are garbage now.
    for entry in fs::read_dir(ns_dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("gen-") && name != generation.as_str() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// A new manifest (sums are filled in by [`save`]).
pub fn manifest(distance: Distance, dim: u32, names: &[(Arc<str>, u64)]) -> Manifest {
    Manifest {
        format: FORMAT,
        distance,
        dim,
        node_ids: names.iter().map(|(n, _)| n.to_string()).collect(),
        fingerprints: names.iter().map(|(_, f)| *f).collect(),
        files: Vec::new(),
    }
}

/// The current generation's folder and manifest, if it is one for `distance` and `dim`.
fn current(ns_dir: &Path, distance: Distance, dim: u32) -> io::Result<Option<(PathBuf, Manifest)>> {
    let generation = match fs::read_to_string(ns_dir.join(CURRENT)) {
        Ok(g) => g,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let gen_dir = ns_dir.join(generation.trim());
    let manifest: Manifest = rmp_serde::from_slice(&fs::read(gen_dir.join(MANIFEST))?)
        .map_err(|e| io::Error::other(format!("manifest: {e}")))?;
    if manifest.format != FORMAT || manifest.distance != distance || manifest.dim != dim {
        return Ok(None);
    }
    if manifest.node_ids.len() != manifest.fingerprints.len() || !(2..=3).contains(&manifest.files.len()) {
        return Err(io::Error::other("manifest lists are inconsistent"));
    }
    Ok(Some((gen_dir, manifest)))
}

/// Checks the file `name` of `gen_dir` against its checksum in `manifest`.
fn verify(gen_dir: &Path, manifest: &Manifest, name: &str) -> io::Result<()> {
    let expected = manifest
        .files
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| io::Error::other(format!("the manifest does not list {name}")))?;
    let found = checksum(&gen_dir.join(name))?;
    if found.len != expected.len || found.sum != expected.sum {
        return Err(io::Error::other(format!("{name} does not match its checksum")));
    }
    Ok(())
}

/// Loads the searchable copy of the current saved graph of `ns_dir`, if there is one for
/// `distance` and `dim` (older saves have none: `Ok(None)`, as for no save at all).
pub fn load_search(ns_dir: &Path, distance: Distance, dim: u32) -> io::Result<Option<LoadedSearch>> {
    let Some((gen_dir, manifest)) = current(ns_dir, distance, dim)? else { return Ok(None) };
    if !manifest.files.iter().any(|f| f.name == SEARCH_GRAPH) {
        return Ok(None);
    }
    verify(&gen_dir, &manifest, SEARCH_GRAPH)?;
    let file = io::BufReader::with_capacity(1 << 20, fs::File::open(gen_dir.join(SEARCH_GRAPH))?);
    let graph = graph_file::read(file, distance, dim as usize)?;
    if graph.covered as usize != manifest.node_ids.len() {
        return Err(io::Error::other("the search graph does not cover its manifest's points"));
    }
    Ok(Some(LoadedSearch { graph, manifest }))
}

/// Loads the current saved graph of `ns_dir` if there is one for `distance` and `dim`;
/// anything missing, stale in format, or damaged answers why (the caller rebuilds).
pub fn load(ns_dir: &Path, distance: Distance, dim: u32) -> io::Result<Option<Loaded>> {
    let Some((gen_dir, manifest)) = current(ns_dir, distance, dim)? else { return Ok(None) };
    for name in HNSW_FILES {
        verify(&gen_dir, &manifest, name)?;
    }
    // The reloaded graph borrows its loader for its whole life, so the loader (a path and
    // options; the data is copied out) is leaked: a few bytes per load, which happens on
    // a reopen and when a parked builder takes a write (rarely: see `Builder::park_after`).
    let io: &'static HnswIo = Box::leak(Box::new(HnswIo::new(&gen_dir, BASENAME)));
    let hnsw =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| io.load_hnsw_with_dist(BuildDistance(distance))))
            .map_err(|_| io::Error::other("hnsw_rs panicked while loading"))?
            .map_err(|e| io::Error::other(format!("hnsw_rs load: {e}")))?;
    if hnsw.get_nb_point() != manifest.node_ids.len() {
        return Err(io::Error::other(format!(
            "the graph has {} points, its manifest {}",
            hnsw.get_nb_point(),
            manifest.node_ids.len()
        )));
    }
    Ok(Some(Loaded { hnsw, manifest }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_namespace_name_is_a_file_name() {
        let dir = Path::new("/data/hnsw");
        let short = namespace_dir(dir, "docs");
        assert_eq!(short.file_name().and_then(|n| n.to_str()), Some("ns-646f6373"));
        let long = "n".repeat(4096);
        let folder = namespace_dir(dir, &long);
        let name = folder.file_name().map_or(0, |n| n.len());
        assert!(name <= 255, "{name} bytes");
        assert_ne!(namespace_dir(dir, &format!("{long}a")), folder, "names differing at the end differ");
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(namespace_dir(tmp.path(), &long)).expect("a folder by that name can be made");
    }
}
