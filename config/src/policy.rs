//! Import policy: exchange-wide defaults, per-member overrides, and their merge.

use std::fmt;
use std::time::Duration;

use crate::decode::Ctx;
use crate::node::Node;

/// How a route's NEXT_HOP is checked against the member that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHopPolicy {
    /// Next hop must be the sending router (or one of `authorized_next_hops`).
    Strict,
    /// Next hop may be any router of the same member (same ASN).
    SameAs,
    /// No next-hop check.
    Any,
}

/// What happens when a member exceeds its max-prefix limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaxPrefixAction {
    /// Close the session and keep it down.
    Shutdown,
    /// Close the session and reconnect after `max_prefix_restart_after`.
    Restart,
    /// Log and count only.
    Warn,
}

/// How the BGP Role capability (RFC 9234) is used with a member. The route
/// server's role is RS; a member's expected role is RS-Client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RolePolicy {
    /// No Role capability sent or checked, no OTC procedures.
    Off,
    /// Role sent; a member's role must be RS-Client when it sends one.
    On,
    /// Like `On`, and a member that sends no role is refused too.
    Strict,
}

impl fmt::Display for RolePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RolePolicy::Off => "off",
            RolePolicy::On => "on",
            RolePolicy::Strict => "strict",
        })
    }
}

/// ASPA path verification (draft-ietf-sidrops-aspa-verification) for a
/// member's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AspaPolicy {
    /// Not verified.
    Off,
    /// Verified and tagged with the informational community; never filtered.
    Tag,
    /// Verified and tagged; ASPA-invalid routes are filtered.
    Filter,
}

impl fmt::Display for AspaPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AspaPolicy::Off => "off",
            AspaPolicy::Tag => "tag",
            AspaPolicy::Filter => "filter",
        })
    }
}

impl fmt::Display for NextHopPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NextHopPolicy::Strict => "strict",
            NextHopPolicy::SameAs => "same-as",
            NextHopPolicy::Any => "any",
        })
    }
}

impl fmt::Display for MaxPrefixAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaxPrefixAction::Shutdown => "shutdown",
            MaxPrefixAction::Restart => "restart",
            MaxPrefixAction::Warn => "warn",
        })
    }
}

/// Accepted prefix lengths, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LenRange {
    /// Shortest accepted prefix length.
    pub min: u8,
    /// Longest accepted prefix length.
    pub max: u8,
}

impl LenRange {
    /// True if `len` is within the range.
    pub fn contains(&self, len: u8) -> bool {
        (self.min..=self.max).contains(&len)
    }
}

impl fmt::Display for LenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}-/{}", self.min, self.max)
    }
}

/// The import policy of one session, every key concrete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// NEXT_HOP check.
    pub next_hop: NextHopPolicy,
    /// Left-most ASN of AS_PATH must be the member's ASN.
    pub first_as: bool,
    /// Longest accepted AS_PATH (in ASNs).
    pub max_as_path_len: u16,
    /// Reject paths containing private/reserved ASNs.
    pub bogon_asns: bool,
    /// Reject bogon prefixes (RFC 1918, documentation, ...).
    pub bogon_prefixes: bool,
    /// Accepted IPv4 prefix lengths.
    pub prefix_len_ipv4: LenRange,
    /// Accepted IPv6 prefix lengths.
    pub prefix_len_ipv6: LenRange,
    /// Transit-free networks that must not appear behind a member.
    pub transit_free_asns: Vec<u32>,
    /// Apply the transit-free check.
    pub transit_free: bool,
    /// RPKI origin validation on.
    pub rpki: bool,
    /// Reject RPKI INVALID routes.
    pub rpki_reject_invalid: bool,
    /// IRR filtering on.
    pub irr: bool,
    /// Accept more-specifics of IRR route objects (up to the prefix length maximum).
    pub irr_more_specifics: bool,
    /// Accept RPKI VALID routes not covered by IRR.
    pub irr_accept_rpki_valid: bool,
    /// Accept RFC 7999 blackhole requests.
    pub blackhole: bool,
    /// Honour GRACEFUL_SHUTDOWN (65535:0).
    pub graceful_shutdown: bool,
    /// BGP Role capability and OTC procedures (RFC 9234).
    pub role: RolePolicy,
    /// ASPA path verification.
    pub aspa: AspaPolicy,
    /// What to do on max-prefix overflow.
    pub max_prefix_action: MaxPrefixAction,
    /// Delay before reconnecting after a max-prefix restart.
    pub max_prefix_restart_after: Duration,
}

/// The transit-free ASNs the schema ships as default (large transit networks).
pub const DEFAULT_TRANSIT_FREE_ASNS: [u32; 14] = [
    174, 701, 1299, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
];

impl Default for Policy {
    fn default() -> Self {
        Policy {
            next_hop: NextHopPolicy::Strict,
            first_as: true,
            max_as_path_len: 32,
            bogon_asns: true,
            bogon_prefixes: true,
            prefix_len_ipv4: LenRange { min: 8, max: 24 },
            prefix_len_ipv6: LenRange { min: 12, max: 48 },
            transit_free_asns: DEFAULT_TRANSIT_FREE_ASNS.to_vec(),
            transit_free: true,
            rpki: true,
            rpki_reject_invalid: true,
            irr: true,
            irr_more_specifics: false,
            irr_accept_rpki_valid: true,
            blackhole: true,
            graceful_shutdown: true,
            role: RolePolicy::On,
            aspa: AspaPolicy::Off,
            max_prefix_action: MaxPrefixAction::Restart,
            max_prefix_restart_after: Duration::from_secs(15 * 60),
        }
    }
}

/// Policy keys as written in a `policy:` block; `None` means "not set here".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyOverrides {
    /// See [`Policy::next_hop`].
    pub next_hop: Option<NextHopPolicy>,
    /// See [`Policy::first_as`].
    pub first_as: Option<bool>,
    /// See [`Policy::max_as_path_len`].
    pub max_as_path_len: Option<u16>,
    /// See [`Policy::bogon_asns`].
    pub bogon_asns: Option<bool>,
    /// See [`Policy::bogon_prefixes`].
    pub bogon_prefixes: Option<bool>,
    /// See [`Policy::prefix_len_ipv4`].
    pub prefix_len_ipv4: Option<LenRange>,
    /// See [`Policy::prefix_len_ipv6`].
    pub prefix_len_ipv6: Option<LenRange>,
    /// See [`Policy::transit_free_asns`].
    pub transit_free_asns: Option<Vec<u32>>,
    /// See [`Policy::transit_free`].
    pub transit_free: Option<bool>,
    /// See [`Policy::rpki`].
    pub rpki: Option<bool>,
    /// See [`Policy::rpki_reject_invalid`].
    pub rpki_reject_invalid: Option<bool>,
    /// See [`Policy::irr`].
    pub irr: Option<bool>,
    /// See [`Policy::irr_more_specifics`].
    pub irr_more_specifics: Option<bool>,
    /// See [`Policy::irr_accept_rpki_valid`].
    pub irr_accept_rpki_valid: Option<bool>,
    /// See [`Policy::blackhole`].
    pub blackhole: Option<bool>,
    /// See [`Policy::graceful_shutdown`].
    pub graceful_shutdown: Option<bool>,
    /// See [`Policy::role`].
    pub role: Option<RolePolicy>,
    /// See [`Policy::aspa`].
    pub aspa: Option<AspaPolicy>,
    /// See [`Policy::max_prefix_action`].
    pub max_prefix_action: Option<MaxPrefixAction>,
    /// See [`Policy::max_prefix_restart_after`].
    pub max_prefix_restart_after: Option<Duration>,
}

impl Policy {
    /// This policy with every key set in `o` replaced.
    pub fn merged(&self, o: &PolicyOverrides) -> Policy {
        Policy {
            next_hop: o.next_hop.unwrap_or(self.next_hop),
            first_as: o.first_as.unwrap_or(self.first_as),
            max_as_path_len: o.max_as_path_len.unwrap_or(self.max_as_path_len),
            bogon_asns: o.bogon_asns.unwrap_or(self.bogon_asns),
            bogon_prefixes: o.bogon_prefixes.unwrap_or(self.bogon_prefixes),
            prefix_len_ipv4: o.prefix_len_ipv4.unwrap_or(self.prefix_len_ipv4),
            prefix_len_ipv6: o.prefix_len_ipv6.unwrap_or(self.prefix_len_ipv6),
            transit_free_asns: o
                .transit_free_asns
                .clone()
                .unwrap_or_else(|| self.transit_free_asns.clone()),
            transit_free: o.transit_free.unwrap_or(self.transit_free),
            rpki: o.rpki.unwrap_or(self.rpki),
            rpki_reject_invalid: o.rpki_reject_invalid.unwrap_or(self.rpki_reject_invalid),
            irr: o.irr.unwrap_or(self.irr),
            irr_more_specifics: o.irr_more_specifics.unwrap_or(self.irr_more_specifics),
            irr_accept_rpki_valid: o
                .irr_accept_rpki_valid
                .unwrap_or(self.irr_accept_rpki_valid),
            blackhole: o.blackhole.unwrap_or(self.blackhole),
            graceful_shutdown: o.graceful_shutdown.unwrap_or(self.graceful_shutdown),
            role: o.role.unwrap_or(self.role),
            aspa: o.aspa.unwrap_or(self.aspa),
            max_prefix_action: o.max_prefix_action.unwrap_or(self.max_prefix_action),
            max_prefix_restart_after: o
                .max_prefix_restart_after
                .unwrap_or(self.max_prefix_restart_after),
        }
    }
}

/// Every key a `policy:` block may hold.
pub(crate) const POLICY_KEYS: &[&str] = &[
    "next_hop",
    "first_as",
    "max_as_path_len",
    "bogon_asns",
    "bogon_prefixes",
    "prefix_len_ipv4",
    "prefix_len_ipv6",
    "transit_free_asns",
    "transit_free",
    "rpki",
    "rpki_reject_invalid",
    "irr",
    "irr_more_specifics",
    "irr_accept_rpki_valid",
    "blackhole",
    "graceful_shutdown",
    "role",
    "max_prefix_action",
    "max_prefix_restart_after",
    "aspa",
];

/// Decodes a `policy:` block (exchange-wide or a member's); `what` names it in errors.
pub(crate) fn decode_overrides(cx: &mut Ctx, node: &Node, what: &str) -> PolicyOverrides {
    let mut o = PolicyOverrides::default();
    let Some(f) = cx.fields(node, what, POLICY_KEYS) else {
        return o;
    };
    let flag = |cx: &mut Ctx, key: &str| f.get(key).and_then(|n| cx.boolean(n, key));
    o.first_as = flag(cx, "first_as");
    o.bogon_asns = flag(cx, "bogon_asns");
    o.bogon_prefixes = flag(cx, "bogon_prefixes");
    o.transit_free = flag(cx, "transit_free");
    o.rpki = flag(cx, "rpki");
    o.rpki_reject_invalid = flag(cx, "rpki_reject_invalid");
    o.irr = flag(cx, "irr");
    o.irr_more_specifics = flag(cx, "irr_more_specifics");
    o.irr_accept_rpki_valid = flag(cx, "irr_accept_rpki_valid");
    o.blackhole = flag(cx, "blackhole");
    o.graceful_shutdown = flag(cx, "graceful_shutdown");
    o.next_hop = f.get("next_hop").and_then(|n| {
        let s = cx.string(n, "next_hop")?;
        let v = match s.as_str() {
            "strict" => Some(NextHopPolicy::Strict),
            "same-as" => Some(NextHopPolicy::SameAs),
            "any" => Some(NextHopPolicy::Any),
            _ => None,
        };
        if v.is_none() {
            cx.err(
                n.loc,
                format!("`next_hop`: `{s}` is not one of strict, same-as, any"),
            );
        }
        v
    });
    o.role = f.get("role").and_then(|n| {
        let s = cx.string(n, "role")?;
        let v = match s.as_str() {
            "off" => Some(RolePolicy::Off),
            "on" => Some(RolePolicy::On),
            "strict" => Some(RolePolicy::Strict),
            _ => None,
        };
        if v.is_none() {
            cx.err(
                n.loc,
                format!("`role`: `{s}` is not one of off, on, strict"),
            );
        }
        v
    });
    o.aspa = f.get("aspa").and_then(|n| {
        let s = cx.string(n, "aspa")?;
        let v = match s.as_str() {
            "off" => Some(AspaPolicy::Off),
            "tag" => Some(AspaPolicy::Tag),
            "filter" => Some(AspaPolicy::Filter),
            _ => None,
        };
        if v.is_none() {
            cx.err(
                n.loc,
                format!("`aspa`: `{s}` is not one of off, tag, filter"),
            );
        }
        v
    });
    o.max_prefix_action = f.get("max_prefix_action").and_then(|n| {
        let s = cx.string(n, "max_prefix_action")?;
        let v = match s.as_str() {
            "shutdown" => Some(MaxPrefixAction::Shutdown),
            "restart" => Some(MaxPrefixAction::Restart),
            "warn" => Some(MaxPrefixAction::Warn),
            _ => None,
        };
        if v.is_none() {
            cx.err(
                n.loc,
                format!("`max_prefix_action`: `{s}` is not one of shutdown, restart, warn"),
            );
        }
        v
    });
    o.max_as_path_len = f
        .get("max_as_path_len")
        .and_then(|n| cx.int(n, "max_as_path_len", 1, 1000));
    o.prefix_len_ipv4 = f
        .get("prefix_len_ipv4")
        .and_then(|n| len_range(cx, n, "prefix_len_ipv4", 32));
    o.prefix_len_ipv6 = f
        .get("prefix_len_ipv6")
        .and_then(|n| len_range(cx, n, "prefix_len_ipv6", 128));
    o.transit_free_asns = f.get("transit_free_asns").and_then(|n| {
        let items = cx.list(n, "transit_free_asns")?;
        let asns: Vec<Option<u32>> = items
            .iter()
            .map(|i| cx.asn(i, "transit_free_asns"))
            .collect();
        asns.into_iter().collect()
    });
    o.max_prefix_restart_after = f.get("max_prefix_restart_after").and_then(|n| {
        let d = cx.duration(n, "max_prefix_restart_after")?;
        if d.is_zero() {
            cx.err(n.loc, "`max_prefix_restart_after` must be longer than 0s");
            return None;
        }
        Some(d)
    });
    o
}

/// Decodes `[min, max]` with 1 <= min <= max <= `limit`.
fn len_range(cx: &mut Ctx, node: &Node, key: &str, limit: u8) -> Option<LenRange> {
    let items = cx.list(node, key)?;
    if items.len() != 2 {
        cx.err(
            node.loc,
            format!("`{key}` must be [min, max], found {} values", items.len()),
        );
        return None;
    }
    let min: Option<u8> = cx.int(&items[0], key, 0, i128::from(limit));
    let max: Option<u8> = cx.int(&items[1], key, 0, i128::from(limit));
    let (min, max) = (min?, max?);
    if min > max {
        cx.err(
            node.loc,
            format!("`{key}` [{min}, {max}]: the minimum is larger than the maximum"),
        );
        return None;
    }
    if min == 0 {
        cx.err(
            items[0].loc,
            format!("`{key}` [{min}, {max}]: a minimum of 0 would accept the default route"),
        );
        return None;
    }
    Some(LenRange { min, max })
}
