//! Model-based property test: random operation sequences on the embedded stores give the
//! same answers and the same state as a plain in-memory model written after LlamaIndex's
//! Python code (dicts of dicts), across closes and reopens.

use indexmap::IndexMap;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use strata_client::AddDocumentsOptions;
use strata_client::StorageContext;
use strata_client::api::{ChatMessage, MessageRole, Node, RelatedNodeInfo};

type Obj = Map<String, Value>;

#[derive(Clone, Debug)]
struct NodeSpec {
    id: &'static str,
    source: Option<&'static str>,
    text: u8,
    meta: u8,
}

impl NodeSpec {
    fn node(&self) -> Node {
        let metadata = match self.meta {
            0 => Obj::new(),
            1 => crate::support::obj(json!({"v": self.text})),
            _ => crate::support::obj(json!({"w": "x", "v": self.text})),
        };
        let node = Node::text_node(self.id, format!("text {}", self.text)).with_metadata(metadata);
        match self.source {
            Some(s) => node.with_source(RelatedNodeInfo::new(s)),
            None => node,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    KvPut { coll: &'static str, key: &'static str, v: u8 },
    KvDelete { coll: &'static str, key: &'static str },
    AddDocs { nodes: Vec<NodeSpec>, allow_update: bool, store_text: bool },
    DeleteDoc { id: &'static str, raise: bool },
    DeleteRefDoc { id: &'static str, raise: bool },
    SetHash { id: &'static str, hash: &'static str },
    ChatAdd { key: &'static str, idx: Option<i64> },
    ChatSet { key: &'static str, n: u8 },
    ChatDeleteIdx { key: &'static str, idx: i64 },
    ChatDeleteLast { key: &'static str },
    ChatDeleteAll { key: &'static str },
    Reopen,
}

const NODE_IDS: [&str; 6] = ["n0", "n1", "n2", "n3", "r0", "r1"];
const SOURCES: [Option<&str>; 4] = [None, Some("r0"), Some("r1"), Some("r2")];
const CHAT_KEYS: [&str; 3] = ["s0", "s1", "s2"];
const KV_COLLS: [&str; 2] = ["c0", "c1"];
const KV_KEYS: [&str; 4] = ["k0", "k1", "k2", "k3"];

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (prop::sample::select(&NODE_IDS[..]), prop::sample::select(&SOURCES[..]), 0u8..3, 0u8..3)
        .prop_map(|(id, source, text, meta)| NodeSpec { id, source, text, meta })
}

fn op() -> impl Strategy<Value = Op> {
    let coll = prop::sample::select(&KV_COLLS[..]);
    let key = prop::sample::select(&KV_KEYS[..]);
    let node_id = prop::sample::select(&NODE_IDS[..]);
    let ref_id = prop::sample::select(&["r0", "r1", "r2", "n0"][..]);
    let chat = prop::sample::select(&CHAT_KEYS[..]);
    prop_oneof![
        1 => (coll.clone(), key.clone(), 0u8..4).prop_map(|(coll, key, v)| Op::KvPut { coll, key, v }),
        1 => (coll, key).prop_map(|(coll, key)| Op::KvDelete { coll, key }),
        3 => (prop::collection::vec(node_spec(), 1..4), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(nodes, allow_update, store_text)| Op::AddDocs { nodes, allow_update, store_text }),
        1 => (node_id.clone(), any::<bool>()).prop_map(|(id, raise)| Op::DeleteDoc { id, raise }),
        1 => (ref_id, any::<bool>()).prop_map(|(id, raise)| Op::DeleteRefDoc { id, raise }),
        1 => (node_id, prop::sample::select(&["h0", "h1"][..])).prop_map(|(id, hash)| Op::SetHash { id, hash }),
        1 => (chat.clone(), prop::option::of(-4i64..5)).prop_map(|(key, idx)| Op::ChatAdd { key, idx }),
        1 => (chat.clone(), 0u8..3).prop_map(|(key, n)| Op::ChatSet { key, n }),
        1 => (chat.clone(), -4i64..4).prop_map(|(key, idx)| Op::ChatDeleteIdx { key, idx }),
        1 => chat.clone().prop_map(|key| Op::ChatDeleteLast { key }),
        1 => chat.prop_map(|key| Op::ChatDeleteAll { key }),
        1 => Just(Op::Reopen),
    ]
}

/// LlamaIndex's in-memory stores: `SimpleKVStore` collections and `SimpleChatStore`.
#[derive(Default)]
struct Model {
    kv: IndexMap<String, IndexMap<String, Obj>>,
    chat: IndexMap<String, Vec<String>>,
    counter: u64,
}

const DATA: &str = "docstore/data";
const META: &str = "docstore/metadata";
const REFS: &str = "docstore/ref_doc_info";

/// What an operation answered, in comparable form.
#[derive(Debug, PartialEq)]
enum Answer {
    Unit,
    Bool(bool),
    Error(String),
    Message(Option<String>),
    Messages(Option<Vec<String>>),
}

impl Model {
    fn get(&self, coll: &str, key: &str) -> Option<&Obj> {
        self.kv.get(coll).and_then(|c| c.get(key))
    }
    fn put(&mut self, coll: &str, key: &str, v: Obj) {
        self.kv.entry(coll.to_string()).or_default().insert(key.to_string(), v);
    }
    fn delete(&mut self, coll: &str, key: &str) -> bool {
        self.kv.get_mut(coll).map(|c| c.shift_remove(key).is_some()).unwrap_or(false)
    }
    fn ref_doc_info(&self, id: &str) -> Option<(Vec<String>, Obj)> {
        let v = self.get(REFS, id)?;
        if v.is_empty() {
            return None;
        }
        let ids = v["node_ids"].as_array()?.iter().filter_map(|x| x.as_str().map(str::to_string)).collect();
        let meta = v["metadata"].as_object().cloned().unwrap_or_default();
        Some((ids, meta))
    }
    fn ref_doc_json(ids: &[String], meta: &Obj) -> Obj {
        crate::support::obj(json!({"node_ids": ids, "metadata": meta}))
    }

    fn add_documents(&mut self, nodes: &[Node], allow_update: bool, store_text: bool) -> Answer {
        if !allow_update && let Some(n) = nodes.iter().find(|n| self.get(DATA, &n.id).is_some()) {
            return Answer::Error(format!("node_id {} already exists. Set allow_update to True to overwrite.", n.id));
        }
        let mut data = Vec::new();
        let mut meta = Vec::new();
        let mut refs: IndexMap<String, Vec<(Vec<String>, Obj)>> = IndexMap::new();
        for n in nodes {
            if store_text {
                data.push((n.id.clone(), n.to_doc_json()));
            }
            let mut m = crate::support::obj(json!({"doc_hash": n.hash()}));
            if let Some(r) = n.ref_doc_id() {
                let (mut ids, mut md) = self.ref_doc_info(r).unwrap_or_default();
                if !ids.contains(&n.id) {
                    ids.push(n.id.clone());
                }
                if md.is_empty() {
                    md = n.metadata.clone();
                }
                m.insert("ref_doc_id".into(), r.into());
                refs.entry(r.to_string()).or_default().push((ids, md));
            }
            meta.push((n.id.clone(), m));
        }
        for (k, v) in data {
            self.put(DATA, &k, v);
        }
        for (k, v) in meta {
            self.put(META, &k, v);
        }
        for (r, candidates) in refs {
            let mut ids: Vec<String> = Vec::new();
            let mut md = Obj::new();
            for (cids, cmd) in candidates {
                for id in cids {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                md.extend(cmd);
            }
            self.put(REFS, &r, Self::ref_doc_json(&ids, &md));
        }
        Answer::Unit
    }

    fn delete_document(&mut self, id: &str, raise: bool) -> Answer {
        let ref_id = self.get(META, id).and_then(|m| m.get("ref_doc_id")).and_then(Value::as_str).map(str::to_string);
        if let Some(r) = ref_id
            && let Some((mut ids, md)) = self.ref_doc_info(&r)
        {
            if let Some(p) = ids.iter().position(|x| x == id) {
                ids.remove(p);
            }
            if ids.is_empty() {
                self.delete(META, &r);
                self.delete(DATA, &r);
                self.delete(REFS, &r);
            } else {
                self.put(REFS, &r, Self::ref_doc_json(&ids, &md));
            }
        }
        let found = self.delete(DATA, id);
        self.delete(META, id);
        if !found && raise { Answer::Error(format!("doc_id {id} not found.")) } else { Answer::Unit }
    }

    fn delete_ref_doc(&mut self, id: &str, raise: bool) -> Answer {
        let Some((ids, _)) = self.ref_doc_info(id) else {
            return if raise { Answer::Error(format!("ref_doc_id {id} not found.")) } else { Answer::Unit };
        };
        for n in ids {
            self.delete_document(&n, false);
        }
        self.delete(REFS, id);
        self.delete(META, id);
        self.delete(DATA, id);
        Answer::Unit
    }

    fn apply(&mut self, op: &Op) -> Answer {
        match op {
            Op::KvPut { coll, key, v } => {
                self.put(coll, key, crate::support::obj(json!({"v": v})));
                Answer::Unit
            }
            Op::KvDelete { coll, key } => Answer::Bool(self.delete(coll, key)),
            Op::AddDocs { nodes, allow_update, store_text } => {
                let nodes: Vec<Node> = nodes.iter().map(NodeSpec::node).collect();
                self.add_documents(&nodes, *allow_update, *store_text)
            }
            Op::DeleteDoc { id, raise } => self.delete_document(id, *raise),
            Op::DeleteRefDoc { id, raise } => self.delete_ref_doc(id, *raise),
            Op::SetHash { id, hash } => {
                self.put(META, id, crate::support::obj(json!({"doc_hash": hash})));
                Answer::Unit
            }
            Op::ChatAdd { key, idx } => {
                self.counter += 1;
                let list = self.chat.entry(key.to_string()).or_default();
                let text = format!("m{}", self.counter);
                match idx {
                    None => list.push(text),
                    Some(i) => {
                        let len = list.len() as i64;
                        let at = if *i < 0 { (i + len).max(0) } else { (*i).min(len) };
                        list.insert(at as usize, text);
                    }
                }
                Answer::Unit
            }
            Op::ChatSet { key, n } => {
                self.counter += 1;
                let msgs = (0..*n).map(|j| format!("s{}-{j}", self.counter)).collect();
                self.chat.insert(key.to_string(), msgs);
                Answer::Unit
            }
            Op::ChatDeleteIdx { key, idx } => {
                let Some(list) = self.chat.get_mut(*key) else { return Answer::Message(None) };
                let len = list.len() as i64;
                let i = if *idx < 0 { idx + len } else { *idx };
                if i < 0 || i >= len { Answer::Message(None) } else { Answer::Message(Some(list.remove(i as usize))) }
            }
            Op::ChatDeleteLast { key } => Answer::Message(self.chat.get_mut(*key).and_then(|l| l.pop())),
            Op::ChatDeleteAll { key } => Answer::Messages(self.chat.shift_remove(*key)),
            Op::Reopen => Answer::Unit,
        }
    }
}

fn text(m: &ChatMessage) -> String {
    m.content().unwrap_or_default()
}

async fn run_real(ctx: &StorageContext, op: &Op, counter: u64) -> Answer {
    let unit = |r: strata_client::Result<()>| match r {
        Ok(()) => Answer::Unit,
        Err(e) => Answer::Error(e.to_string()),
    };
    match op {
        Op::KvPut { coll, key, v } => unit(ctx.kv_store().put(key, &crate::support::obj(json!({"v": v})), coll).await),
        Op::KvDelete { coll, key } => Answer::Bool(ctx.kv_store().delete(key, coll).await.expect("delete")),
        Op::AddDocs { nodes, allow_update, store_text } => {
            let nodes: Vec<Node> = nodes.iter().map(NodeSpec::node).collect();
            let opts = AddDocumentsOptions { allow_update: *allow_update, store_text: *store_text };
            unit(ctx.docstore().add_documents_with(&nodes, opts).await)
        }
        Op::DeleteDoc { id, raise } => unit(ctx.docstore().delete_document(id, *raise).await),
        Op::DeleteRefDoc { id, raise } => unit(ctx.docstore().delete_ref_doc(id, *raise).await),
        Op::SetHash { id, hash } => unit(ctx.docstore().set_document_hash(id, hash).await),
        Op::ChatAdd { key, idx } => {
            let msg = ChatMessage::new(MessageRole::User, format!("m{counter}"));
            unit(ctx.chat_store().add_message(key, &msg, *idx).await)
        }
        Op::ChatSet { key, n } => {
            let msgs: Vec<ChatMessage> =
                (0..*n).map(|j| ChatMessage::new(MessageRole::User, format!("s{counter}-{j}"))).collect();
            unit(ctx.chat_store().set_messages(key, &msgs).await)
        }
        Op::ChatDeleteIdx { key, idx } => {
            Answer::Message(ctx.chat_store().delete_message(key, *idx).await.expect("delete").as_ref().map(text))
        }
        Op::ChatDeleteLast { key } => {
            Answer::Message(ctx.chat_store().delete_last_message(key).await.expect("delete").as_ref().map(text))
        }
        Op::ChatDeleteAll { key } => Answer::Messages(
            ctx.chat_store().delete_messages(key).await.expect("delete").map(|v| v.iter().map(text).collect()),
        ),
        Op::Reopen => Answer::Unit,
    }
}

async fn assert_same_state(ctx: &StorageContext, model: &Model) {
    for coll in KV_COLLS.iter().copied().chain([DATA, META, REFS]) {
        let real: Vec<(String, Obj)> = ctx.kv_store().get_all(coll).await.expect("get_all").into_iter().collect();
        let want: Vec<(String, Obj)> =
            model.kv.get(coll).map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
        assert_eq!(real, want, "collection {coll}");
    }
    let mut want_hashes = IndexMap::new();
    for (id, m) in model.kv.get(META).into_iter().flatten() {
        if let Some(h) = m.get("doc_hash").and_then(Value::as_str).filter(|h| !h.is_empty()) {
            want_hashes.insert(h.to_string(), id.clone());
        }
    }
    let real_hashes = ctx.docstore().get_all_document_hashes().await.expect("hashes");
    assert_eq!(real_hashes.into_iter().collect::<Vec<_>>(), want_hashes.into_iter().collect::<Vec<_>>());
    let keys = ctx.chat_store().get_keys().await.expect("keys");
    assert_eq!(keys, model.chat.keys().cloned().collect::<Vec<_>>(), "chat keys");
    for key in CHAT_KEYS {
        let real: Vec<String> = ctx.chat_store().get_messages(key).await.expect("messages").iter().map(text).collect();
        assert_eq!(real, model.chat.get(key).cloned().unwrap_or_default(), "chat {key}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn embedded_stores_behave_like_the_in_memory_model(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("temp");
            let path = dir.path().join("data");
            let mut ctx = StorageContext::open(&path).expect("open");
            let mut model = Model::default();
            for op in &ops {
                if let Op::Reopen = op {
                    drop(ctx);
                    ctx = StorageContext::open(&path).expect("reopen");
                }
                let want = model.apply(op);
                let got = run_real(&ctx, op, model.counter).await;
                assert_eq!(got, want, "answer to {op:?}");
                assert_same_state(&ctx, &model).await;
            }
        });
    }
}
