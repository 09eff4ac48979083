//! POST to ClickHouse's HTTP interface: the query in the URL, data in the body.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::alert::http::split_url;

/// Largest answer body read (bytes).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What went wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The URL is not `http://host[:port]`.
    #[error("bad ClickHouse URL `{0}`")]
    BadUrl(String),
    /// TCP connect failed.
    #[error("cannot connect to ClickHouse at {0}: {1}")]
    Connect(String, std::io::Error),
    /// No complete answer within the timeout.
    #[error("ClickHouse did not answer within {0:?}")]
    Timeout(Duration),
    /// HTTP-level failure.
    #[error("HTTP error talking to ClickHouse: {0}")]
    Http(String),
    /// ClickHouse answered with an error status.
    #[error("ClickHouse answered {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// First line of ClickHouse's message.
        message: String,
    },
}

/// Percent-encodes `q` for a URL query component.
pub fn escape_query(q: &str) -> String {
    let mut o = String::with_capacity(q.len() * 3 / 2);
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// POSTs `body` to `base` with `query` in the URL; returns the answer body on 200.
pub async fn post(
    base: &str,
    query: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<String, ClickHouseError> {
    tokio::time::timeout(timeout, exchange(base, query, body))
        .await
        .map_err(|_| ClickHouseError::Timeout(timeout))?
}

async fn exchange(base: &str, query: &str, body: Vec<u8>) -> Result<String, ClickHouseError> {
    let (addr, host, _) = split_url(base).map_err(|_| ClickHouseError::BadUrl(base.to_owned()))?;
    let stream = TcpStream::connect(addr.as_str())
        .await
        .map_err(|e| ClickHouseError::Connect(addr.clone(), e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ClickHouseError::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "ClickHouse connection ended with an error");
        }
    });
    let result = async {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/?query={}", escape_query(query)))
            .header("host", host)
            .header("connection", "close")
            // ClickHouse 18.16 refuses a POST without a length, even an empty one.
            .header("content-length", body.len())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClickHouseError::Http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClickHouseError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ClickHouseError::Http(e.to_string()))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status != 200 {
            let message = text.lines().next().unwrap_or_default().to_owned();
            return Err(ClickHouseError::Status { status, message });
        }
        Ok(text)
    }
    .await;
    driver.abort();
    result
}
