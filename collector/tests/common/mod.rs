//! What the collector's API tests share: one GET over a fresh connection, answered with JSON.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `path` from `api` and returns the status and the JSON body; panics (failing the
/// test) when the answer does not come within `wait` or is not JSON.
pub async fn get(api: SocketAddr, path: &str, wait: Duration) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(api).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    tokio::time::timeout(wait, s.read_to_end(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().expect("status");
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
    let v = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, v)
}
