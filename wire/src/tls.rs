//! TLS on both ports, with rustls.
//!
//! What it is for: a key, a cluster secret's challenge-response and every value stored
//! cross the network between clients and nodes and between nodes. TLS keeps them private
//! and lets the dialling side know it reached a node of its own cluster: a node shows a
//! certificate chain, and clients and peers accept it only if it leads to the CA
//! certificates they were given (`ca_file`) and names the host they dialled.
//!
//! Who is authenticated by what: servers by their certificate; clients by their API key
//! and peers by the cluster secret's challenge-response, both sent inside the TLS session
//! (no client certificates: the keys already say who may do what, per namespace).
//!
//! Where the crypto comes from: rustls with the `ring` provider, chosen explicitly (no
//! process-wide default to race on); TLS 1.2 and 1.3 with rustls' safe defaults.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn certificates(pem: &[u8], what: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{what}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(format!("{what}: no certificate in it")));
    }
    Ok(certs)
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// The accepting side's TLS: a certificate chain and its private key. Cheap to clone.
#[derive(Clone)]
pub struct TlsServer(tokio_rustls::TlsAcceptor);

impl TlsServer {
    /// From PEM: the chain (the node's certificate first) and its key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain: &[u8], key: &[u8]) -> io::Result<Self> {
        let chain = certificates(chain, "the certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("the private key: {e}")))?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("the certificate and key: {e}")))?;
        Ok(Self(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    /// From PEM files.
    pub fn from_pem_files(chain: &Path, key: &Path) -> io::Result<Self> {
        Self::from_pem(&read(chain)?, &read(key)?)
    }

    /// Runs the server's side of the handshake on `tcp`.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<Io> {
        Ok(Io::Server(Box::new(self.0.accept(tcp).await?)))
    }
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer")
    }
}

/// The dialling side's TLS: the CA certificates a node's chain must lead to. Cheap to clone.
#[derive(Clone)]
pub struct TlsClient(tokio_rustls::TlsConnector);

impl TlsClient {
    /// From PEM: one or more CA certificates.
    pub fn from_ca_pem(ca: &[u8]) -> io::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(ca, "the CA file")? {
            roots.add(cert).map_err(|e| invalid(format!("the CA file: {e}")))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self(tokio_rustls::TlsConnector::from(Arc::new(config))))
    }

    /// From a PEM file.
    pub fn from_ca_file(ca: &Path) -> io::Result<Self> {
        Self::from_ca_pem(&read(ca)?)
    }

    /// Runs the client's side of the handshake on `tcp`, expecting a certificate for the
    /// host of `name` (`host:port`; an IP address or a DNS name).
    pub async fn connect(&self, name: &str, tcp: TcpStream) -> io::Result<Io> {
        let server = ServerName::try_from(host_of(name).to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: not a host name: {e}")))?;
        Ok(Io::Client(Box::new(self.0.connect(server, tcp).await?)))
    }
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

/// The host part of `host:port` (`[v6]:port` too; a bare host as it is).
pub fn host_of(addr: &str) -> &str {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    };
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// A connection's byte stream: plain TCP, or TLS over it on either side.
pub enum Io {
    /// No TLS.
    Plain(TcpStream),
    /// TLS, this side dialled.
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS, this side accepted.
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Client(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Io::Server(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Client(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Io::Server(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Client(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Io::Server(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Client(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Io::Server(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_an_address() {
        assert_eq!(host_of("127.0.0.1:7000"), "127.0.0.1");
        assert_eq!(host_of("node1.example:7000"), "node1.example");
        assert_eq!(host_of("[::1]:7000"), "::1");
        assert_eq!(host_of("node1.example"), "node1.example");
    }

    #[test]
    fn bad_pem_is_a_typed_error_not_a_panic() {
        assert!(TlsClient::from_ca_pem(b"not pem").is_err());
        assert!(TlsClient::from_ca_pem(b"").is_err());
        assert!(TlsServer::from_pem(b"", b"").is_err());
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        assert!(TlsServer::from_pem(ca.cert.pem().as_bytes(), b"junk").is_err(), "a key that is not PEM");
    }
}
