//! The client's error: a store's answer, or a problem with files on the caller's side.

use std::path::PathBuf;

/// What a `StorageContext` call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store refused or failed the request (LlamaIndex's `ValueError`s live here).
    #[error(transparent)]
    Store(#[from] strata_api::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file to import is not what LlamaIndex writes.
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store answered with a response of the wrong shape (a bug, never user input).
    #[error("unexpected response from the store: {0}")]
    Protocol(String),
}

impl From<strata_shards::Error> for Error {
    fn from(e: strata_shards::Error) -> Self {
        Error::Store(e.into())
    }
}

impl Error {
    /// The error as it crosses the wire (a file or protocol problem becomes the store
    /// error closest to it).
    pub fn into_store(self) -> strata_api::Error {
        match self {
            Error::Store(e) => e,
            Error::Io { path, source } => strata_api::Error::Storage(format!("{}: {source}", path.display())),
            Error::InvalidFile { path, reason } => {
                strata_api::Error::InvalidInput(format!("{}: {reason}", path.display()))
            }
            Error::Protocol(m) => strata_api::Error::InvalidData(m),
        }
    }

    /// The store's error, if this is one.
    pub fn as_store(&self) -> Option<&strata_api::Error> {
        match self {
            Error::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// Result with the client's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
