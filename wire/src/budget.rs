//! What decoding a frame may cost, counted before a byte of it is decoded.
//!
//! A frame's length bounds the bytes a peer sends, not what they become: a one-byte empty
//! string decodes into a 24-byte `String`, a one-byte `nil` in a JSON list into a
//! 72-byte `serde_json::Value`, so a 400 MB frame of them asked for 8 GiB. Before
//! decoding, a server walks the frame's MessagePack once (iteratively, allocating
//! nothing) and prices it as an upper bound of what it decodes into: every value
//! [`ITEM_COST`] bytes (the largest one value of a request decodes into: a JSON value),
//! every string, binary or collection that allocates [`ALLOC_COST`] more (the
//! allocator's smallest block) plus its payload. A frame priced past [`budget`] of its
//! length is refused before anything is allocated for it: up to 28× its length for
//! frames of a few MiB (the densest request the stores take, a put of 100,000 near-empty
//! pairs, prices at 23×), 16× beyond, and never more than [`MAX_DECODED`]. The price is
//! also what the request holds while it runs: a node admits requests against one shared
//! amount of it ([`crate::serve::RequestMemory`]).
//!
//! The walk also refuses what decoding would refuse anyway (a length past the end of the
//! frame, the unused marker `0xc1`), before anything is allocated for it.

/// What each MessagePack value is priced at, in bytes (a `serde_json::Value`'s size).
pub const ITEM_COST: usize = 72;
/// What each allocating value (a non-empty string, binary, array or map) costs more.
pub const ALLOC_COST: usize = 16;
/// Frames up to this length may price at [`SMALL_MULTIPLE`]× more.
pub const SMALL_FRAME: usize = 4 << 20;
/// The multiple a frame's first [`SMALL_FRAME`] bytes may price at, beyond the large one.
pub const SMALL_MULTIPLE: usize = 12;
/// The multiple every byte of a frame may price at.
pub const LARGE_MULTIPLE: usize = 16;
/// What any frame may price at, however short (a tiny frame's values cost more than
/// its bytes, and its absolute cost is nothing).
pub const FLOOR: usize = 64 << 10;
/// The most any one frame may price at.
pub const MAX_DECODED: usize = 1 << 30;

/// The most a frame of `len` bytes may price at.
pub fn budget(len: usize) -> usize {
    LARGE_MULTIPLE
        .saturating_mul(len)
        .saturating_add(SMALL_MULTIPLE.saturating_mul(len.min(SMALL_FRAME)))
        .saturating_add(FLOOR)
        .min(MAX_DECODED)
}

/// Why a frame is refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It would decode into more than its budget.
    OverBudget {
        /// The frame's length.
        len: usize,
        /// Its price (at least this much: the walk stops once past the budget).
        cost: usize,
        /// The budget.
        budget: usize,
    },
    /// It is not one well-formed MessagePack value.
    Malformed(&'static str),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::OverBudget { len, cost, budget } => write!(
                f,
                "a frame of {len} bytes would decode into more than {budget} bytes (at least {cost}); \
                 send fewer, larger items per request"
            ),
            Refused::Malformed(why) => write!(f, "malformed MessagePack: {why}"),
        }
    }
}

impl std::error::Error for Refused {}

/// Prices the first MessagePack value of `frame`, refusing it past [`budget`] of the
/// frame's length. Answers the price.
pub fn check(frame: &[u8]) -> Result<usize, Refused> {
    let limit = budget(frame.len());
    let mut at = 0usize;
    let mut pending: usize = 1; // values still to read
    let mut cost = 0usize;
    while pending > 0 {
        pending -= 1;
        let marker = *frame.get(at).ok_or(Refused::Malformed("the frame ends inside a value"))?;
        at += 1;
        let (payload, children, allocates) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, false),
            0x80..=0x8f => (0, 2 * usize::from(marker & 0x0f), marker != 0x80),
            0x90..=0x9f => (0, usize::from(marker & 0x0f), marker != 0x90),
            0xa0..=0xbf => {
                let n = usize::from(marker & 0x1f);
                (n, 0, n > 0)
            }
            0xc1 => return Err(Refused::Malformed("the unused marker 0xc1")),
            0xc4 | 0xd9 => sized(frame, &mut at, 1, 0)?,
            0xc5 | 0xda => sized(frame, &mut at, 2, 0)?,
            0xc6 | 0xdb => sized(frame, &mut at, 4, 0)?,
            0xc7 => sized(frame, &mut at, 1, 1)?,
            0xc8 => sized(frame, &mut at, 2, 1)?,
            0xc9 => sized(frame, &mut at, 4, 1)?,
            0xca => (4, 0, false),
            0xcb => (8, 0, false),
            0xcc | 0xd0 => (1, 0, false),
            0xcd | 0xd1 => (2, 0, false),
            0xce | 0xd2 => (4, 0, false),
            0xcf | 0xd3 => (8, 0, false),
            0xd4 => (2, 0, false),
            0xd5 => (3, 0, false),
            0xd6 => (5, 0, false),
            0xd7 => (9, 0, false),
            0xd8 => (17, 0, false),
            0xdc => {
                let n = length(frame, &mut at, 2)?;
                (0, n, n > 0)
            }
            0xdd => {
                let n = length(frame, &mut at, 4)?;
                (0, n, n > 0)
            }
            0xde => {
                let n = length(frame, &mut at, 2)?;
                (0, n.saturating_mul(2), n > 0)
            }
            0xdf => {
                let n = length(frame, &mut at, 4)?;
                (0, n.saturating_mul(2), n > 0)
            }
        };
        at = at
            .checked_add(payload)
            .filter(|end| *end <= frame.len())
            .ok_or(Refused::Malformed("a length past the end of the frame"))?;
        // Every value takes at least one byte: more values than bytes left cannot be.
        pending = pending.saturating_add(children);
        if pending > frame.len() - at {
            return Err(Refused::Malformed("more values announced than bytes left"));
        }
        cost = cost.saturating_add(ITEM_COST).saturating_add(if allocates { ALLOC_COST } else { 0 });
        if marker_is_bytes(marker) {
            cost = cost.saturating_add(payload);
        }
        if cost > limit {
            return Err(Refused::OverBudget { len: frame.len(), cost, budget: limit });
        }
    }
    Ok(cost)
}

/// Strings and binaries: their payload is held as it is.
fn marker_is_bytes(marker: u8) -> bool {
    matches!(marker, 0xa0..=0xbf | 0xc4..=0xc9 | 0xd9..=0xdb)
}

/// A big-endian length of `width` bytes at `at`.
fn length(frame: &[u8], at: &mut usize, width: usize) -> Result<usize, Refused> {
    let bytes = frame.get(*at..*at + width).ok_or(Refused::Malformed("the frame ends inside a length"))?;
    *at += width;
    Ok(bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b)))
}

/// A string, binary or extension: its length (`width` bytes), then `skip` type bytes.
fn sized(frame: &[u8], at: &mut usize, width: usize, skip: usize) -> Result<(usize, usize, bool), Refused> {
    let n = length(frame, at, width)?;
    Ok((n + skip, 0, n > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
        rmp_serde::to_vec(v).unwrap()
    }

    #[test]
    fn empty_strings_by_the_hundred_thousand_are_refused() {
        let ids = vec![String::new(); 100_000];
        let frame = encode(&ids);
        match check(&frame) {
            Err(Refused::OverBudget { len, budget: b, .. }) => assert_eq!(b, budget(len)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ordinary_requests_pass() {
        // Ids of 36 characters, texts, an embedding as one bin.
        let ids: Vec<String> = (0..50_000).map(|i| format!("{i:0>36}")).collect();
        check(&encode(&ids)).unwrap();
        let embedding = serde_bytes_like(vec![7u8; 1536]);
        check(&encode(&(String::from("node"), embedding, Option::<String>::None))).unwrap();
        // The densest request the stores take: 100,000 pairs of short keys and `{}`.
        let pairs: Vec<(String, String)> = (0..100_000).map(|i| (format!("p{i}"), "{}".to_string())).collect();
        let frame = encode(&pairs);
        let cost = check(&frame).unwrap();
        assert!(cost > 20 * frame.len(), "priced at {cost} for {} bytes", frame.len());
        // A large frame of text prices near its size, and no frame past the cap.
        let text = vec!["x".repeat(1 << 20); 64];
        assert!(check(&encode(&text)).unwrap() < (64 << 20) + 8192);
        assert_eq!(budget(usize::MAX), MAX_DECODED);
    }

    /// A `Vec<u8>` written as MessagePack `bin` (as `f32_bytes` writes embeddings).
    fn serde_bytes_like(v: Vec<u8>) -> Bin {
        Bin(v)
    }

    struct Bin(Vec<u8>);
    impl serde::Serialize for Bin {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    #[test]
    fn lengths_past_the_frame_are_malformed() {
        assert!(matches!(check(&[0xdd, 0xff, 0xff, 0xff, 0xff]), Err(Refused::Malformed(_))));
        assert!(matches!(check(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']), Err(Refused::Malformed(_))));
        assert!(matches!(check(&[0xc1]), Err(Refused::Malformed(_))));
        assert!(matches!(check(&[]), Err(Refused::Malformed(_))));
        assert!(matches!(check(&[0x92, 0x01]), Err(Refused::Malformed(_))));
    }

    #[test]
    fn the_price_counts_values_and_payload() {
        // ["ab", 1]: the array (allocates), a string of 2 (allocates), an integer.
        let frame = encode(&("ab", 1u8));
        assert_eq!(check(&frame).unwrap(), 3 * ITEM_COST + 2 * ALLOC_COST + 2);
    }

    proptest! {
        /// Whatever the bytes, the walk ends without panicking, and what it accepts is
        /// within the budget.
        #[test]
        fn any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(cost) = check(&bytes) {
                prop_assert!(cost <= budget(bytes.len()));
            }
        }

        /// Every well-formed value of the shapes requests have is walked to its end
        /// (the walk agrees with the decoder on where values end).
        #[test]
        fn well_formed_values_are_walked(v in prop::collection::vec((".{0,40}", any::<i64>(), any::<Option<bool>>(), any::<f64>()), 0..40)) {
            let frame = encode(&v);
            prop_assert!(check(&frame).is_ok(), "{} bytes", frame.len());
        }
    }
}
