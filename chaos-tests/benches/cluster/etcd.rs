//! A three-member etcd cluster on loopback (Debian's `etcd`), and a minimal client for its
//! v3 HTTP/JSON gateway over one keep-alive connection, so etcd and Strata are driven by
//! the same load generator.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The etcd processes; killed on drop.
pub struct EtcdCluster {
    children: Vec<Child>,
    /// Client URLs' `host:port`.
    pub client_addrs: Vec<String>,
}

/// A port the OS says is free now (etcd cannot be told to pick its own peer port).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EtcdCluster {
    /// Starts three members with their data under `dir`; answers once each serves `/health`.
    pub async fn start(dir: &Path) -> std::io::Result<Self> {
        let ports: Vec<(u16, u16)> =
            (0..3).map(|_| Ok((free_port()?, free_port()?))).collect::<std::io::Result<_>>()?;
        let initial: Vec<String> =
            ports.iter().enumerate().map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}")).collect();
        let mut children = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let log = std::fs::File::create(dir.join(format!("etcd{i}.log")))?;
            let child = Command::new("etcd")
                .args(["--name", &format!("m{i}")])
                .args(["--data-dir", &dir.join(format!("etcd{i}")).display().to_string()])
                .args(["--listen-client-urls", &format!("http://127.0.0.1:{client}")])
                .args(["--advertise-client-urls", &format!("http://127.0.0.1:{client}")])
                .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
                .args(["--initial-advertise-peer-urls", &format!("http://127.0.0.1:{peer}")])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new", "--initial-cluster-token", "strata-bench"])
                .args(["--quota-backend-bytes", &(8u64 << 30).to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()?;
            children.push(child);
        }
        let cluster = Self { children, client_addrs: ports.iter().map(|(c, _)| format!("127.0.0.1:{c}")).collect() };
        let until = Instant::now() + Duration::from_secs(60);
        for addr in &cluster.client_addrs {
            loop {
                let healthy = async {
                    let mut c = EtcdClient::connect(addr).await?;
                    c.put(b"__health", b"ok").await
                };
                if healthy.await.is_ok() {
                    break;
                }
                if Instant::now() > until {
                    return Err(std::io::Error::other(format!("etcd at {addr} did not come up")));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(cluster)
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One keep-alive HTTP/1.1 connection to an etcd member's gRPC gateway.
pub struct EtcdClient {
    addr: String,
    stream: BufReader<TcpStream>,
}

impl EtcdClient {
    /// Connects to `addr`.
    pub async fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self { addr: addr.to_string(), stream: BufReader::new(stream) })
    }

    async fn post(&mut self, path: &str, body: &str) -> std::io::Result<Vec<u8>> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let ok = line.split_whitespace().nth(1) == Some("200");
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        let body = if chunked { self.read_chunked().await? } else { self.read_exact(length.unwrap_or(0)).await? };
        if !ok {
            return Err(std::io::Error::other(format!("etcd answered: {}", String::from_utf8_lossy(&body))));
        }
        Ok(body)
    }

    async fn read_exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.stream.read_exact(&mut buf).await?;
        Ok(buf)
    }

    async fn read_chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(std::io::Error::other)?;
            let chunk = self.read_exact(size + 2).await?;
            if size == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..size]);
        }
    }

    /// `PUT key value` (acknowledged once committed by a majority and fsynced).
    pub async fn put(&mut self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        let body = format!(r#"{{"key":"{}","value":"{}"}}"#, B64.encode(key), B64.encode(value));
        self.post("/v3/kv/put", &body).await.map(|_| ())
    }

    /// A linearizable `GET key`; answers the response body's length.
    pub async fn get(&mut self, key: &[u8]) -> std::io::Result<usize> {
        let body = format!(r#"{{"key":"{}"}}"#, B64.encode(key));
        let answer = self.post("/v3/kv/range", &body).await?;
        if !answer.windows(7).any(|w| w == b"\"kvs\":[") {
            return Err(std::io::Error::other("etcd: key not found"));
        }
        Ok(answer.len())
    }
}
