//! A small plain-HTTP/1.1 client over tokio and hyper's connection API: one request per
//! connection, a timeout over the whole exchange and a cap on the body size. No TLS: the
//! sources are route servers and collectors on the management network.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Largest body read from a source (bytes).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// What went wrong talking to a source.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://host[:port]/path`.
    #[error("bad URL `{0}`")]
    BadUrl(String),
    /// TCP connect failed.
    #[error("cannot connect to {addr}: {error}")]
    Connect {
        /// host:port
        addr: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// The whole request took longer than the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// HTTP-level failure (malformed response, closed connection).
    #[error("HTTP error: {0}")]
    Http(String),
    /// The body was larger than `MAX_BODY`.
    #[error("answer larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// A response: status, headers (lower-case names) and the whole body.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header called `name` (lower-case).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Splits `http://host[:port]/path?q` into (connect address with port, Host header, path).
pub fn split_url(url: &str) -> Result<(String, String, String), ClientError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(ClientError::BadUrl(url.to_owned()));
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

/// Sends one request and reads the whole response, all within `timeout`.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<HttpResponse, ClientError> {
    tokio::time::timeout(timeout, exchange(method, url, headers, body))
        .await
        .map_err(|_| ClientError::Timeout(timeout))?
}

/// `GET url` with a timeout.
pub async fn get(url: &str, timeout: Duration) -> Result<HttpResponse, ClientError> {
    request("GET", url, &[], Vec::new(), timeout).await
}

async fn exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<HttpResponse, ClientError> {
    let (addr, host, path) = split_url(url)?;
    let stream = TcpStream::connect(addr.as_str())
        .await
        .map_err(|error| ClientError::Connect {
            addr: addr.clone(),
            error,
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "source connection ended with an error");
        }
    });
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("connection", "close");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ClientError::Http(e.to_string()))?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ClientError::TooLarge
                } else {
                    ClientError::Http(e.to_string())
                }
            })?
            .to_bytes();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_host_and_path() {
        let (a, h, p) = split_url("http://127.0.0.1:8180/api/v1/status?x=1").unwrap_or_default();
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("127.0.0.1:8180", "127.0.0.1:8180", "/api/v1/status?x=1")
        );
        let (a, _, p) = split_url("http://[::1]/").unwrap_or_default();
        assert_eq!((a.as_str(), p.as_str()), ("[::1]:80", "/"));
        let (a, _, _) = split_url("http://[::1]:81").unwrap_or_default();
        assert_eq!(a, "[::1]:81");
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http:///x").is_err());
    }
}
