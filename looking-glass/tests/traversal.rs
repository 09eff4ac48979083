//! Path traversal against the looking glass (issue 8): `..` segments, percent-encoded and
//! double-encoded dots and slashes, backslashes, absolute paths and NUL bytes in the static,
//! page, member and API paths all answer 4xx and never a file's content. The requests are
//! written byte for byte on a raw TCP connection, so no client normalises them first.

mod common;

use std::time::Duration;

use common::*;
use fox_looking_glass::hash_token;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Text of `/etc/passwd` (first line on every Linux system).
const PASSWD: &str = "root:x:0:0";

/// Sends `target` as the request target of a GET, verbatim; the status and the whole answer.
async fn raw_get(lg: &Lg, target: &[u8], token: Option<&str>) -> (u16, String) {
    let addr = lg.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: lg\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.extend_from_slice(format!("Authorization: Bearer {t}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    s.write_all(&req).await.expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no HTTP answer to {:?}: {text:?}",
                String::from_utf8_lossy(target)
            )
        });
    (status, text)
}

/// Request targets aimed at files outside the (embedded) static files, the UI pages, the
/// member pages and the API.
fn targets() -> Vec<Vec<u8>> {
    let mut t: Vec<Vec<u8>> = Vec::new();
    let prefixes = [
        "/static/",
        "/",
        "/members/",
        "/members/GSN/",
        "/routeservers/",
        "/routeservers/rs1/neighbors/",
        "/api/v1/members/",
        "/api/v1/routeservers/",
        "/birdwatcher/",
    ];
    let escapes = [
        "../../../../etc/passwd",
        "..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "..%252f..%252f..%252fetc%252fpasswd",
        "..%5c..%5c..%5cetc%5cpasswd",
        "%2fetc%2fpasswd",
        "..%00/etc/passwd",
        "fox.css%00.html",
        "..%c0%af..%c0%afetc%c0%afpasswd",
        "....//....//etc/passwd",
        "../tokens",
        "..%2ftokens",
        "../fox.yaml",
    ];
    for p in prefixes {
        for e in escapes {
            t.push(format!("{p}{e}").into_bytes());
        }
        // Raw bytes no client would send: backslashes, a NUL, a tab.
        t.push(format!("{p}..\\..\\..\\etc\\passwd").into_bytes());
        t.push([p.as_bytes(), b"..\0/etc/passwd"].concat());
        t.push([p.as_bytes(), b"fox.css\0"].concat());
    }
    for abs in [
        "/etc/passwd",
        "//etc/passwd",
        "///etc//passwd",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/fox.css/../../etc/passwd",
        "file:///etc/passwd",
        "http://lg/../../etc/passwd",
        "/proc/self/environ",
        "/static/../../proc/self/cmdline",
    ] {
        t.push(abs.as_bytes().to_vec());
    }
    t.push(b"/static/\\etc\\passwd".to_vec());
    t.push(b"\\etc\\passwd".to_vec());
    t
}

#[tokio::test]
async fn traversal_paths_answer_4xx_and_never_a_file() {
    // A rate limit high enough that no answer below is a 429.
    let lg = start_lg("  rate_limit: { per_minute: 60000, burst: 10000 }\n").await;
    // The tokens file sits next to the config in the looking glass's directory: its hashes
    // must never come back.
    let secrets = [
        hash_token(NOC_TOKEN),
        hash_token(GSN_TOKEN),
        hash_token(TANET_TOKEN),
    ];
    // The real stylesheet answers, so the 4xx below are not from a broken server.
    let (status, css) = raw_get(&lg, b"/static/fox.css", None).await;
    assert_eq!(status, 200, "{css}");
    let targets = targets();
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for token in [None, Some(NOC_TOKEN), Some(GSN_TOKEN)] {
        for target in &targets {
            let shown = String::from_utf8_lossy(target);
            let (status, answer) = raw_get(&lg, target, token).await;
            *by_status.entry(status).or_default() += 1;
            assert!(
                (400..500).contains(&status) && status != 429,
                "{shown:?} with {token:?}: {status}\n{answer}"
            );
            assert!(
                !answer.contains(PASSWD),
                "{shown:?}: /etc/passwd in\n{answer}"
            );
            for s in &secrets {
                assert!(
                    !answer.contains(s.as_str()),
                    "{shown:?}: token hash in\n{answer}"
                );
            }
            assert!(
                !answer.contains("PATH="),
                "{shown:?}: environment in\n{answer}"
            );
            assert!(
                !answer.contains("looking_glass:"),
                "{shown:?}: configuration in\n{answer}"
            );
        }
    }
    println!(
        "{} requests, answers by status: {by_status:?}",
        3 * targets.len()
    );
    // The looking glass still serves after all of that.
    let (status, _) = raw_get(&lg, b"/static/fox.css", None).await;
    assert_eq!(status, 200);
}
