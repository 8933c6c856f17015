//! Node hashes exactly as LlamaIndex computes them (`BaseNode.hash`), so ingestion's
//! dedup and upsert logic sees the same values from Strata as from llama-index-core.

use super::node::*;
use crate::pyrepr;
use sha2::{Digest, Sha256};

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Node {
    /// The node's hash: lowercase hex SHA-256 over LlamaIndex's identity string for its kind.
    pub fn hash(&self) -> String {
        match &self.body {
            NodeBody::Text(t) | NodeBody::Index { text: t, .. } => {
                sha256_hex(&(t.text.clone() + &pyrepr::repr_map(&self.metadata)))
            }
            NodeBody::Image(t, img) => {
                let or_none = |s: &Option<String>| match s {
                    Some(s) if !s.is_empty() => s.clone(),
                    _ => "None".to_string(),
                };
                let text = if t.text.is_empty() { "None".to_string() } else { t.text.clone() };
                sha256_hex(&format!(
                    "{}-{}-{}-{}",
                    or_none(&img.image),
                    or_none(&img.image_path),
                    or_none(&img.image_url),
                    text
                ))
            }
            NodeBody::Document { media, .. } | NodeBody::Multimodal(media) => {
                let mut parts = Vec::new();
                let metadata_str = self.metadata_str();
                if !metadata_str.is_empty() {
                    parts.push(metadata_str);
                }
                for resource in
                    [&media.audio_resource, &media.image_resource, &media.text_resource, &media.video_resource]
                        .into_iter()
                        .flatten()
                {
                    parts.push(resource.hash());
                }
                sha256_hex(&parts.join("-"))
            }
        }
    }

    /// `get_metadata_str(MetadataMode.ALL)`: every metadata entry through `metadata_template`,
    /// joined by `metadata_separator`.
    pub fn metadata_str(&self) -> String {
        self.metadata
            .iter()
            .map(|(k, v)| format_template(&self.metadata_template, k, &pyrepr::str_of(v)))
            .collect::<Vec<_>>()
            .join(&self.metadata_separator)
    }
}

impl MediaResource {
    /// `MediaResource.hash`: over its text (or `<empty_string>`), path and url; `""` when empty.
    pub fn hash(&self) -> String {
        let mut bits = String::new();
        if let Some(text) = &self.text {
            bits.push_str(if text.is_empty() { "<empty_string>" } else { text });
        }
        if let Some(path) = &self.path {
            bits.push_str(&sha256_hex(path));
        }
        if let Some(url) = &self.url {
            bits.push_str(&sha256_hex(url));
        }
        if bits.is_empty() {
            return String::new();
        }
        sha256_hex(&bits)
    }
}

/// Python's `template.format(key=..., value=...)` for the two fields LlamaIndex passes;
/// `{{` and `}}` are literal braces.
fn format_template(template: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(template.len() + key.len() + value.len());
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("{key}") {
            out.push_str(key);
            rest = t;
        } else if let Some(t) = tail.strip_prefix("{value}") {
            out.push_str(value);
            rest = t;
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}
