//! Format and protocol versions: what this build writes and speaks, and the one rule for
//! deciding whether two sides can work together.
//!
//! Every persisted or exchanged form carries a version: the data directory (a record in
//! its database), raft snapshots (their id), backups (the manifest), the peer protocol
//! (the peers' `hello`) and the client protocol (the client's `hello`). A side announces
//! the range it handles ([`Speaks`]); two sides agree when their ranges overlap, and use
//! the highest version both handle. Anything else is [`Error::IncompatibleVersion`],
//! naming what and both versions, before a byte of the other side's data is decoded.
//!
//! The rules these numbers follow (`docs/operations.md`, "Upgrades"): a release raises a
//! version when it changes that form; it keeps reading (`oldest`) the forms of the
//! release before, so nodes one release apart run together during a rolling upgrade; it
//! writes the old form while any member still speaks only that one.

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// The peer protocol (raft messages, snapshots, forwarded requests) this build speaks.
pub const PEER_PROTOCOL: Speaks = Speaks { version: 1, oldest: 1 };
/// The client protocol (the client service's calls and answers) this build speaks.
pub const CLIENT_PROTOCOL: Speaks = Speaks { version: 1, oldest: 1 };
/// The data directory format this build writes, and the oldest it opens.
pub const DATA_FORMAT: Speaks = Speaks { version: 1, oldest: 1 };
/// The raft snapshot format this build writes, and the oldest it installs (the version
/// leads the snapshot's id, `f1-g7-...`; an id without one is format 1).
pub const SNAPSHOT_FORMAT: Speaks = Speaks { version: 1, oldest: 1 };
/// The backup format (manifest and images) this build writes, and the oldest it reads.
pub const BACKUP_FORMAT: Speaks = Speaks { version: crate::backup::BACKUP_FORMAT, oldest: 1 };

/// A range of versions one side handles: `oldest..=version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaks {
    /// The newest version it writes and reads.
    pub version: u32,
    /// The oldest version it still reads.
    pub oldest: u32,
}

impl Speaks {
    /// The version both sides use: the highest both handle, or the typed error naming
    /// `what` and both sides' versions.
    pub fn agree(self, what: &str, theirs: Speaks) -> Result<u32, Error> {
        let common = self.version.min(theirs.version);
        if theirs.oldest > theirs.version || common < self.oldest.max(theirs.oldest) {
            return Err(self.refuse(what, theirs.version));
        }
        Ok(common)
    }

    /// Whether a stored form of version `found` can be read by this side, or the typed
    /// error naming both versions.
    pub fn reads(self, what: &str, found: u32) -> Result<(), Error> {
        if found < self.oldest || found > self.version {
            return Err(self.refuse(what, found));
        }
        Ok(())
    }

    fn refuse(self, what: &str, theirs: u32) -> Error {
        Error::IncompatibleVersion {
            what: what.to_string(),
            ours: self.version,
            oldest: self.oldest,
            theirs,
            build: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// What a node answers a client's `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHello {
    /// The client protocol version the connection uses.
    pub protocol: u32,
    /// The node's Strata release.
    pub strata_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speaks(oldest: u32, version: u32) -> Speaks {
        Speaks { version, oldest }
    }

    #[test]
    fn overlapping_ranges_use_the_highest_common_version() {
        assert_eq!(speaks(1, 2).agree("peer protocol", speaks(1, 1)), Ok(1));
        assert_eq!(speaks(1, 1).agree("peer protocol", speaks(1, 2)), Ok(1));
        assert_eq!(speaks(2, 3).agree("peer protocol", speaks(1, 4)), Ok(3));
        assert_eq!(speaks(1, 1).agree("peer protocol", speaks(1, 1)), Ok(1));
    }

    #[test]
    fn disjoint_or_nonsense_ranges_are_refused_naming_both_versions() {
        match speaks(1, 1).agree("peer protocol", speaks(2, 99)) {
            Err(Error::IncompatibleVersion { what, ours, theirs, .. }) => {
                assert_eq!((what.as_str(), ours, theirs), ("peer protocol", 1, 99));
            }
            other => panic!("refused: {other:?}"),
        }
        assert!(speaks(3, 4).agree("client protocol", speaks(1, 2)).is_err(), "the peer is too old");
        assert!(speaks(1, 1).agree("client protocol", speaks(5, 2)).is_err(), "oldest past newest");
        let e = speaks(1, 1).agree("peer protocol", speaks(7, 7)).expect_err("refused");
        assert!(e.to_string().contains("peer protocol") && e.to_string().contains('7'), "{e}");
        assert!(e.is_deterministic() && !e.is_retryable());
    }

    #[test]
    fn stored_forms_are_read_within_the_range() {
        assert!(speaks(1, 2).reads("raft snapshot", 1).is_ok());
        assert!(speaks(1, 2).reads("raft snapshot", 2).is_ok());
        assert!(speaks(1, 2).reads("raft snapshot", 3).is_err());
        assert!(speaks(2, 2).reads("data directory", 1).is_err());
    }
}
