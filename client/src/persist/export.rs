//! Exporting a persist directory that llama-index-core loads: its file names, its JSON
//! styles (`json.dumps` for KV dumps, pydantic's compact form for the chat store).

use super::{KEPT_FILES, Progress, ProgressFn, files, is_index_store_collection, is_store_file, vector_file};
use crate::backend::unexpected;
use crate::context::StorageContext;
use crate::error::{Error, Result};
use crate::stores::kv::RESERVED_PREFIX;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use strata_api::model::graph_json;
use strata_api::{ChatQuery, JsonText, KvQuery, Query, Response, pyrepr};

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportSummary {
    /// Files written, in order.
    pub files: Vec<String>,
    /// `(collection, entries)` written to `docstore.json` and `index_store.json`.
    pub collections: Vec<(String, usize)>,
    /// Chat keys written.
    pub chat_keys: usize,
    /// `(vector namespace, vectors)` written.
    pub vector_namespaces: Vec<(String, usize)>,
    /// Subjects written to `graph_store.json`.
    pub graph_subjects: usize,
    /// Nodes and relations written to `property_graph_store.json`.
    pub property_graph: (usize, usize),
    /// Bytes written.
    pub bytes: u64,
}

/// Writes a file through a temporary name, so a crash never leaves half a file.
fn write_file(dir: &Path, name: &str, content: &[u8], summary: &mut ExportSummary) -> Result<()> {
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    let io = |source| Error::Io { path: path.clone(), source };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(content).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    summary.files.push(name.to_string());
    summary.bytes += content.len() as u64;
    Ok(())
}

/// `json.dumps({collection: {key: value}})` of the given collections.
fn kv_dump(collections: &[(String, Vec<(String, JsonText)>)]) -> Result<String> {
    let mut out = String::from("{");
    for (i, (name, entries)) in collections.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&pyrepr::dumps(&Value::String(name.clone())));
        out.push_str(": {");
        for (j, (key, value)) in entries.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            out.push_str(&pyrepr::dumps(&Value::String(key.clone())));
            out.push_str(": ");
            out.push_str(&pyrepr::dumps(&Value::Object(value.to_map()?)));
        }
        out.push('}');
    }
    out.push('}');
    Ok(out)
}

impl StorageContext {
    async fn collection_entries(&self, name: &str) -> Result<Vec<(String, JsonText)>> {
        match self.backend.query(Query::Kv(KvQuery::GetAll { collection: name.into() })).await? {
            Response::Entries(e) => Ok(e),
            other => Err(unexpected("get_all", &other)),
        }
    }

    /// Writes a persist directory llama-index-core loads with
    /// `StorageContext.from_defaults(persist_dir=...)` (and `SimpleChatStore.from_persist_path`
    /// for `chat_store.json`).
    pub async fn export_persist_dir(&self, dir: impl AsRef<Path>, progress: ProgressFn<'_>) -> Result<ExportSummary> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let mut summary = ExportSummary::default();
        let mut names = self.kv_store().collections().await?;
        names.retain(|n| !n.starts_with(RESERVED_PREFIX));
        let mut docstore = Vec::new();
        let mut index_store = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let entries = self.collection_entries(name).await?;
            summary.collections.push((name.clone(), entries.len()));
            progress(Progress { stage: "collections", done: i as u64 + 1, total: names.len() as u64 });
            if is_index_store_collection(name) {
                index_store.push((name.clone(), entries));
            } else {
                docstore.push((name.clone(), entries));
            }
        }
        write_file(dir, files::DOCSTORE, kv_dump(&docstore)?.as_bytes(), &mut summary)?;
        write_file(dir, files::INDEX_STORE, kv_dump(&index_store)?.as_bytes(), &mut summary)?;

        let keys = self.chat_store().get_keys().await?;
        if !keys.is_empty() {
            let mut store = Map::new();
            for (i, key) in keys.iter().enumerate() {
                let messages =
                    match self.backend.query(Query::Chat(ChatQuery::GetMessages { key: key.clone() })).await? {
                        Response::Messages(m) => m.unwrap_or_default(),
                        other => return Err(unexpected("get_messages", &other)),
                    };
                store.insert(key.clone(), Value::Array(messages.iter().map(|m| Value::Object(m.to_json())).collect()));
                progress(Progress { stage: files::CHAT_STORE, done: i as u64 + 1, total: keys.len() as u64 });
            }
            let mut doc = Map::new();
            doc.insert("store".into(), Value::Object(store));
            doc.insert("class_name".into(), "SimpleChatStore".into());
            let text = serde_json::to_string(&doc).map_err(|e| Error::Protocol(e.to_string()))?;
            write_file(dir, files::CHAT_STORE, text.as_bytes(), &mut summary)?;
            summary.chat_keys = keys.len();
        }

        for ns in self.vector_namespaces().await? {
            let records = self.vector_store_in(&ns.name).get_records(None, None).await?;
            let name = format!("{}__vector_store.json", ns.name);
            write_file(dir, &name, vector_file::dump(&records)?.as_bytes(), &mut summary)?;
            summary.vector_namespaces.push((ns.name.clone(), records.len()));
        }
        let dict = self.graph_store().graph_dict().await?;
        write_file(dir, files::GRAPH_STORE, graph_json::graph_store_json(&dict).as_bytes(), &mut summary)?;
        summary.graph_subjects = dict.len();
        progress(Progress { stage: files::GRAPH_STORE, done: 1, total: 1 });
        // LlamaIndex writes this file only when a property graph store is set: here, when
        // the property graph holds something.
        let pg = self.property_graph_store();
        let nodes = pg.get(None, None).await?;
        if !nodes.is_empty() {
            let relations = pg.relations().await?;
            let text = graph_json::property_graph_json(&nodes, &relations);
            write_file(dir, files::PROPERTY_GRAPH_STORE, text.as_bytes(), &mut summary)?;
            summary.property_graph = (nodes.len(), relations.len());
            progress(Progress { stage: files::PROPERTY_GRAPH_STORE, done: 1, total: 1 });
        }
        let kept = self.collection_entries(KEPT_FILES).await?;
        for (name, value) in &kept {
            if is_store_file(name) {
                continue; // held by a store now; files kept by older versions are stale
            }
            let content = value.to_map()?;
            let text = content.get("content").and_then(Value::as_str).unwrap_or_default();
            write_file(dir, name, text.as_bytes(), &mut summary)?;
        }
        Ok(summary)
    }
}
