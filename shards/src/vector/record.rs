//! The stored form of a vector record (sled value after the ordered map's sequence
//! number): `dim:u32, dim × f32 (LE), ref_doc_id, metadata JSON, node JSON`, the last
//! three as optional length-prefixed UTF-8 (`u32::MAX` length = absent), then one byte:
//! whether the embedding arrived as exact f32 values (absent in older records: no).

use crate::error::{Error, Result};
use strata_api::{JsonText, VectorRecord};

const ABSENT: u32 = u32::MAX;

fn push_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        None => out.extend_from_slice(&ABSENT.to_be_bytes()),
    }
}

/// Encodes a record (its node id is the key, not part of the value).
pub fn encode(r: &VectorRecord) -> Vec<u8> {
    let text_len = r.metadata.as_str().len() + r.node.as_ref().map_or(0, |n| n.as_str().len());
    let mut out = Vec::with_capacity(16 + 4 * r.embedding.len() + text_len);
    out.extend_from_slice(&(r.embedding.len() as u32).to_be_bytes());
    for x in &r.embedding {
        out.extend_from_slice(&x.to_le_bytes());
    }
    push_opt(&mut out, r.ref_doc_id.as_deref());
    push_opt(&mut out, Some(r.metadata.as_str()));
    push_opt(&mut out, r.node.as_ref().map(|n| n.as_str()));
    out.push(u8::from(r.exact_f32));
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::Corrupt("truncated vector record".into()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>> {
        let len = self.u32()?;
        if len == ABSENT {
            return Ok(None);
        }
        let bytes = self.take(len as usize)?;
        std::str::from_utf8(bytes).map(Some).map_err(|_| Error::Corrupt("vector record text is not UTF-8".into()))
    }
}

/// Decodes a record stored under `node_id`.
pub fn decode(node_id: &str, bytes: &[u8]) -> Result<VectorRecord> {
    let mut c = Cursor(bytes);
    let dim = c.u32()? as usize;
    let raw = c.take(dim.checked_mul(4).ok_or_else(|| Error::Corrupt("vector dimension overflows".into()))?)?;
    let embedding = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let ref_doc_id = c.opt_str()?.map(str::to_string);
    let metadata = c.opt_str()?.ok_or_else(|| Error::Corrupt("vector record without metadata".into()))?;
    let node = c.opt_str()?;
    let exact_f32 = c.0.first().is_some_and(|b| *b == 1);
    Ok(VectorRecord {
        node_id: node_id.to_string(),
        embedding,
        ref_doc_id,
        metadata: JsonText::from_stored(metadata.as_bytes())?,
        node: node.map(|n| JsonText::from_stored(n.as_bytes())).transpose()?,
        exact_f32,
    })
}
