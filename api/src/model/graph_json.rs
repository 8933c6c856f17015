//! The graph stores' files as LlamaIndex writes and reads them.
//!
//! * `property_graph_store.json`: pydantic's `model_dump_json()` of a
//!   `LabelledPropertyGraph` — compact separators, raw UTF-8, floats as Python's `repr`
//!   with an unpadded exponent (`1e-7`, `1e+16`); `{"nodes": {id: node}, "relations":
//!   {"{source}_{label}_{target}": relation}, "triplets": [[source, label, target], ...]}`.
//!   A node object with `name` is an `EntityNode`, one with `text` a `ChunkNode`.
//! * `graph_store.json`: `json.dumps({"graph_dict": {subject: [[rel, obj], ...]}})`.

use super::graph::{CHUNK_LABEL, ENTITY_LABEL, GraphNodeBody, LabelledNode, Pairs, Relation, RelationKey};
use crate::error::Error;
use serde_json::{Map, Value};

/// Pydantic's text of a float: Python's `repr` digits, exponent without padding.
pub fn pydantic_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into(); // pydantic writes NaN and infinities as null
    }
    let repr = crate::pyrepr::float_repr(f);
    match repr.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.split_at(1);
            format!("{m}e{sign}{}", digits.trim_start_matches('0'))
        }
        None => repr,
    }
}

/// Pydantic's compact JSON of a value.
pub fn pydantic_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_str(out: &mut String, s: &str) {
    // serde_json escapes exactly what pydantic-core does: quotes, backslashes and control
    // characters; everything else stays raw UTF-8. A string always serialises.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Number(n) if n.is_f64() => out.push_str(&pydantic_float(n.as_f64().unwrap_or(f64::NAN))),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_map(out, map),
        Value::String(s) => write_str(out, s),
        other => out.push_str(&other.to_string()),
    }
}

fn write_map(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

/// A node as pydantic dumps it: `{"label","embedding","properties","name"}` for an
/// entity, `{"label","embedding","properties","text","id_"}` for a chunk.
pub fn node_json(node: &LabelledNode) -> String {
    let mut out = String::from("{\"label\":");
    write_str(&mut out, &node.label);
    out.push_str(",\"embedding\":");
    match node.embedding_f64() {
        None => out.push_str("null"),
        Some(v) => {
            out.push('[');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&pydantic_float(*x));
            }
            out.push(']');
        }
    }
    out.push_str(",\"properties\":");
    write_map(&mut out, &node.properties);
    match &node.body {
        GraphNodeBody::Entity { name } => {
            out.push_str(",\"name\":");
            write_str(&mut out, name);
        }
        GraphNodeBody::Chunk { text, id_ } => {
            out.push_str(",\"text\":");
            write_str(&mut out, text);
            out.push_str(",\"id_\":");
            match id_ {
                Some(id) => write_str(&mut out, id),
                None => out.push_str("null"),
            }
        }
    }
    out.push('}');
    out
}

/// A relation as pydantic dumps it: `{"label","source_id","target_id","properties"}`.
pub fn relation_json(r: &Relation) -> String {
    let mut out = String::from("{\"label\":");
    write_str(&mut out, &r.label);
    out.push_str(",\"source_id\":");
    write_str(&mut out, &r.source_id);
    out.push_str(",\"target_id\":");
    write_str(&mut out, &r.target_id);
    out.push_str(",\"properties\":");
    write_map(&mut out, &r.properties);
    out.push('}');
    out
}

/// The key `LabelledPropertyGraph` files a relation under: `"{source}_{label}_{target}"`.
pub fn relation_file_key(r: &RelationKey) -> String {
    format!("{}_{}_{}", r.source_id, r.label, r.target_id)
}

/// Writes a whole `property_graph_store.json` (nodes and relations in the given order).
pub fn property_graph_json<'a>(
    nodes: impl IntoIterator<Item = &'a LabelledNode>,
    relations: impl IntoIterator<Item = &'a Relation> + Clone,
) -> String {
    let mut out = String::from("{\"nodes\":{");
    for (i, n) in nodes.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, &n.id);
        out.push(':');
        out.push_str(&node_json(n));
    }
    out.push_str("},\"relations\":{");
    for (i, r) in relations.clone().into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, &relation_file_key(&r.key()));
        out.push(':');
        out.push_str(&relation_json(r));
    }
    out.push_str("},\"triplets\":[");
    for (i, r) in relations.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        write_str(&mut out, &r.source_id);
        out.push(',');
        write_str(&mut out, &r.label);
        out.push(',');
        write_str(&mut out, &r.target_id);
        out.push(']');
    }
    out.push_str("]}");
    out
}

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::InvalidInput(what.to_string())
}

fn string_field(obj: &Map<String, Value>, field: &str, what: &str) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("{what}: {field} must be a string, not {other}"))),
    }
}

fn properties_field(obj: &Map<String, Value>, what: &str) -> Result<Map<String, Value>, Error> {
    match obj.get("properties") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(invalid(format!("{what}: properties must be an object, not {other}"))),
    }
}

/// A node from its LlamaIndex dict (`LabelledPropertyGraph.nodes[key]`, or a node given
/// to `upsert_nodes`): with `name` an entity, else with `text` a chunk (whose id is its
/// `id_`, else `key`).
pub fn node_from_json(value: &Value, key: Option<&str>) -> Result<LabelledNode, Error> {
    let what = format!("graph node {}", key.unwrap_or("?"));
    let obj = value.as_object().ok_or_else(|| invalid(format!("{what}: not an object")))?;
    let label = string_field(obj, "label", &what)?;
    let properties = properties_field(obj, &what)?;
    let embedding = match obj.get("embedding") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|x| x.as_f64().ok_or_else(|| invalid(format!("{what}: embedding holds {x}, not a number"))))
                .collect::<Result<Vec<f64>, Error>>()?,
        ),
        Some(other) => Err(invalid(format!("{what}: embedding must be a list of numbers, not {other}")))?,
    };
    let mut node = if let Some(name) = string_field(obj, "name", &what)? {
        let mut n = LabelledNode::entity(name, label.unwrap_or_else(|| ENTITY_LABEL.to_string()));
        if let Some(k) = key
            && k != n.id
        {
            return Err(invalid(format!("{what}: an entity named {:?} has the id {:?}", n.name(), n.id)));
        }
        n.properties = properties;
        n
    } else if let Some(text) = string_field(obj, "text", &what)? {
        let id_ = string_field(obj, "id_", &what)?;
        let id = id_.clone().or_else(|| key.map(str::to_string)).ok_or_else(|| {
            invalid(format!("{what}: a chunk needs an id_ (LlamaIndex's default is a per-process hash of its text)"))
        })?;
        LabelledNode {
            id,
            label: label.unwrap_or_else(|| CHUNK_LABEL.to_string()),
            embedding: None,
            exact_f32: false,
            properties,
            body: GraphNodeBody::Chunk { text, id_ },
        }
    } else {
        return Err(invalid(format!("{what}: neither an entity (name) nor a chunk (text)")));
    };
    if let Some(e) = embedding {
        node = node.with_embedding(&e);
    }
    node.validate().map_err(invalid)?;
    Ok(node)
}

/// A relation from its LlamaIndex dict.
pub fn relation_from_json(value: &Value) -> Result<Relation, Error> {
    let obj = value.as_object().ok_or_else(|| invalid("relation: not an object"))?;
    let field = |f: &str| -> Result<String, Error> {
        string_field(obj, f, "relation")?.ok_or_else(|| invalid(format!("relation: {f} missing")))
    };
    let r = Relation {
        label: field("label")?,
        source_id: field("source_id")?,
        target_id: field("target_id")?,
        properties: properties_field(obj, "relation")?,
    };
    r.validate().map_err(invalid)?;
    Ok(r)
}

/// What a `property_graph_store.json` holds: its nodes in file order, and its triplets'
/// relations in the order of the `relations` dict (the order they were added; the
/// `triplets` list is a Python set's arbitrary order), then any triplet without an entry
/// there (as a relation without properties).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropertyGraphFile {
    /// The nodes.
    pub nodes: Vec<LabelledNode>,
    /// The relations, one per triplet.
    pub relations: Vec<Relation>,
}

/// Reads a `property_graph_store.json` (pydantic's or any JSON writer's layout).
pub fn parse_property_graph(text: &str) -> Result<PropertyGraphFile, Error> {
    let clean = crate::pyrepr::sanitize_non_finite(text);
    let root: Value = serde_json::from_str(&clean).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let obj = root.as_object().ok_or_else(|| invalid("the top level is not an object"))?;
    let mut out = PropertyGraphFile::default();
    if let Some(nodes) = obj.get("nodes") {
        let nodes = nodes.as_object().ok_or_else(|| invalid("nodes is not an object"))?;
        for (key, v) in nodes {
            out.nodes.push(node_from_json(v, Some(key))?);
        }
    }
    let empty = Map::new();
    let relations = match obj.get("relations") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid("relations is not an object")),
    };
    let Some(triplets) = obj.get("triplets") else { return Ok(out) };
    let triplets = triplets.as_array().ok_or_else(|| invalid("triplets is not a list"))?;
    let mut wanted: Vec<RelationKey> = Vec::with_capacity(triplets.len());
    for t in triplets {
        let parts: Vec<&str> = t.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let [s, l, o] = parts[..] else {
            return Err(invalid(format!("triplet {t} is not [source, label, target]")));
        };
        wanted.push(RelationKey { source_id: s.into(), label: l.into(), target_id: o.into() });
    }
    let mut pending: std::collections::HashSet<RelationKey> = wanted.iter().cloned().collect();
    for v in relations.values() {
        let r = relation_from_json(v)?;
        if pending.remove(&r.key()) {
            out.relations.push(r);
        }
    }
    for key in wanted {
        if pending.remove(&key) {
            let r = Relation::new(key.source_id, key.label, key.target_id);
            r.validate().map_err(invalid)?;
            out.relations.push(r);
        }
    }
    Ok(out)
}

/// `graph_store.json`: `json.dumps({"graph_dict": ...})` of subjects and their
/// `[rel, obj]` lists, in order.
pub fn graph_store_json(subjects: &[(String, Pairs)]) -> String {
    let mut dict = Map::new();
    for (subj, pairs) in subjects {
        let list =
            pairs.iter().map(|(r, o)| Value::Array(vec![Value::String(r.clone()), Value::String(o.clone())])).collect();
        dict.insert(subj.clone(), Value::Array(list));
    }
    let mut root = Map::new();
    root.insert("graph_dict".into(), Value::Object(dict));
    crate::pyrepr::dumps(&Value::Object(root))
}

/// Reads `graph_store.json` into its subjects and their `[rel, obj]` lists, in order.
pub fn parse_graph_store(text: &str) -> Result<Vec<(String, Pairs)>, Error> {
    let root: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let dict = match root.get("graph_dict") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(d)) => d,
        Some(_) => return Err(invalid("graph_dict is not an object")),
    };
    let mut out = Vec::with_capacity(dict.len());
    for (subj, list) in dict {
        let list = list.as_array().ok_or_else(|| invalid(format!("graph_dict[{subj:?}] is not a list")))?;
        let mut pairs = Vec::with_capacity(list.len());
        for pair in list {
            match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(r), Value::String(o)]) => pairs.push((r.clone(), o.clone())),
                _ => return Err(invalid(format!("graph_dict[{subj:?}] holds {pair}, not [rel, obj]"))),
            }
        }
        out.push((subj.clone(), pairs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pydantic_floats() {
        assert_eq!(pydantic_float(1e-7), "1e-7");
        assert_eq!(pydantic_float(1e16), "1e+16");
        assert_eq!(pydantic_float(1.0), "1.0");
        assert_eq!(pydantic_float(1.2345678901234568e17), "1.2345678901234568e+17");
        assert_eq!(pydantic_float(-0.628184), "-0.628184");
    }

    #[test]
    fn node_bytes_match_pydantic() {
        // From llama-index-core 0.14.25 with pydantic 2.13.5.
        let mut props = Map::new();
        props.insert("x".into(), serde_json::json!(1.5));
        props.insert("é".into(), serde_json::json!("ü"));
        let n = LabelledNode::entity("a\"b", "P").with_properties(props).with_embedding(&[0.1, 1e-7, 1e16]);
        assert_eq!(
            node_json(&n),
            r#"{"label":"P","embedding":[0.1,1e-7,1e+16],"properties":{"x":1.5,"é":"ü"},"name":"a\"b"}"#
        );
        let c = LabelledNode::chunk("c1", "hi");
        assert_eq!(node_json(&c), r#"{"label":"text_chunk","embedding":null,"properties":{},"text":"hi","id_":"c1"}"#);
    }

    #[test]
    fn a_file_round_trips() {
        let a = LabelledNode::entity("alice", "PERSON");
        let c = LabelledNode::chunk("c1", "chunk text");
        let mut props = Map::new();
        props.insert("w".into(), serde_json::json!(1.5));
        let r = Relation::new("c1", "MENTIONS", "alice").with_properties(props);
        let text = property_graph_json([&a, &c], [&r]);
        let back = parse_property_graph(&text).expect("parse");
        assert_eq!(back.nodes, vec![a, c]);
        assert_eq!(back.relations, vec![r]);
    }

    #[test]
    fn a_chunk_without_id_takes_its_key_and_bad_nodes_are_refused() {
        let v =
            serde_json::json!({"label": "text_chunk", "embedding": null, "properties": {}, "text": "hi", "id_": null});
        let n = node_from_json(&v, Some("7726799192832388575")).expect("node");
        assert_eq!(n.id, "7726799192832388575");
        assert!(node_from_json(&v, None).is_err());
        assert!(node_from_json(&serde_json::json!({"label": "x"}), Some("k")).is_err());
        assert!(node_from_json(&serde_json::json!({"name": "a", "embedding": ["x"]}), Some("a")).is_err());
    }

    #[test]
    fn graph_store_file_is_json_dumps() {
        let subjects = vec![("é".to_string(), vec![("a".to_string(), "b".to_string())])];
        let text = graph_store_json(&subjects);
        assert_eq!(text, r#"{"graph_dict": {"\u00e9": [["a", "b"]]}}"#);
        assert_eq!(parse_graph_store(&text).expect("parse"), subjects);
    }
}
