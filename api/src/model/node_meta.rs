//! A node folded into a flat metadata dict and back: LlamaIndex's
//! `node_to_metadata_dict` / `metadata_dict_to_node` (`vector_stores/utils.py`), which
//! the property graph uses to keep a `ChunkNode` per LlamaIndex node.

use super::node::*;
use crate::error::Error;
use serde_json::{Map, Value};

impl Node {
    /// `node_to_metadata_dict(node, remove_text)`: the metadata, plus `_node_content`
    /// (`json.dumps(node.model_dump(), ensure_ascii=False)` with the embedding left out and,
    /// when `remove_text`, the text blanked), `_node_type`, and `document_id`, `doc_id`,
    /// `ref_doc_id` (the source document's id, or `"None"`).
    pub fn to_metadata_dict(&self, remove_text: bool) -> Map<String, Value> {
        let mut data = self.to_data();
        if remove_text && data.contains_key("text") {
            data.insert("text".into(), Value::String(String::new()));
        }
        if remove_text {
            data.remove("text_resource");
        }
        data.insert("embedding".into(), Value::Null);
        let mut out = self.metadata.clone();
        out.insert("_node_content".into(), Value::String(crate::pyrepr::dumps_unicode(&Value::Object(data))));
        out.insert("_node_type".into(), Value::String(self.class_name().to_string()));
        let doc = Value::String(self.ref_doc_id().unwrap_or("None").to_string());
        out.insert("document_id".into(), doc.clone());
        out.insert("doc_id".into(), doc.clone());
        out.insert("ref_doc_id".into(), doc);
        out
    }

    /// `metadata_dict_to_node(metadata)` then `set_content(text)`: the node `_node_content`
    /// holds, of the class `_node_type` names (`TextNode` for any other).
    pub fn from_metadata_dict(metadata: &Map<String, Value>, text: Option<&str>) -> Result<Self, Error> {
        let content = match metadata.get("_node_content") {
            Some(Value::String(s)) => s,
            _ => return Err(Error::InvalidInput("Node content not found in metadata dict.".into())),
        };
        let data: Map<String, Value> = serde_json::from_str(&crate::pyrepr::sanitize_non_finite(content))
            .map_err(|e| Error::InvalidInput(format!("_node_content is not a JSON object: {e}")))?;
        let ty = match metadata.get("_node_type").and_then(Value::as_str) {
            Some("Node") => ObjectType::Multimodal,
            Some("IndexNode") => ObjectType::Index,
            Some("ImageNode") => ObjectType::Image,
            _ => ObjectType::Text,
        };
        let mut node = Node::from_data(ty, &data)?;
        if let Some(t) = text {
            node.set_content(t);
        }
        Ok(node)
    }

    /// `set_content(value)`: the text (a `Node`'s or document's text resource).
    pub fn set_content(&mut self, value: &str) {
        match &mut self.body {
            NodeBody::Text(t) | NodeBody::Image(t, _) | NodeBody::Index { text: t, .. } => t.text = value.to_string(),
            NodeBody::Document { media, .. } | NodeBody::Multimodal(media) => {
                media.text_resource = Some(MediaResource::text(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_dict_is_llamaindexs() {
        // From llama-index-core 0.14.25: node_to_metadata_dict(TextNode(id_="n1",
        // text="héllo", metadata={"a": 1}, relationships={SOURCE: RelatedNodeInfo(node_id="d1")}),
        // remove_text=True).
        let n = Node::text_node("n1", "héllo")
            .with_metadata(serde_json::json!({"a": 1}).as_object().cloned().unwrap_or_default())
            .with_source(RelatedNodeInfo::new("d1"));
        let m = n.to_metadata_dict(true);
        assert_eq!(
            m.get("_node_content").and_then(Value::as_str),
            Some(
                r#"{"id_": "n1", "embedding": null, "metadata": {"a": 1}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {"1": {"node_id": "d1", "node_type": null, "metadata": {}, "hash": null, "class_name": "RelatedNodeInfo"}}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": "", "mimetype": "text/plain", "start_char_idx": null, "end_char_idx": null, "text_template": "{metadata_str}\n\n{content}", "class_name": "TextNode"}"#
            )
        );
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id"]);
        let back = Node::from_metadata_dict(&m, Some("héllo")).expect("node");
        assert_eq!(back, n);
        assert!(Node::from_metadata_dict(&Map::new(), None).is_err());
    }
}
