//! A synthetic October 2026 (Asia/Taipei) written through the history store's real write
//! path, with known events; the report's figures must equal the hand-computed values.

mod common;
use common::{at, layout, session, RTT_BAD, RTT_OK};

use fox_history::{AlertEvent, HistoryBatch, HistoryStore};
use fox_report::model::{FaultKind, Status, Targets};
use fox_report::{build, Options, Period, Report};

const MINUTES: i64 = 31 * 1440;

/// Writes the month, one batch (transaction) per day.
fn write_month(store: &mut HistoryStore, p: &Period) {
    let tn_down = (at(p, 10, 3, 0), at(p, 10, 3, 50));
    let bad_day = (at(p, 20, 0, 0), at(p, 21, 0, 0));
    let mut first = HistoryBatch::new();
    for asn in [65001, 65002, 65003] {
        for rs in ["rs1", "rs2"] {
            first.session_event(session(p.from() - 86_400, rs, asn, true, "established"));
        }
    }
    store.write_batch(&first).expect("write");
    for day in 0..31 {
        let mut b = HistoryBatch::new();
        for i in 0..1440 {
            let ts = p.from() + (day * 1440 + i) * 60;
            let tn = if (tn_down.0..tn_down.1).contains(&ts) {
                None
            } else {
                Some(RTT_OK)
            };
            let tc = if (bad_day.0..bad_day.1).contains(&ts) {
                RTT_BAD
            } else {
                RTT_OK
            };
            b.add_probe_result("hc-tc", ts + 5, Some(tc));
            b.add_probe_result("hc-tn", ts + 5, tn);
            b.add_probe_result("tc-hc", ts + 5, Some(RTT_OK));
            b.add_probe_result("hc-TANet", ts + 5, Some(RTT_OK));
            // GSN sends 600 kB a minute to TANet, ten times that on day 5.
            let bytes = if day == 4 { 6_000_000 } else { 600_000 };
            b.add_traffic(65001, 4, ts, 0, bytes, 0, bytes / 1000);
            b.add_traffic(65002, 4, ts, bytes, 0, bytes / 1000, 0);
            b.add_pair(65001, 65002, ts, bytes, bytes / 1000);
        }
        if day == 14 {
            for rs in ["rs1", "rs2"] {
                b.session_event(session(
                    at(p, 15, 10, 0),
                    rs,
                    65002,
                    false,
                    "Hold Timer Expired",
                ));
                b.session_event(session(at(p, 15, 12, 0), rs, 65002, true, "established"));
            }
        }
        if day == 9 {
            b.alert_raised(AlertEvent {
                id: "a1".into(),
                raised: at(p, 10, 3, 1),
                resolved: None,
                severity: "critical".into(),
                cause: "fabric link hc-tn down".into(),
                symptoms: "probe hc-tn down".into(),
            });
            b.alert_resolved("a1", at(p, 10, 3, 52));
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

#[test]
fn synthetic_month_figures_equal_hand_computed_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = HistoryStore::open(&dir.path().join("history.sqlite")).expect("open");
    let p = Period::parse("2026-10", "Asia/Taipei").expect("period");
    write_month(&mut store, &p);
    let r = report(&store, &p, None);
    assert_eq!(r.minutes as i64, MINUTES);

    // Availability: Tainan unreachable 50 minutes, so is the service; TANet down 2 hours.
    let site = |id: &str| {
        &r.sites
            .iter()
            .find(|s| s.site == id)
            .expect("site")
            .availability
    };
    let tn = site("tn");
    assert_eq!(
        (
            tn.measured_minutes,
            tn.unavailable_minutes,
            tn.unmeasured_minutes
        ),
        (44_640, 50, 0)
    );
    assert_eq!(tn.percent, Some(44_590.0 / 44_640.0 * 100.0));
    assert_eq!(
        tn.status,
        Status::Missed,
        "99.888 % is under the 99.9 % floor"
    );
    for id in ["hc", "tc"] {
        assert_eq!(site(id).unavailable_minutes, 0);
        assert_eq!(site(id).percent, Some(100.0));
        assert_eq!(site(id).status, Status::Met);
    }
    assert_eq!(r.service.unavailable_minutes, 50);
    assert_eq!(r.service.percent, tn.percent);
    assert_eq!(r.service.status, Status::Missed);
    let port = |n: &str| &r.members.iter().find(|m| m.name == n).expect("member").port;
    assert_eq!(port("TANet").unavailable_minutes, 120);
    assert_eq!(port("TANet").percent, Some(44_520.0 / 44_640.0 * 100.0));
    assert_eq!(port("TANet").status, Status::Missed);
    assert_eq!(port("GSN").percent, Some(100.0));
    assert_eq!(port("GSN").status, Status::Met);

    // RTT: hc-tc over target for day 20 only.
    let path = |n: &str| r.paths.iter().find(|x| x.probe == n).expect("path");
    let tc = path("hc-tc");
    assert_eq!(tc.rtt.samples, 44_640);
    assert_eq!(tc.rtt.median_ms, Some(4.159));
    assert_eq!(
        tc.rtt.p95_ms,
        Some(4.159),
        "1440 of 44640 samples (3.2 %) are slow"
    );
    assert_eq!(tc.rtt.p99_ms, Some(14.975));
    assert_eq!(tc.rtt.over_target_share, Some(1440.0 / 44_640.0));
    assert_eq!(tc.status, Status::Met);
    for d in &tc.daily {
        let (want, p95) = if d.day == 20 {
            (Status::Missed, 14.975)
        } else {
            (Status::Met, 4.159)
        };
        assert_eq!((d.status, d.rtt.p95_ms), (want, Some(p95)), "day {}", d.day);
        assert_eq!(d.rtt.samples, 1440);
    }
    let tnp = path("hc-tn");
    assert_eq!((tnp.loss.sent, tnp.loss.lost), (44_640, 50));
    assert_eq!(tnp.loss.percent, Some(50.0 / 44_640.0 * 100.0));
    assert_eq!(tnp.rtt.samples, 44_590);
    assert_eq!(tnp.rtt.over_target_share, Some(0.0));
    let tanet = r.members.iter().find(|m| m.name == "TANet").expect("TANet");
    assert_eq!(tanet.rtt.as_ref().map(|x| x.median_ms), Some(Some(4.159)));

    // Faults: exactly the two outages, with causes and members.
    assert_eq!(r.faults.len(), 2, "{:#?}", r.faults);
    let f = &r.faults[0];
    assert_eq!(f.what, FaultKind::Site { site: "tn".into() });
    assert_eq!(
        (f.start, f.end),
        (at(&p, 10, 3, 0), Some(at(&p, 10, 3, 50)))
    );
    assert_eq!(f.start_local, "2026-10-10 03:00");
    assert_eq!(f.duration_minutes, 50);
    assert_eq!(f.cause, "fabric link hc-tn down");
    assert_eq!(f.members, vec!["ASNet".to_string()]);
    let f = &r.faults[1];
    assert_eq!(
        f.what,
        FaultKind::MemberPort {
            member: "TANet".into()
        }
    );
    assert_eq!(
        (f.start, f.end),
        (at(&p, 15, 10, 0), Some(at(&p, 15, 12, 0)))
    );
    assert_eq!(f.end_local.as_deref(), Some("2026-10-15 12:00"));
    assert_eq!(f.duration_minutes, 120);
    assert_eq!(
        f.cause,
        "every route server session down: Hold Timer Expired"
    );

    // Traffic: 600 kB/min = 80 kbit/s per 5-minute slot; day 5 (3.2 % of slots) is ten times that.
    let gsn = r.members.iter().find(|m| m.name == "GSN").expect("GSN");
    assert_eq!(
        gsn.traffic.bytes_out,
        600_000 * 30 * 1440 + 6_000_000 * 1440
    );
    assert_eq!(gsn.traffic.p95_out_bps, 80_000.0);
    assert_eq!(gsn.traffic.peak_out_bps, 800_000.0);
    assert_eq!(gsn.traffic.daily[4], [0, 6_000_000 * 1440]);
    assert_eq!(tanet.traffic.bytes_in, gsn.traffic.bytes_out);
    assert_eq!(r.top_pairs.len(), 1);
    assert_eq!(
        (r.top_pairs[0].from.as_str(), r.top_pairs[0].to.as_str()),
        ("GSN", "TANet")
    );
    assert_eq!(r.top_pairs[0].bytes, gsn.traffic.bytes_out);
    assert_eq!(r.route_servers.sessions, 6);
    assert_eq!(r.route_servers.session_downs, 2);

    // A member's report holds only its own figures.
    let own = report(&store, &p, Some("TANet"));
    assert_eq!(own.members.len(), 1);
    assert_eq!(own.faults.len(), 1);
    assert!(own.paths.iter().all(|x| x.probe == "hc-TANet"));

    // JSON carries the same numbers; CSV has the service line.
    let json: serde_json::Value = serde_json::to_value(&r).expect("json");
    assert_eq!(json["service"]["unavailable_minutes"], 50);
    assert_eq!(json["faults"][1]["duration_minutes"], 120);
    let csv = fox_report::to_csv(&r);
    assert!(csv.contains("site,tn,unavailable_minutes,50,,"), "{csv}");
    assert!(csv.contains("member_port,TANet,availability_percent,"));
    let html = fox_report::to_html(&r).expect("html");
    assert!(html.contains("<svg") && html.contains("fabric link hc-tn down"));
}

/// Pixels of `png` whose channels differ by 60 or more (the charts' line colours; the
/// tables are black on white), counted in rows `rows`.
fn coloured_pixels(png_bytes: &[u8], rows: std::ops::Range<u32>) -> (u64, u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "colour PNG expected, got {:?}",
        info.color_type
    );
    let mut n = 0;
    for y in rows.start..rows.end.min(info.height) {
        for x in 0..info.width {
            let i = (y as usize * info.line_size) + x as usize * channels;
            let px = &buf[i..i + 3];
            let (lo, hi) = (
                px.iter().min().copied().unwrap_or(0),
                px.iter().max().copied().unwrap_or(0),
            );
            if hi - lo >= 60 {
                n += 1;
            }
        }
    }
    (n, info.width, info.height)
}

/// Screenshots `html` in headless Chromium (bounded to 60 s); `None` if Chromium is absent.
fn screenshot(dir: &std::path::Path, name: &str, html: &str) -> Option<Vec<u8>> {
    let bin = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let page = dir.join(format!("{name}.html"));
    let shot = dir.join(format!("{name}.png"));
    std::fs::write(&page, html).expect("write page");
    let mut child = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join(format!("{name}-profile")).display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1000,1100")
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some(std::fs::read(&shot).expect("screenshot written"))
}

#[test]
fn html_report_renders_charts_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = HistoryStore::open(&dir.path().join("history.sqlite")).expect("open");
    let p = Period::parse("2026-10", "Asia/Taipei").expect("period");
    write_month(&mut store, &p);
    let html = fox_report::to_html(&report(&store, &p, None)).expect("html");
    let Some(png_bytes) = screenshot(dir.path(), "report", &html) else {
        eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    if let Ok(keep) = std::env::var("FOX_REPORT_SCREENSHOT") {
        let _ = std::fs::write(keep, &png_bytes);
    }
    // The two charts come first, below the title: about rows 90 to 760.
    let (charts, w, h) = coloured_pixels(&png_bytes, 60..780);
    assert_eq!((w, h), (1000, 1100));
    assert!(
        charts > 2_000,
        "only {charts} coloured pixels in the chart area"
    );
    let (tables, _, _) = coloured_pixels(&png_bytes, 800..1100);
    assert!(
        tables < charts / 20,
        "{tables} coloured pixels below the charts"
    );
    // Control: the same page without its charts has no coloured pixels there.
    let start = html.find("<div id=\"charts\">").expect("charts div");
    let end =
        start + html[start..].find("</div></div>").expect("charts end") + "</div></div>".len();
    let bare = format!("{}{}", &html[..start], &html[end..]);
    let png_bare = screenshot(dir.path(), "bare", &bare).expect("chromium");
    let (none, _, _) = coloured_pixels(&png_bare, 60..780);
    assert!(none < 50, "{none} coloured pixels without charts");
}
