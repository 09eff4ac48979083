//! Hygiene violations in the report, and a month whose minute data the real retention job
//! deleted: the report is then built from the hourly rollups and its figures equal the
//! hand-computed ones (and those of the same month built from minute data, where the
//! precision is kept).

mod common;
use common::{at, layout, session, RTT_BAD, RTT_OK};

use fox_history::{HistoryBatch, HistoryStore, Retention};
use fox_report::model::{FaultKind, Report, Status, Targets};
use fox_report::{build, to_csv, to_html, Options, Period};

const MINUTES: u32 = 31 * 1440;

fn offence(at: i64) -> String {
    format!("{{\"at\":{at}}}")
}

/// October 2026 in Taipei: Tainan unreachable 10 Oct 03:40-04:30 (across an hour boundary),
/// both TANet sessions down 15 Oct 10:00-12:00, `hc-tc` over target on 20 Oct; GSN sends
/// 600 kB a minute (ten times that on day 5); ASNet sends 6 MB over IPv4 in minute 0 and
/// 3 MB over IPv6 in minute 30 of every hour; hygiene violations by GSN (STP at minute 7 of
/// every hour of days 1-10), TANet (LLDP 12:00-12:09 on day 15) and an unregistered MAC.
fn write_month(store: &mut HistoryStore, p: &Period) {
    let tn_down = (at(p, 10, 3, 40), at(p, 10, 4, 30));
    let bad_day = (at(p, 20, 0, 0), at(p, 21, 0, 0));
    let mut first = HistoryBatch::new();
    for asn in [65001, 65002, 65003] {
        for rs in ["rs1", "rs2"] {
            first.session_event(session(p.from() - 86_400, rs, asn, true, "established"));
        }
    }
    for rs in ["rs1", "rs2"] {
        first.session_event(session(
            at(p, 15, 10, 0),
            rs,
            65002,
            false,
            "Hold Timer Expired",
        ));
        first.session_event(session(at(p, 15, 12, 0), rs, 65002, true, "established"));
    }
    // Outside the month: not counted.
    first.add_hygiene(
        0,
        "unregistered_mac",
        p.from() - 60,
        9,
        9,
        p.from() - 60,
        "x",
    );
    first.add_hygiene(0, "unregistered_mac", p.to(), 9, 9, p.to(), "x");
    store.write_batch(&first).expect("write");
    for day in 0..31i64 {
        let mut b = HistoryBatch::new();
        for i in 0..1440i64 {
            let ts = p.from() + (day * 1440 + i) * 60;
            let tn = (!(tn_down.0..tn_down.1).contains(&ts)).then_some(RTT_OK);
            let tc = if (bad_day.0..bad_day.1).contains(&ts) {
                RTT_BAD
            } else {
                RTT_OK
            };
            b.add_probe_result("hc-tc", ts + 5, Some(tc));
            b.add_probe_result("hc-tn", ts + 5, tn);
            b.add_probe_result("tc-hc", ts + 5, Some(RTT_OK));
            b.add_probe_result("hc-TANet", ts + 5, Some(RTT_OK));
            let gsn = if day == 4 { 6_000_000 } else { 600_000 };
            b.add_traffic(65001, 4, ts, 0, gsn, 0, 1);
            match i % 60 {
                0 => b.add_traffic(65003, 4, ts, 0, 6_000_000, 0, 1),
                30 => b.add_traffic(65003, 6, ts, 0, 3_000_000, 0, 1),
                _ => {}
            }
            if day < 10 && i % 60 == 7 {
                b.add_hygiene(
                    65001,
                    "spanning_tree",
                    ts,
                    1,
                    4096,
                    ts + 30,
                    &offence(ts + 30),
                );
            }
            if day == 14 && (720..730).contains(&i) {
                b.add_hygiene(65002, "lldp", ts, 3, 3000, ts + 1, &offence(ts + 1));
            }
            if day == 30 && i == 1439 {
                b.add_hygiene(0, "unregistered_mac", ts, 1, 512, ts + 2, &offence(ts + 2));
            }
        }
        store.write_batch(&b).expect("write");
    }
}

fn report(store: &HistoryStore, p: &Period, member: Option<&str>) -> Report {
    let opts = Options {
        period: p.clone(),
        site: None,
        member: member.map(str::to_owned),
        targets: Targets::default(),
    };
    build(store, &layout(), &opts).expect("report")
}

type HygieneLine = (String, String, u64, u64, u32, String, String);

fn hygiene(r: &Report) -> Vec<HygieneLine> {
    r.hygiene
        .iter()
        .map(|h| {
            (
                h.member.clone(),
                h.rule.clone(),
                h.samples,
                h.frames,
                h.periods,
                h.first_local.clone(),
                h.last_local.clone(),
            )
        })
        .collect()
}

fn line(m: &str, rule: &str, s: u64, f: u64, n: u32, first: &str, last: &str) -> HygieneLine {
    (m.into(), rule.into(), s, f, n, first.into(), last.into())
}

/// Figures that must be the same whether built from minutes or from hours.
fn check_common(r: &Report, p: &Period) {
    let site = |id: &str| {
        &r.sites
            .iter()
            .find(|s| s.site == id)
            .expect("site")
            .availability
    };
    let tn = site("tn");
    assert_eq!(
        (tn.measured_minutes, tn.unavailable_minutes, tn.status),
        (MINUTES, 50, Status::Missed)
    );
    assert_eq!(
        (site("hc").unavailable_minutes, site("hc").status),
        (0, Status::Met)
    );
    assert_eq!(r.service.unavailable_minutes, 50);
    let member = |n: &str| r.members.iter().find(|m| m.name == n).expect("member");
    assert_eq!(member("TANet").port.unavailable_minutes, 120);
    assert_eq!(member("GSN").port.unavailable_minutes, 0);
    // The Tainan outage crosses 04:00 and stays one fault with its exact times.
    let f: Vec<(String, String, Option<String>, u32)> = r
        .faults
        .iter()
        .map(|f| {
            let what = match &f.what {
                FaultKind::Site { site } => format!("site {site}"),
                FaultKind::MemberPort { member } => format!("port {member}"),
                FaultKind::Alert { id } => format!("alert {id}"),
            };
            (
                what,
                f.start_local.clone(),
                f.end_local.clone(),
                f.duration_minutes,
            )
        })
        .collect();
    assert_eq!(
        f,
        vec![
            (
                "site tn".into(),
                "2026-10-10 03:40".into(),
                Some("2026-10-10 04:30".into()),
                50
            ),
            (
                "port TANet".into(),
                "2026-10-15 10:00".into(),
                Some("2026-10-15 12:00".into()),
                120
            ),
        ]
    );
    let path = |n: &str| r.paths.iter().find(|x| x.probe == n).expect("path");
    let tc = &path("hc-tc").rtt;
    assert_eq!(tc.samples, u64::from(MINUTES));
    assert_eq!(
        (tc.median_ms, tc.p95_ms, tc.p99_ms),
        (Some(4.159), Some(4.159), Some(14.975))
    );
    assert_eq!(tc.over_target_share, Some(1440.0 / f64::from(MINUTES)));
    assert_eq!(path("hc-tc").daily[19].status, Status::Missed);
    assert_eq!(path("hc-tc").daily[18].status, Status::Met);
    let loss = &path("hc-tn").loss;
    assert_eq!((loss.sent, loss.lost), (u64::from(MINUTES), 50));
    let gsn = &member("GSN").traffic;
    assert_eq!(
        gsn.bytes_out,
        600_000 * (u64::from(MINUTES) - 1440) + 6_000_000 * 1440
    );
    assert_eq!(gsn.daily[4][1], 6_000_000 * 1440);
    assert_eq!(gsn.p95_out_bps, 600_000.0 * 5.0 * 8.0 / 300.0);
    assert_eq!(gsn.peak_out_bps, 6_000_000.0 * 8.0 / 60.0);
    assert_eq!(member("ASNet").traffic.bytes_out, 744 * 9_000_000);
    assert_eq!(p.days(), 31);
}

#[test]
fn hygiene_section_and_month_from_hourly_rollups() {
    let p = Period::parse("2026-10", "Asia/Taipei").expect("period");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let mut store = HistoryStore::open(&path).expect("open");
    write_month(&mut store, &p);

    // From minute data.
    let r = report(&store, &p, None);
    assert_eq!(r.source.hourly_until, None);
    check_common(&r, &p);
    let asnet = &r
        .members
        .iter()
        .find(|m| m.name == "ASNet")
        .expect("m")
        .traffic;
    // One 5-minute slot an hour carries 6 MB, one 3 MB: 1,488 of 8,928 slots are non-zero,
    // the top 744 at 6 MB, so the 95th percentile (rank 8,482) is 6 MB / 300 s.
    assert_eq!(asnet.p95_out_bps, 6_000_000.0 * 8.0 / 300.0);
    assert_eq!(asnet.peak_out_bps, 6_000_000.0 * 8.0 / 60.0);
    assert_eq!(
        hygiene(&r),
        vec![
            line(
                "GSN",
                "spanning_tree",
                240,
                240 * 4096,
                240,
                "2026-10-01 00:07",
                "2026-10-10 23:07"
            ),
            line(
                "TANet",
                "lldp",
                30,
                30_000,
                10,
                "2026-10-15 12:00",
                "2026-10-15 12:09"
            ),
            line(
                "unregistered MAC",
                "unregistered_mac",
                1,
                512,
                1,
                "2026-10-31 23:59",
                "2026-10-31 23:59"
            ),
        ]
    );
    let tanet = report(&store, &p, Some("TANet"));
    assert_eq!(
        hygiene(&tanet),
        vec![line(
            "TANet",
            "lldp",
            30,
            30_000,
            10,
            "2026-10-15 12:00",
            "2026-10-15 12:09"
        )]
    );
    let csv = to_csv(&r);
    assert!(
        csv.contains("hygiene,GSN spanning_tree,samples,240,,\n"),
        "{csv}"
    );
    assert!(csv.contains("hygiene,GSN spanning_tree,frames,983040,,\n"));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["hygiene"][1]["rule"], "lldp");
    assert_eq!(json["hygiene"][1]["frames"], 30_000);
    let html = to_html(&r).expect("html");
    assert!(html.contains("Peering-LAN hygiene violations per member"));
    assert!(
        html.contains("<td>GSN (AS65001)</td><td>spanning_tree</td><td>240</td><td>983040</td>")
    );
    assert!(!html.contains("id=\"source\""));

    // The real retention job, 40 days after the month: minute data gone, hours kept.
    let now = p.to() + 40 * 86_400;
    store.rollup(now, &Retention::default()).expect("rollup");
    assert!(store
        .probe_minutes(None, p.from(), p.to())
        .expect("m")
        .is_empty());
    assert!(store
        .traffic_minutes(None, p.from(), p.to())
        .expect("m")
        .is_empty());
    assert!(store
        .hygiene_minutes(None, p.from(), p.to())
        .expect("m")
        .is_empty());
    drop(store);
    let ro = HistoryStore::open_read_only(&path).expect("open");
    let h = report(&ro, &p, None);
    assert_eq!(h.source.hourly_until, Some(p.to()));
    assert!(h
        .source
        .note
        .as_deref()
        .is_some_and(|n| n.starts_with("This month is built from hourly data")));
    check_common(&h, &p);
    // Hourly: every slot of an hour is the hour's average, 9 MB / 12; the peak adds the
    // IPv4 and IPv6 peak minutes of the hour (an upper bound: 6 + 3 MB in one minute).
    let asnet = &h
        .members
        .iter()
        .find(|m| m.name == "ASNet")
        .expect("m")
        .traffic;
    assert_eq!(asnet.p95_out_bps, 9_000_000.0 / 12.0 * 8.0 / 300.0);
    assert_eq!(asnet.peak_out_bps, 9_000_000.0 * 8.0 / 60.0);
    // Hygiene from hourly rows: same counts, periods are hours, first is the hour's start.
    assert_eq!(
        hygiene(&h),
        vec![
            line(
                "GSN",
                "spanning_tree",
                240,
                240 * 4096,
                240,
                "2026-10-01 00:00",
                "2026-10-10 23:07"
            ),
            line(
                "TANet",
                "lldp",
                30,
                30_000,
                1,
                "2026-10-15 12:00",
                "2026-10-15 12:09"
            ),
            line(
                "unregistered MAC",
                "unregistered_mac",
                1,
                512,
                1,
                "2026-10-31 23:00",
                "2026-10-31 23:59"
            ),
        ]
    );
    let html = to_html(&h).expect("html");
    assert!(html.contains("This month is built from hourly data"));
    assert!(to_csv(&h).contains("source,2026-10,note,\"This month is built from hourly data"));
}

#[test]
fn month_half_past_the_minute_retention_mixes_hours_and_minutes() {
    let p = Period::parse("2026-10", "Asia/Taipei").expect("period");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = HistoryStore::open(&dir.path().join("history.sqlite")).expect("open");
    write_month(&mut store, &p);
    // 50 days after the month began: minutes of its first 15 days are gone.
    let cut = p.from() + 15 * 86_400;
    store
        .rollup(cut + 35 * 86_400, &Retention::default())
        .expect("rollup");
    assert!(store
        .probe_minutes(None, p.from(), cut)
        .expect("m")
        .is_empty());
    assert!(!store
        .probe_minutes(None, cut, p.to())
        .expect("m")
        .is_empty());
    let r = report(&store, &p, None);
    assert_eq!(r.source.hourly_until, Some(cut));
    assert!(r.source.note.as_deref().is_some_and(
        |n| n.starts_with("The month up to 2026-10-16 00:00 is built from hourly data")
    ));
    // The Tainan outage (day 10) from hours, the bad RTT day (20) from minutes: all exact.
    check_common(&r, &p);
    // ASNet: 4,320 slots of the first 15 days hold the hourly average (750 kB); of the
    // remaining 4,608 slots 384 hold 6 MB and 384 hold 3 MB. Ranks 8,545-8,928 are 6 MB,
    // 8,161-8,544 are 3 MB, so the 95th percentile (rank 8,482) is 3 MB / 300 s; the peak is
    // the hourly upper bound of the first half (6 + 3 MB in one minute).
    let asnet = &r
        .members
        .iter()
        .find(|m| m.name == "ASNet")
        .expect("m")
        .traffic;
    assert_eq!(asnet.p95_out_bps, 3_000_000.0 * 8.0 / 300.0);
    assert_eq!(asnet.peak_out_bps, 9_000_000.0 * 8.0 / 60.0);
    assert_eq!(
        hygiene(&r),
        vec![
            line(
                "GSN",
                "spanning_tree",
                240,
                240 * 4096,
                240,
                "2026-10-01 00:00",
                "2026-10-10 23:07"
            ),
            line(
                "TANet",
                "lldp",
                30,
                30_000,
                1,
                "2026-10-15 12:00",
                "2026-10-15 12:09"
            ),
            line(
                "unregistered MAC",
                "unregistered_mac",
                1,
                512,
                1,
                "2026-10-31 23:59",
                "2026-10-31 23:59"
            ),
        ]
    );
}
