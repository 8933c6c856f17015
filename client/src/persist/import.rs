//! Importing a persist directory: parse and validate every file first (a bad file changes
//! nothing), then write in atomic chunks with progress.

use super::{KEPT_FILES, Progress, ProgressFn, files, vector_file};
use crate::context::StorageContext;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use strata_api::model::graph_json::{self, PropertyGraphFile};
use strata_api::{
    ChatCommand, ChatMessage, Command, Distance, IndexStruct, JsonText, KvCommand, Node, VectorNamespace, VectorRecord,
    pyrepr,
};

/// Entries per write while importing.
const CHUNK: usize = strata_api::limits::CLIENT_BATCH_ITEMS;

/// What an import moved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportSummary {
    /// `(collection, entries)` from `docstore.json` and `index_store.json`, in file order.
    pub collections: Vec<(String, usize)>,
    /// Nodes among them (entries of `*/data` collections holding nodes).
    pub nodes: usize,
    /// Index structs.
    pub index_structs: usize,
    /// Chat keys and messages.
    pub chat_keys: usize,
    /// Chat messages.
    pub chat_messages: usize,
    /// `(vector namespace, vectors)` from `*__vector_store.json` files.
    pub vector_namespaces: Vec<(String, usize)>,
    /// Triplets from `graph_store.json`.
    pub graph_triplets: usize,
    /// Nodes and relations from `property_graph_store.json`.
    pub property_graph: (usize, usize),
    /// Other JSON files, kept verbatim for export.
    pub kept_files: Vec<String>,
    /// Bytes read.
    pub bytes: u64,
}

type Collections = Vec<(String, Vec<(String, Map<String, Value>)>)>;

struct Parsed {
    collections: Collections,
    chats: Vec<(String, Vec<ChatMessage>)>,
    vectors: Vec<(String, Vec<VectorRecord>)>,
    triplets: Vec<(String, String, String)>,
    property_graph: PropertyGraphFile,
    kept: Vec<(String, String)>,
    summary: ImportSummary,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidFile { path: path.to_path_buf(), reason: reason.into() }
}

fn read(path: &Path, summary: &mut ImportSummary) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    summary.bytes += text.len() as u64;
    Ok(text)
}

fn parse_json(path: &Path, text: &str) -> Result<Value> {
    serde_json::from_str(&pyrepr::sanitize_non_finite(text)).map_err(|e| invalid(path, format!("malformed JSON: {e}")))
}

/// A KV dump: `{collection: {key: {...}}}`.
fn parse_kv_dump(path: &Path, text: &str) -> Result<Collections> {
    let Value::Object(top) = parse_json(path, text)? else {
        return Err(invalid(path, "expected an object of collections"));
    };
    let mut out = Vec::with_capacity(top.len());
    for (coll, entries) in top {
        let Value::Object(entries) = entries else {
            return Err(invalid(path, format!("collection {coll:?} is not an object")));
        };
        let mut pairs = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Value::Object(value) = value else {
                return Err(invalid(path, format!("{coll}[{key:?}] is not an object")));
            };
            pairs.push((key, value));
        }
        out.push((coll, pairs));
    }
    Ok(out)
}

/// `docstore.json` or `index_store.json` (`file`): a KV dump whose nodes and index
/// structs must parse, counted in `summary`.
fn parse_store_dump(path: &Path, file: &str, text: &str, summary: &mut ImportSummary) -> Result<Collections> {
    let dump = parse_kv_dump(path, text)?;
    for (coll, pairs) in &dump {
        for (key, value) in pairs {
            if file == files::INDEX_STORE && coll.ends_with("/data") {
                IndexStruct::from_json(value).map_err(|e| invalid(path, format!("{coll}[{key:?}]: {e}")))?;
                summary.index_structs += 1;
            } else if coll.ends_with("/data") && value.contains_key("__type__") {
                Node::from_doc_json(value).map_err(|e| invalid(path, format!("{coll}[{key:?}]: {e}")))?;
                summary.nodes += 1;
            }
        }
        summary.collections.push((coll.clone(), pairs.len()));
    }
    Ok(dump)
}

/// Parses and validates one persist-dir file named `name` from its text, as
/// `import_persist_dir` does before writing anything (the fuzz targets drive the parsers
/// through this); writes nothing.
pub fn check_file(name: &str, text: &str) -> Result<()> {
    let path = Path::new(name);
    let mut summary = ImportSummary::default();
    if name == files::DOCSTORE || name == files::INDEX_STORE {
        parse_store_dump(path, name, text, &mut summary)?;
    } else if name == files::CHAT_STORE {
        parse_chat_store(path, text)?;
    } else if vector_file::namespace_of(name).is_some() {
        vector_file::parse(path, &parse_json(path, text)?)?;
    } else if name == files::GRAPH_STORE {
        graph_json::parse_graph_store(text).map_err(|e| invalid(path, e.to_string()))?;
    } else if name == files::PROPERTY_GRAPH_STORE {
        graph_json::parse_property_graph(text).map_err(|e| invalid(path, e.to_string()))?;
    } else {
        parse_json(path, text)?;
    }
    Ok(())
}

fn parse_chat_store(path: &Path, text: &str) -> Result<Vec<(String, Vec<ChatMessage>)>> {
    let mut doc = parse_json(path, text)?;
    if let Value::String(inner) = &doc {
        doc = parse_json(path, inner)?;
    }
    let Value::Object(doc) = doc else { return Err(invalid(path, "expected a SimpleChatStore object")) };
    if let Some(class) = doc.get("class_name")
        && class != "SimpleChatStore"
    {
        return Err(invalid(path, format!("Invalid ChatStore name: {class}")));
    }
    let store = match doc.get("store") {
        None => return Ok(Vec::new()),
        Some(Value::Object(s)) => s,
        Some(_) => return Err(invalid(path, "store is not an object")),
    };
    let mut out = Vec::with_capacity(store.len());
    for (key, messages) in store {
        let Value::Array(items) = messages else {
            return Err(invalid(path, format!("store[{key:?}] is not a list")));
        };
        let mut msgs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(m) = item else {
                return Err(invalid(path, format!("store[{key:?}][{i}] is not an object")));
            };
            msgs.push(ChatMessage::from_json(m).map_err(|e| invalid(path, format!("store[{key:?}][{i}]: {e}")))?);
        }
        out.push((key.clone(), msgs));
    }
    Ok(out)
}

fn parse_dir(dir: &Path) -> Result<Parsed> {
    let mut summary = ImportSummary::default();
    let mut collections = Vec::new();
    let mut chats = Vec::new();
    let mut vectors = Vec::new();
    let mut triplets = Vec::new();
    let mut property_graph = PropertyGraphFile::default();
    let mut kept = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    let mut names: Vec<String> = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false)
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    // A directory holding only vector store files (a persisted SimpleVectorStore) is a
    // persist dir too.
    if !names.iter().any(|n| {
        n == files::DOCSTORE
            || n == files::INDEX_STORE
            || n == files::CHAT_STORE
            || n == files::GRAPH_STORE
            || n == files::PROPERTY_GRAPH_STORE
            || vector_file::namespace_of(n).is_some()
    }) {
        return Err(invalid(
            dir,
            "not a LlamaIndex persist dir: no docstore.json, index_store.json, chat_store.json, *vector_store.json or graph store",
        ));
    }
    for file in [files::DOCSTORE, files::INDEX_STORE] {
        if !names.iter().any(|n| n == file) {
            continue;
        }
        let path = dir.join(file);
        let text = read(&path, &mut summary)?;
        collections.extend(parse_store_dump(&path, file, &text, &mut summary)?);
    }
    for name in &names {
        let path = dir.join(name);
        let namespace = vector_file::namespace_of(name)
            // The legacy un-namespaced file stands for `default` only when there is no
            // `default__vector_store.json`.
            .filter(|_| name != "vector_store.json" || !names.iter().any(|n| n == files::DEFAULT_VECTOR_STORE));
        if name == files::CHAT_STORE {
            chats = parse_chat_store(&path, &read(&path, &mut summary)?)?;
            summary.chat_keys = chats.len();
            summary.chat_messages = chats.iter().map(|(_, m)| m.len()).sum();
        } else if let Some(ns) = namespace {
            let text = read(&path, &mut summary)?;
            let records = vector_file::parse(&path, &parse_json(&path, &text)?)?;
            summary.vector_namespaces.push((ns.to_string(), records.len()));
            vectors.push((ns.to_string(), records));
        } else if name == files::GRAPH_STORE {
            let text = read(&path, &mut summary)?;
            for (subj, pairs) in graph_json::parse_graph_store(&text).map_err(|e| invalid(&path, e.to_string()))? {
                triplets.extend(pairs.into_iter().map(|(r, o)| (subj.clone(), r, o)));
            }
            summary.graph_triplets = triplets.len();
        } else if name == files::PROPERTY_GRAPH_STORE {
            let text = read(&path, &mut summary)?;
            property_graph = graph_json::parse_property_graph(&text).map_err(|e| invalid(&path, e.to_string()))?;
            summary.property_graph = (property_graph.nodes.len(), property_graph.relations.len());
        } else if name.ends_with(".json") && name != files::DOCSTORE && name != files::INDEX_STORE {
            let text = read(&path, &mut summary)?;
            parse_json(&path, &text)?;
            summary.kept_files.push(name.clone());
            kept.push((name.clone(), text));
        }
    }
    Ok(Parsed { collections, chats, vectors, triplets, property_graph, kept, summary })
}

impl StorageContext {
    /// Imports a persist directory written by llama-index-core (`StorageContext.persist()`
    /// plus an optional `chat_store.json`). Every file is validated before anything is
    /// written; each chunk of entries is then one atomic write.
    pub async fn import_persist_dir(&self, dir: impl AsRef<Path>, progress: ProgressFn<'_>) -> Result<ImportSummary> {
        let dir: PathBuf = dir.as_ref().to_path_buf();
        let parsed = tokio::task::spawn_blocking(move || parse_dir(&dir))
            .await
            .map_err(|e| Error::Protocol(format!("import task failed: {e}")))??;
        let names: Vec<String> = parsed.collections.iter().map(|(c, _)| c.clone()).collect();
        self.backend.apply(Command::Kv(KvCommand::EnsureCollections { collections: names })).await?;
        for (coll, pairs) in parsed.collections {
            let total = pairs.len() as u64;
            let mut done = 0u64;
            progress(Progress { stage: &coll, done, total });
            for chunk in pairs.chunks(CHUNK) {
                let pairs = chunk.iter().map(|(k, v)| (k.clone(), JsonText::from_map(v))).collect();
                self.backend.apply(Command::Kv(KvCommand::PutAll { collection: coll.clone(), pairs })).await?;
                done += chunk.len() as u64;
                progress(Progress { stage: &coll, done, total });
            }
        }
        let total = parsed.chats.len() as u64;
        for (i, (key, messages)) in parsed.chats.into_iter().enumerate() {
            self.backend.apply(Command::Chat(ChatCommand::SetMessages { key, messages })).await?;
            progress(Progress { stage: files::CHAT_STORE, done: i as u64 + 1, total });
        }
        for (ns, records) in parsed.vectors {
            let implicit = ns == strata_api::DEFAULT_VECTOR_NAMESPACE || ns == strata_api::IMAGE_VECTOR_NAMESPACE;
            if records.is_empty() && implicit {
                continue; // always there; a cluster gives it partitions on its first vector
            }
            let dim = records.first().map_or(0, |r| r.embedding.len() as u32);
            // Partitions 0: the store's default (the cluster's configured count).
            let settings = VectorNamespace { name: ns.clone(), dim, distance: Distance::Cosine, partitions: 0 };
            self.add_vector_store(settings).await?;
            let stage = format!("{ns}__vector_store.json");
            let total = records.len() as u64;
            let mut done = 0u64;
            progress(Progress { stage: &stage, done, total });
            for chunk in records.chunks(CHUNK) {
                self.vector_store_in(&ns).add_records(chunk.to_vec()).await?;
                done += chunk.len() as u64;
                progress(Progress { stage: &stage, done, total });
            }
        }
        let triplets = self.graph_store();
        let total = parsed.triplets.len() as u64;
        for (i, chunk) in parsed.triplets.chunks(CHUNK).enumerate() {
            triplets.upsert_triplets(chunk).await?;
            progress(Progress { stage: files::GRAPH_STORE, done: (i * CHUNK + chunk.len()) as u64, total });
        }
        let pg = self.property_graph_store();
        let PropertyGraphFile { nodes, relations } = parsed.property_graph;
        let total = (nodes.len() + relations.len()) as u64;
        for (i, chunk) in nodes.chunks(CHUNK).enumerate() {
            pg.upsert_nodes(chunk).await?;
            progress(Progress { stage: files::PROPERTY_GRAPH_STORE, done: (i * CHUNK + chunk.len()) as u64, total });
        }
        for (i, chunk) in relations.chunks(CHUNK).enumerate() {
            pg.upsert_relations(chunk).await?;
            let done = (nodes.len() + i * CHUNK + chunk.len()) as u64;
            progress(Progress { stage: files::PROPERTY_GRAPH_STORE, done, total });
        }
        for (name, text) in parsed.kept {
            let mut value = Map::new();
            value.insert("content".into(), Value::String(text));
            let cmd =
                KvCommand::Put { collection: KEPT_FILES.into(), key: name.clone(), value: JsonText::from_map(&value) };
            self.backend.apply(Command::Kv(cmd)).await?;
            progress(Progress { stage: &name, done: 1, total: 1 });
        }
        Ok(parsed.summary)
    }
}
