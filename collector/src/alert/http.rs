//! A minimal plain-HTTP/1.1 POST over hyper's connection API (one request per connection).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Largest answer body read (bytes); alert receivers answer with little.
const MAX_BODY: usize = 64 * 1024;

/// What went wrong posting.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://host[:port]/path`.
    #[error("bad URL `{0}`")]
    BadUrl(String),
    /// TCP connect failed.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// HTTP-level failure.
    #[error("HTTP error: {0}")]
    Http(String),
}

/// Splits `http://host[:port]/path` into (address with port, Host header, path).
pub fn split_url(url: &str) -> Result<(String, String, String), HttpError> {
    let bad = || HttpError::BadUrl(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let has_port = match authority.rfind(']') {
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    let addr = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_owned(), path.to_owned()))
}

/// POSTs `body` as JSON to `url`; returns the status code.
pub async fn post_json(url: &str, body: Vec<u8>, timeout: Duration) -> Result<u16, HttpError> {
    tokio::time::timeout(timeout, exchange(url, Some(body), MAX_BODY))
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
        .map(|(status, _)| status)
}

/// GETs `url`; returns the status code and up to `max_body` bytes of the answer (a longer
/// answer is an error).
pub async fn get(url: &str, max_body: usize, timeout: Duration) -> Result<(u16, Bytes), HttpError> {
    tokio::time::timeout(timeout, exchange(url, None, max_body))
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

async fn exchange(
    url: &str,
    body: Option<Vec<u8>>,
    max_body: usize,
) -> Result<(u16, Bytes), HttpError> {
    let (addr, host, path) = split_url(url)?;
    let posting = body.is_some();
    let stream = TcpStream::connect(addr.as_str())
        .await
        .map_err(|e| HttpError::Connect(addr.clone(), e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "alert connection ended with an error");
        }
    });
    let result = async {
        let mut req = Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(path)
            .header("host", host)
            .header("connection", "close");
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| HttpError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        // Read (bounded) so the server sees a clean exchange.
        match Limited::new(resp.into_body(), max_body).collect().await {
            Ok(answer) => Ok((status, answer.to_bytes())),
            // An alert receiver's status is all that counts.
            Err(_) if posting => Ok((status, Bytes::new())),
            Err(e) => Err(HttpError::Http(format!("answer: {e}"))),
        }
    }
    .await;
    driver.abort();
    result
}
