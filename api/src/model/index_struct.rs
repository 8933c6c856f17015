//! Index structs (`IndexDict`, `IndexList`, `IndexGraph`, `KeywordTable`, ...): kept as
//! typed JSON with their id and type tag, so every LlamaIndex index type round-trips.

use crate::error::Error;
use crate::pyrepr;
use serde_json::{Map, Value};

/// One index struct as the index store holds it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexStruct {
    /// `__type__`: `vector_store`, `list`, `tree`, `keyword_table`, `kg`, `simple_lpg`, ...
    pub struct_type: String,
    /// The dataclass fields (`index_id`, `summary`, and the type's own), in their order.
    pub data: Map<String, Value>,
}

impl IndexStruct {
    /// A struct of the given type with `index_id`, `summary: null` and the given fields.
    pub fn new(struct_type: impl Into<String>, index_id: impl Into<String>, fields: Map<String, Value>) -> Self {
        let mut data = Map::new();
        data.insert("index_id".into(), Value::String(index_id.into()));
        data.insert("summary".into(), Value::Null);
        data.extend(fields);
        Self { struct_type: struct_type.into(), data }
    }

    /// `index_id` (empty if the data lacks one, which `from_json` rejects).
    pub fn index_id(&self) -> &str {
        self.data.get("index_id").and_then(Value::as_str).unwrap_or_default()
    }

    /// The stored form `{"__type__": t, "__data__": "<json string>"}`, the data string
    /// written as dataclasses-json's `to_json()` writes it.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("__type__".into(), Value::String(self.struct_type.clone()));
        m.insert("__data__".into(), Value::String(pyrepr::dumps(&Value::Object(self.data.clone()))));
        m
    }

    /// Reads a stored value; `__data__` may be a JSON string (as written) or an object.
    pub fn from_json(m: &Map<String, Value>) -> Result<Self, Error> {
        let struct_type = match m.get("__type__") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(Error::InvalidInput("index struct without a string __type__".into())),
        };
        let data = match m.get("__data__") {
            Some(Value::String(s)) => match serde_json::from_str::<Value>(&pyrepr::sanitize_non_finite(s)) {
                Ok(Value::Object(d)) => d,
                Ok(_) => return Err(Error::InvalidInput("index struct __data__ is not an object".into())),
                Err(e) => return Err(Error::InvalidInput(format!("index struct __data__ is not JSON: {e}"))),
            },
            Some(Value::Object(d)) => d.clone(),
            _ => return Err(Error::InvalidInput("index struct without __data__".into())),
        };
        match data.get("index_id") {
            Some(Value::String(_)) => Ok(Self { struct_type, data }),
            _ => Err(Error::InvalidInput("index struct without a string index_id".into())),
        }
    }
}
