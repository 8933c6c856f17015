//! The shards crate's error: storage failures and the api errors a command answers with.

/// What can go wrong inside a shard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A deterministic answer (bad input, missing id, ...): the command did nothing.
    #[error(transparent)]
    Api(#[from] strata_api::Error),
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// The sled directory is locked by another process or handle.
    #[error("the data directory {path} is already open by another process")]
    AlreadyOpen {
        /// The directory.
        path: String,
    },
    /// A stored record that Strata could not have written.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Reading or writing a file (a backup image) failed.
    #[error("i/o: {0}")]
    Io(String),
}

impl From<Error> for strata_api::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Api(e) => e,
            Error::Sled(e) => strata_api::Error::Storage(e.to_string()),
            Error::AlreadyOpen { path } => strata_api::Error::AlreadyOpen { path },
            Error::Corrupt(msg) => strata_api::Error::InvalidData(msg),
            Error::Io(msg) => strata_api::Error::Storage(msg),
        }
    }
}

/// Result with the shards error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
