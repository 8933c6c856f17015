//! `StorageContext`: the entry point, holding one handle per store like LlamaIndex's.

use crate::backend::unexpected;
use crate::backend::{Backend, Embedded};
use crate::error::Result;
use crate::stores::{ChatStore, DocStore, GraphStore, IndexStore, KvStore, PropertyGraphStore, VectorStore};
use std::path::Path;
use std::sync::Arc;
use strata_api::{Command, Query, Response, VectorCommand, VectorNamespace, VectorQuery};
use strata_api::{DEFAULT_DOCSTORE_NAMESPACE, DEFAULT_INDEX_STORE_NAMESPACE};

/// Every store of one Strata database. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct StorageContext {
    pub(crate) backend: Arc<Backend>,
}

impl StorageContext {
    /// Opens (creating if needed) an embedded database in `dir`: the stores run in this
    /// process on sled, every write durable before it returns. A directory already open
    /// elsewhere is refused with [`strata_api::Error::AlreadyOpen`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let embedded = Embedded::open(dir.as_ref())?;
        Ok(Self { backend: Arc::new(Backend::Embedded(embedded)) })
    }

    /// Connects to a Strata cluster through any of its members' client addresses
    /// (`host:port`): the same stores and methods as [`StorageContext::open`], every write
    /// committed on a majority of replicas and durable there before it returns.
    pub async fn connect(addrs: &[String]) -> Result<Self> {
        Self::connect_within(addrs, crate::cluster::DEFAULT_DEADLINE).await
    }

    /// [`StorageContext::connect`] with a deadline for connecting and for each later call
    /// (retries included), after which it fails with `Unavailable`.
    pub async fn connect_within(addrs: &[String], deadline: std::time::Duration) -> Result<Self> {
        Self::connect_with(addrs, deadline, None).await
    }

    /// [`StorageContext::connect_within`] presenting an API key (`strata keys new`) on
    /// every connection; a wrong or missing key fails with `Unauthenticated`.
    pub async fn connect_with(
        addrs: &[String],
        deadline: std::time::Duration,
        api_key: Option<String>,
    ) -> Result<Self> {
        let cluster = crate::cluster::Cluster::connect_with(addrs, deadline, api_key).await?;
        Ok(Self { backend: Arc::new(Backend::Cluster(Box::new(cluster))) })
    }

    /// Connects to a cluster as `options` say: deadline, API key, and TLS (the nodes'
    /// CA) for a cluster whose nodes serve TLS.
    pub async fn connect_options(addrs: &[String], options: &crate::cluster::ConnectOptions) -> Result<Self> {
        let cluster = crate::cluster::Cluster::connect_options(addrs, options).await?;
        Ok(Self { backend: Arc::new(Backend::Cluster(Box::new(cluster))) })
    }

    /// The cluster connection, when this context is one.
    pub fn cluster(&self) -> Option<&crate::cluster::Cluster> {
        match &*self.backend {
            Backend::Cluster(c) => Some(c),
            Backend::Embedded(_) => None,
        }
    }

    /// The document store in LlamaIndex's default namespace (`docstore`).
    pub fn docstore(&self) -> DocStore {
        self.docstore_in(DEFAULT_DOCSTORE_NAMESPACE)
    }

    /// The document store in another namespace (`KVDocumentStore(namespace=...)`).
    pub fn docstore_in(&self, namespace: &str) -> DocStore {
        DocStore::new(self.backend.clone(), namespace.to_string())
    }

    /// The index store in LlamaIndex's default namespace (`index_store`).
    pub fn index_store(&self) -> IndexStore {
        self.index_store_in(DEFAULT_INDEX_STORE_NAMESPACE)
    }

    /// The index store in another namespace.
    pub fn index_store_in(&self, namespace: &str) -> IndexStore {
        IndexStore::new(self.backend.clone(), namespace.to_string())
    }

    /// The key-value store.
    pub fn kv_store(&self) -> KvStore {
        KvStore::new(self.backend.clone())
    }

    /// The chat store.
    pub fn chat_store(&self) -> ChatStore {
        ChatStore::new(self.backend.clone())
    }

    /// The vector store in LlamaIndex's default namespace (`default`).
    pub fn vector_store(&self) -> VectorStore {
        self.vector_store_in(strata_api::DEFAULT_VECTOR_NAMESPACE)
    }

    /// The vector store of a namespace (`StorageContext.vector_stores[namespace]`);
    /// `default` and `image` always exist, others once added.
    pub fn vector_store_in(&self, namespace: &str) -> VectorStore {
        VectorStore::new(self.backend.clone(), namespace.to_string())
    }

    /// The triplet graph store (`StorageContext.graph_store`) of the `default` graph.
    pub fn graph_store(&self) -> GraphStore {
        self.graph_store_in(strata_api::DEFAULT_GRAPH)
    }

    /// The triplet graph store of another graph (created on first use).
    pub fn graph_store_in(&self, graph: &str) -> GraphStore {
        GraphStore::new(self.backend.clone(), graph.to_string())
    }

    /// The property graph store (`StorageContext.property_graph_store`) of the `default`
    /// graph.
    pub fn property_graph_store(&self) -> PropertyGraphStore {
        self.property_graph_store_in(strata_api::DEFAULT_GRAPH)
    }

    /// The property graph store of another graph (created on first use).
    pub fn property_graph_store_in(&self, graph: &str) -> PropertyGraphStore {
        PropertyGraphStore::new(self.backend.clone(), graph.to_string())
    }

    /// `add_vector_store(store, namespace)`: creates a namespace with its dimension,
    /// distance and (in a cluster) partition count. Creating an existing namespace with
    /// the same settings does nothing; other settings are refused.
    pub async fn add_vector_store(&self, settings: VectorNamespace) -> Result<VectorStore> {
        let name = settings.name.clone();
        self.backend.apply(Command::Vector(VectorCommand::CreateNamespace { settings })).await?;
        Ok(self.vector_store_in(&name))
    }

    /// Every vector namespace's settings (`default` and `image` included).
    pub async fn vector_namespaces(&self) -> Result<Vec<VectorNamespace>> {
        match self.backend.query(Query::Vector(VectorQuery::Namespaces)).await? {
            Response::VectorNamespaces(mut n) => {
                // Every shard knows `default` and `image`; the one holding vectors has a dimension.
                n.sort_by(|a, b| a.name.cmp(&b.name).then(b.dim.cmp(&a.dim)));
                n.dedup_by(|a, b| a.name == b.name);
                Ok(n)
            }
            other => Err(unexpected("vector namespaces", &other)),
        }
    }

    /// Makes everything written so far durable (writes already are when they return).
    pub fn flush(&self) -> Result<()> {
        match &*self.backend {
            Backend::Embedded(e) => e.flush(),
            Backend::Cluster(_) => Ok(()),
        }
    }
}
