//! Connections to nodes' client services, one per address, made lazily and dropped after a
//! transport error so the next call reconnects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_api::service::StrataServiceClient;
use strata_wire::FrameLimit;

pub use strata_api::service::MAX_FRAME;

/// How long connecting to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A pool of client-service connections. Cheap to clone.
#[derive(Clone, Default)]
pub struct Connections {
    conns: Arc<Mutex<HashMap<String, StrataServiceClient>>>,
}

impl Connections {
    /// The connection to `addr`, made if needed.
    pub async fn get(&self, addr: &str) -> std::io::Result<StrataServiceClient> {
        if let Some(c) = self.conns.lock().unwrap_or_else(|p| p.into_inner()).get(addr) {
            return Ok(c.clone());
        }
        let transport = strata_wire::connect(addr, CONNECT_TIMEOUT, FrameLimit::new(MAX_FRAME)).await?;
        let mut config = tarpc::client::Config::default();
        config.max_in_flight_requests = 4096;
        let client = StrataServiceClient::new(config, transport).spawn();
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(addr.to_string(), client.clone());
        Ok(client)
    }

    /// Forgets the connection to `addr`.
    pub fn forget(&self, addr: &str) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(addr);
    }
}

pub use strata_api::service::context_within;
