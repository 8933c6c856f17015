//! Who may make which call: API keys' roles and namespace prefixes, and what each request
//! touches. The node enforces it; clients and the CLI import the same types (a key's
//! hash, a role's name), so the rule is written once.
//!
//! A key is a random token (`strata_` and 64 hex digits, from `strata keys new`); the node
//! keeps only its SHA-256 (a token of 256 random bits needs no slow hash: nothing about
//! it can be guessed from the hash). A connection presents its key once
//! (`authenticate`), and every later call on it is checked against the key's role and,
//! when the key has prefixes, against the names the call touches: KV collections,
//! docstore and index-store namespaces, chat keys, vector namespaces and graphs.

use crate::command::{ChatCommand, Command, DocstoreCommand, IndexStoreCommand, KvCommand};
use crate::error::Error;
use crate::graph_call::GraphCall;
use crate::query::{ChatQuery, IndexStoreQuery, KvQuery, Query};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// 32 bytes from the operating system's generator (keys, secrets, challenges).
pub fn random_bytes() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut out = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut out)?;
    Ok(out)
}

/// What a key may do; each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Scrapes a node's `/metrics`, nothing else (no store call, no status).
    Metrics,
    /// Reads, searches, graph queries, the shard map and node status.
    ReadOnly,
    /// And writes, and creating vector namespaces and graphs.
    ReadWrite,
    /// And cluster membership (`join`, `remove_node`, adopting a standby node).
    Admin,
}

/// What a connection was granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The key's name in the node's configuration (for logs; not a secret).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Names it may touch start with one of these; empty: every name.
    pub prefixes: Vec<String>,
    /// How long its Cypher queries may run, in ms, when its key says (else the node's
    /// `limits.cypher_time_ms`).
    #[serde(default)]
    pub cypher_time_ms: Option<u64>,
    /// What it may create (`None` in a field: the node's default).
    #[serde(default)]
    pub quotas: crate::tenancy::Quotas,
}

impl Access {
    /// Full access (no keys configured: a loopback-only node; or another node).
    pub fn everything(name: &str) -> Self {
        Self {
            name: name.into(),
            role: Role::Admin,
            prefixes: Vec::new(),
            cypher_time_ms: None,
            quotas: crate::tenancy::Quotas::default(),
        }
    }

    /// Refuses a call needing `role`.
    pub fn require(&self, role: Role, call: &str) -> Result<(), Error> {
        if self.role < role {
            return Err(Error::PermissionDenied(format!("{call} needs the {} role", role.name())));
        }
        Ok(())
    }

    /// Whether `name` is within the key's prefixes.
    pub fn may_touch(&self, name: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }

    fn touch(&self, name: &str) -> Result<(), Error> {
        if self.may_touch(name) {
            return Ok(());
        }
        // The name is not repeated: an error never names what a key may not see.
        Err(Error::PermissionDenied("this key may not touch that name (outside its prefixes)".into()))
    }

    /// Refuses a write the key may not make.
    pub fn check_command(&self, command: &Command) -> Result<(), Error> {
        self.require(Role::ReadWrite, "a write")?;
        touched_names(command).into_iter().try_for_each(|name| self.touch(name))
    }

    /// Refuses a read the key may not make. Listings (collections, chat keys, vector
    /// namespaces) are allowed and filtered by the caller with [`Access::may_touch`].
    pub fn check_query(&self, query: &Query) -> Result<(), Error> {
        self.require(Role::ReadOnly, "a read")?;
        touched_by_query(query).map_or(Ok(()), |name| self.touch(name))
    }

    /// Refuses a graph call the key may not make.
    pub fn check_graph_call(&self, call: &GraphCall) -> Result<(), Error> {
        self.require(Role::ReadOnly, "a graph query")?;
        self.touch(call.graph())
    }

    /// Refuses creating a vector namespace or graph named `name`.
    pub fn check_create(&self, name: &str) -> Result<(), Error> {
        self.require(Role::ReadWrite, "creating a namespace")?;
        self.touch(name)
    }
}

impl Role {
    /// The role's name, as the configuration writes it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Metrics => "metrics",
            Role::ReadOnly => "read-only",
            Role::ReadWrite => "read-write",
            Role::Admin => "admin",
        }
    }
}

/// The name a write touches (none: cluster metadata, the node's own).
pub fn touched_by_command(command: &Command) -> Option<&str> {
    Some(match command {
        Command::Kv(KvCommand::Put { collection, .. })
        | Command::Kv(KvCommand::PutAll { collection, .. })
        | Command::Kv(KvCommand::Delete { collection, .. }) => collection,
        // Creating collections: `touched_names` gives each; the first stands for the call.
        Command::Kv(KvCommand::EnsureCollections { collections }) => collections.first()?,
        Command::Docstore(
            DocstoreCommand::AddDocuments { namespace, .. }
            | DocstoreCommand::DeleteDocument { namespace, .. }
            | DocstoreCommand::DeleteRefDoc { namespace, .. }
            | DocstoreCommand::SetDocumentHashes { namespace, .. },
        ) => namespace,
        Command::IndexStore(IndexStoreCommand::Add { namespace, .. } | IndexStoreCommand::Delete { namespace, .. }) => {
            namespace
        }
        Command::Chat(
            ChatCommand::SetMessages { key, .. }
            | ChatCommand::AddMessage { key, .. }
            | ChatCommand::DeleteMessages { key }
            | ChatCommand::DeleteMessage { key, .. }
            | ChatCommand::DeleteLastMessage { key },
        ) => key,
        Command::Meta(_) | Command::Restore(_) => return None,
        Command::Vector(v) => v.namespace(),
        Command::Graph(g) => g.graph(),
    })
}

/// Every name a write touches (more than one only for `EnsureCollections`).
pub fn touched_names(command: &Command) -> Vec<&str> {
    match command {
        Command::Kv(KvCommand::EnsureCollections { collections }) => collections.iter().map(String::as_str).collect(),
        other => touched_by_command(other).into_iter().collect(),
    }
}

/// The name a read touches (none: a listing, or cluster metadata).
pub fn touched_by_query(query: &Query) -> Option<&str> {
    Some(match query {
        Query::Kv(KvQuery::Get { collection, .. } | KvQuery::GetAll { collection }) => collection,
        Query::Kv(KvQuery::Collections) | Query::Chat(ChatQuery::GetKeys) | Query::Meta(_) => return None,
        Query::Docstore(q) => q.namespace(),
        Query::IndexStore(IndexStoreQuery::Get { namespace, .. } | IndexStoreQuery::All { namespace }) => namespace,
        Query::Chat(ChatQuery::GetMessages { key }) => key,
        Query::Vector(v) => return v.namespace(),
        Query::Graph(q) => q.graph(),
    })
}

/// The stored form of a key: `sha256:` and the hex of its SHA-256.
pub fn hash_key(key: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// HMAC-SHA-256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// What a peer proves it holds the cluster's secret with: an HMAC, under the key derived
/// from the secret, of the challenge the node sent on this connection, the cluster id and
/// the id of the node saying hello (a proof answers one challenge only: a recorded one is
/// worth nothing on another connection, nor in another node's name).
pub fn peer_proof(peer_key: &[u8; 32], challenge: &[u8], cluster: u64, from: u64) -> [u8; 32] {
    let msg = [b"strata peer hello\0".as_slice(), challenge, &cluster.to_le_bytes(), &from.to_le_bytes()].concat();
    hmac_sha256(peer_key, &msg)
}

/// Equality of two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonText;

    fn put(collection: &str) -> Command {
        Command::Kv(KvCommand::Put {
            collection: collection.into(),
            key: "k".into(),
            value: JsonText::from_map(&Default::default()),
        })
    }

    #[test]
    fn roles_include_the_ones_before() {
        let reader = Access { name: "r".into(), role: Role::ReadOnly, ..Access::everything("r") };
        assert!(reader.check_query(&Query::Kv(KvQuery::Collections)).is_ok());
        assert!(matches!(reader.check_command(&put("data")), Err(Error::PermissionDenied(_))));
        let writer = Access { role: Role::ReadWrite, ..reader.clone() };
        assert!(writer.check_command(&put("data")).is_ok());
        assert!(writer.require(Role::Admin, "join").is_err());
        assert!(Access::everything("node").require(Role::Admin, "join").is_ok());
    }

    #[test]
    fn prefixes_bound_the_names_a_key_touches() {
        let tenant = Access { role: Role::ReadWrite, prefixes: vec!["tenant-a/".into()], ..Access::everything("t") };
        assert!(tenant.check_command(&put("tenant-a/data")).is_ok());
        let err = tenant.check_command(&put("tenant-b/data")).unwrap_err();
        assert_eq!(err.to_string(), "permission denied: this key may not touch that name (outside its prefixes)");
        assert!(!err.to_string().contains("tenant-b"), "a refusal never names what the key may not see");
        let get = Query::Chat(ChatQuery::GetMessages { key: "tenant-b/c1".into() });
        assert!(tenant.check_query(&get).is_err());
        let call =
            GraphCall::Cypher { graph: "tenant-a/kg".into(), query: "RETURN 1".into(), params: Default::default() };
        assert!(tenant.check_graph_call(&call).is_ok());
        let ensure =
            Command::Kv(KvCommand::EnsureCollections { collections: vec!["tenant-a/x".into(), "other".into()] });
        assert!(touched_names(&ensure).iter().any(|n| !tenant.may_touch(n)));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let long_key = [0xaau8; 131];
        let mac = hmac_sha256(&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        let key = [7u8; 32];
        assert_ne!(peer_proof(&key, b"challenge-1", 5, 1), peer_proof(&key, b"challenge-2", 5, 1));
        assert_ne!(peer_proof(&key, b"challenge-1", 5, 1), peer_proof(&key, b"challenge-1", 6, 1));
        assert_ne!(peer_proof(&key, b"challenge-1", 5, 1), peer_proof(&key, b"challenge-1", 5, 2));
    }

    #[test]
    fn keys_are_stored_as_their_sha256() {
        assert_eq!(hash_key("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(
            constant_time_eq(b"same", b"same") && !constant_time_eq(b"same", b"sane") && !constant_time_eq(b"a", b"ab")
        );
    }
}
