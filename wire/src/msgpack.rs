//! MessagePack values in frames (`rmp_serde`'s compact form, as tarpc's own MessagePack
//! transport writes them).
//!
//! Decoding reads from the frame in memory, so a length inside the value (a string's, an
//! array's) can never make it read or allocate past the frame; and it cannot panic: a
//! field deserialiser that would (tarpc's deadline adds a peer-sent duration to the
//! clock) yields an error for that frame instead of taking the connection's task down.

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;

/// How deeply MessagePack values may nest (rmp-serde allows 1024). Strata's deepest
/// values (nested metadata filters, JSON metadata) stay far below; a bound well under
/// what a task's stack takes in a debug build keeps a nested bomb an error.
pub const MAX_DEPTH: usize = 256;

/// Decodes one value from a whole frame.
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> io::Result<T> {
    let decode = || {
        let mut de = rmp_serde::Deserializer::from_read_ref(frame);
        de.set_max_depth(MAX_DEPTH);
        T::deserialize(&mut de)
    };
    match std::panic::catch_unwind(decode) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(_) => Err(io::Error::new(io::ErrorKind::InvalidData, "a value out of range (its decoder panicked)")),
    }
}

/// Decodes one value from a whole frame that a peer sent, after pricing it
/// ([`crate::budget`]): a frame that would decode into more than a small multiple of
/// its size is refused before anything is allocated for it.
pub fn decode_within_budget<T: DeserializeOwned>(frame: &[u8]) -> io::Result<T> {
    crate::budget::check(frame).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    decode(frame)
}

/// Encodes one value as a frame's contents.
pub fn encode<T: Serialize>(value: &T) -> io::Result<Bytes> {
    rmp_serde::to_vec(value).map(Bytes::from).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The `tokio_serde` codec of a connection that reads `In` and writes `Out`.
pub struct MsgPack<In, Out>(PhantomData<Directions<In, Out>>);

/// Reads `In`, writes `Out` (function types: the codec holds neither, and is `Send`
/// and `Sync` whatever they are).
type Directions<In, Out> = (fn() -> In, fn(Out));

impl<In, Out> Default for MsgPack<In, Out> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<In: DeserializeOwned, Out> tokio_serde::Deserializer<In> for MsgPack<In, Out> {
    type Error = io::Error;

    fn deserialize(self: Pin<&mut Self>, src: &BytesMut) -> io::Result<In> {
        decode(src)
    }
}

impl<In, Out: Serialize> tokio_serde::Serializer<Out> for MsgPack<In, Out> {
    type Error = io::Error;

    fn serialize(self: Pin<&mut Self>, item: &Out) -> io::Result<Bytes> {
        encode(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Deadline(#[serde(with = "deadline")] std::time::Instant);

    /// A deserialiser that panics on large input, as tarpc's deadline does.
    mod deadline {
        use serde::{Deserialize, Deserializer};
        use std::time::{Duration, Instant};
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
            Ok(Instant::now() + Duration::deserialize(d)?)
        }
    }

    #[test]
    fn a_panicking_field_is_an_error() {
        let frame = rmp_serde::to_vec(&std::time::Duration::MAX).unwrap();
        let err = decode::<Deadline>(&frame).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn an_array_header_past_the_frame_allocates_nothing_and_fails() {
        // An array of 4 billion strings, then nothing.
        let frame = [0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Vec<String>>(&frame).is_err());
        // A string of 4 GiB, then three bytes.
        let frame = [0xdb, 0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c'];
        assert!(decode::<String>(&frame).is_err());
    }

    #[test]
    fn values_nested_past_the_bound_are_refused() {
        let mut frame = vec![0x91u8; MAX_DEPTH + 10]; // arrays of one array of ...
        frame.push(0x90);
        assert!(decode::<serde_json::Value>(&frame).is_err());
        let ok = [vec![0x91u8; 10], vec![0x90]].concat();
        assert!(decode::<serde_json::Value>(&ok).is_ok());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Vec<(String, Option<Vec<u8>>, f64, std::collections::BTreeMap<String, i64>)>>(&bytes);
        }
    }
}
