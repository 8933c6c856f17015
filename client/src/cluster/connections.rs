//! Connections to nodes' client services, one per address, made lazily and dropped after a
//! transport error so the next call reconnects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_api::service::StrataServiceClient;
use strata_wire::{FrameLimit, TlsClient};

pub use strata_api::service::MAX_FRAME;

/// How long connecting to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A pool of client-service connections. Cheap to clone.
#[derive(Clone, Default)]
pub struct Connections {
    conns: Arc<Mutex<HashMap<String, StrataServiceClient>>>,
    /// The API key every new connection presents first.
    key: Option<Arc<str>>,
    /// TLS for every connection (the nodes' CA), if the cluster uses it.
    tls: Option<TlsClient>,
}

impl Connections {
    /// A pool whose connections present `key` (an API key, or a node's key) first.
    pub fn with_key(key: Option<String>) -> Self {
        Self { conns: Arc::default(), key: key.map(Arc::from), tls: None }
    }

    /// The same pool, connecting over TLS checked against `tls`'s CA when given.
    pub fn with_tls(mut self, tls: Option<TlsClient>) -> Self {
        self.tls = tls;
        self
    }

    /// The connection to `addr`, made if needed.
    pub async fn get(&self, addr: &str) -> std::io::Result<StrataServiceClient> {
        if let Some(c) = self.conns.lock().unwrap_or_else(|p| p.into_inner()).get(addr) {
            return Ok(c.clone());
        }
        let transport =
            strata_wire::connect(addr, CONNECT_TIMEOUT, FrameLimit::new(MAX_FRAME), self.tls.as_ref()).await?;
        let mut config = tarpc::client::Config::default();
        config.max_in_flight_requests = 4096;
        let client = StrataServiceClient::new(config, transport).spawn();
        // Versions first: a node this build cannot speak to is refused by name, before
        // any call whose encoding might have changed.
        match client.hello(context_within(CONNECT_TIMEOUT), strata_api::version::CLIENT_PROTOCOL).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, e)),
            Err(e) => return Err(std::io::Error::other(format!("{addr}: hello: {e}"))),
        }
        if let Some(key) = &self.key {
            match client.authenticate(context_within(CONNECT_TIMEOUT), key.to_string()).await {
                Ok(Ok(_)) => {}
                // A refused key is the caller's to fix, not a node's to retry.
                Ok(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string())),
                Err(e) => return Err(std::io::Error::other(format!("{addr}: authenticate: {e}"))),
            }
        }
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(addr.to_string(), client.clone());
        Ok(client)
    }

    /// Forgets the connection to `addr`.
    pub fn forget(&self, addr: &str) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(addr);
    }
}

pub use strata_api::service::context_within;

/// The error for a connection that could not be made or authenticated: a refused key
/// is `Unauthenticated` and a node's refusal of this build's protocol is its own
/// `IncompatibleVersion` (both deterministic), anything else `Unavailable` (retried).
pub fn connect_error(addr: &str, e: &std::io::Error) -> strata_api::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        return strata_api::Error::Unauthenticated(e.to_string());
    }
    if let Some(refused) = e.get_ref().and_then(|inner| inner.downcast_ref::<strata_api::Error>()) {
        return refused.clone();
    }
    strata_api::Error::Unavailable(format!("{addr}: {e}"))
}
