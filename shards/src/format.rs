//! The data directory's format version: a record in the database's default tree, written
//! when a directory is first opened and checked on every open, so a directory written by
//! a newer (or much older) Strata is refused with both versions named instead of being
//! misread. A directory without the record predates versions and is format 1, which is
//! what this record first said.

use crate::error::{Error, Result};
use strata_api::version::DATA_FORMAT;

/// Where the database keeps its format version (big-endian u32).
pub const FORMAT_KEY: &[u8] = b"strata/format";

/// Checks the directory's format against what this build opens; records this build's
/// format in a directory that has none. Answers the directory's format.
pub fn check_or_mark(db: &sled::Db) -> Result<u32> {
    match db.get(FORMAT_KEY)? {
        Some(bytes) => {
            let raw: [u8; 4] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| Error::Corrupt(format!("the data directory's format record is {} bytes", bytes.len())))?;
            let found = u32::from_be_bytes(raw);
            DATA_FORMAT.reads("data directory format", found)?;
            Ok(found)
        }
        None => {
            db.insert(FORMAT_KEY, &DATA_FORMAT.version.to_be_bytes())?;
            db.flush()?;
            Ok(DATA_FORMAT.version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, sled::Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        (dir, db)
    }

    #[test]
    fn a_new_directory_is_marked_and_opens_again() {
        let (_dir, db) = db();
        assert_eq!(check_or_mark(&db).expect("new"), DATA_FORMAT.version);
        assert_eq!(db.get(FORMAT_KEY).expect("get").as_deref(), Some(&DATA_FORMAT.version.to_be_bytes()[..]));
        assert_eq!(check_or_mark(&db).expect("again"), DATA_FORMAT.version);
    }

    #[test]
    fn a_newer_directory_is_refused_naming_both_versions_and_left_unchanged() {
        let (_dir, db) = db();
        db.insert(FORMAT_KEY, &(DATA_FORMAT.version + 1).to_be_bytes()).expect("insert");
        match check_or_mark(&db) {
            Err(Error::Api(strata_api::Error::IncompatibleVersion { ours, theirs, .. })) => {
                assert_eq!((ours, theirs), (DATA_FORMAT.version, DATA_FORMAT.version + 1));
            }
            other => panic!("refused: {other:?}"),
        }
        assert_eq!(
            db.get(FORMAT_KEY).expect("get").as_deref(),
            Some(&(DATA_FORMAT.version + 1).to_be_bytes()[..]),
            "the record is not overwritten"
        );
    }

    #[test]
    fn a_damaged_record_is_a_typed_error() {
        let (_dir, db) = db();
        db.insert(FORMAT_KEY, b"x").expect("insert");
        assert!(matches!(check_or_mark(&db), Err(Error::Corrupt(_))));
    }
}
