//! The docstore JSON form of a node: LlamaIndex's `doc_to_json` / `json_to_doc`
//! (`{"__data__": {...}, "__type__": "1"}`), including its legacy layout.

use super::node::*;
use super::node_ser::{DataView, DocView};
use crate::error::Error;
use serde_json::{Map, Value};

const DATA_KEY: &str = "__data__";
const TYPE_KEY: &str = "__type__";

impl Node {
    /// `doc_to_json(node)`: the value the docstore keeps under the node's id.
    pub fn to_doc_json(&self) -> Map<String, Value> {
        as_object(serde_json::to_value(DocView(self)))
    }

    /// `json_to_doc(value)`: parses a docstore value, accepting the legacy layout.
    pub fn from_doc_json(doc: &Map<String, Value>) -> Result<Self, Error> {
        let doc_type = match doc.get(TYPE_KEY) {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(invalid(format!("__type__ must be a string, got {other}"))),
            None => return Err(invalid("missing __type__")),
        };
        let data = match doc.get(DATA_KEY) {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("__data__ must be an object")),
            None => return Err(invalid("missing __data__")),
        };
        let ty =
            ObjectType::parse(doc_type).ok_or_else(|| Error::InvalidInput(format!("Unknown doc type: {doc_type}")))?;
        if data.contains_key("extra_info") {
            return legacy_json_to_doc(ty, data);
        }
        Self::from_data(ty, data)
    }

    /// The `__data__` object (`node.to_dict()`), fields in LlamaIndex's order.
    pub fn to_data(&self) -> Map<String, Value> {
        as_object(serde_json::to_value(DataView(self)))
    }

    /// `doc_to_json(node)` as compact JSON text, encoded without an intermediate map.
    pub fn to_doc_json_text(&self) -> String {
        // Every field is a string, an integer, a finite float or a JSON value: encoding
        // cannot fail, and the fallback is never taken.
        serde_json::to_string(&DocView(self)).unwrap_or_else(|_| "{}".into())
    }

    /// Builds a node from a modern `__data__` object of the given type.
    pub fn from_data(ty: ObjectType, data: &Map<String, Value>) -> Result<Self, Error> {
        let mut fields = Fields::new(data);
        let id = fields.req_string("id_")?;
        let embedding = fields.opt_floats("embedding")?;
        let metadata = match fields.take("metadata").or_else(|| fields.take("extra_info")) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => return Err(invalid(format!("metadata must be an object, got {other}"))),
        };
        let excluded_embed_metadata_keys = fields.string_list("excluded_embed_metadata_keys")?;
        let excluded_llm_metadata_keys = fields.string_list("excluded_llm_metadata_keys")?;
        let relationships = match fields.take("relationships") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => parse_relationships(m)?,
            Some(_) => return Err(invalid("relationships must be an object")),
        };
        let metadata_template =
            fields.opt_string("metadata_template")?.unwrap_or_else(|| DEFAULT_METADATA_TEMPLATE.into());
        let metadata_separator = match fields.opt_string("metadata_separator")? {
            Some(s) => s,
            None => fields.opt_string("metadata_seperator")?.unwrap_or_else(|| DEFAULT_METADATA_SEPARATOR.into()),
        };
        fields.take("class_name");
        let body = match ty {
            ObjectType::Text => NodeBody::Text(text_fields(&mut fields)?),
            ObjectType::Image => {
                let text = text_fields(&mut fields)?;
                let image = ImageFields {
                    image: fields.opt_string("image")?,
                    image_path: fields.opt_string("image_path")?,
                    image_url: fields.opt_string("image_url")?,
                    image_mimetype: fields.opt_string("image_mimetype")?,
                    text_embedding: fields.opt_floats("text_embedding")?,
                };
                NodeBody::Image(text, image)
            }
            ObjectType::Index => {
                let text = text_fields(&mut fields)?;
                let index_id = fields.req_string("index_id")?;
                let obj = fields.take("obj").cloned().unwrap_or(Value::Null);
                NodeBody::Index { text, index_id, obj }
            }
            ObjectType::Document | ObjectType::Multimodal => {
                let image_document = data.get("class_name").and_then(Value::as_str) == Some("ImageDocument");
                let mut media = media_fields(&mut fields)?;
                // Document keeps a derived "text"; it only matters when no text_resource exists.
                let text = fields.take("text");
                if media.text_resource.is_none()
                    && let Some(Value::String(t)) = text
                    && !t.is_empty()
                {
                    media.text_resource = Some(MediaResource::text(t.clone()));
                }
                if ty == ObjectType::Document {
                    // Document also accepts the deprecated `doc_id` alias handled by its constructor.
                    fields.take("doc_id");
                    NodeBody::Document { media, image_document }
                } else {
                    NodeBody::Multimodal(media)
                }
            }
        };
        Ok(Node {
            id,
            embedding,
            metadata,
            excluded_embed_metadata_keys,
            excluded_llm_metadata_keys,
            relationships,
            metadata_template,
            metadata_separator,
            body,
            extra: fields.rest(),
        })
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

fn text_fields(f: &mut Fields<'_>) -> Result<TextFields, Error> {
    Ok(TextFields {
        text: f.opt_string("text")?.unwrap_or_default(),
        mimetype: f.opt_string("mimetype")?.unwrap_or_else(|| "text/plain".into()),
        start_char_idx: f.opt_int("start_char_idx")?,
        end_char_idx: f.opt_int("end_char_idx")?,
        text_template: f.opt_string("text_template")?.unwrap_or_else(|| DEFAULT_TEXT_TEMPLATE.into()),
    })
}

fn media_fields(f: &mut Fields<'_>) -> Result<MediaFields, Error> {
    Ok(MediaFields {
        text_resource: f.opt_media("text_resource")?,
        image_resource: f.opt_media("image_resource")?,
        audio_resource: f.opt_media("audio_resource")?,
        video_resource: f.opt_media("video_resource")?,
        text_template: f.opt_string("text_template")?.unwrap_or_else(|| DEFAULT_TEXT_TEMPLATE.into()),
    })
}

fn parse_media(v: &Map<String, Value>) -> Result<MediaResource, Error> {
    let mut f = Fields::new(v);
    let embeddings = match f.take("embeddings") {
        None | Some(Value::Null) => None,
        Some(other) => Some(other.clone()),
    };
    f.take("data");
    Ok(MediaResource {
        embeddings,
        text: f.opt_string("text")?,
        path: f.opt_string("path")?,
        url: f.opt_string("url")?,
        mimetype: f.opt_string("mimetype")?,
        extra: f.rest(),
    })
}

fn parse_related(v: &Value) -> Result<RelatedNodeInfo, Error> {
    let Value::Object(m) = v else {
        return Err(invalid(format!("RelatedNodeInfo must be an object, got {v}")));
    };
    let mut f = Fields::new(m);
    let node_id = f.req_string("node_id")?;
    let node_type = f.opt_string("node_type")?;
    let metadata = match f.take("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("RelatedNodeInfo.metadata must be an object")),
    };
    let hash = f.opt_string("hash")?;
    f.take("class_name");
    Ok(RelatedNodeInfo { node_id, node_type, metadata, hash, extra: f.rest() })
}

fn parse_relationships(m: &Map<String, Value>) -> Result<Vec<(NodeRelationship, Related)>, Error> {
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let rel = NodeRelationship::parse(k).ok_or_else(|| invalid(format!("unknown NodeRelationship {k:?}")))?;
        let related = match v {
            Value::Array(list) => Related::Many(list.iter().map(parse_related).collect::<Result<_, _>>()?),
            other => Related::One(parse_related(other)?),
        };
        out.push((rel, related));
    }
    Ok(out)
}

/// `legacy_json_to_doc`: the pre-0.6 layout (`text`, `extra_info`, `doc_id`,
/// relationships as `{rel: node_id}`).
fn legacy_json_to_doc(ty: ObjectType, data: &Map<String, Value>) -> Result<Node, Error> {
    let text = match data.get("text") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let metadata = match data.get("extra_info") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let id = match data.get("doc_id") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(invalid("legacy node without doc_id")),
    };
    let mut relationships = Vec::new();
    if let Some(Value::Object(rels)) = data.get("relationships") {
        for (k, v) in rels {
            let rel = NodeRelationship::parse(k).ok_or_else(|| invalid(format!("unknown NodeRelationship {k:?}")))?;
            let node_id = match v {
                Value::String(s) => s.clone(),
                other => crate::pyrepr::str_of(other),
            };
            relationships.push((rel, Related::One(RelatedNodeInfo::new(node_id))));
        }
    }
    let empty_text = text.is_empty();
    let mut node = match ty {
        ObjectType::Document => Node::document(id, text),
        ObjectType::Text => Node::text_node(id, text),
        ObjectType::Image => {
            let image = ImageFields {
                image: data.get("image").and_then(Value::as_str).map(str::to_string),
                ..ImageFields::default()
            };
            Node::image_node(id, text, image)
        }
        ObjectType::Index => {
            let index_id = data.get("index_id").and_then(Value::as_str).unwrap_or_default();
            Node::index_node(id, text, index_id)
        }
        ObjectType::Multimodal => {
            return Err(Error::InvalidInput(format!("Unknown doc type: {}", ty.as_str())));
        }
    };
    if let NodeBody::Document { media, .. } = &mut node.body
        && empty_text
    {
        media.text_resource = None;
    }
    node.metadata = metadata;
    node.relationships = relationships;
    Ok(node)
}

/// Reads fields out of a JSON object, remembering which ones were consumed.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>) -> Self {
        Self { map, used: Vec::new() }
    }

    fn take(&mut self, key: &'a str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key)
    }

    fn req_string(&mut self, key: &'a str) -> Result<String, Error> {
        match self.take(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(invalid(format!("{key} must be a string, got {other}"))),
            None => Err(invalid(format!("missing {key}"))),
        }
    }

    fn opt_string(&mut self, key: &'a str) -> Result<Option<String>, Error> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(invalid(format!("{key} must be a string, got {other}"))),
        }
    }

    fn opt_int(&mut self, key: &'a str) -> Result<Option<i64>, Error> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(other) => Err(invalid(format!("{key} must be an integer, got {other}"))),
        }
    }

    fn opt_floats(&mut self, key: &'a str) -> Result<Option<Vec<f64>>, Error> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| x.as_f64().ok_or_else(|| invalid(format!("{key} must hold numbers, got {x}"))))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(invalid(format!("{key} must be a list of numbers, got {other}"))),
        }
    }

    fn string_list(&mut self, key: &'a str) -> Result<Vec<String>, Error> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(|| invalid(format!("{key} must hold strings"))))
                .collect(),
            Some(other) => Err(invalid(format!("{key} must be a list of strings, got {other}"))),
        }
    }

    fn opt_media(&mut self, key: &'a str) -> Result<Option<MediaResource>, Error> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => parse_media(m).map(Some),
            Some(other) => Err(invalid(format!("{key} must be an object, got {other}"))),
        }
    }

    /// Every field not consumed, in its original order.
    fn rest(&self) -> Map<String, Value> {
        self.map.iter().filter(|(k, _)| !self.used.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DocView(self).serialize(s)
    }
}

fn as_object(v: Result<Value, serde_json::Error>) -> Map<String, Value> {
    match v {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        Node::from_doc_json(&map).map_err(serde::de::Error::custom)
    }
}
