//! The arguments of one call: a JSON object, read field by field with typed errors.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use strata_client::{Error, Result};

/// `InvalidInput` with a message.
pub fn invalid(message: impl Into<String>) -> Error {
    strata_api::Error::InvalidInput(message.into()).into()
}

/// A call's arguments.
pub struct Args(Map<String, Value>);

impl Args {
    /// Parses the JSON object the Python side sent.
    pub fn parse(text: &str) -> Result<Self> {
        match serde_json::from_str(text) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            Ok(_) => Err(invalid("call arguments must be a JSON object")),
            Err(e) => Err(invalid(format!("call arguments are not JSON: {e}"))),
        }
    }

    /// A field that may be missing or null.
    pub fn opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::deserialize(v).map(Some).map_err(|e| invalid(format!("argument {name}: {e}"))),
        }
    }

    /// A field that must be given.
    pub fn req<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        self.opt(name)?.ok_or_else(|| invalid(format!("argument {name} is required")))
    }

    /// A field with a default.
    pub fn or<T: DeserializeOwned>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.opt(name)?.unwrap_or(default))
    }
}

/// Embeddings sent as one buffer of little-endian `f64`s (a C-ordered NumPy array's
/// bytes), `count` rows of equal length.
pub fn embeddings(blob: Option<&[u8]>, count: usize) -> Result<Vec<Vec<f64>>> {
    let bytes = blob.unwrap_or_default();
    if count == 0 {
        return Ok(Vec::new());
    }
    let row_bytes = bytes.len() / count;
    if !bytes.len().is_multiple_of(count) || !row_bytes.is_multiple_of(8) || row_bytes == 0 {
        return Err(invalid(format!("{} bytes of embeddings cannot be {count} rows of f64", bytes.len())));
    }
    Ok(bytes
        .chunks_exact(row_bytes)
        .map(|row| {
            row.chunks_exact(8).map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])).collect()
        })
        .collect())
}

/// A query's embedding, when the call sent one: one row of the buffer, as the f32 the
/// stores compare.
pub fn query_embedding(blob: Option<&[u8]>) -> Result<Option<Vec<f32>>> {
    if blob.is_none() {
        return Ok(None);
    }
    let row = embeddings(blob, 1)?.pop().unwrap_or_default();
    Ok(Some(row.iter().map(|x| *x as f32).collect()))
}
