//! The one writer of a node's LlamaIndex JSON: a streaming `Serialize`, so storing a node
//! encodes it straight to text without building an intermediate map.

use super::node::*;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// `node.to_dict()`: the `__data__` object, fields in LlamaIndex's order.
pub(crate) struct DataView<'a>(pub &'a Node);

/// `doc_to_json(node)`: `{"__data__": ..., "__type__": ...}`.
pub(crate) struct DocView<'a>(pub &'a Node);

/// A float list as JSON allows it: non-finite values become null.
struct Floats<'a>(&'a Option<Vec<f64>>);

impl Serialize for Floats<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_none(),
            Some(xs) => s.collect_seq(xs.iter().map(|x| x.is_finite().then_some(*x))),
        }
    }
}

struct RelatedView<'a>(&'a RelatedNodeInfo);

impl Serialize for RelatedView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let info = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("node_id", &info.node_id)?;
        m.serialize_entry("node_type", &info.node_type)?;
        m.serialize_entry("metadata", &info.metadata)?;
        m.serialize_entry("hash", &info.hash)?;
        for (k, v) in &info.extra {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("class_name", "RelatedNodeInfo")?;
        m.end()
    }
}

struct RelationshipsView<'a>(&'a [(NodeRelationship, Related)]);

impl Serialize for RelationshipsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (rel, related) in self.0 {
            match related {
                Related::One(info) => m.serialize_entry(rel.as_str(), &RelatedView(info))?,
                Related::Many(list) => {
                    let views: Vec<RelatedView<'_>> = list.iter().map(RelatedView).collect();
                    m.serialize_entry(rel.as_str(), &views)?
                }
            }
        }
        m.end()
    }
}

struct MediaView<'a>(&'a Option<MediaResource>);

impl Serialize for MediaView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(r) = self.0 else { return s.serialize_none() };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("embeddings", &r.embeddings)?;
        m.serialize_entry("text", &r.text)?;
        m.serialize_entry("path", &r.path)?;
        m.serialize_entry("url", &r.url)?;
        m.serialize_entry("mimetype", &r.mimetype)?;
        for (k, v) in &r.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn text_fields<M: SerializeMap>(m: &mut M, t: &TextFields) -> Result<(), M::Error> {
    m.serialize_entry("text", &t.text)?;
    m.serialize_entry("mimetype", &t.mimetype)?;
    m.serialize_entry("start_char_idx", &t.start_char_idx)?;
    m.serialize_entry("end_char_idx", &t.end_char_idx)?;
    m.serialize_entry("text_template", &t.text_template)
}

fn media_fields<M: SerializeMap>(m: &mut M, media: &MediaFields) -> Result<(), M::Error> {
    m.serialize_entry("text_resource", &MediaView(&media.text_resource))?;
    m.serialize_entry("image_resource", &MediaView(&media.image_resource))?;
    m.serialize_entry("audio_resource", &MediaView(&media.audio_resource))?;
    m.serialize_entry("video_resource", &MediaView(&media.video_resource))?;
    m.serialize_entry("text_template", &media.text_template)
}

impl Serialize for DataView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id_", &n.id)?;
        m.serialize_entry("embedding", &Floats(&n.embedding))?;
        m.serialize_entry("metadata", &n.metadata)?;
        m.serialize_entry("excluded_embed_metadata_keys", &n.excluded_embed_metadata_keys)?;
        m.serialize_entry("excluded_llm_metadata_keys", &n.excluded_llm_metadata_keys)?;
        m.serialize_entry("relationships", &RelationshipsView(&n.relationships))?;
        m.serialize_entry("metadata_template", &n.metadata_template)?;
        m.serialize_entry("metadata_separator", &n.metadata_separator)?;
        match &n.body {
            NodeBody::Text(t) => text_fields(&mut m, t)?,
            NodeBody::Image(t, img) => {
                text_fields(&mut m, t)?;
                m.serialize_entry("image", &img.image)?;
                m.serialize_entry("image_path", &img.image_path)?;
                m.serialize_entry("image_url", &img.image_url)?;
                m.serialize_entry("image_mimetype", &img.image_mimetype)?;
                m.serialize_entry("text_embedding", &Floats(&img.text_embedding))?;
            }
            NodeBody::Index { text, index_id, obj } => {
                text_fields(&mut m, text)?;
                m.serialize_entry("index_id", index_id)?;
                m.serialize_entry("obj", obj)?;
            }
            NodeBody::Document { media, .. } | NodeBody::Multimodal(media) => media_fields(&mut m, media)?,
        }
        for (k, v) in &n.extra {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("class_name", n.class_name())?;
        if let NodeBody::Document { .. } = n.body {
            m.serialize_entry("text", n.text())?;
        }
        m.end()
    }
}

impl Serialize for DocView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("__data__", &DataView(self.0))?;
        m.serialize_entry("__type__", self.0.object_type().as_str())?;
        m.end()
    }
}
