//! A member's TCP-AO (RFC 5925) keys: `tcp_ao: { keys: [...], current: N }`. Each key is a
//! master key tuple: `id` (our SendID), `recv_id` (the member's SendID), `algorithm` and a
//! `secret` or `secret_file`. Secrets are never printed.

use std::fmt;

use crate::decode::{Ctx, Fields};
use crate::node::Node;
use crate::secret::read_key_file;

/// Longest TCP-AO master key Linux accepts (`TCP_AO_MAXKEYLEN`).
pub const MAX_AO_SECRET_LEN: usize = 80;

const TCP_AO_KEYS: &[&str] = &["keys", "current"];
const KEY_KEYS: &[&str] = &["id", "recv_id", "algorithm", "secret", "secret_file"];

/// A TCP-AO MAC algorithm (the kernel's crypto names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AoAlgorithm {
    /// `hmac(sha1)`: HMAC-SHA-1-96 (RFC 5926).
    HmacSha1,
    /// `hmac(sha256)`.
    HmacSha256,
    /// `cmac(aes128)`: AES-128-CMAC-96 (RFC 5926).
    CmacAes128,
}

impl AoAlgorithm {
    /// Every algorithm, in the order the docs list them.
    pub const ALL: [AoAlgorithm; 3] = [
        AoAlgorithm::HmacSha1,
        AoAlgorithm::HmacSha256,
        AoAlgorithm::CmacAes128,
    ];

    /// The kernel crypto name, as written in the configuration.
    pub fn kernel_name(self) -> &'static str {
        match self {
            AoAlgorithm::HmacSha1 => "hmac(sha1)",
            AoAlgorithm::HmacSha256 => "hmac(sha256)",
            AoAlgorithm::CmacAes128 => "cmac(aes128)",
        }
    }

    /// Parses a kernel crypto name.
    pub fn parse(s: &str) -> Option<AoAlgorithm> {
        AoAlgorithm::ALL.into_iter().find(|a| a.kernel_name() == s)
    }
}

/// A TCP-AO master key. Compared by value, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct AoSecret(String);

impl AoSecret {
    /// Checks a secret: 1 to [`MAX_AO_SECRET_LEN`] bytes of printable ASCII.
    pub fn new(s: &str) -> Result<AoSecret, String> {
        if s.is_empty() {
            return Err("is empty".to_owned());
        }
        if s.len() > MAX_AO_SECRET_LEN {
            return Err(format!(
                "is {} bytes; TCP-AO keys are at most {MAX_AO_SECRET_LEN}",
                s.len()
            ));
        }
        if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err("must be printable ASCII (no control characters or newlines)".to_owned());
        }
        Ok(AoSecret(s.to_owned()))
    }

    /// The key bytes, for the socket option.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AoSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AoSecret(<{} bytes>)", self.0.len())
    }
}

/// One master key tuple of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpAoKey {
    /// SendID: the KeyID of the segments we send with this key.
    pub id: u8,
    /// RecvID: the KeyID the member's segments carry with this key.
    pub recv_id: u8,
    /// MAC algorithm.
    pub algorithm: AoAlgorithm,
    /// The master key.
    pub secret: AoSecret,
}

/// A member's TCP-AO configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpAo {
    /// The keys, each with a distinct `id` and a distinct `recv_id`.
    pub keys: Vec<TcpAoKey>,
    /// The `id` of the key we send with (and whose `recv_id` we ask the member for).
    pub current: u8,
}

impl TcpAo {
    /// The key we send with.
    pub fn current_key(&self) -> Option<&TcpAoKey> {
        self.keys.iter().find(|k| k.id == self.current)
    }
}

/// `tcp_ao:` of a member, refused together with `password` / `password_file`.
pub(crate) fn decode_tcp_ao(cx: &mut Ctx, f: &Fields<'_>, owner: &str) -> Option<Option<TcpAo>> {
    let Some(node) = f.get("tcp_ao") else {
        return Some(None);
    };
    if f.get("password").is_some() || f.get("password_file").is_some() {
        cx.err(
            node.loc,
            format!("{owner}: give `tcp_ao` or `password`/`password_file`, not both (a session uses TCP-AO or TCP-MD5)"),
        );
        return None;
    }
    let t = cx.fields(node, "tcp_ao", TCP_AO_KEYS)?;
    let keys_node = t.req(cx, "keys")?;
    let items = cx.list(keys_node, "keys")?;
    if items.is_empty() {
        cx.err(keys_node.loc, "`tcp_ao.keys` must list at least one key");
        return None;
    }
    let keys: Vec<Option<(TcpAoKey, &Node)>> = items.iter().map(|i| decode_key(cx, i)).collect();
    let keys: Vec<(TcpAoKey, &Node)> = keys.into_iter().collect::<Option<_>>()?;
    let mut ok = true;
    for (i, (k, n)) in keys.iter().enumerate() {
        for (other, _) in &keys[..i] {
            if other.id == k.id {
                cx.err(n.loc, format!("`tcp_ao`: two keys with id {}", k.id));
                ok = false;
            }
            if other.recv_id == k.recv_id {
                cx.err(
                    n.loc,
                    format!("`tcp_ao`: two keys with recv_id {}", k.recv_id),
                );
                ok = false;
            }
        }
    }
    let current = match t.get("current") {
        Some(n) => {
            let c: u8 = cx.int(n, "current", 0, 255)?;
            if !keys.iter().any(|(k, _)| k.id == c) {
                cx.err(
                    n.loc,
                    format!("`tcp_ao.current` is {c}, but no key has that `id`"),
                );
                return None;
            }
            c
        }
        None if keys.len() == 1 => keys[0].0.id,
        None => {
            cx.err(
                t.loc,
                "`tcp_ao.current` is required with more than one key (the `id` to send with)",
            );
            return None;
        }
    };
    ok.then(|| {
        Some(TcpAo {
            keys: keys.into_iter().map(|(k, _)| k).collect(),
            current,
        })
    })
}

fn decode_key<'a>(cx: &mut Ctx, node: &'a Node) -> Option<(TcpAoKey, &'a Node)> {
    let f = cx.fields(node, "tcp_ao key", KEY_KEYS)?;
    let id = f.req(cx, "id").and_then(|n| cx.int::<u8>(n, "id", 0, 255));
    let recv_id = f
        .req(cx, "recv_id")
        .and_then(|n| cx.int::<u8>(n, "recv_id", 0, 255));
    let algorithm = f.req(cx, "algorithm").and_then(|n| {
        let s = cx.string(n, "algorithm")?;
        let a = AoAlgorithm::parse(&s);
        if a.is_none() {
            let names: Vec<&str> = AoAlgorithm::ALL.iter().map(|a| a.kernel_name()).collect();
            cx.err(
                n.loc,
                format!(
                    "`algorithm` `{s}` is not a TCP-AO algorithm (one of: {})",
                    names.join(", ")
                ),
            );
        }
        a
    });
    let secret = match (f.get("secret"), f.get("secret_file")) {
        (Some(_), Some(sf)) => {
            cx.err(sf.loc, "give `secret` or `secret_file`, not both");
            None
        }
        (Some(n), None) => cx
            .string(n, "secret")
            .and_then(|s| match AoSecret::new(&s) {
                Ok(s) => Some(s),
                Err(e) => {
                    cx.err(n.loc, format!("`secret` {e}"));
                    None
                }
            }),
        (None, Some(n)) => {
            read_key_file(cx, n, "secret_file").and_then(|(path, s)| match AoSecret::new(&s) {
                Ok(s) => Some(s),
                Err(e) => {
                    cx.err(n.loc, format!("key in `secret_file` `{path}` {e}"));
                    None
                }
            })
        }
        (None, None) => {
            cx.err(f.loc, "a `tcp_ao` key needs `secret` or `secret_file`");
            None
        }
    };
    Some((
        TcpAoKey {
            id: id?,
            recv_id: recv_id?,
            algorithm: algorithm?,
            secret: secret?,
        },
        node,
    ))
}
