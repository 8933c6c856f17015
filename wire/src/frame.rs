//! Length-prefixed frames: a 4-byte big-endian length, then that many bytes.
//!
//! The decoder never reserves memory from a header. It takes the length, checks it
//! against the limit, and then waits: the read buffer grows (by doubling, as `Framed`
//! grows it) only as bytes arrive, so a peer pays for every byte it makes the node hold.
//! A header past the limit is an error at once, before any of the frame is buffered.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of the length prefix.
const HEADER: usize = 4;

/// The largest frame a connection accepts, shared between the codec and its owner so the
/// owner can change it while the connection runs (cheap to clone; clones share it).
#[derive(Clone, Debug)]
pub struct FrameLimit(Arc<AtomicUsize>);

impl FrameLimit {
    /// A limit of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(bytes)))
    }

    /// The current limit.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Changes the limit for the frames that start after this call.
    pub fn set(&self, bytes: usize) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

/// A frame longer than the connection accepts (the connection ends: the rest of the
/// frame cannot be told apart from the next one without reading it).
#[derive(Debug)]
pub struct FrameTooLarge {
    /// The frame's length.
    pub bytes: usize,
    /// The limit.
    pub limit: usize,
}

impl std::fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a frame of {} bytes is larger than the limit of {} bytes", self.bytes, self.limit)
    }
}

impl std::error::Error for FrameTooLarge {}

/// When the frame being read began to arrive, shared with whoever enforces a deadline
/// on it (the server's connection loop), and a wake-up when one begins. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct FrameStart(Arc<FrameStartInner>);

#[derive(Debug, Default)]
struct FrameStartInner {
    at: std::sync::Mutex<Option<std::time::Instant>>,
    began: tokio::sync::Notify,
}

impl FrameStart {
    /// When the frame now arriving began (`None`: no frame is part-read).
    pub fn get(&self) -> Option<std::time::Instant> {
        *self.0.at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves when a frame begins to arrive (after this call).
    pub async fn began(&self) {
        self.0.began.notified().await
    }

    fn set(&self, started: bool) {
        let mut at = self.0.at.lock().unwrap_or_else(|p| p.into_inner());
        match (started, at.is_some()) {
            (true, false) => {
                *at = Some(std::time::Instant::now());
                self.0.began.notify_one();
            }
            (false, true) => *at = None,
            _ => {}
        }
    }
}

/// The frame codec of one connection.
#[derive(Debug)]
pub struct FrameCodec {
    limit: FrameLimit,
    /// The largest frame it sends (the peer's limit; a server's answers may be larger
    /// than what it accepts).
    outbound: usize,
    /// The length of the frame being read, once its header has been.
    pending: Option<usize>,
    /// Where to note when a frame begins, if anyone asks.
    start: Option<FrameStart>,
}

impl FrameCodec {
    /// A codec accepting and sending frames up to `limit`.
    pub fn new(limit: FrameLimit) -> Self {
        let outbound = limit.get();
        Self { limit, outbound, pending: None, start: None }
    }

    /// The same codec, sending frames up to `bytes` (whatever it accepts).
    pub fn with_outbound(mut self, bytes: usize) -> Self {
        self.outbound = bytes;
        self
    }

    /// The same codec, noting in `start` when each frame begins to arrive.
    pub fn with_start(mut self, start: FrameStart) -> Self {
        self.start = Some(start);
        self
    }

    fn check(&self, bytes: usize) -> io::Result<()> {
        let limit = self.limit.get();
        if bytes > limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, FrameTooLarge { bytes, limit }));
        }
        Ok(())
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        let frame = self.decode_frame(src);
        if let Some(start) = &self.start {
            start.set(!src.is_empty() || self.pending.is_some());
        }
        frame
    }
}

impl FrameCodec {
    fn decode_frame(&mut self, src: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        let len = match self.pending {
            Some(len) => len,
            None => {
                let Some(header) = src.get(..HEADER) else { return Ok(None) };
                let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
                self.check(len)?;
                src.advance(HEADER);
                self.pending = Some(len);
                len
            }
        };
        if src.len() < len {
            return Ok(None); // no reservation: the buffer grows with what arrives
        }
        self.pending = None;
        Ok(Some(src.split_to(len)))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        if frame.len() > self.outbound {
            let (bytes, limit) = (frame.len(), self.outbound);
            return Err(io::Error::new(io::ErrorKind::InvalidData, FrameTooLarge { bytes, limit }));
        }
        let len = u32::try_from(frame.len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, FrameTooLarge { bytes: frame.len(), limit: u32::MAX as usize })
        })?;
        dst.reserve(HEADER + frame.len());
        dst.put_u32(len);
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_all(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut codec = FrameCodec::new(FrameLimit::new(1 << 20));
        let mut out = BytesMut::new();
        for f in frames {
            codec.encode(Bytes::from(f.clone()), &mut out).unwrap();
        }
        out.to_vec()
    }

    proptest! {
        /// However the bytes are cut into reads, the same frames come out, in order.
        #[test]
        fn frames_survive_any_split(
            frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in prop::collection::vec(1usize..64, 1..50),
        ) {
            let bytes = encode_all(&frames);
            let mut codec = FrameCodec::new(FrameLimit::new(1 << 20));
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut at = 0;
            let mut cut = cuts.iter().cycle();
            while at < bytes.len() {
                let n = (*cut.next().unwrap()).min(bytes.len() - at);
                buf.extend_from_slice(&bytes[at..at + n]);
                at += n;
                while let Some(f) = codec.decode(&mut buf).unwrap() {
                    got.push(f.to_vec());
                }
            }
            prop_assert_eq!(got, frames);
            prop_assert!(buf.is_empty());
        }
    }

    #[test]
    fn a_header_reserves_nothing() {
        let mut codec = FrameCodec::new(FrameLimit::new(512 << 20));
        let mut buf = BytesMut::with_capacity(64);
        buf.put_u32(500 << 20);
        buf.extend_from_slice(b"only a few bytes");
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() < 4096, "the decoder reserved {} bytes", buf.capacity());
    }

    #[test]
    fn a_frame_past_the_limit_is_refused_from_its_header() {
        let mut codec = FrameCodec::new(FrameLimit::new(1000));
        let mut buf = BytesMut::new();
        buf.put_u32(1001);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("1001 bytes is larger than the limit of 1000"), "{err}");
        let mut out = BytesMut::new();
        assert!(codec.encode(Bytes::from(vec![0; 1001]), &mut out).is_err(), "the sender checks it too");
    }

    #[test]
    fn a_raised_limit_applies_to_the_next_frame() {
        let limit = FrameLimit::new(10);
        let mut codec = FrameCodec::new(limit.clone());
        let mut buf = BytesMut::new();
        buf.put_u32(20);
        assert!(codec.decode(&mut buf).is_err());
        limit.set(20);
        let mut buf = BytesMut::new();
        buf.put_u32(20);
        buf.extend_from_slice(&[7; 20]);
        assert_eq!(codec.decode(&mut buf).unwrap().map(|f| f.len()), Some(20));
    }
}
