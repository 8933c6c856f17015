//! TLS between a dialler and a listener: frames cross when the node's chain leads to the
//! dialler's CA and names the dialled host; another CA's chain, another host's name, and
//! a plain dialler facing a TLS port all fail, as errors.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test

use futures::{SinkExt, StreamExt};
use std::time::Duration;
use strata_wire::{FrameLimit, Listener, TlsClient, TlsServer, connect, transport};

/// A CA and a node certificate for `hosts` it signed: (ca pem, node chain pem, node key pem).
fn ca_and_node(hosts: &[&str]) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let node_key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).unwrap();
    let node = params.signed_by(&node_key, &ca, &ca_key).unwrap();
    (ca.pem(), node.pem(), node_key.serialize_pem())
}

/// Serves one connection over TLS: echoes one string frame back.
async fn echo_server(tls: TlsServer) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = Listener::bind("127.0.0.1:0", 8, 8).await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let conn = listener.accept().await.secure(Some(&tls), Duration::from_secs(10)).await?;
        let mut t = transport::<_, String, String>(conn, FrameLimit::new(1 << 20));
        if let Some(msg) = t.next().await {
            t.send(msg?).await?;
        }
        Ok(())
    });
    (addr, task)
}

#[tokio::test]
async fn frames_cross_a_verified_tls_connection() {
    let (ca, chain, key) = ca_and_node(&["127.0.0.1", "localhost"]);
    let (addr, server) = echo_server(TlsServer::from_pem(chain.as_bytes(), key.as_bytes()).unwrap()).await;
    let client = TlsClient::from_ca_pem(ca.as_bytes()).unwrap();
    let mut t = connect::<String, String>(&addr, Duration::from_secs(10), FrameLimit::new(1 << 20), Some(&client))
        .await
        .expect("a verified handshake");
    t.send("over tls".to_string()).await.unwrap();
    assert_eq!(t.next().await.unwrap().unwrap(), "over tls");
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_chain_from_another_ca_is_refused() {
    let (_, chain, key) = ca_and_node(&["127.0.0.1"]);
    let (other_ca, _, _) = ca_and_node(&["127.0.0.1"]);
    let (addr, server) = echo_server(TlsServer::from_pem(chain.as_bytes(), key.as_bytes()).unwrap()).await;
    let client = TlsClient::from_ca_pem(other_ca.as_bytes()).unwrap();
    let dialled =
        connect::<String, String>(&addr, Duration::from_secs(10), FrameLimit::new(1 << 20), Some(&client)).await;
    assert!(dialled.is_err(), "a certificate of an unknown CA was accepted");
    assert!(server.await.unwrap().is_err(), "the server saw the handshake fail");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let (ca, chain, key) = ca_and_node(&["node9.example"]);
    let (addr, server) = echo_server(TlsServer::from_pem(chain.as_bytes(), key.as_bytes()).unwrap()).await;
    let client = TlsClient::from_ca_pem(ca.as_bytes()).unwrap();
    let dialled =
        connect::<String, String>(&addr, Duration::from_secs(10), FrameLimit::new(1 << 20), Some(&client)).await;
    assert!(dialled.is_err(), "a certificate naming another host was accepted for 127.0.0.1");
    assert!(server.await.unwrap().is_err());
}

#[tokio::test]
async fn a_plain_dialler_gets_no_answer_from_a_tls_port() {
    let (_, chain, key) = ca_and_node(&["127.0.0.1"]);
    let (addr, server) = echo_server(TlsServer::from_pem(chain.as_bytes(), key.as_bytes()).unwrap()).await;
    let mut t = connect::<String, String>(&addr, Duration::from_secs(10), FrameLimit::new(1 << 20), None)
        .await
        .expect("tcp connects");
    let _ = t.send("plain".to_string()).await;
    let answer = tokio::time::timeout(Duration::from_secs(30), t.next()).await.expect("the server closed");
    assert!(!matches!(answer, Some(Ok(_))), "a plain frame was answered on a TLS port: {answer:?}");
    assert!(server.await.unwrap().is_err(), "the handshake failed on the server");
}
