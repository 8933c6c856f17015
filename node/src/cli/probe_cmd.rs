//! `strata probe livez|readyz`: asks a node's HTTP port for a probe and exits 0 only on
//! 200, so a container image without an HTTP client (the Dockerfile's `HEALTHCHECK`) can
//! probe its own node. HTTP/1.0 over a plain socket: one request, the status line read.

use super::CliError;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the whole probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Probes `path` (`/livez` or `/readyz`) at `http_addr`; `Ok` when it answered 200.
pub async fn probe(http_addr: &str, path: &str) -> Result<(), CliError> {
    let asked = async {
        let mut conn = tokio::net::TcpStream::connect(http_addr).await?;
        conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: {http_addr}\r\n\r\n").as_bytes()).await?;
        // The status line and the body's few words are all that is read.
        let mut answer = Vec::new();
        conn.take(4096).read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(PROBE_TIMEOUT, asked)
        .await
        .map_err(|_| CliError::Usage(format!("{http_addr}{path}: no answer within {} s", PROBE_TIMEOUT.as_secs())))?
        .map_err(|e| CliError::Usage(format!("{http_addr}{path}: {e}")))?;
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    if status == "200" {
        println!("{path}: {body}");
        Ok(())
    } else {
        Err(CliError::Usage(format!("{http_addr}{path} answered {status}: {body}")))
    }
}
