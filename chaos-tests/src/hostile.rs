//! Raw bytes to a node's ports, as an attacker or a broken client sends them: frames built
//! by hand (a length prefix, then MessagePack), requests encoded by mirrors of tarpc's
//! message types so that any field (a deadline, an array header) can be set to what a
//! well-behaved client never sends, and what the node answered.

use serde::Serialize;
use std::time::Duration;
use strata_api::service::{StrataServiceRequest, StrataServiceResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// tarpc's `ClientMessage::Request`, with a deadline given as the duration it is sent as
/// (tarpc writes `deadline - now`), so it can be any duration.
#[derive(Serialize)]
enum ClientMessage<T> {
    Request(Request<T>),
}

#[derive(Serialize)]
struct Request<T> {
    context: Context,
    id: u64,
    message: T,
}

#[derive(Serialize)]
struct Context {
    deadline: Duration,
    trace_context: tarpc::trace::Context,
}

/// The MessagePack of a request with id `id` and the given deadline.
pub fn request(message: &StrataServiceRequest, deadline: Duration, id: u64) -> Vec<u8> {
    let context = Context { deadline, trace_context: tarpc::trace::Context::default() };
    let msg = ClientMessage::Request(Request { context, id, message });
    rmp_serde_encode(&msg)
}

fn rmp_serde_encode<T: Serialize>(value: &T) -> Vec<u8> {
    strata_wire::msgpack::encode(value).map(|b| b.to_vec()).unwrap_or_default()
}

/// `payload` behind its 4-byte big-endian length.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// `bytes` with the first occurrence of `needle` replaced by `with` (the bytes unchanged
/// when it does not occur, which the caller checks).
pub fn splice(bytes: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let at = bytes.windows(needle.len()).position(|w| w == needle)?;
    Some([&bytes[..at], with, &bytes[at + needle.len()..]].concat())
}

/// What the node did with bytes sent on one connection.
#[derive(Debug)]
pub enum Outcome {
    /// It answered a frame: the request's result (a tarpc server error as its text).
    Answered(Result<StrataServiceResponse, String>),
    /// It closed the connection without answering.
    Closed,
    /// Neither within the wait.
    Silent,
}

/// Connects to `addr`, sends `bytes`, and reads one answer frame (up to `wait`).
pub async fn send(addr: &str, bytes: &[u8], wait: Duration) -> std::io::Result<Outcome> {
    let mut conn = TcpStream::connect(addr).await?;
    conn.write_all(bytes).await?;
    Ok(read_answer(&mut conn, wait).await)
}

/// Connects to `addr` from the local address `ip` (another loopback address, such as
/// 127.0.0.2: an attacker counted apart from well-behaved clients on 127.0.0.1).
pub async fn connect_from(ip: &str, addr: &str) -> std::io::Result<TcpStream> {
    let bad = |e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{ip}:0").parse().map_err(bad)?)?;
    socket.connect(addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?).await
}

/// Reads one answer frame from `conn` (up to `wait`).
pub async fn read_answer(conn: &mut TcpStream, wait: Duration) -> Outcome {
    let read = async {
        let mut header = [0u8; 4];
        conn.read_exact(&mut header).await?;
        let len = u32::from_be_bytes(header) as usize;
        let mut body = Vec::new();
        conn.take(len as u64).read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    match tokio::time::timeout(wait, read).await {
        Err(_) => Outcome::Silent,
        Ok(Err(_)) => Outcome::Closed,
        Ok(Ok(body)) => match strata_wire::msgpack::decode::<tarpc::Response<StrataServiceResponse>>(&body) {
            Ok(r) => Outcome::Answered(r.message.map_err(|e| format!("{:?}: {}", e.kind, e.detail))),
            Err(e) => Outcome::Answered(Err(format!("undecodable answer: {e}"))),
        },
    }
}

/// A process's memory from `/proc` (KiB): resident now and its peak.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrored_request_decodes_as_tarpc_s_own() {
        let msg = StrataServiceRequest::Status {};
        let bytes = request(&msg, Duration::from_secs(5), 9);
        let decoded: tarpc::ClientMessage<StrataServiceRequest> = strata_wire::msgpack::decode(&bytes).unwrap();
        match decoded {
            tarpc::ClientMessage::Request(r) => {
                assert_eq!(r.id, 9);
                assert!(matches!(r.message, StrataServiceRequest::Status {}));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn splice_replaces_the_first_occurrence() {
        assert_eq!(splice(b"abcabc", b"bc", b"X"), Some(b"aXabc".to_vec()));
        assert_eq!(splice(b"abc", b"zz", b"X"), None);
    }
}
