//! Who is asking: roles, the hashed tokens file, and the per-client rate limit.
//!
//! Tokens file, one token per line (`#` starts a comment):
//! ```text
//! TANet 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b
//! noc   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```
//! or YAML: `- { member: TANet, sha256: 3a7b... }` / `- { noc: true, sha256: ... }`.
//! Only SHA-256 hashes of the tokens are stored; `fox_looking_glass::hash_token` makes one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a client may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Anyone: the exchange summary and prefix search (accepted routes only).
    Public,
    /// A member: also its own sessions and routes, filtered ones included.
    Member(String),
    /// The operator: everything.
    Noc,
}

impl Role {
    /// True if this role may see the sessions and routes of `member`.
    pub fn may_see(&self, member: &str) -> bool {
        match self {
            Role::Public => false,
            Role::Member(m) => m == member,
            Role::Noc => true,
        }
    }

    /// Short text for pages and JSON.
    pub fn label(&self) -> String {
        match self {
            Role::Public => "public".into(),
            Role::Member(m) => format!("member {m}"),
            Role::Noc => "noc".into(),
        }
    }
}

/// A problem in the tokens file; names the line.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {error}")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// A line or entry is malformed.
    #[error("{file}:{line}: {message}")]
    Bad {
        /// The file.
        file: String,
        /// 1-based line (entry number for YAML).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The hex SHA-256 of a token, as stored in the tokens file.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Accepted tokens, by hash.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlToken {
    member: Option<String>,
    #[serde(default)]
    noc: bool,
    sha256: String,
}

impl Tokens {
    /// No tokens: everyone is public.
    pub fn none() -> Tokens {
        Tokens::default()
    }

    /// Reads the file at `path`; `members` are the names a member token may carry.
    pub fn load(path: &Path, members: &[String]) -> Result<Tokens, TokensError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| TokensError::Read {
            file: file.clone(),
            error,
        })?;
        Tokens::parse(&text, &file, members)
    }

    /// Parses the text of a tokens file (line format or YAML list).
    pub fn parse(text: &str, file: &str, members: &[String]) -> Result<Tokens, TokensError> {
        let bad = |line: usize, message: String| TokensError::Bad {
            file: file.to_owned(),
            line,
            message,
        };
        let entries: Vec<(usize, String, String)> = if text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with('-'))
        {
            let list: Vec<YamlToken> =
                serde_saphyr::from_str(text).map_err(|e| bad(0, format!("YAML: {e}")))?;
            let mut out = Vec::new();
            for (i, t) in list.into_iter().enumerate() {
                let who = match (t.noc, t.member) {
                    (true, None) => "noc".to_owned(),
                    (false, Some(m)) => m,
                    _ => {
                        return Err(bad(
                            i + 1,
                            "entry must have either `member: NAME` or `noc: true`".into(),
                        ))
                    }
                };
                out.push((i + 1, who, t.sha256));
            }
            out
        } else {
            let mut out = Vec::new();
            for (i, raw) in text.lines().enumerate() {
                let l = raw.split('#').next().unwrap_or_default().trim();
                if l.is_empty() {
                    continue;
                }
                let mut parts = l.split_whitespace();
                let (Some(who), Some(hash), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad(
                        i + 1,
                        "expected `member-name sha256-hex` or `noc sha256-hex`".into(),
                    ));
                };
                out.push((i + 1, who.to_owned(), hash.to_owned()));
            }
            out
        };
        let mut by_hash = HashMap::new();
        for (line, who, hash) in entries {
            let hash = hash.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(
                    line,
                    format!("`{hash}` is not a SHA-256 hex digest (64 hex digits); store the hash, never the token"),
                ));
            }
            let role = if who == "noc" {
                Role::Noc
            } else if members.contains(&who) {
                Role::Member(who)
            } else {
                return Err(bad(
                    line,
                    format!("`{who}` is neither `noc` nor a member of the exchange"),
                ));
            };
            if by_hash.insert(hash, role).is_some() {
                return Err(bad(line, "the same token hash appears twice".into()));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// The role of a presented token, if it is known.
    pub fn check(&self, token: &str) -> Option<Role> {
        if token.is_empty() || token.len() > 512 {
            return None;
        }
        self.by_hash.get(&hash_token(token)).cloned()
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True if no token is known.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// Most client addresses tracked; past this, full buckets are forgotten.
const MAX_CLIENTS: usize = 65_536;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client address.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` sustained, `burst` at once.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; `Err(wait)` says how long until one is available.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let b = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<String> {
        vec!["TANet".into(), "GSN".into()]
    }

    #[test]
    fn line_format_maps_hashes_to_roles() {
        let text = format!(
            "# tokens\nTANet {}\nnoc {}  # operator\n",
            hash_token("tanet-secret"),
            hash_token("noc-secret")
        );
        let t = Tokens::parse(&text, "t", &members()).expect("parses");
        assert_eq!(t.len(), 2);
        assert_eq!(t.check("tanet-secret"), Some(Role::Member("TANet".into())));
        assert_eq!(t.check("noc-secret"), Some(Role::Noc));
        assert_eq!(t.check("guess"), None);
        assert_eq!(t.check(""), None);
    }

    #[test]
    fn yaml_format_is_read() {
        let text = format!(
            "- {{ member: GSN, sha256: {} }}\n- {{ noc: true, sha256: {} }}\n",
            hash_token("g"),
            hash_token("n")
        );
        let t = Tokens::parse(&text, "t", &members()).expect("parses");
        assert_eq!(t.check("g"), Some(Role::Member("GSN".into())));
        assert_eq!(t.check("n"), Some(Role::Noc));
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            ("TANet plain-token\n", 1, "not a SHA-256"),
            (
                &format!("\nNobody {}\n", hash_token("x")) as &str,
                2,
                "neither `noc` nor a member",
            ),
            ("TANet\n", 1, "expected `member-name sha256-hex`"),
        ];
        for (text, line, frag) in cases {
            match Tokens::parse(text, "t", &members()) {
                Err(TokensError::Bad {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{text}");
                    assert!(message.contains(frag), "{message}");
                }
                other => panic!("expected an error for {text:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn bucket_allows_burst_then_refills() {
        let rl = RateLimiter::new(60, 3);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at(ip, t0).is_ok());
        }
        let wait = rl.check_at(ip, t0).expect_err("bucket empty");
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(rl.check_at(other, t0).is_ok(), "buckets are per client");
        assert!(rl.check_at(ip, t0 + Duration::from_secs(1)).is_ok());
        assert!(rl.check_at(ip, t0 + Duration::from_secs(1)).is_err());
    }
}
