//! The one place keys of a shard's sled tree are encoded.
//!
//! Every record of a shard lives in one tree, so one `sled::Batch` can change several
//! stores atomically. Keys start with a one-byte space tag; names are length-prefixed so a
//! prefix scan of one name never runs into another; counters are big-endian so they sort.

/// Record spaces (the first key byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Space {
    /// Shard metadata: counters, applied index.
    Meta = b'#',
    /// KV entries: `collection, key` → `seq ++ value`.
    KvEntry = b'c',
    /// Collection registry: `name` → `seq`.
    CollectionEntry = b'C',
    /// Chat key registry: `key` → `seq`.
    ChatKeyEntry = b'k',
    /// Chat messages: `key, position` → message JSON.
    ChatMessage = b'm',
    /// Vector namespace settings: `namespace` → MessagePack `VectorNamespace`.
    VectorNamespace = b'V',
    /// Vector records: `namespace, node id` → `seq ++ record`.
    VectorRecord = b'v',
    /// Vector records by source document: `namespace, len(ref doc) ref doc, node id` → ``.
    VectorRefDoc = b'r',
    /// Triplet store subjects: `graph, subject` → `seq` (an ordered map).
    GraphSubject = b't',
    /// Triplet store pairs: `graph\0subject, [rel, obj]` → `seq` (an ordered map per subject).
    GraphPair = b'T',
    /// Property graph nodes: `graph, id` → `seq ++ record` (an ordered map).
    GraphNode = b'g',
    /// Nodes by Cypher label: `graph, label, id` → ``.
    GraphLabel = b'l',
    /// Nodes by scalar property value: `graph, key, value, id` → ``.
    GraphNodeProp = b'p',
    /// Relations stored with their source: `graph, source, label, target` → relation value.
    GraphOut = b'o',
    /// Relations indexed at their target: `graph, target, label, source` → relation value.
    GraphIn = b'i',
    /// Relations stored here by label: `graph, label, source, target` → ``.
    GraphRelLabel = b'L',
    /// Relations stored here by scalar property value: `graph, key, value, source, label,
    /// target` → ``.
    GraphRelProp = b'P',
    /// Schema counters: `graph, kind, parts` → count.
    GraphSchema = b's',
}

/// Appends a length-prefixed name.
pub fn push_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
}

/// `space ++ len(name) ++ name`: the prefix of everything under one name.
pub fn prefix(space: Space, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + name.len());
    k.push(space as u8);
    push_name(&mut k, name);
    k
}

/// `prefix(space, name) ++ tail`.
pub fn key(space: Space, name: &str, tail: &[u8]) -> Vec<u8> {
    let mut k = prefix(space, name);
    k.extend_from_slice(tail);
    k
}

/// `prefix(space, name) ++ be(n)`.
pub fn key_u64(space: Space, name: &str, n: u64) -> Vec<u8> {
    key(space, name, &n.to_be_bytes())
}

/// `space len(name) name tail` → `(name, tail)`: the inverse of [`key`].
pub fn split_name(key: &[u8]) -> Option<(String, &[u8])> {
    let len = u32::from_be_bytes(key.get(1..5)?.try_into().ok()?) as usize;
    let name = String::from_utf8(key.get(5..5usize.checked_add(len)?)?.to_vec()).ok()?;
    Some((name, &key[5 + len..]))
}

/// Reads the big-endian u64 at the end of a key or at the start of a value.
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// Reads the big-endian u64 that ends a key.
pub fn trailing_u64(key: &[u8]) -> Option<u64> {
    key.len().checked_sub(8).and_then(|start| read_u64(&key[start..]))
}

/// The meta key holding the next sequence number.
pub const META_NEXT_SEQ: &[u8] = b"#next_seq";
