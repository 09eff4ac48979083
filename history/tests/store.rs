//! The store through its real write path: write, read back, roll up, expire, idempotence,
//! unwritable directories.

use std::collections::BTreeMap;

use fox_history::{
    AlertEvent, HistoryBatch, HistoryError, HistoryStore, PrefixCounts, PrefixRow, Retention,
    SessionEvent,
};

const T0: i64 = 1_790_000_000 / 3600 * 3600; // an hour boundary in 2026

fn store() -> (tempfile::TempDir, HistoryStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = HistoryStore::open(&dir.path().join("sub/history.sqlite")).expect("open");
    (dir, s)
}

#[test]
fn batch_reads_back_and_minutes_add_across_batches() {
    let (_d, mut s) = store();
    let mut b = HistoryBatch::new();
    b.add_traffic(65001, 4, T0 + 5, 1000, 2000, 10, 20);
    b.add_traffic(65001, 4, T0 + 50, 1, 2, 1, 1); // same minute
    b.add_traffic(65001, 6, T0 + 61, 7, 0, 1, 0);
    b.add_traffic(65002, 4, T0, 0, 0, 0, 0); // nothing: no row
    b.add_pair(65001, 65002, T0 + 299, 500, 5);
    b.add_pair(65001, 65002, T0 + 300, 100, 1);
    for (i, rtt) in [1000u32, 3000, 2000, 5000].into_iter().enumerate() {
        b.add_probe_result("hsinchu-taichung", T0 + i as i64, Some(rtt));
    }
    b.add_probe_result("hsinchu-taichung", T0 + 10, None);
    b.session_event(SessionEvent {
        ts: T0 + 7,
        rs: "rs1".into(),
        asn: 65001,
        neighbor: "192.0.2.1".into(),
        up: false,
        reason: "NOTIFICATION sent: Cease/Administrative Shutdown".into(),
    });
    b.alert_raised(AlertEvent {
        id: "a1".into(),
        raised: T0 + 8,
        resolved: None,
        severity: "critical".into(),
        cause: "site tainan unreachable".into(),
        symptoms: "probe loss 100%".into(),
    });
    let mut reasons = BTreeMap::new();
    reasons.insert(9, 3u64);
    reasons.insert(14, 1u64);
    b.prefix_counts(PrefixRow {
        ts: T0 + 1800,
        rs: "rs1".into(),
        asn: 65001,
        counts: PrefixCounts {
            received: 10,
            accepted: 6,
            filtered: 4,
            rpki_valid: 5,
            rpki_invalid: 3,
            rpki_not_found: 2,
            filtered_by_reason: reasons.clone(),
        },
    });
    assert_eq!(b.samples(), 3 + 2 + 5 + 1 + 1 + 1);
    s.write_batch(&b).expect("write");

    let t = s.traffic_minutes(Some(65001), T0, T0 + 3600).expect("read");
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].ts, t[0].ipv, t[0].bytes_in, t[0].bytes_out),
        (T0, 4, 1001, 2002)
    );
    assert_eq!((t[0].packets_in, t[0].packets_out), (11, 21));
    assert_eq!((t[1].ts, t[1].ipv, t[1].bytes_in), (T0 + 60, 6, 7));
    assert!(s
        .traffic_minutes(Some(65002), T0, T0 + 3600)
        .expect("read")
        .is_empty());

    // A second batch for the same minute adds up.
    let mut b2 = HistoryBatch::new();
    b2.add_traffic(65001, 4, T0 + 30, 9, 8, 1, 1);
    b2.alert_resolved("a1", T0 + 900);
    s.write_batch(&b2).expect("write");
    let t = s.traffic_minutes(None, T0, T0 + 60).expect("read");
    assert_eq!((t.len(), t[0].bytes_in, t[0].bytes_out), (1, 1010, 2010));

    let m = s.matrix_5min(Some(65002), T0, T0 + 3600).expect("matrix");
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].ts, m[0].bytes, m[1].ts, m[1].bytes),
        (T0, 500, T0 + 300, 100)
    );
    assert!(s
        .matrix_5min(Some(65003), T0, T0 + 3600)
        .expect("matrix")
        .is_empty());

    let p = s
        .probe_minutes(Some("hsinchu-taichung"), T0, T0 + 60)
        .expect("probe");
    assert_eq!(p.len(), 1);
    let p = &p[0];
    assert_eq!((p.sent, p.lost), (5, 1));
    assert_eq!((p.rtt_min_us, p.rtt_max_us), (Some(1000), Some(5000)));
    // Nearest rank over 1000, 2000, 3000, 5000: median is the 2nd, p95 the 4th.
    assert_eq!((p.rtt_median_us, p.rtt_p95_us), (Some(2000), Some(5000)));
    assert_eq!(
        (p.minutes_with_data, p.minutes_up, p.histogram.count()),
        (1, 1, 4)
    );
    assert_eq!(
        s.probe_names().expect("names"),
        vec!["hsinchu-taichung".to_string()]
    );

    let ev = s
        .session_events(Some(65001), T0, T0 + 60)
        .expect("sessions");
    assert_eq!(ev.len(), 1);
    assert!(!ev[0].up && ev[0].reason.contains("Administrative Shutdown"));
    assert!(s
        .session_events(None, T0 + 8, T0 + 60)
        .expect("sessions")
        .is_empty());

    let a = s.alert_events(T0, T0 + 3600).expect("alerts");
    assert_eq!((a.len(), a[0].resolved), (1, Some(T0 + 900)));
    assert!(s
        .alert_events(T0 + 901, T0 + 3600)
        .expect("alerts")
        .is_empty());

    let pr = s
        .prefix_hours(Some(65001), T0, T0 + 3600)
        .expect("prefixes");
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0].ts, T0);
    assert_eq!(pr[0].counts.filtered_by_reason, reasons);
    assert_eq!((pr[0].counts.accepted, pr[0].counts.rpki_invalid), (6, 3));
}

/// Writes `days` days of minutes ending at `end` for two members, a pair and a probe.
fn write_days(s: &mut HistoryStore, end: i64, days: i64) -> (u64, u64) {
    let (mut bytes, mut sent) = (0u64, 0u64);
    let start = end - days * 86_400;
    let mut ts = start;
    while ts < end {
        let mut b = HistoryBatch::new();
        let hour_end = (ts + 3600).min(end);
        while ts < hour_end {
            let v = (ts / 60 % 97) as u64 + 1;
            b.add_traffic(65001, 4, ts, v * 1000, v, v, 1);
            b.add_traffic(65002, 6, ts, v, v * 3, 1, 1);
            bytes += v * 1000;
            if ts % 300 == 0 {
                b.add_pair(65001, 65002, ts, v * 10, v);
            }
            b.add_probe_result("p", ts, Some(1000 + (v as u32) * 10));
            b.add_probe_result(
                "p",
                ts + 30,
                if v.is_multiple_of(10) {
                    None
                } else {
                    Some(900)
                },
            );
            sent += 2;
            ts += 60;
        }
        s.write_batch(&b).expect("write");
    }
    (bytes, sent)
}

fn dump(s: &HistoryStore, from: i64, to: i64) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        s.traffic_minutes(None, from, to).expect("t"),
        s.traffic_hours(None, from, to).expect("t"),
        s.matrix_5min(None, from, to).expect("m"),
        s.matrix_hours(None, from, to).expect("m"),
        s.probe_minutes(None, from, to).expect("p"),
        s.probe_hours(None, from, to).expect("p"),
        s.rolled_until().expect("r"),
    )
}

#[test]
fn rollup_sums_expires_and_is_idempotent() {
    let (_d, mut s) = store();
    let now = T0 + 40 * 86_400 + 1234;
    let end = T0 + 40 * 86_400;
    let (bytes, sent) = write_days(&mut s, end, 40);
    let r = Retention::default();
    let stats = s.rollup(now, &r).expect("rollup");
    assert_eq!(stats.end, end);
    assert!(stats.deleted > 0);
    // Minutes older than 35 days are gone, newer ones stay.
    let cut = now - 35 * 86_400;
    assert!(s.traffic_minutes(None, 0, cut).expect("t").is_empty());
    assert!(s.probe_minutes(None, 0, cut).expect("p").is_empty());
    assert!(s.matrix_5min(None, 0, cut).expect("m").is_empty());
    let first = s.traffic_minutes(Some(65001), 0, i64::MAX).expect("t");
    assert_eq!(first.first().map(|r| r.ts), Some((cut + 59) / 60 * 60));
    // Hourly totals equal the sum of every minute written, including the deleted ones.
    let hours = s.traffic_hours(Some(65001), 0, i64::MAX).expect("h");
    assert_eq!(hours.len(), 40 * 24);
    assert_eq!(hours.iter().map(|h| h.bytes_in).sum::<u64>(), bytes);
    // Each retained hour equals the sum of its minutes, and its peak is the largest minute.
    for h in hours.iter().filter(|h| h.ts >= cut + 3600) {
        let m = s
            .traffic_minutes(Some(65001), h.ts, h.ts + 3600)
            .expect("m");
        assert_eq!(m.len(), 60);
        assert_eq!(h.bytes_in, m.iter().map(|x| x.bytes_in).sum::<u64>());
        assert_eq!(h.packets_out, m.iter().map(|x| x.packets_out).sum::<u64>());
        assert_eq!(
            h.peak_bytes_in,
            m.iter().map(|x| x.bytes_in).max().unwrap_or(0)
        );
    }
    let ph = s.probe_hours(Some("p"), 0, i64::MAX).expect("ph");
    assert_eq!(ph.iter().map(|p| p.sent).sum::<u64>(), sent);
    assert!(ph
        .iter()
        .all(|p| p.minutes_with_data == 60 && p.minutes_up == 60));
    assert!(ph.iter().all(|p| p.histogram.count() == p.sent - p.lost));
    assert!(ph.iter().all(|p| p.rtt_min_us == Some(900)));
    let mh = s.matrix_hours(None, 0, i64::MAX).expect("mh");
    assert!(mh.iter().all(|m| m.src_asn == 65001 && m.dst_asn == 65002));
    assert_eq!(mh.len(), 40 * 24);
    let top = s.top_pairs(0, i64::MAX, 5).expect("top");
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].bytes, mh.iter().map(|m| m.bytes).sum::<u64>());

    // Running it again changes nothing.
    let before = dump(&s, 0, i64::MAX);
    let again = s.rollup(now, &r).expect("rollup");
    assert_eq!(again.deleted, 0);
    assert_eq!(dump(&s, 0, i64::MAX), before);

    // 400 days later (plus the 35 of minutes) everything is gone.
    let later = now + 401 * 86_400;
    s.rollup(later, &r).expect("rollup");
    assert!(s.traffic_hours(None, 0, i64::MAX).expect("h").is_empty());
    assert!(s.traffic_minutes(None, 0, i64::MAX).expect("m").is_empty());
    assert!(s.probe_hours(None, 0, i64::MAX).expect("p").is_empty());
}

#[test]
fn late_minutes_of_the_last_rolled_hour_are_rolled_again() {
    let (_d, mut s) = store();
    let mut b = HistoryBatch::new();
    b.add_traffic(65001, 4, T0 + 3540, 100, 0, 1, 0);
    s.write_batch(&b).expect("write");
    let r = Retention::default();
    s.rollup(T0 + 3600 + 400, &r).expect("rollup");
    // A batch that was late adds to the same hour; the next run includes it.
    let mut b = HistoryBatch::new();
    b.add_traffic(65001, 4, T0 + 3559, 50, 0, 1, 0);
    s.write_batch(&b).expect("write");
    s.rollup(T0 + 3600 + 460, &r).expect("rollup");
    let h = s.traffic_hours(Some(65001), T0, T0 + 3600).expect("h");
    assert_eq!((h.len(), h[0].bytes_in, h[0].peak_bytes_in), (1, 150, 150));
}

/// The assertions, run in this process or (as root, who ignores permissions) in a child
/// process of this test binary that runs as `nobody`.
fn assert_unwritable(ro: &std::path::Path) {
    let err = HistoryStore::open(&ro.join("history.sqlite")).expect_err("must fail");
    assert!(matches!(err, HistoryError::Directory { .. }), "{err:?}");
    assert!(err.to_string().contains("not writable"), "{err}");
    let err = HistoryStore::open(&ro.join("sub/history.sqlite")).expect_err("must fail");
    assert!(err.to_string().contains("cannot create"), "{err}");
}

#[test]
fn unwritable_directory_is_a_clear_error() {
    if let Ok(dir) = std::env::var("FOX_HISTORY_RO_DIR") {
        assert_unwritable(std::path::Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    for (p, mode) in [(dir.path(), 0o755), (ro.as_path(), 0o555)] {
        let mut perm = std::fs::metadata(p).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
        std::fs::set_permissions(p, perm).expect("chmod");
    }
    if std::fs::write(ro.join("x"), b"").is_err() {
        assert_unwritable(&ro);
        return;
    }
    // Root: the same test in a child running as nobody.
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(exe)
        .args([
            "--exact",
            "unwritable_directory_is_a_clear_error",
            "--nocapture",
        ])
        .env("FOX_HISTORY_RO_DIR", &ro)
        .output()
        .expect("setpriv (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}
