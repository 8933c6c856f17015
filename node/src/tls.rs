//! `[tls]`: the node's certificate for both ports and the CA it checks its peers' against,
//! and `strata keys tls`, which makes a CA and node certificates for a cluster.
//!
//! A cluster serves TLS on every node or on none: a node with a certificate dials its
//! peers over TLS too, so it needs the CA (`ca_file`) their certificates lead to, and a
//! CA without a certificate of its own is a mistake, refused at start. What TLS covers
//! and what it does not is in `docs/security.md`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use strata_wire::{TlsClient, TlsServer};

/// `[tls]` in the configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// The node's certificate chain (PEM, the node's certificate first), naming the hosts
    /// of its advertised addresses.
    pub cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// The CA certificates (PEM) that other nodes' chains lead to.
    pub ca_file: Option<PathBuf>,
}

/// The node's TLS, ready: what it serves with and what it dials with.
#[derive(Clone, Debug, Default)]
pub struct NodeTls {
    /// Both ports' server side.
    pub server: Option<TlsServer>,
    /// Dialling other nodes (raft, forwarding, joining).
    pub client: Option<TlsClient>,
}

impl NodeTls {
    /// Loads the files `settings` names.
    pub fn load(settings: &TlsSettings) -> Result<Self, String> {
        match (&settings.cert_file, &settings.key_file, &settings.ca_file) {
            (None, None, None) => Ok(Self::default()),
            (Some(cert), Some(key), Some(ca)) => {
                let server = TlsServer::from_pem_files(cert, key).map_err(|e| format!("tls: {e}"))?;
                let client = TlsClient::from_ca_file(ca).map_err(|e| format!("tls.ca_file: {e}"))?;
                Ok(Self { server: Some(server), client: Some(client) })
            }
            _ => Err("tls: set cert_file, key_file and ca_file together (a node serving TLS dials \
                      its peers over TLS, checked against the CA), or none of them"
                .into()),
        }
    }
}

/// What `strata keys tls` wrote.
pub struct Written {
    /// The CA certificate: every node's `ca_file`, and clients' `--ca-file`.
    pub ca: PathBuf,
    /// The node certificate and key.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

/// Makes a CA (kept in `dir` as `ca.pem` and `ca.key`, made once and reused) and a node
/// certificate signed by it for `hosts` (IP addresses or DNS names), written as
/// `NAME.pem` and `NAME.key`; keys are written mode 0600 and never overwritten.
pub fn generate(dir: &Path, name: &str, hosts: &[String]) -> Result<Written, String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    if hosts.is_empty() {
        return Err("name at least one host (--host) the node is reached at".into());
    }
    strata_shards::private::private_dir(dir).map_err(|e| err(&dir.display().to_string(), &e))?;
    let (ca_pem, ca_key_pem) = (dir.join("ca.pem"), dir.join("ca.key"));
    // The CA's name and key are all a signature needs: a CA made again from its saved
    // key signs certificates that its first certificate (ca.pem) verifies.
    let ca_params = || -> Result<rcgen::CertificateParams, String> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| err("the CA", &e))?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Strata cluster CA");
        Ok(params)
    };
    let (ca_key, ca) = if ca_key_pem.exists() {
        let key_text = std::fs::read_to_string(&ca_key_pem).map_err(|e| err("ca.key", &e))?;
        let key = rcgen::KeyPair::from_pem(&key_text).map_err(|e| err("ca.key", &e))?;
        let ca = ca_params()?.self_signed(&key).map_err(|e| err("the CA", &e))?;
        (key, ca)
    } else {
        let key = rcgen::KeyPair::generate().map_err(|e| err("a CA key", &e))?;
        let ca = ca_params()?.self_signed(&key).map_err(|e| err("the CA", &e))?;
        write_new(&ca_key_pem, &key.serialize_pem(), true)?;
        write_new(&ca_pem, &ca.pem(), false)?;
        (key, ca)
    };
    let key = rcgen::KeyPair::generate().map_err(|e| err("a node key", &e))?;
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(|e| err("the hosts", &e))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(|e| err("the node certificate", &e))?;
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    write_new(&key_path, &key.serialize_pem(), true)?;
    write_new(&cert_path, &cert.pem(), false)?;
    Ok(Written { ca: ca_pem, cert: cert_path, key: key_path })
}

/// Writes a file that must not exist yet (0600 for a secret).
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), String> {
    use std::io::Write;
    let opened = if secret {
        strata_shards::private::private_file(path, true)
    } else {
        std::fs::OpenOptions::new().write(true).create_new(true).open(path)
    };
    let mut f = opened.map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_load_and_keys_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = generate(dir.path(), "node1", &["127.0.0.1".into(), "localhost".into()]).expect("generate");
        // A second node's certificate comes from the same CA.
        let second = generate(dir.path(), "node2", &["127.0.0.1".into()]).expect("generate again");
        assert_eq!(first.ca, second.ca);
        for written in [&first, &second] {
            let settings = TlsSettings {
                cert_file: Some(written.cert.clone()),
                key_file: Some(written.key.clone()),
                ca_file: Some(written.ca.clone()),
            };
            let tls = NodeTls::load(&settings).expect("loads");
            assert!(tls.server.is_some() && tls.client.is_some());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&written.key).expect("key").permissions().mode();
                assert_eq!(mode & 0o077, 0, "a key readable by others: {mode:o}");
            }
        }
        assert!(generate(dir.path(), "node1", &["127.0.0.1".into()]).is_err(), "an existing key is not overwritten");
    }

    /// The CA made again from its saved key signs certificates that `ca.pem` verifies.
    #[tokio::test]
    async fn a_later_node_certificate_verifies_against_the_first_ca_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), "node1", &["127.0.0.1".into()]).expect("the CA and node1");
        let second = generate(dir.path(), "node2", &["127.0.0.1".into()]).expect("node2");
        let server = TlsServer::from_pem_files(&second.cert, &second.key).expect("server");
        let client = TlsClient::from_ca_file(&second.ca).expect("client");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let accepting = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            server.accept(tcp).await.map(|_| ())
        });
        let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        client.connect(&addr, tcp).await.expect("node2's chain verifies against ca.pem");
        accepting.await.expect("task").expect("the server side of the handshake");
    }

    #[test]
    fn partial_settings_are_refused() {
        let only_ca = TlsSettings { ca_file: Some("ca.pem".into()), ..Default::default() };
        assert!(NodeTls::load(&only_ca).is_err());
        let no_ca = TlsSettings { cert_file: Some("a".into()), key_file: Some("b".into()), ca_file: None };
        assert!(NodeTls::load(&no_ca).is_err());
        assert!(NodeTls::load(&TlsSettings::default()).expect("none").server.is_none());
    }
}
