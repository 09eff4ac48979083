//! The VRP side of the bench: the set every route server validates against (written as
//! rpki-client JSON for StayRTR, so the blaster and the route servers use the same VRPs), and
//! a second set that turns N of the table's routes RPKI-invalid (revalidation time).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use fox_routeserver::rpki::{RpkiState, Vrp, VrpSet};
use fox_routeserver::wire::Asn;
use ipnet::IpNet;

use crate::table::{rpki_ok, Table};

/// ASN of the VRPs that invalidate table routes (documentation range: never a real origin,
/// and bogon ASNs are cleaned out of the table).
pub const INVALIDATING_ASN: Asn = 65551;

/// Write `vrps` as rpki-client JSON (`{"roas": [...]}`), the format StayRTR's `-cache` reads.
pub fn write_json(vrps: &VrpSet, path: &Path) -> Result<()> {
    let f = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let mut w = BufWriter::new(f);
    writeln!(
        w,
        "{{\"metadata\": {{\"buildtime\": \"2025-07-20T09:31:33Z\"}},"
    )?;
    writeln!(w, "\"roas\": [")?;
    let mut first = true;
    for v in vrps.iter() {
        if !first {
            writeln!(w, ",")?;
        }
        first = false;
        write!(
            w,
            "{{\"asn\": {}, \"prefix\": \"{}\", \"maxLength\": {}, \"ta\": \"bench\"}}",
            v.asn, v.prefix, v.max_len
        )?;
    }
    writeln!(w, "\n]}}")?;
    w.flush()
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Up to `n` VRPs (exact prefix, origin [`INVALIDATING_ASN`]) for prefixes of `table` that no
/// VRP of `vrps` covers, spread evenly over the table: adding them makes those routes invalid.
pub fn invalidating(table: &Table, vrps: &VrpSet, n: usize) -> Vec<Vrp> {
    let candidates: Vec<IpNet> = table
        .groups
        .iter()
        .flat_map(|g| {
            g.prefixes.iter().filter_map(move |p| {
                let net = IpNet::V4(*p);
                let origin = g.key.path.last().copied();
                (vrps.validate(&net, origin) == RpkiState::NotFound).then_some(net)
            })
        })
        .collect();
    if n == 0 || candidates.is_empty() {
        return Vec::new();
    }
    let step = (candidates.len() / n).max(1);
    candidates
        .iter()
        .step_by(step)
        .take(n)
        .filter_map(|p| Vrp::new(*p, p.prefix_len(), INVALIDATING_ASN).ok())
        .collect()
}

/// `vrps` plus `extra`.
pub fn with_extra(vrps: &VrpSet, extra: &[Vrp]) -> VrpSet {
    vrps.iter().chain(extra.iter().copied()).collect()
}

/// Distinct IPv4 prefixes among the VRPs (what OpenBGPD's `bgpctl show sets` counts).
pub fn v4_prefixes(vrps: &VrpSet) -> usize {
    let mut p: Vec<IpNet> = vrps
        .iter()
        .filter(|v| matches!(v.prefix, IpNet::V4(_)))
        .map(|v| v.prefix)
        .collect();
    p.sort_unstable();
    p.dedup();
    p.len()
}

/// Prefixes of `table` that are not RPKI-invalid against `vrps` (what each receiver holds).
pub fn count_ok(table: &Table, vrps: &VrpSet) -> usize {
    table
        .groups
        .iter()
        .map(|g| {
            g.prefixes
                .iter()
                .filter(|p| rpki_ok(vrps, **p, &g.key.path))
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Group, RouteKey};
    use fox_routeserver::wire::Origin;

    fn vrp(p: &str, max: u8, asn: Asn) -> Vrp {
        Vrp::new(p.parse().expect("test prefix"), max, asn).expect("test VRP")
    }

    fn table() -> Table {
        let key = |origin: Asn| RouteKey {
            origin: Origin::Igp,
            path: vec![3856, origin],
            med: None,
            communities: vec![],
            large: vec![],
            atomic: false,
            aggregator: None,
        };
        Table {
            groups: vec![
                Group {
                    key: key(13335),
                    prefixes: vec!["1.1.1.0/24".parse().expect("p")],
                },
                Group {
                    key: key(64),
                    prefixes: vec![
                        "20.0.0.0/16".parse().expect("p"),
                        "20.0.1.0/24".parse().expect("p"),
                        "30.0.0.0/16".parse().expect("p"),
                    ],
                },
            ],
            ..Table::default()
        }
    }

    #[test]
    fn invalidating_vrps_cover_only_not_found_prefixes_and_the_count_follows() {
        let t = table();
        let base: VrpSet = [vrp("1.1.1.0/24", 24, 13335)].into_iter().collect();
        assert_eq!(count_ok(&t, &base), 4);
        let extra = invalidating(&t, &base, 2);
        // 1.1.1.0/24 is valid, so only the other three are candidates; every 1st of 3 is taken.
        let got: Vec<String> = extra.iter().map(|v| v.prefix.to_string()).collect();
        assert_eq!(got, ["20.0.0.0/16", "20.0.1.0/24"]);
        assert!(extra.iter().all(|v| v.asn == INVALIDATING_ASN));
        let b = with_extra(&base, &extra);
        assert_eq!(b.len(), 3);
        // 20.0.0.0/16 exact VRP (max length 16) also covers 20.0.1.0/24: both invalid, once.
        assert_eq!(count_ok(&t, &b), 2);
        let same_prefix = with_extra(&b, &[vrp("1.1.1.0/24", 24, 64)]);
        assert_eq!(
            v4_prefixes(&same_prefix),
            3,
            "one prefix, two origins: counted once"
        );
    }

    #[test]
    fn the_json_written_reads_back_as_the_same_set() {
        let dir = std::env::temp_dir().join(format!("fox-bench-vrps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("v.json");
        let set: VrpSet = [vrp("1.1.1.0/24", 24, 13335), vrp("2001:db8::/32", 48, 0)]
            .into_iter()
            .collect();
        write_json(&set, &path).expect("write");
        let back = fox_routeserver::rpki::load_vrp_file(&path).expect("read back");
        assert_eq!(back.set, set);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
