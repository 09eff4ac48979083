//! The `members:` section: members, their connections, and the checks that span members
//! (unique names, ASNs, addresses and MACs; known sites and route servers).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::build::non_empty_list;
use crate::decode::{Ctx, Fields};
use crate::model::{Connection, MacAddr, MaxPrefix, Member, Speed};
use crate::node::{Loc, Node};
use crate::policy::{decode_overrides, Policy, PolicyOverrides};
use crate::secret::decode_password;
use crate::tcp_ao::decode_tcp_ao;

const MEMBER_KEYS: &[&str] = &[
    "name",
    "asn",
    "as_set",
    "description",
    "route_servers",
    "passive",
    "max_prefix",
    "blackhole_opt_in",
    "authorized_next_hops",
    "policy",
    "connections",
    "password",
    "password_file",
    "ttl_security",
    "tcp_ao",
];

const CONNECTION_KEYS: &[&str] = &["site", "ipv4", "ipv6", "macs", "speed"];

/// What must be unique across all members.
#[derive(Default)]
struct Seen {
    names: HashMap<String, Loc>,
    asns: HashMap<u32, (String, Loc)>,
    macs: HashMap<MacAddr, (String, Loc)>,
}

/// Decodes the member list; `all_rs` is the default for `route_servers`.
pub(crate) fn decode_members(
    cx: &mut Ctx,
    node: &Node,
    defaults: &Policy,
    all_rs: &[String],
) -> Option<Vec<Member>> {
    let items = cx.list(node, "members")?;
    let mut seen = Seen::default();
    let out: Vec<Option<Member>> = items
        .iter()
        .map(|item| decode_member(cx, item, defaults, all_rs, &mut seen))
        .collect();
    out.into_iter().collect()
}

fn decode_member(
    cx: &mut Ctx,
    node: &Node,
    defaults: &Policy,
    all_rs: &[String],
    seen: &mut Seen,
) -> Option<Member> {
    let f = cx.fields(node, "member", MEMBER_KEYS)?;
    let name_node = f.req(cx, "name");
    let name = name_node.and_then(|n| cx.string(n, "name"));
    let label = name.clone().unwrap_or_else(|| "member".to_owned());
    if let (Some(nm), Some(n)) = (&name, name_node) {
        if let Some(first) = seen.names.get(nm) {
            let msg = format!(
                "duplicate member name `{nm}` (first at line {})",
                first.line
            );
            cx.err(n.loc, msg);
        } else {
            seen.names.insert(nm.clone(), n.loc);
        }
    }
    let asn = f.req(cx, "asn").and_then(|n| {
        let asn = cx.asn(n, "asn")?;
        if let Some((other, first)) = seen.asns.get(&asn) {
            let msg = format!(
                "duplicate member ASN {asn}: already used by `{other}` (line {})",
                first.line
            );
            cx.err(n.loc, msg);
        } else {
            seen.asns.insert(asn, (label.clone(), n.loc));
        }
        Some(asn)
    });
    let as_set = f.get("as_set").and_then(|n| {
        let s = cx.string(n, "as_set")?;
        if !is_as_set_name(&s) {
            let msg = format!(
                "`as_set`: `{s}` is not an AS-SET name (e.g. AS-TANET or AS1659:AS-CUSTOMERS)"
            );
            cx.err(n.loc, msg);
            return None;
        }
        Some(s)
    });
    let description = f
        .get("description")
        .and_then(|n| cx.string(n, "description"));
    let route_servers = match f.get("route_servers") {
        Some(n) => rs_refs(cx, n),
        None => Some(all_rs.to_vec()),
    };
    let passive = opt_bool(cx, &f, "passive");
    let blackhole_opt_in = opt_bool(cx, &f, "blackhole_opt_in");
    let max_prefix = match f.get("max_prefix") {
        Some(n) => decode_max_prefix(cx, n),
        None => Some(MaxPrefix::default()),
    };
    let owner = format!("member `{label}`");
    let authorized_next_hops = match f.get("authorized_next_hops") {
        Some(n) => cx.list(n, "authorized_next_hops").and_then(|items| {
            let hops: Vec<Option<IpAddr>> = items
                .iter()
                .map(|i| {
                    let a = cx.ip(i, "authorized_next_hops")?;
                    cx.check_lan_address(a, i.loc, "authorized_next_hops", &owner);
                    Some(a)
                })
                .collect();
            hops.into_iter().collect()
        }),
        None => Some(Vec::new()),
    };
    let policy_overrides = match f.get("policy") {
        Some(n) => decode_overrides(cx, n, "member policy"),
        None => PolicyOverrides::default(),
    };
    let connections = f.req(cx, "connections").and_then(|n| {
        let items = non_empty_list(cx, n, "connections")?;
        let conns: Vec<Option<Connection>> = items
            .iter()
            .map(|i| decode_connection(cx, i, &label, seen))
            .collect();
        conns.into_iter().collect()
    });
    let password = decode_password(cx, &f, &owner);
    let ttl_security = opt_bool(cx, &f, "ttl_security");
    let tcp_ao = decode_tcp_ao(cx, &f, &owner);
    let policy = defaults.merged(&policy_overrides);
    Some(Member {
        name: name?,
        asn: asn?,
        as_set,
        description,
        route_servers: route_servers?,
        passive: passive?,
        max_prefix: max_prefix?,
        blackhole_opt_in: blackhole_opt_in?,
        authorized_next_hops: authorized_next_hops?,
        policy_overrides,
        policy,
        connections: connections?,
        password: password?,
        ttl_security: ttl_security?,
        tcp_ao: tcp_ao?,
    })
}

/// An optional boolean, false when absent; `None` only on error.
fn opt_bool(cx: &mut Ctx, f: &Fields<'_>, key: &str) -> Option<bool> {
    match f.get(key) {
        Some(n) => cx.boolean(n, key),
        None => Some(false),
    }
}

/// A member's `route_servers:` list: known names, each once.
fn rs_refs(cx: &mut Ctx, node: &Node) -> Option<Vec<String>> {
    let items = non_empty_list(cx, node, "route_servers")?;
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        let Some(name) = cx.string(i, "route_servers") else {
            ok = false;
            continue;
        };
        if let Some(known) = &cx.route_servers {
            if !known.contains_key(&name) {
                let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
                names.sort_unstable();
                let msg = format!(
                    "unknown route server `{name}` (route servers are: {})",
                    names.join(", ")
                );
                cx.err(i.loc, msg);
                ok = false;
                continue;
            }
        }
        if out.contains(&name) {
            cx.err(i.loc, format!("route server `{name}` is listed twice"));
            ok = false;
            continue;
        }
        out.push(name);
    }
    ok.then_some(out)
}

fn decode_max_prefix(cx: &mut Ctx, node: &Node) -> Option<MaxPrefix> {
    let f = cx.fields(node, "max_prefix", &["ipv4", "ipv6"])?;
    let limit = |cx: &mut Ctx, key: &str| -> Option<Option<u32>> {
        match f.get(key) {
            Some(n) => cx.int(n, key, 1, i128::from(u32::MAX)).map(Some),
            None => Some(None),
        }
    };
    let ipv4 = limit(cx, "ipv4");
    let ipv6 = limit(cx, "ipv6");
    Some(MaxPrefix {
        ipv4: ipv4?,
        ipv6: ipv6?,
    })
}

fn decode_connection(
    cx: &mut Ctx,
    node: &Node,
    member: &str,
    seen: &mut Seen,
) -> Option<Connection> {
    let f = cx.fields(node, "connection", CONNECTION_KEYS)?;
    let site = f.req(cx, "site").and_then(|n| cx.site_ref(n, "site"));
    let owner = format!("member `{member}`");
    let ipv4 = f.get("ipv4").and_then(|n| {
        let a = cx.ipv4(n, "ipv4")?;
        cx.check_lan_address(IpAddr::V4(a), n.loc, "ipv4", &owner);
        Some(a)
    });
    let ipv6 = f.get("ipv6").and_then(|n| {
        let a = cx.ipv6(n, "ipv6")?;
        cx.check_lan_address(IpAddr::V6(a), n.loc, "ipv6", &owner);
        Some(a)
    });
    if f.get("ipv4").is_none() && f.get("ipv6").is_none() {
        cx.err(
            f.loc,
            format!("connection of member `{member}` needs an `ipv4` or `ipv6` address"),
        );
    }
    let macs = match f.get("macs") {
        Some(n) => cx.list(n, "macs").and_then(|items| {
            let macs: Vec<Option<MacAddr>> = items
                .iter()
                .map(|i| decode_mac(cx, i, member, seen))
                .collect();
            macs.into_iter().collect()
        }),
        None => Some(Vec::new()),
    };
    let speed = f.get("speed").and_then(|n| {
        let s = cx.string(n, "speed")?;
        let v = Speed::parse(&s);
        if v.is_none() {
            cx.err(
                n.loc,
                format!("`speed`: `{s}` is not one of 1G, 10G, 100G, 400G"),
            );
        }
        v
    });
    Some(Connection {
        site: site?,
        ipv4,
        ipv6,
        macs: macs?,
        speed,
    })
}

fn decode_mac(cx: &mut Ctx, node: &Node, member: &str, seen: &mut Seen) -> Option<MacAddr> {
    let s = cx.string(node, "macs")?;
    let Some(mac) = MacAddr::parse(&s) else {
        cx.err(
            node.loc,
            format!("`macs`: `{s}` is not a MAC address (e.g. 02:00:00:00:06:59)"),
        );
        return None;
    };
    if let Some((other, first)) = seen.macs.get(&mac) {
        let msg = format!(
            "duplicate MAC {mac}: already used by `{other}` (line {})",
            first.line
        );
        cx.err(node.loc, msg);
    } else {
        seen.macs.insert(mac, (member.to_owned(), node.loc));
    }
    Some(mac)
}

/// True for RPSL AS-SET names: `AS-FOO` or hierarchical `AS1659:AS-FOO`.
fn is_as_set_name(s: &str) -> bool {
    let mut has_set = false;
    for part in s.split(':') {
        let upper = part.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("AS-") {
            if rest.is_empty()
                || !rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return false;
            }
            has_set = true;
        } else if let Some(digits) = upper.strip_prefix("AS") {
            if digits.is_empty() || digits.parse::<u32>().is_err() {
                return false;
            }
        } else {
            return false;
        }
    }
    has_set
}

#[cfg(test)]
mod tests {
    use super::is_as_set_name;

    #[test]
    fn as_set_names() {
        for ok in ["AS-TANET", "as-foo_bar", "AS1659:AS-CUSTOMERS", "AS-A:AS-B"] {
            assert!(is_as_set_name(ok), "{ok}");
        }
        for bad in [
            "TANET",
            "AS1659",
            "AS-",
            "AS-FOO BAR",
            "",
            "AS1659:",
            "ASX:AS-A",
        ] {
            assert!(!is_as_set_name(bad), "{bad}");
        }
    }
}
