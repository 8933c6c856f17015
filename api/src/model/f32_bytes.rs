//! Embeddings on the wire: little-endian bytes in binary formats (MessagePack: one `bin`,
//! copied out in one go, instead of a tagged number per component, 5× slower to decode),
//! a list of numbers in human-readable ones (JSON).

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

/// Serialises a vector.
pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        return s.collect_seq(v);
    }
    let mut bytes = Vec::with_capacity(4 * v.len());
    for x in v {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    s.serialize_bytes(&bytes)
}

/// Deserialises a vector from either form.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    if d.is_human_readable() {
        return d.deserialize_seq(F32s);
    }
    d.deserialize_byte_buf(F32s)
}

struct F32s;

impl<'de> Visitor<'de> for F32s {
    type Value = Vec<f32>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a vector of f32, as numbers or little-endian bytes")
    }

    fn visit_bytes<E: Error>(self, b: &[u8]) -> Result<Vec<f32>, E> {
        if !b.len().is_multiple_of(4) {
            return Err(E::custom(format!("{} bytes is not a whole number of f32", b.len())));
        }
        Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn visit_byte_buf<E: Error>(self, b: Vec<u8>) -> Result<Vec<f32>, E> {
        self.visit_bytes(&b)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
        // The hint is the peer's claim (a MessagePack array header can announce 4 billion
        // components in 5 bytes): reserve at most a page's worth; the vector grows with
        // the components that really come.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(x) = seq.next_element::<f32>()? {
            out.push(x);
        }
        Ok(out)
    }
}

/// The same for an optional vector.
pub mod option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wrapped(#[serde(with = "super")] Vec<f32>);

    /// Serialises an optional vector.
    pub fn serialize<S: Serializer>(v: &Option<Vec<f32>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&Wrapped(v.clone())),
            None => s.serialize_none(),
        }
    }

    /// Deserialises an optional vector.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use crate::VectorRecord;

    fn record() -> VectorRecord {
        VectorRecord {
            node_id: "n".into(),
            embedding: vec![0.5, -1.25, 3.0e-8, f32::MAX],
            ref_doc_id: None,
            metadata: crate::JsonText::from_map(&serde_json::Map::new()),
            node: None,
            exact_f32: false,
        }
    }

    #[test]
    fn binary_form_is_bytes_and_round_trips() {
        let r = record();
        let bytes = rmp_serde::to_vec(&r).expect("encode");
        // A 4-float embedding: one 2-byte bin header and 16 bytes, not 4 tagged floats.
        let tail = [0xc4u8, 16];
        assert!(bytes.windows(2).any(|w| w == tail), "{bytes:?}");
        let back: VectorRecord = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(back, r);
    }

    #[test]
    fn json_form_is_numbers_and_round_trips() {
        let r = record();
        let text = serde_json::to_string(&r).expect("encode");
        assert!(text.contains("[0.5,-1.25,"), "{text}");
        let back: VectorRecord = serde_json::from_str(&text).expect("decode");
        assert_eq!(back, r);
    }
}
