//! The exchange as loaded: plain data, every default filled in, every reference checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::collector::CollectorSettings;
use crate::policy::{Policy, PolicyOverrides};

/// The whole exchange: what `load` and `parse` return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Name and data directory of the exchange.
    pub exchange: Exchange,
    /// Sites (points of presence), referenced by id.
    pub sites: Vec<Site>,
    /// Peering LANs; every member and route-server address lies inside one of them.
    pub peering_lans: Vec<PeeringLan>,
    /// Route servers (usually rs1 and rs2).
    pub route_servers: Vec<RouteServer>,
    /// Exchange-wide import policy defaults.
    pub policy: Policy,
    /// Blackhole (RFC 7999) next hops, if the exchange offers blackholing.
    pub blackhole: Option<Blackhole>,
    /// Where validated ROA payloads come from.
    pub rpki: RpkiSources,
    /// Where IRR data (route objects, AS-SETs) comes from.
    pub irr: IrrSources,
    /// Members, in file order.
    pub members: Vec<Member>,
    /// The fabric collector's listen and API addresses (defaults when `collector:` is absent).
    pub collector: CollectorSettings,
    /// The looking glass, if the file has a `looking_glass:` section.
    pub looking_glass: Option<crate::looking_glass::LookingGlass>,
    /// Periodic MRT dumps, if the file has an `mrt:` section.
    pub mrt: Option<crate::mrt::MrtDumps>,
    /// BMP monitoring stations every route server exports to (`bmp:`).
    pub bmp: Vec<crate::bmp::BmpStation>,
    /// The file this configuration was read from.
    pub source: PathBuf,
    /// The history store (defaults when `history:` is absent).
    pub history: crate::history::HistorySettings,
}

/// Name and local storage of the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Short name, e.g. "FOX".
    pub name: String,
    /// Long name, e.g. "Formosa Open Exchange".
    pub full_name: Option<String>,
    /// Directory for history and other state (default `./data`).
    pub data_dir: PathBuf,
}

/// A site (point of presence) of the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Identifier referenced by route servers and connections.
    pub id: String,
    /// Human name.
    pub name: String,
}

/// A peering LAN prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeringLan {
    /// Name, e.g. "fox-v4".
    pub name: String,
    /// The prefix (network address, no host bits).
    pub prefix: IpNet,
}

/// One route server instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteServer {
    /// Name, e.g. "rs1".
    pub name: String,
    /// The route server's own ASN.
    pub asn: u32,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// IPv4 address on the peering LAN.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address on the peering LAN.
    pub ipv6: Option<Ipv6Addr>,
    /// Site id where it runs.
    pub site: String,
    /// BGP port to listen on and connect to (default 179).
    pub port: u16,
    /// Addresses to listen on (default: `ipv4` and `ipv6`).
    pub listen: Vec<IpAddr>,
    /// Admin JSON API and /metrics address (default 127.0.0.1:8180).
    pub api: SocketAddr,
    /// Proposed hold time (default 90 s; keepalive is a third of it).
    pub hold_time: Duration,
    /// Connect retry timer (default 30 s).
    pub connect_retry: Duration,
    /// BGP connections one source address may open per `connection_rate_window`; more are
    /// closed at once (default [`DEFAULT_CONNECTION_RATE_LIMIT`]).
    pub connection_rate_limit: u32,
    /// The window of `connection_rate_limit` (default [`DEFAULT_CONNECTION_RATE_WINDOW`]).
    pub connection_rate_window: Duration,
    /// Inbound connections of one neighbour that may be opening (OpenSent / OpenConfirm) at
    /// once; more are closed (default [`DEFAULT_MAX_PENDING_CONNECTIONS`]).
    pub max_pending_connections: u32,
}

/// Default of `connection_rate_limit`: a member's router reconnects a few times a minute at most.
pub const DEFAULT_CONNECTION_RATE_LIMIT: u32 = 50;
/// Default of `connection_rate_window`.
pub const DEFAULT_CONNECTION_RATE_WINDOW: Duration = Duration::from_secs(10);
/// Default of `max_pending_connections`: one is enough, two covers a reconnect racing the
/// old connection's teardown.
pub const DEFAULT_MAX_PENDING_CONNECTIONS: u32 = 2;

/// Blackhole next hops announced in place of a member's for RFC 7999 requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blackhole {
    /// IPv4 blackhole next hop.
    pub next_hop_ipv4: Option<Ipv4Addr>,
    /// IPv6 blackhole next hop.
    pub next_hop_ipv6: Option<Ipv6Addr>,
}

/// RPKI inputs: RTR caches in preference order and JSON VRP files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpkiSources {
    /// RTR caches, in preference order.
    pub rtr: Vec<RtrServer>,
    /// rpki-client / Routinator JSON files, as written in the file.
    pub files: Vec<PathBuf>,
}

/// An RTR cache address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtrServer {
    /// Host name or address.
    pub host: String,
    /// TCP port (default 323).
    pub port: u16,
}

/// IRR inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IrrSources {
    /// RPSL dumps (gzip allowed), as written in the file.
    pub files: Vec<PathBuf>,
}

/// A member network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Unique name.
    pub name: String,
    /// Unique ASN.
    pub asn: u32,
    /// AS-SET that expands to the member's customer cone; `None` means the ASN alone.
    pub as_set: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Route servers it peers with (default: all of them).
    pub route_servers: Vec<String>,
    /// Only accept sessions, never connect.
    pub passive: bool,
    /// Per-AFI max-prefix limits.
    pub max_prefix: MaxPrefix,
    /// Receive blackhole routes.
    pub blackhole_opt_in: bool,
    /// Extra next hops allowed under `next_hop: strict`.
    pub authorized_next_hops: Vec<IpAddr>,
    /// The member's policy keys exactly as written.
    pub policy_overrides: PolicyOverrides,
    /// Exchange defaults merged with `policy_overrides`.
    pub policy: Policy,
    /// Router ports on the fabric.
    pub connections: Vec<Connection>,
    /// TCP-MD5 key of its sessions (RFC 2385), from `password` or `password_file`.
    pub password: Option<crate::secret::Password>,
    /// GTSM (RFC 5082): accept its segments only with TTL 255, send with TTL 255.
    pub ttl_security: bool,
    /// TCP-AO keys of its sessions (RFC 5925); never together with `password`.
    pub tcp_ao: Option<crate::tcp_ao::TcpAo>,
}

/// Max-prefix limits per address family; `None` means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPrefix {
    /// IPv4 limit.
    pub ipv4: Option<u32>,
    /// IPv6 limit.
    pub ipv6: Option<u32>,
}

/// One member router port at a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Site id.
    pub site: String,
    /// IPv4 address on the peering LAN.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address on the peering LAN.
    pub ipv6: Option<Ipv6Addr>,
    /// MAC addresses seen on the port.
    pub macs: Vec<MacAddr>,
    /// Port speed.
    pub speed: Option<Speed>,
}

/// Port speed of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Speed {
    /// 1 Gbit/s.
    G1,
    /// 10 Gbit/s.
    G10,
    /// 100 Gbit/s.
    G100,
    /// 400 Gbit/s.
    G400,
}

impl Speed {
    /// Bits per second.
    pub fn bits_per_second(self) -> u64 {
        match self {
            Speed::G1 => 1_000_000_000,
            Speed::G10 => 10_000_000_000,
            Speed::G100 => 100_000_000_000,
            Speed::G400 => 400_000_000_000,
        }
    }

    /// Parses "1G", "10G", "100G" or "400G" (case-insensitive).
    pub fn parse(s: &str) -> Option<Speed> {
        match s.to_ascii_uppercase().as_str() {
            "1G" => Some(Speed::G1),
            "10G" => Some(Speed::G10),
            "100G" => Some(Speed::G100),
            "400G" => Some(Speed::G400),
            _ => None,
        }
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Speed::G1 => "1G",
            Speed::G10 => "10G",
            Speed::G100 => "100G",
            Speed::G400 => "400G",
        })
    }
}

/// An Ethernet MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Parses `02:00:00:00:06:59` or `02-00-00-00-06-59`.
    pub fn parse(s: &str) -> Option<MacAddr> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in out.iter_mut() {
            let p = parts.next()?;
            if p.len() != 2 {
                return None;
            }
            *b = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// One BGP session of a route server: a member address on one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    /// Member name.
    pub member: String,
    /// Member ASN.
    pub asn: u32,
    /// The member router's address (the session's transport address family).
    pub address: IpAddr,
    /// Site id of the connection.
    pub site: String,
    /// Only accept, never connect.
    pub passive: bool,
    /// IPv4 max-prefix limit.
    pub max_prefix_ipv4: Option<u32>,
    /// IPv6 max-prefix limit.
    pub max_prefix_ipv6: Option<u32>,
    /// Exchange defaults merged with the member's overrides.
    pub policy: Policy,
    /// Receives blackhole routes.
    pub blackhole_opt_in: bool,
    /// Extra next hops allowed under `next_hop: strict`.
    pub authorized_next_hops: Vec<IpAddr>,
    /// TCP-MD5 key of the session (RFC 2385).
    pub password: Option<crate::secret::Password>,
    /// GTSM (RFC 5082) on the session.
    pub ttl_security: bool,
    /// TCP-AO keys of the session (RFC 5925).
    pub tcp_ao: Option<crate::tcp_ao::TcpAo>,
}
