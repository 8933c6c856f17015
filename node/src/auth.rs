//! Who may use this node: the API keys of its configuration, the cluster secret its peers
//! share, and the protected default (no credentials: loopback only).
//!
//! Clients present an API key once per connection (`authenticate`); the node keeps only
//! keys' hashes. Nodes reach each other's client ports too (forwarding to a leader,
//! joining): they present the *node key*, derived from the cluster secret, which grants
//! everything. A node with keys configured must have the secret too, or its own
//! forwarding would be refused; a node with neither serves loopback only, like Redis's
//! protected mode, and says how to configure keys when asked to listen further.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use strata_api::access::{Access, Role, constant_time_eq, hash_key};

/// `[auth]` in the configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// The API keys clients may present.
    pub api_keys: Vec<ApiKey>,
    /// A file holding the secret every member of the cluster shares (at least 32 bytes;
    /// `strata keys secret FILE` writes one, mode 0600).
    pub cluster_secret_file: Option<PathBuf>,
    /// A TOML file of more `[[auth.api_keys]]` entries (as `strata keys new` prints them;
    /// `[[api_keys]]` also reads), added to `api_keys`: keys kept apart from the
    /// configuration, as a Kubernetes Secret or a compose secret mounted as a file.
    pub api_keys_file: Option<PathBuf>,
}

/// What an `api_keys_file` holds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    api_keys: Vec<ApiKey>,
    #[serde(default)]
    auth: Option<KeysSection>,
}

/// `[auth]` of an `api_keys_file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysSection {
    #[serde(default)]
    api_keys: Vec<ApiKey>,
}

/// The configured keys, and those of `api_keys_file`.
fn all_keys(settings: &AuthSettings) -> Result<Vec<ApiKey>, AuthError> {
    let mut keys = settings.api_keys.clone();
    if let Some(path) = &settings.api_keys_file {
        let invalid = |why: String| AuthError::Invalid(format!("api keys file {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let file: KeysFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        keys.extend(file.api_keys);
        keys.extend(file.auth.map(|a| a.api_keys).unwrap_or_default());
    }
    Ok(keys)
}

/// One API key, as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// A name for logs.
    pub name: String,
    /// `sha256:` and the hex of the key's SHA-256 (`strata keys new` prints it).
    pub hash: String,
    /// `admin`, `read-write` or `read-only`.
    pub role: Role,
    /// Names (collections, namespaces, chat keys, graphs) the key may touch start with
    /// one of these; empty: every name.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// How long this key's Cypher queries may run, in ms (default: the node's
    /// `limits.cypher_time_ms`).
    #[serde(default)]
    pub cypher_time_ms: Option<u64>,
    /// How many vector namespaces it may create (default: `limits.max_namespaces_per_key`).
    #[serde(default)]
    pub max_namespaces: Option<u64>,
    /// How many graphs (default: `limits.max_graphs_per_key`).
    #[serde(default)]
    pub max_graphs: Option<u64>,
    /// How many partitions in all (default: `limits.max_partitions_per_key`).
    #[serde(default)]
    pub max_partitions: Option<u64>,
}

/// The node's credentials, ready to check.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    keys: HashMap<String, Access>,
    /// The node key's hash, with a cluster secret.
    node_key: Option<String>,
    /// The node key itself, presented to other nodes.
    own_key: Option<String>,
    /// The raft port's key.
    peer_key: Option<[u8; 32]>,
}

/// Why the credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The secret file is missing, unreadable, too short or readable by others.
    #[error("cluster secret {path}: {why}")]
    Secret {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The settings contradict each other or the addresses.
    #[error("{0}")]
    Invalid(String),
}

/// The smallest secret accepted.
const MIN_SECRET: usize = 32;

impl Auth {
    /// Loads the settings, checking them against the addresses the node listens on.
    pub fn load(settings: &AuthSettings, listens: &[&str]) -> Result<Self, AuthError> {
        let mut keys = HashMap::new();
        for k in &all_keys(settings)? {
            if !k.hash.starts_with("sha256:") || k.hash.len() != 7 + 64 {
                return Err(AuthError::Invalid(format!(
                    "api key {:?}: hash must be sha256: and 64 hex digits (strata keys new prints it)",
                    k.name
                )));
            }
            keys.insert(
                k.hash.to_ascii_lowercase(),
                Access {
                    name: k.name.clone(),
                    role: k.role,
                    prefixes: k.prefixes.clone(),
                    cypher_time_ms: k.cypher_time_ms,
                    quotas: strata_api::tenancy::Quotas {
                        max_namespaces: k.max_namespaces,
                        max_graphs: k.max_graphs,
                        max_partitions: k.max_partitions,
                    },
                },
            );
        }
        let secret = match &settings.cluster_secret_file {
            Some(path) => Some(read_secret(path)?),
            None => None,
        };
        let own_key = secret.as_deref().map(node_key);
        let peer_key = secret
            .as_deref()
            .map(|s| Sha256::new().chain_update(b"strata peer key\0").chain_update(s).finalize().into());
        if !keys.is_empty() && own_key.is_none() {
            return Err(AuthError::Invalid(
                "api keys need auth.cluster_secret_file too: nodes forward requests to each other with it".into(),
            ));
        }
        let auth = Self { keys, node_key: own_key.as_deref().map(hash_key), own_key, peer_key };
        if !auth.enabled()
            && let Some(addr) = listens.iter().find(|a| !is_loopback(a))
        {
            return Err(AuthError::Invalid(format!(
                "refusing to listen on {addr} without credentials: anyone who reaches the port could \
                 read, write and remove members. Configure [auth] (`strata keys new` makes an API key, \
                 `strata keys secret FILE` a cluster secret; see docs/security.md), or listen on 127.0.0.1"
            )));
        }
        Ok(auth)
    }

    /// Whether connections must authenticate.
    pub fn enabled(&self) -> bool {
        self.own_key.is_some()
    }

    /// What `key` grants, if anything.
    pub fn check(&self, key: &str) -> Option<Access> {
        if !self.enabled() {
            return Some(Access::everything("no keys configured"));
        }
        let hash = hash_key(key);
        if let Some(node) = &self.node_key
            && constant_time_eq(hash.as_bytes(), node.as_bytes())
        {
            return Some(Access::everything("cluster node"));
        }
        self.keys.get(&hash).cloned()
    }

    /// The key peers prove they hold on the raft port (derived from the cluster secret
    /// under its own label, so it differs from the node key sent on client ports).
    pub fn peer_key(&self) -> Option<[u8; 32]> {
        self.peer_key
    }

    /// The key this node presents to other nodes' client ports.
    pub fn own_key(&self) -> Option<String> {
        self.own_key.clone()
    }

    /// Credentials with fresh keys of these names and roles (and a made-up secret);
    /// answers them with the keys, in order.
    #[cfg(test)]
    pub fn for_tests(keys: &[(&str, Role)]) -> (Self, Vec<String>) {
        let mut plain = Vec::new();
        let mut by_hash = HashMap::new();
        for (name, role) in keys {
            let key = new_key().unwrap_or_else(|_| format!("strata_test_{name}"));
            by_hash.insert(hash_key(&key), Access { name: name.to_string(), role: *role, ..Access::everything(name) });
            plain.push(key);
        }
        let own_key = node_key(b"a secret for tests, 32 bytes long");
        let auth = Self { keys: by_hash, node_key: Some(hash_key(&own_key)), own_key: Some(own_key), peer_key: None };
        (auth, plain)
    }
}

/// The node key: a hash of the secret under a label of its own (the secret itself never
/// crosses the wire).
fn node_key(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"strata node key\0");
    h.update(secret);
    format!("strata-node_{}", hex::encode(h.finalize()))
}

fn read_secret(path: &Path) -> Result<Vec<u8>, AuthError> {
    let err = |why: String| AuthError::Secret { path: path.display().to_string(), why };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = meta.permissions().mode() & 0o777;
        if !secret_mode_ok(meta.uid(), mode) {
            return Err(err(format!("mode {mode:o} lets others read it; chmod 600 (or 640, owned by root)")));
        }
    }
    if meta.len() > 4096 {
        return Err(err("longer than 4096 bytes".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let secret = bytes.trim_ascii().to_vec();
    if secret.len() < MIN_SECRET {
        return Err(err(format!("{} bytes; at least {MIN_SECRET} needed", secret.len())));
    }
    Ok(secret)
}

/// Whether a secret file's owner and mode keep it private. PostgreSQL's rule for key
/// files: the owner alone may read it (0600 or 0400), or, owned by root, the group too
/// (0640 or 0440) — how Kubernetes mounts a Secret for a pod's `fsGroup`, and how a
/// package installs a file for a service's group.
fn secret_mode_ok(uid: u32, mode: u32) -> bool {
    if uid == 0 { mode & 0o037 == 0 } else { mode & 0o077 == 0 }
}

/// Whether `addr` (`host:port`) is on loopback.
fn is_loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A new API key: `strata_` and 64 hex digits of the system's randomness.
pub fn new_key() -> std::io::Result<String> {
    Ok(format!("strata_{}", hex::encode(random_bytes()?)))
}

pub use strata_api::access::random_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_file(dir: &Path, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("secret");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn without_credentials_only_loopback_is_served() {
        let none = AuthSettings::default();
        assert!(Auth::load(&none, &["127.0.0.1:7400", "[::1]:7401", "localhost:1"]).is_ok());
        let err = Auth::load(&none, &["127.0.0.1:7400", "0.0.0.0:7401"]).unwrap_err().to_string();
        assert!(err.contains("refusing to listen on 0.0.0.0:7401") && err.contains("strata keys new"), "{err}");
        let open = Auth::load(&none, &["127.0.0.1:1"]).unwrap();
        assert_eq!(open.check("anything").map(|a| a.role), Some(Role::Admin));
    }

    #[test]
    fn keys_grant_their_role_and_the_node_key_everything() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key().unwrap();
        let settings = AuthSettings {
            api_keys: vec![ApiKey {
                name: "reader".into(),
                hash: hash_key(&key),
                role: Role::ReadOnly,
                prefixes: vec!["a/".into()],
                cypher_time_ms: None,
                max_namespaces: None,
                max_graphs: None,
                max_partitions: None,
            }],
            cluster_secret_file: Some(secret_file(dir.path(), 0o600)),
            api_keys_file: None,
        };
        let auth = Auth::load(&settings, &["10.0.0.5:7400"]).unwrap();
        let granted = auth.check(&key).unwrap();
        assert_eq!((granted.role, granted.prefixes), (Role::ReadOnly, vec!["a/".to_string()]));
        assert!(auth.check("strata_wrong").is_none());
        assert_eq!(auth.check(&auth.own_key().unwrap()).map(|a| a.role), Some(Role::Admin));
    }

    #[test]
    fn a_secret_is_private_to_its_owner_or_to_root_and_its_group() {
        for (uid, mode, ok) in [
            (1000, 0o600, true),
            (1000, 0o400, true),
            (1000, 0o640, false),
            (1000, 0o604, false),
            (0, 0o600, true),
            (0, 0o640, true),
            (0, 0o440, true),
            (0, 0o660, false),
            (0, 0o644, false),
        ] {
            assert_eq!(secret_mode_ok(uid, mode), ok, "uid {uid} mode {mode:o}");
        }
    }

    #[test]
    fn keys_in_a_separate_file_are_added_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let admin = new_key().unwrap();
        let file = dir.path().join("api-keys.toml");
        let reader = new_key().unwrap();
        std::fs::write(
            &file,
            format!(
                "[[api_keys]]\nname = \"ops\"\nhash = \"{}\"\nrole = \"admin\"\n\
                 [[auth.api_keys]]\nname = \"r\"\nhash = \"{}\"\nrole = \"read-only\"\n",
                hash_key(&admin),
                hash_key(&reader)
            ),
        )
        .unwrap();
        let settings = AuthSettings {
            cluster_secret_file: Some(secret_file(dir.path(), 0o600)),
            api_keys_file: Some(file.clone()),
            ..AuthSettings::default()
        };
        let auth = Auth::load(&settings, &["10.0.0.5:7400"]).unwrap();
        assert_eq!(auth.check(&admin).map(|a| (a.name, a.role)), Some(("ops".to_string(), Role::Admin)));
        assert_eq!(auth.check(&reader).map(|a| a.role), Some(Role::ReadOnly), "as `strata keys new` prints it");
        std::fs::write(&file, "[[api_keys]]\nname = \"ops\"\n").unwrap();
        let Err(err) = Auth::load(&settings, &["10.0.0.5:7400"]) else { panic!("a key without a hash is refused") };
        let err = err.to_string();
        assert!(err.contains("api-keys.toml") && err.contains("hash"), "{err}");
        let missing = AuthSettings { api_keys_file: Some(dir.path().join("none.toml")), ..settings };
        assert!(Auth::load(&missing, &["127.0.0.1:1"]).is_err(), "a missing keys file is an error");
    }

    #[test]
    fn a_secret_others_can_read_or_keys_without_a_secret_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let loose =
            AuthSettings { cluster_secret_file: Some(secret_file(dir.path(), 0o644)), ..AuthSettings::default() };
        assert!(Auth::load(&loose, &[]).unwrap_err().to_string().contains("chmod 600"));
        let key = ApiKey {
            name: "k".into(),
            hash: hash_key("x"),
            role: Role::Admin,
            prefixes: vec![],
            cypher_time_ms: None,
            max_namespaces: None,
            max_graphs: None,
            max_partitions: None,
        };
        let no_secret = AuthSettings { api_keys: vec![key], ..AuthSettings::default() };
        assert!(Auth::load(&no_secret, &[]).unwrap_err().to_string().contains("cluster_secret_file"));
    }
}
