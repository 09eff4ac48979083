//! Peering-LAN hygiene violations per member and rule over the month.

use std::collections::BTreeMap;

use fox_history::HygieneRow;

use crate::layout::Layout;
use crate::model::HygieneReport;
use crate::period::Period;

/// Name shown for violations by MACs registered to no member (ASN 0 in the store).
pub const UNREGISTERED: &str = "unregistered MAC";

/// Samples, frames, periods, first period, last offence time and text of one member and rule.
type Acc<'a> = (u64, u64, u32, i64, i64, &'a str);

/// Sums `rows` (minute or hour rows, any mix) per member and rule, sorted by member and rule.
pub fn hygiene_figures(p: &Period, layout: &Layout, rows: &[HygieneRow]) -> Vec<HygieneReport> {
    let mut acc: BTreeMap<(u32, &str), Acc<'_>> = BTreeMap::new();
    for r in rows {
        if r.ts < p.from() || r.ts >= p.to() {
            continue;
        }
        let e = acc
            .entry((r.asn, r.rule.as_str()))
            .or_insert((0, 0, 0, i64::MAX, i64::MIN, ""));
        e.0 = e.0.saturating_add(r.samples);
        e.1 = e.1.saturating_add(r.frames);
        e.2 += 1;
        e.3 = e.3.min(r.ts);
        if r.last_at >= e.4 {
            e.4 = r.last_at;
            e.5 = r.last.as_str();
        }
    }
    let mut out: Vec<HygieneReport> = acc
        .into_iter()
        .map(
            |((asn, rule), (samples, frames, periods, first, last_at, last))| HygieneReport {
                member: if asn == 0 {
                    UNREGISTERED.to_owned()
                } else {
                    layout.name_of(asn)
                },
                asn,
                rule: rule.to_owned(),
                samples,
                frames,
                periods,
                first_local: p.local(first),
                last_local: p.local(last_at),
                last: last.to_owned(),
            },
        )
        .collect();
    out.sort_by(|a, b| (&a.member, &a.rule).cmp(&(&b.member, &b.rule)));
    out
}
