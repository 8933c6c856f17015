//! Atomic multi-record writes over sled without `sled::Batch`.
//!
//! Why not a batch: sled 0.34's `Tree::apply_batch` (and its transactions) take a
//! process-wide write lock, and the first one switches every later read and write in the
//! process onto a global `RwLock`; each batch also seals and writes sled's IO buffer. With
//! many raft groups applying and appending in one node that serialised everything (a
//! state-machine apply took 1.5 ms at the median under load, see `docs/benchmarks.md`).
//!
//! How instead: the write set is first stored whole as one record under [`REDO`]; then
//! each write is applied as a single-key insert or remove (each atomic in sled); then the
//! record is removed. sled recovers a prefix of its log after a crash (its recovery stops
//! at the first torn or zeroed message), so after a restart either no record is left (the
//! set landed wholly or not at all) or it is left and [`recover`] applies it again —
//! writing a key to a given value twice is harmless.

use crate::error::{Error, Result};

/// The key of the pending write set (in the shard's `#` metadata space).
pub const REDO: &[u8] = b"#redo";

/// One write: a value to store, or `None` to remove the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// Applies `writes` to `tree` atomically with respect to crashes (not to concurrent
/// readers: callers exclude those while it runs).
pub fn apply(tree: &sled::Tree, writes: &[Write]) -> Result<()> {
    match writes {
        [] => Ok(()),
        [one] => apply_one(tree, one),
        many => {
            tree.insert(REDO, encode(many))?;
            for w in many {
                apply_one(tree, w)?;
            }
            tree.remove(REDO)?;
            Ok(())
        }
    }
}

/// Finishes a write set a crash interrupted; answers whether there was one.
pub fn recover(tree: &sled::Tree) -> Result<bool> {
    let Some(record) = tree.get(REDO)? else { return Ok(false) };
    for w in decode(&record)? {
        apply_one(tree, &w)?;
    }
    tree.remove(REDO)?;
    Ok(true)
}

fn apply_one(tree: &sled::Tree, (key, value): &Write) -> Result<()> {
    match value {
        Some(v) => tree.insert(key.as_slice(), v.as_slice())?,
        None => tree.remove(key.as_slice())?,
    };
    Ok(())
}

/// `count`, then per write: `len key tag [len value]` (big-endian u32 lengths; tag 1 =
/// insert, 0 = remove).
fn encode(writes: &[Write]) -> Vec<u8> {
    let size: usize = writes.iter().map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len)).sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&(writes.len() as u32).to_be_bytes());
    for (k, v) in writes {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match v {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<Vec<Write>> {
    let corrupt = || Error::Corrupt("truncated redo record".into());
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    let read_len = |bytes: &mut &[u8]| -> Result<usize> {
        let b = take(bytes, 4).ok_or_else(corrupt)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = read_len(&mut bytes)?;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let klen = read_len(&mut bytes)?;
        let key = take(&mut bytes, klen).ok_or_else(corrupt)?.to_vec();
        let value = match take(&mut bytes, 1).ok_or_else(corrupt)? {
            [1] => {
                let vlen = read_len(&mut bytes)?;
                Some(take(&mut bytes, vlen).ok_or_else(corrupt)?.to_vec())
            }
            _ => None,
        };
        out.push((key, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, sled::Tree) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let tree = db.open_tree("t").expect("tree");
        (dir, tree)
    }

    #[test]
    fn a_write_set_lands_whole_and_leaves_no_record() {
        let (_d, t) = tree();
        t.insert(b"gone", b"x".as_slice()).expect("insert");
        apply(&t, &[(b"a".to_vec(), Some(b"1".to_vec())), (b"gone".to_vec(), None)]).expect("apply");
        assert_eq!(t.get(b"a").expect("get").as_deref(), Some(&b"1"[..]));
        assert_eq!(t.get(b"gone").expect("get"), None);
        assert_eq!(t.get(REDO).expect("get"), None);
    }

    #[test]
    fn an_interrupted_write_set_is_finished_by_recover() {
        let (_d, t) = tree();
        let writes =
            vec![(b"a".to_vec(), Some(b"1".to_vec())), (b"b".to_vec(), Some(vec![0; 300])), (b"c".to_vec(), None)];
        t.insert(b"c", b"old".as_slice()).expect("insert");
        // The crash: the record and the first write landed, nothing after.
        t.insert(REDO, encode(&writes)).expect("insert");
        apply_one(&t, &writes[0]).expect("first write");
        assert!(recover(&t).expect("recover"));
        assert_eq!(t.get(b"b").expect("get").map(|v| v.len()), Some(300));
        assert_eq!(t.get(b"c").expect("get"), None);
        assert_eq!(t.get(REDO).expect("get"), None);
        assert!(!recover(&t).expect("nothing left"));
    }

    #[test]
    fn a_truncated_record_is_corrupt_not_a_panic() {
        let bytes = encode(&[(b"key".to_vec(), Some(b"value".to_vec()))]);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
