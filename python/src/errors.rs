//! Strata's errors as Python exceptions.
//!
//! The classes live in `strata_llamaindex/errors.py`, where each can also be the
//! exception LlamaIndex raises in the same place (a missing document with
//! `raise_error=True` is a `ValueError` there, so `DocumentNotFound` is one too); this
//! module only picks the class by the error's variant and keeps the server's message.

use pyo3::prelude::*;
use pyo3::types::PyType;
use strata_api::Error as E;
use strata_client::Error;

/// The name of the class in `strata_llamaindex.errors` for an error.
fn class_of(e: &Error) -> &'static str {
    let store = match e {
        Error::Store(s) => s,
        Error::Io { .. } => return "StorageFailure",
        Error::InvalidFile { .. } => return "InvalidInput",
        Error::Protocol(_) => return "ProtocolError",
    };
    match store {
        E::DocumentNotFound { .. } => "DocumentNotFound",
        E::RefDocNotFound { .. } => "RefDocNotFound",
        E::DocumentExists { .. } => "DocumentExists",
        E::IndexStructNotUnique { .. } => "IndexStructNotUnique",
        E::InvalidInput(_) => "InvalidInput",
        E::InvalidData(_) => "InvalidData",
        E::Storage(_) => "StorageFailure",
        E::AlreadyOpen { .. } => "AlreadyOpen",
        E::NotLeader { .. } | E::Unavailable(_) | E::UnknownGroup(_) => "Unavailable",
        E::Cluster(_) => "ClusterError",
        E::UnknownNamespace { .. } => "UnknownNamespace",
        E::WrongDimension { .. } => "WrongDimension",
        E::InvalidVector { .. } => "InvalidVector",
        E::InvalidFilter(_) => "InvalidFilter",
        E::UnsupportedQueryMode(_) => "UnsupportedQueryMode",
        E::Unsupported(_) => "Unsupported",
        E::InvalidQuery(_) => "InvalidQuery",
        E::UnsupportedCypher { .. } => "UnsupportedCypher",
        E::LimitExceeded { .. } => "LimitExceeded",
        E::Busy(_) => "Unavailable",
        E::Unauthenticated(_) => "Unauthenticated",
        E::PermissionDenied(_) => "PermissionDenied",
        E::IncompatibleVersion { .. } => "IncompatibleVersion",
    }
}

/// The Python exception for an error, with its message.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    raise(py, class_of(&e), e.to_string())
}

/// The exception for a call on a closed handle.
pub fn closed(py: Python<'_>, target: &str) -> PyErr {
    raise(py, "Closed", format!("the Strata handle on {target} is closed"))
}

fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let class = py
        .import("strata_llamaindex.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(class) => PyErr::from_type(class, message),
        // The package's Python half is missing (the module imported on its own): still an
        // exception with the message, never a panic.
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}
