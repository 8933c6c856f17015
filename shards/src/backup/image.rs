//! Images: a group's records as `len(key) key len(value) value` (big-endian u32 lengths)
//! in key order — the form raft snapshots already use — written and read as streams, so
//! a backup of a large group never sits whole in memory.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// Writes an image, counting its records and hashing it as it goes.
pub struct ImageWriter<W: Write> {
    out: W,
    sha: Sha256,
    bytes: u64,
    records: u64,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes.
    pub bytes: u64,
    /// Records.
    pub records: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

impl<W: Write> ImageWriter<W> {
    /// An image written to `out`.
    pub fn new(out: W) -> Self {
        Self { out, sha: Sha256::new(), bytes: 0, records: 0 }
    }

    /// Appends one record.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        for part in [key, value] {
            let len = u32::try_from(part.len()).map_err(|_| Error::Corrupt("a record part over 4 GiB".into()))?;
            self.write(&len.to_be_bytes())?;
            self.write(part)?;
        }
        self.records += 1;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| Error::Io(e.to_string()))?;
        self.sha.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes as usize
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Flushes; answers the figures and the writer.
    pub fn finish(mut self) -> Result<(Written, W)> {
        self.out.flush().map_err(|e| Error::Io(e.to_string()))?;
        let written = Written { bytes: self.bytes, records: self.records, sha256: hex::encode(self.sha.finalize()) };
        Ok((written, self.out))
    }
}

/// The longest key an image may hold (far past any the stores write: names and ids are
/// limited to a few KiB).
const MAX_KEY: u32 = 1 << 20;

/// Reads an image's records one by one from `input`. A length is never trusted before
/// its bytes arrive: each part grows as it is read, and one that ends early is an error
/// naming the record.
pub struct ImageReader<R: Read> {
    input: R,
    records: u64,
}

impl<R: Read> ImageReader<R> {
    /// A reader of the image in `input`.
    pub fn new(input: R) -> Self {
        Self { input, records: 0 }
    }

    /// The next record, or none at the image's end.
    pub fn next_record(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let mut len = [0u8; 4];
        match read_full(&mut self.input, &mut len)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(self.truncated("its key's length")),
        }
        let key_len = u32::from_be_bytes(len);
        if key_len > MAX_KEY {
            return Err(Error::Corrupt(format!("record {} of the image has a {key_len}-byte key", self.records + 1)));
        }
        let key = self.part(key_len, "its key")?;
        if read_full(&mut self.input, &mut len)? != 4 {
            return Err(self.truncated("its value's length"));
        }
        let value = self.part(u32::from_be_bytes(len), "its value")?;
        self.records += 1;
        Ok(Some((key, value)))
    }

    /// The input, as far as it was read.
    pub fn into_inner(self) -> R {
        self.input
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn part(&mut self, len: u32, what: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let got = (&mut self.input).take(u64::from(len)).read_to_end(&mut out).map_err(|e| Error::Io(e.to_string()))?;
        if got != len as usize {
            return Err(self.truncated(what));
        }
        Ok(out)
    }

    fn truncated(&self, what: &str) -> Error {
        Error::Corrupt(format!("the image ends inside record {} ({what})", self.records + 1))
    }
}

/// Reads until `buf` is full or the input ends; answers the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e.to_string())),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(records: &[(&[u8], &[u8])]) -> (Vec<u8>, Written) {
        let mut w = ImageWriter::new(Vec::new());
        for (k, v) in records {
            w.push(k, v).expect("push");
        }
        let (written, bytes) = w.finish().expect("finish");
        (bytes, written)
    }

    #[test]
    fn records_come_back_as_written_with_their_figures() {
        let (bytes, written) = image(&[(b"a", b"1"), (b"bb", b""), (b"", b"xyz")]);
        assert_eq!((written.records, written.bytes), (3, bytes.len() as u64));
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&bytes)));
        let mut r = ImageReader::new(bytes.as_slice());
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().expect("read") {
            got.push(rec);
        }
        assert_eq!(got, [(b"a".to_vec(), b"1".to_vec()), (b"bb".to_vec(), vec![]), (vec![], b"xyz".to_vec())]);
    }

    #[test]
    fn a_cut_image_names_the_record_and_a_huge_length_allocates_nothing() {
        let (bytes, _) = image(&[(b"key", b"value"), (b"key2", b"value2")]);
        for cut in 1..bytes.len() {
            let mut r = ImageReader::new(&bytes[..cut]);
            let outcome = (|| {
                while r.next_record()?.is_some() {}
                Ok::<_, Error>(())
            })();
            if cut == 16 {
                assert!(outcome.is_ok(), "a cut between records is a shorter image");
                continue;
            }
            let e = outcome.expect_err("a cut inside a record");
            assert!(e.to_string().contains("record"), "{e}");
        }
        let mut lying = vec![0, 0, 0, 1, b'k'];
        lying.extend_from_slice(&u32::MAX.to_be_bytes());
        let e = ImageReader::new(lying.as_slice()).next_record().expect_err("4 GiB announced, none sent");
        assert!(e.to_string().contains("record 1"), "{e}");
    }
}
