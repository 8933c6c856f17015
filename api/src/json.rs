//! `JsonText`: the compact text of one JSON object, validated once at the edge and then
//! moved through commands and into sled without being re-encoded.

use crate::error::Error;
use serde_json::{Map, Value};

/// The compact JSON text of an object (a LlamaIndex dict).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Encodes an object.
    pub fn from_map(map: &Map<String, Value>) -> Self {
        // Serialising a Map of serde_json values cannot fail.
        Self(serde_json::to_string(map).unwrap_or_else(|_| "{}".into()))
    }

    /// Encodes a node as `doc_to_json(node)`, straight to text.
    pub fn from_node(node: &crate::model::Node) -> Self {
        Self(node.to_doc_json_text())
    }

    /// Validates text that claims to be a JSON object.
    pub fn parse(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if !text.trim_start().starts_with('{') {
            return Err(Error::InvalidInput("expected a JSON object".into()));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(&text)
            .map_err(|e| Error::InvalidInput(format!("malformed JSON object: {e}")))?;
        Ok(Self(text))
    }

    /// Wraps bytes read back from our own store (validated when they were written).
    pub fn from_stored(bytes: &[u8]) -> Result<Self, Error> {
        std::str::from_utf8(bytes)
            .map(|s| Self(s.to_string()))
            .map_err(|e| Error::InvalidData(format!("stored value is not UTF-8: {e}")))
    }

    /// Wraps text kept from our own store (validated when it was written).
    pub fn from_stored_text(text: &str) -> Self {
        Self(text.to_string())
    }

    /// Decodes to an object.
    pub fn to_map(&self) -> Result<Map<String, Value>, Error> {
        serde_json::from_str(&self.0).map_err(|e| Error::InvalidData(format!("stored value is not a JSON object: {e}")))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<&Map<String, Value>> for JsonText {
    fn from(map: &Map<String, Value>) -> Self {
        Self::from_map(map)
    }
}

impl serde::Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        JsonText::parse(text).map_err(serde::de::Error::custom)
    }
}
