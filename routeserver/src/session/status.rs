//! The RFC 4271 FSM states and what the API shows of a session.

use std::net::IpAddr;
use std::time::SystemTime;

use serde::Serialize;

/// BGP FSM state (RFC 4271 8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    Idle = 1,
    Connect = 2,
    Active = 3,
    OpenSent = 4,
    OpenConfirm = 5,
    Established = 6,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// A session as the admin API and metrics see it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerStatus {
    pub member: String,
    pub asn: u32,
    pub address: IpAddr,
    pub state: State,
    /// Unix seconds of the last change into or out of Established.
    pub since: u64,
    pub remote_router_id: Option<String>,
    pub hold_time: u16,
    pub four_octet_as: bool,
    pub ipv4: bool,
    pub ipv6: bool,
    pub route_refresh: bool,
    pub extended_message: bool,
    pub graceful_restart: Option<u16>,
    pub last_error: Option<String>,
    pub flaps: u64,
    /// The BGP4MP update log of this session, if configured.
    #[serde(skip)]
    pub mrt: Option<crate::rib::mrt_updates::PeerLog>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl PeerStatus {
    /// A session that has not started.
    pub fn new(member: &str, asn: u32, address: IpAddr) -> PeerStatus {
        PeerStatus {
            member: member.to_string(),
            asn,
            address,
            state: State::Idle,
            since: unix_now(),
            remote_router_id: None,
            hold_time: 0,
            four_octet_as: false,
            ipv4: false,
            ipv6: false,
            route_refresh: false,
            extended_message: false,
            graceful_restart: None,
            last_error: None,
            flaps: 0,
            mrt: None,
        }
    }
}
