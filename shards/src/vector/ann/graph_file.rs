//! The searchable [`Graph`] as a file, saved with each generation of a namespace's graph
//! ([`super::saved`]) so a reopened namespace searches at once without loading hnsw_rs's
//! much larger graph (that is loaded only when a write needs it).
//!
//! Layout (little-endian): the magic `STRGRAF1`; `covered: u32`, `distance: u8`,
//! `dim: u32`, `degree: u32`, `block: u32`, `entry: u32` (`u32::MAX` = none); the
//! quantiser's `dim × f32` scales; `len: u64` and the blocks; `layers: u32`, then per
//! upper layer `entries: u32` and per entry `slot: u32, count: u32, count × u32`.
//! Reading checks every size and slot number, so a damaged file is an error, never a
//! search that reads out of bounds.

use super::graph::{Graph, LINE};
use crate::vector::quant::Quantizer;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use strata_api::Distance;

const MAGIC: &[u8; 8] = b"STRGRAF1";
const NO_ENTRY: u32 = u32::MAX;

fn distance_code(d: Distance) -> u8 {
    match d {
        Distance::Cosine => 0,
        Distance::Dot => 1,
        Distance::L2 => 2,
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("saved search graph: {what}"))
}

/// Writes `graph`.
pub fn write(graph: &Graph, w: &mut impl Write) -> io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(&graph.covered.to_le_bytes())?;
    w.write_all(&[distance_code(graph.distance)])?;
    for n in [graph.dim, graph.degree, graph.block] {
        w.write_all(&u32::try_from(n).map_err(|_| invalid("a size overflows"))?.to_le_bytes())?;
    }
    w.write_all(&graph.entry.unwrap_or(NO_ENTRY).to_le_bytes())?;
    for s in graph.quantizer.scales() {
        w.write_all(&s.to_le_bytes())?;
    }
    w.write_all(&(graph.blocks.len() as u64).to_le_bytes())?;
    w.write_all(&graph.blocks)?;
    w.write_all(&(graph.upper.len() as u32).to_le_bytes())?;
    for layer in &graph.upper {
        w.write_all(&(layer.len() as u32).to_le_bytes())?;
        let mut slots: Vec<&u32> = layer.keys().collect();
        slots.sort_unstable();
        for slot in slots {
            let ids = &layer[slot];
            w.write_all(&slot.to_le_bytes())?;
            w.write_all(&(ids.len() as u32).to_le_bytes())?;
            for id in ids {
                w.write_all(&id.to_le_bytes())?;
            }
        }
    }
    Ok(())
}

struct Input<R>(R);

impl<R: Read> Input<R> {
    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.0.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn usize(&mut self) -> io::Result<usize> {
        Ok(self.u32()? as usize)
    }

    /// A slot number, checked to be one of the graph's `covered`.
    fn slot(&mut self, covered: u32) -> io::Result<u32> {
        let s = self.u32()?;
        if s < covered { Ok(s) } else { Err(invalid("a slot number out of range")) }
    }
}

/// Reads a graph written by [`write`] for vectors of `dim` components under `distance`.
pub fn read(r: impl Read, distance: Distance, dim: usize) -> io::Result<Graph> {
    let mut r = Input(r);
    let mut magic = [0u8; 8];
    r.0.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(invalid("not a search graph file"));
    }
    let covered = r.u32()?;
    let mut code = [0u8; 1];
    r.0.read_exact(&mut code)?;
    if code[0] != distance_code(distance) {
        return Err(invalid("saved under another distance"));
    }
    let (file_dim, degree, block) = (r.usize()?, r.usize()?, r.usize()?);
    if file_dim != dim {
        return Err(invalid("saved for another dimension"));
    }
    if degree > 128 || block < 4 + dim + 4 + 4 * degree || block % LINE != 0 {
        return Err(invalid("inconsistent block layout"));
    }
    let entry = match r.u32()? {
        NO_ENTRY => None,
        e if e < covered => Some(e),
        _ => return Err(invalid("entry point out of range")),
    };
    let mut scales = Vec::with_capacity(dim);
    for _ in 0..dim {
        let mut b = [0u8; 4];
        r.0.read_exact(&mut b)?;
        scales.push(f32::from_le_bytes(b));
    }
    let quantizer = Quantizer::from_scales(scales).ok_or_else(|| invalid("bad quantiser scales"))?;
    let mut len = [0u8; 8];
    r.0.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len != covered as u64 * block as u64 {
        return Err(invalid("blocks do not match the slot count"));
    }
    let mut blocks = vec![0u8; usize::try_from(len).map_err(|_| invalid("too large"))?];
    r.0.read_exact(&mut blocks)?;
    let at = 4 + dim;
    for b in blocks.chunks_exact(block) {
        let count = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        if count > degree {
            return Err(invalid("a neighbour list overflows its block"));
        }
        for i in 0..count {
            let p = at + 4 + 4 * i;
            if u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) >= covered {
                return Err(invalid("a neighbour out of range"));
            }
        }
    }
    let layers = r.usize()?;
    if layers > 64 {
        return Err(invalid("too many layers"));
    }
    let mut upper = Vec::with_capacity(layers);
    for _ in 0..layers {
        let entries = r.usize()?;
        if entries > covered as usize {
            return Err(invalid("a layer larger than the graph"));
        }
        let mut layer = HashMap::with_capacity(entries);
        for _ in 0..entries {
            let slot = r.slot(covered)?;
            let count = r.usize()?;
            if count > 4 * degree.max(1) {
                return Err(invalid("an upper-layer list too long"));
            }
            let ids = (0..count).map(|_| r.slot(covered)).collect::<io::Result<Vec<u32>>>()?;
            layer.insert(slot, ids);
        }
        upper.push(layer);
    }
    if entry.is_none() && covered > 0 {
        return Err(invalid("a graph without an entry point"));
    }
    Ok(Graph { covered, distance, dim, degree, block, blocks, upper, entry, quantizer })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small graph with every part filled: two upper layers, partial neighbour lists.
    fn sample() -> Graph {
        let (dim, degree, covered) = (5usize, 3usize, 4u32);
        let block = (4 + dim + 4 + 4 * degree).div_ceil(LINE) * LINE;
        let mut blocks = vec![0u8; covered as usize * block];
        for slot in 0..covered as usize {
            let b = &mut blocks[slot * block..(slot + 1) * block];
            b[..4].copy_from_slice(&(slot as f32).to_le_bytes());
            b[4..4 + dim].fill(slot as u8 + 100);
            b[4 + dim..8 + dim].copy_from_slice(&2u32.to_le_bytes());
            b[8 + dim..12 + dim].copy_from_slice(&((slot as u32 + 1) % covered).to_le_bytes());
            b[12 + dim..16 + dim].copy_from_slice(&((slot as u32 + 2) % covered).to_le_bytes());
        }
        let upper = vec![HashMap::from([(1, vec![2, 3]), (2, vec![1])]), HashMap::from([(2, vec![])])];
        let quantizer = Quantizer::from_scales(vec![1.0, 2.0, 3.0, 4.0, 5.0]).expect("scales");
        Graph { covered, distance: Distance::L2, dim, degree, block, blocks, upper, entry: Some(2), quantizer }
    }

    fn bytes(g: &Graph) -> Vec<u8> {
        let mut out = Vec::new();
        write(g, &mut out).expect("write");
        out
    }

    #[test]
    fn a_graph_reads_back_as_written() {
        let g = sample();
        let back = read(&bytes(&g)[..], Distance::L2, 5).expect("read");
        assert_eq!(
            (back.covered, back.dim, back.degree, back.block, back.entry),
            (g.covered, g.dim, g.degree, g.block, g.entry)
        );
        assert_eq!(back.blocks, g.blocks);
        assert_eq!(back.upper, g.upper);
        assert_eq!(back.quantizer.scales(), g.quantizer.scales());
    }

    #[test]
    fn damage_and_mismatches_are_errors() {
        let good = bytes(&sample());
        assert!(read(&good[..], Distance::Cosine, 5).is_err(), "another distance");
        assert!(read(&good[..], Distance::L2, 6).is_err(), "another dimension");
        assert!(read(&good[..good.len() - 3], Distance::L2, 5).is_err(), "truncated");
        // A neighbour of slot 0 pointing past the graph.
        let mut bad = good.clone();
        let blocks_at = 8 + 4 + 1 + 16 + 4 * 5 + 8;
        bad[blocks_at + 4 + 5 + 4..blocks_at + 4 + 5 + 8].copy_from_slice(&9u32.to_le_bytes());
        assert!(read(&bad[..], Distance::L2, 5).is_err(), "neighbour out of range");
        // An upper-layer slot past the graph (the last layer's only slot, then its count).
        let mut bad = good;
        let n = bad.len();
        bad[n - 8..n - 4].copy_from_slice(&7u32.to_le_bytes());
        assert!(read(&bad[..], Distance::L2, 5).is_err(), "upper slot out of range");
    }
}
