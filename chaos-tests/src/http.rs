//! A small HTTP/1.1 client for tests of a node's HTTP port: one request per connection
//! (`Connection: close`), read to the end; over TLS when a client is given. Enough for
//! probes, scrapes and status, and nothing the node's server is not tested against by
//! real clients too (Prometheus, a browser).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer: status code, headers (lower-cased names) and body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `GET path` from `addr`, with `Authorization: Bearer key` when a key is given.
pub async fn get(
    addr: &str,
    path: &str,
    key: Option<&str>,
    tls: Option<&strata_wire::TlsClient>,
) -> std::io::Result<Answer> {
    tokio::time::timeout(Duration::from_secs(30), get_now(addr, path, key, tls))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("GET {path} from {addr}")))?
}

async fn get_now(
    addr: &str,
    path: &str,
    key: Option<&str>,
    tls: Option<&strata_wire::TlsClient>,
) -> std::io::Result<Answer> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut io: strata_wire::tls::Io = match tls {
        Some(tls) => tls.connect(strata_wire::tls::host_of(addr), tcp).await?,
        None => strata_wire::tls::Io::Plain(tcp),
    };
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    io.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    io.read_to_end(&mut raw).await?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Answer> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).to_string() })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// The value of the sample `name{labels}` in a scrape, where `labels` are all present
/// (in any order) among the sample's labels; summed over every matching sample.
pub fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').map_or((series, ""), |(n, r)| (n, r));
        if n != name {
            continue;
        }
        if labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))) {
            let v: f64 = value.parse().ok()?;
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_answers_and_samples() {
        let a = parse(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nnot").unwrap();
        assert_eq!((a.status, a.body.as_str(), a.header("content-length")), (503, "not", Some("3")));
        let c =
            parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(c.body, "abcde");
        let scrape = "# HELP x y\nx{group=\"1\",a=\"b\"} 3\nx{group=\"2\"} 4\ny 1\n";
        assert_eq!(sample(scrape, "x", &[("group", "1")]), Some(3.0));
        assert_eq!(sample(scrape, "x", &[]), Some(7.0));
        assert_eq!(sample(scrape, "z", &[]), None);
    }
}
