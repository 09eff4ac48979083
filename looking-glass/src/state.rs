//! The looking glass's shared state and the error every view can end in.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::http::StatusCode;
use ipnet::IpNet;

use crate::access::{RateLimiter, Tokens};
use crate::metrics::Metrics;
use crate::source::{SourceError, Sources};

/// A member of the exchange as the looking glass knows it.
#[derive(Clone, Debug)]
pub struct MemberInfo {
    /// Unique name (as the route servers report it).
    pub name: String,
    /// ASN.
    pub asn: u32,
    /// The member's router addresses on the peering LANs (probe targets).
    pub addresses: Vec<std::net::IpAddr>,
}

/// Everything the handlers share.
pub struct Lg {
    /// Short name of the exchange.
    pub exchange: String,
    /// Members from the configuration.
    pub members: Vec<MemberInfo>,
    /// Route servers and collectors.
    pub sources: Arc<Sources>,
    /// Accepted tokens.
    pub tokens: Tokens,
    /// Per-client request budget.
    pub limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Networks that may use the birdwatcher endpoints and /metrics without a token.
    pub trusted: Vec<IpNet>,
    /// When this process started.
    pub started: SystemTime,
}

impl Lg {
    /// True if `ip` is in the trusted networks (birdwatcher `allow_from`).
    pub fn trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The cache lifetime in seconds (birdwatcher's `ttl`).
    pub fn sources_ttl_secs(&self) -> u64 {
        self.sources.ttl().as_secs()
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// Shared state handle.
pub type AppState = Arc<Lg>;

/// Why a view could not be shown: a status code and a sentence saying what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status.
    pub status: StatusCode,
    /// What was wrong, in words.
    pub message: String,
}

impl Failure {
    /// 400: the query was wrong.
    pub fn bad(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 401: log in first.
    pub fn login() -> Failure {
        Failure {
            status: StatusCode::UNAUTHORIZED,
            message: "this view needs a member or NOC token; log in or send `Authorization: Bearer TOKEN`".into(),
        }
    }

    /// 403: logged in, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// A source failed: 502 if it is down, its own status (4xx) if it refused the query.
    pub fn source(e: &SourceError) -> Failure {
        let status = match e {
            SourceError::Status { status, .. } if *status < 500 => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}
