//! `strata_llamaindex._native`: the Rust half of the Python package.
//!
//! The Python classes (`strata_llamaindex/*.py`) subclass LlamaIndex's bases and hand
//! every call to one [`Native`] handle: `call(store, op, args, blob)` runs it to the end
//! with the GIL released, `acall(...)` returns an asyncio awaitable driven by the tokio
//! runtime, both on `strata-client`'s async stores, so the semantics are the Rust
//! side's and exist once. Arguments and answers cross as JSON text in LlamaIndex's own
//! forms (`doc_to_json` nodes, pydantic dumps of graph nodes and filters, ...), which the
//! `api` crate reads and writes already; embeddings cross as one little-endian `f64`
//! buffer per call (`blob`, a NumPy array's bytes), never element by element.
//!
//! | module | job |
//! | --- | --- |
//! | [`registry`] | one open embedded database per directory per process, shared |
//! | [`calls`] | the operations of each store: JSON in, client call, JSON out |
//! | [`errors`] | Strata's errors as the Python exceptions `strata_llamaindex.errors` defines |

mod calls;
mod errors;
mod registry;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use strata_client::StorageContext;

/// The longest deadline a cluster connection accepts (a day): larger values, infinities
/// and NaN are refused rather than overflowing a `Duration`.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// One open Strata database, embedded or on a cluster.
#[pyclass(frozen, module = "strata_llamaindex._native")]
struct Native {
    /// `None` once closed.
    ctx: RwLock<Option<Arc<StorageContext>>>,
    /// The data directory (embedded) or the seed addresses (cluster), for `repr`.
    target: String,
    embedded: bool,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

impl Native {
    /// The open database, or the `Closed` exception.
    fn context(&self, py: Python<'_>) -> PyResult<Arc<StorageContext>> {
        match &*self.ctx.read().unwrap_or_else(|p| p.into_inner()) {
            Some(ctx) => Ok(ctx.clone()),
            None => Err(errors::closed(py, &self.target)),
        }
    }
}

#[pymethods]
impl Native {
    /// Opens the embedded database in `path` (created if needed), or shares the handle
    /// this process already has on it.
    #[staticmethod]
    fn open(py: Python<'_>, path: String) -> PyResult<Native> {
        let ctx = py.detach(|| {
            let _guard = runtime().enter();
            registry::open(&path)
        });
        let ctx = ctx.map_err(|e| errors::to_py(py, e))?;
        Ok(Native { ctx: RwLock::new(Some(ctx)), target: path, embedded: true })
    }

    /// Connects to a cluster through any members' client addresses; `timeout` (seconds)
    /// bounds connecting and every later call, retries included; `api_key` is presented
    /// on every connection (`STRATA_API_KEY` when not given); `ca_file` is the CA of a
    /// cluster serving TLS (`STRATA_CA_FILE` when not given).
    #[staticmethod]
    #[pyo3(signature = (addrs, timeout = 60.0, api_key = None, ca_file = None))]
    fn connect(
        py: Python<'_>,
        addrs: Vec<String>,
        timeout: f64,
        api_key: Option<String>,
        ca_file: Option<String>,
    ) -> PyResult<Native> {
        if !(timeout > 0.0 && timeout <= MAX_TIMEOUT_SECS) {
            let e = strata_api::Error::InvalidInput(format!("timeout must be in (0, {MAX_TIMEOUT_SECS}] seconds"));
            return Err(errors::to_py(py, e.into()));
        }
        let deadline = Duration::from_secs_f64(timeout);
        let api_key = api_key.or_else(|| std::env::var("STRATA_API_KEY").ok().filter(|k| !k.is_empty()));
        let ca_file = ca_file.or_else(|| std::env::var("STRATA_CA_FILE").ok().filter(|f| !f.is_empty()));
        let tls = match ca_file {
            None => None,
            Some(ca) => Some(
                strata_wire::TlsClient::from_ca_file(std::path::Path::new(&ca))
                    .map_err(|e| errors::to_py(py, strata_api::Error::InvalidInput(format!("ca_file: {e}")).into()))?,
            ),
        };
        let options = strata_client::cluster::ConnectOptions { deadline, api_key, tls };
        let ctx = py.detach(|| runtime().block_on(StorageContext::connect_options(&addrs, &options)));
        let ctx = Arc::new(ctx.map_err(|e| errors::to_py(py, e))?);
        Ok(Native { ctx: RwLock::new(Some(ctx)), target: addrs.join(","), embedded: false })
    }

    /// Runs one operation to the end (the GIL released meanwhile); answers JSON text.
    #[pyo3(signature = (store, op, args, blob = None))]
    fn call(
        &self,
        py: Python<'_>,
        store: &str,
        op: &str,
        args: &str,
        blob: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<String> {
        let blob = blob.map(|b| b.as_bytes());
        let ctx = self.context(py)?;
        let out = py.detach(|| runtime().block_on(calls::run(&ctx, store, op, args, blob)));
        out.map_err(|e| errors::to_py(py, e))
    }

    /// The same operation as an awaitable (a coroutine of the running asyncio loop).
    #[pyo3(signature = (store, op, args, blob = None))]
    fn acall<'py>(
        &self,
        py: Python<'py>,
        store: String,
        op: String,
        args: String,
        blob: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let blob: Option<Vec<u8>> = blob.map(|b| b.as_bytes().to_vec());
        let ctx = self.context(py)?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let out = calls::run(&ctx, &store, &op, &args, blob.as_deref()).await;
            out.map_err(|e| Python::attach(|py| errors::to_py(py, e)))
        })
    }

    /// Makes every write so far durable (writes already are when they return).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let ctx = self.context(py)?;
        py.detach(|| ctx.flush()).map_err(|e| errors::to_py(py, e))
    }

    /// Lets go of the database: later calls on this handle raise `Closed`. An embedded
    /// directory closes (flushed) once every handle on it in this process is closed or
    /// gone; calls already running finish first.
    fn close(&self, py: Python<'_>) {
        let taken = self.ctx.write().unwrap_or_else(|p| p.into_inner()).take();
        // Dropping the last reference flushes sled: without the GIL.
        py.detach(move || drop(taken));
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.ctx.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// True for an embedded database, false for a cluster connection.
    #[getter]
    fn embedded(&self) -> bool {
        self.embedded
    }

    /// The data directory or the cluster addresses.
    #[getter]
    fn target(&self) -> &str {
        &self.target
    }

    fn __repr__(&self) -> String {
        let mode = if self.embedded { "path" } else { "cluster" };
        format!("Native({mode}={:?})", self.target)
    }
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Native>()?;
    Ok(())
}
