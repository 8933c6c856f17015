//! Entry counts of the KV collections (documents, index structs, plain KV) and of the chat
//! store's keys, for the status page and the metrics: how many documents a docstore
//! namespace holds must not cost a scan of it.
//!
//! The counted ordered maps ([`crate::ordered::OrderedMap::counted`]) add one to a counter
//! record when a key is new and take one away when a key goes, inside the command's own
//! transaction, so a count moves with its entries atomically and is the same on every
//! replica (it travels in snapshots as any record). A tree written before counts existed
//! has none: [`ensure`] counts it once, when the shard opens or an image from such a node
//! is installed, and leaves a marker so it never counts again.

use crate::error::{Error, Result};
use crate::keys::{self, Space};
use crate::ordered::Reader;

/// Counter records: `#count/ space len(name) name` → big-endian u64 (absent at zero).
const COUNT: &[u8] = b"#count/";
/// Present once the tree's counts are kept by its writes.
const COUNTED: &[u8] = b"#counted_v1";

/// The counter of ordered map `name` in space `entry`.
pub fn key(entry: Space, name: &str) -> Vec<u8> {
    let mut k = COUNT.to_vec();
    k.push(entry as u8);
    keys::push_name(&mut k, name);
    k
}

/// Entries of every KV collection this tree holds, sorted by collection name (collections
/// that are registered but empty are absent).
pub fn collections(r: &impl Reader) -> Result<Vec<(String, u64)>> {
    let mut prefix = COUNT.to_vec();
    prefix.push(Space::KvEntry as u8);
    let mut out = Vec::new();
    for item in r.scan_iter(&prefix) {
        let (k, v) = item?;
        let name = name_at(&k[prefix.len()..]).ok_or_else(|| Error::Corrupt("a collection counter's name".into()))?;
        let n = keys::read_u64(&v).ok_or_else(|| Error::Corrupt(format!("the counter of collection {name:?}")))?;
        out.push((name, n));
    }
    out.sort_unstable();
    Ok(out)
}

/// Keys of the chat store held in this tree.
pub fn chat_keys(r: &impl Reader) -> Result<u64> {
    match r.get_raw(&key(Space::ChatKeyEntry, ""))? {
        None => Ok(0),
        Some(v) => keys::read_u64(&v).ok_or_else(|| Error::Corrupt("the chat key counter".into())),
    }
}

/// Counts a tree written before counts existed (once: it leaves a marker). Runs while
/// nothing else writes the tree (opening, installing an image).
pub fn ensure(tree: &sled::Tree) -> Result<()> {
    if tree.contains_key(COUNTED)? {
        return Ok(());
    }
    let mut txn = crate::txn::Txn::new(tree);
    recount(&mut txn)?;
    txn.commit()?;
    Ok(())
}

/// Recounts every counted map from its committed entries, inside `txn` (a restore's last
/// step: its records arrived without their counters).
pub fn recount(txn: &mut crate::txn::Txn<'_>) -> Result<()> {
    let stale: Vec<Vec<u8>> = txn.committed_iter(COUNT).map(|r| r.map(|(k, _)| k)).collect::<Result<_>>()?;
    for k in stale {
        txn.remove(k);
    }
    for space in [Space::KvEntry, Space::ChatKeyEntry] {
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        for item in txn.committed_iter(&[space as u8]) {
            let (k, _) = item?;
            let name = name_at(&k[1..]).ok_or_else(|| Error::Corrupt("an entry key without its map's name".into()))?;
            *counts.entry(name).or_default() += 1;
        }
        for (name, n) in counts {
            txn.add_to_counter(key(space, &name), n);
        }
    }
    txn.put(COUNTED.to_vec(), Vec::new());
    Ok(())
}

/// The length-prefixed name at the start of `bytes`.
fn name_at(bytes: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    String::from_utf8(bytes.get(4..4usize.checked_add(len)?)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shard;
    use strata_api::{ChatCommand, ChatMessage, Command, JsonText, KvCommand};

    fn put(coll: &str, key: &str) -> Command {
        Command::Kv(KvCommand::Put {
            collection: coll.into(),
            key: key.into(),
            value: JsonText::from_map(&Default::default()),
        })
    }

    fn chat(key: &str) -> Command {
        let message = ChatMessage::from_json(&serde_json::from_str(r#"{"role":"user","content":"hi"}"#).expect("json"))
            .expect("message");
        Command::Chat(ChatCommand::AddMessage { key: key.into(), message, idx: None })
    }

    fn figures(shard: &Shard) -> (Vec<(String, u64)>, u64) {
        (shard.collection_counts().expect("collections"), shard.chat_key_count().expect("chat keys"))
    }

    #[test]
    fn writes_keep_the_counts_and_overwrites_do_not_move_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let shard = Shard::open(&db, "s").expect("shard");
        for cmd in [put("a/data", "1"), put("a/data", "2"), put("a/data", "1"), put("b", "x"), chat("k1"), chat("k1")] {
            shard.apply(&cmd).expect("apply");
        }
        assert_eq!(figures(&shard), (vec![("a/data".into(), 2), ("b".into(), 1)], 1));
        let delete = |key: &str| Command::Kv(KvCommand::Delete { collection: "a/data".into(), key: key.into() });
        shard.apply(&delete("1")).expect("delete");
        shard.apply(&delete("1")).expect("delete again");
        shard.apply(&Command::Chat(ChatCommand::DeleteMessages { key: "k1".into() })).expect("delete chat");
        assert_eq!(figures(&shard), (vec![("a/data".into(), 1), ("b".into(), 1)], 0));
        shard.apply(&delete("2")).expect("delete the last");
        assert_eq!(figures(&shard), (vec![("b".into(), 1)], 0), "a count at zero leaves no record");
    }

    #[test]
    fn a_command_refused_inside_a_batch_counts_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let shard = Shard::open(&db, "s").expect("shard");
        let add = |ids: &[&str]| {
            Command::Docstore(strata_api::DocstoreCommand::AddDocuments {
                namespace: "d".into(),
                nodes: ids
                    .iter()
                    .map(|id| strata_api::NodeWrite {
                        node_id: id.to_string(),
                        data: Some(JsonText::from_map(&Default::default())),
                        doc_hash: "h".into(),
                        source: None,
                    })
                    .collect(),
                allow_update: false,
            })
        };
        let (first, refused, last) = (add(&["1"]), add(&["2", "1"]), add(&["3"]));
        let answers = shard.apply_entry(1, &[(None, &first), (None, &refused), (None, &last)], vec![]).expect("entry");
        assert!(answers[1].is_err(), "adding an id already present without allow_update fails");
        assert_eq!(figures(&shard).0, vec![("d/data".into(), 2), ("d/metadata".into(), 2)]);
    }

    #[test]
    fn a_tree_written_before_counts_existed_is_counted_once_at_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        {
            let shard = Shard::open(&db, "s").expect("shard");
            for cmd in [put("a/data", "1"), put("a/data", "2"), put("b", "x"), chat("k1"), chat("k2")] {
                shard.apply(&cmd).expect("apply");
            }
        }
        // What an older version left: the entries, no counters, no marker.
        let tree = db.open_tree("s").expect("tree");
        for item in tree.scan_prefix(COUNT) {
            tree.remove(item.expect("scan").0).expect("remove");
        }
        tree.remove(COUNTED).expect("remove marker");
        let shard = Shard::open(&db, "s").expect("reopen");
        assert_eq!(figures(&shard), (vec![("a/data".into(), 2), ("b".into(), 1)], 2));
        shard.apply(&put("a/data", "3")).expect("apply");
        let shard = Shard::open(&db, "s").expect("reopen again");
        assert_eq!(figures(&shard).0, vec![("a/data".into(), 3), ("b".into(), 1)], "counted once, then kept by writes");
    }

    #[test]
    fn an_image_without_counts_is_counted_when_installed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let old = Shard::open(&db, "old").expect("shard");
        old.apply(&put("x/data", "1")).expect("apply");
        let tree = db.open_tree("old").expect("tree");
        for item in tree.scan_prefix(COUNT) {
            tree.remove(item.expect("scan").0).expect("remove");
        }
        tree.remove(COUNTED).expect("remove marker");
        let (image, _) = old.export_image(b"#none").expect("image");
        let new = Shard::open(&db, "new").expect("shard");
        new.install_image(&image).expect("install");
        assert_eq!(figures(&new).0, vec![("x/data".into(), 1)]);
    }
}
