//! `<namespace>__vector_store.json`, LlamaIndex's `SimpleVectorStore` file:
//! `{"embedding_dict": {id: [floats]}, "text_id_to_ref_doc_id": {id: ref doc or "None"},
//! "metadata_dict": {id: {...}}}`, read into records and written back in `json.dumps`
//! style (embeddings as Python's `repr` of their value when they came as exact f32
//! values, as a float32 model's do, else as the shortest text of the stored f32).

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::Path;
use strata_api::{JsonText, VectorRecord, pyrepr};

/// The namespace a file name stands for (`ns__vector_store.json` → `ns`; the legacy
/// un-namespaced `vector_store.json` → `default`), if it is a vector store file.
pub fn namespace_of(file_name: &str) -> Option<&str> {
    if file_name == "vector_store.json" {
        return Some(strata_api::DEFAULT_VECTOR_NAMESPACE);
    }
    let ns = file_name.strip_suffix("vector_store.json")?.split("__").next()?;
    (!ns.is_empty() && file_name.contains("__")).then_some(ns)
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidFile { path: path.to_path_buf(), reason: reason.into() }
}

fn object<'a>(path: &Path, doc: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(path, format!("{key} is not an object"))),
    }
}

/// Parses and validates a file (every embedding finite and of one dimension); answers
/// its records in file order.
pub fn parse(path: &Path, doc: &Value) -> Result<Vec<VectorRecord>> {
    let Value::Object(doc) = doc else { return Err(invalid(path, "expected a SimpleVectorStore object")) };
    let embeddings = object(path, doc, "embedding_dict")?.cloned().unwrap_or_default();
    let refs = object(path, doc, "text_id_to_ref_doc_id")?.cloned().unwrap_or_default();
    let metadata = object(path, doc, "metadata_dict")?.cloned().unwrap_or_default();
    let mut dim = None;
    let mut out = Vec::with_capacity(embeddings.len());
    for (id, values) in embeddings {
        let Value::Array(values) = values else {
            return Err(invalid(path, format!("embedding_dict[{id:?}] is not a list")));
        };
        let mut floats = Vec::with_capacity(values.len());
        for v in &values {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| invalid(path, format!("embedding_dict[{id:?}] holds {v}, not a finite number")))?;
            floats.push(x);
        }
        let (embedding, exact_f32) = strata_api::embedding_to_f32(&floats);
        if *dim.get_or_insert(embedding.len()) != embedding.len() {
            return Err(invalid(
                path,
                format!("embedding_dict[{id:?}] has {} components, not {dim:?}", embedding.len()),
            ));
        }
        let ref_doc_id = match refs.get(&id) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "None" => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(invalid(path, format!("text_id_to_ref_doc_id[{id:?}] is {other}"))),
        };
        let md = match metadata.get(&id) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid(path, format!("metadata_dict[{id:?}] is not an object"))),
        };
        let metadata = JsonText::from_map(&md);
        out.push(VectorRecord { node_id: id, embedding, ref_doc_id, metadata, node: None, exact_f32 });
    }
    Ok(out)
}

/// `json.dumps(data.to_dict())` of a namespace's records.
pub fn dump(records: &[VectorRecord]) -> Result<String> {
    let key = |s: &str| pyrepr::dumps(&Value::String(s.to_string()));
    let mut out = String::from("{\"embedding_dict\": {");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&key(&r.node_id));
        out.push_str(": [");
        for (j, x) in r.embedding.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            if r.exact_f32 {
                out.push_str(&pyrepr::float_repr(f64::from(*x)));
            } else {
                out.push_str(&pyrepr::float32_repr(*x));
            }
        }
        out.push(']');
    }
    out.push_str("}, \"text_id_to_ref_doc_id\": {");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&key(&r.node_id));
        out.push_str(": ");
        out.push_str(&key(r.ref_doc_id.as_deref().unwrap_or("None")));
    }
    out.push_str("}, \"metadata_dict\": {");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&key(&r.node_id));
        out.push_str(": ");
        out.push_str(&pyrepr::dumps(&Value::Object(r.metadata.to_map()?)));
    }
    out.push_str("}}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// A float32 model's values (exact f32, printed by Python at full f64 length) and
    /// short decimals (not f32 values) both come back as written.
    #[test]
    fn embeddings_are_written_back_as_read() {
        let text = concat!(
            r#"{"embedding_dict": {"f32": [0.36180317401885986, -1.0769119262695312, 0.5], "#,
            r#""short": [0.898745, 0.68244, -0.5]}, "#,
            r#""text_id_to_ref_doc_id": {"f32": "doc", "short": "None"}, "#,
            r#""metadata_dict": {"f32": {"x": 1e+16}, "short": {}}}"#
        );
        let doc: Value = serde_json::from_str(text).expect("json");
        let records = parse(Path::new("default__vector_store.json"), &doc).expect("parse");
        assert_eq!(records.iter().map(|r| r.exact_f32).collect::<Vec<_>>(), [true, false]);
        assert_eq!(dump(&records).expect("dump"), text);
    }
}
