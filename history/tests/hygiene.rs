//! Hygiene violations through the real write path: minutes add across batches with the
//! latest offence kept, hourly rollup sums and keeps the hour's last offence, retention.

use fox_history::{HistoryBatch, HistoryStore, HygieneRow, Retention};

const T0: i64 = 1_790_000_000 / 3600 * 3600; // an hour boundary in 2026

fn offence(at: i64) -> String {
    format!("{{\"src_mac\":\"02:00:00:00:00:01\",\"at\":{at}}}")
}

#[test]
fn hygiene_minutes_roll_up_and_expire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = HistoryStore::open(&dir.path().join("history.sqlite")).expect("open");
    // 40 days; member 65001 sends one STP sample (rate 2048) every 7th minute and an LLDP
    // sample every 30th; the unregistered MAC (asn 0) once an hour.
    let days = 40i64;
    let (mut stp_samples, mut stp_frames) = (0u64, 0u64);
    for h in 0..days * 24 {
        let mut b = HistoryBatch::new();
        for m in 0..60i64 {
            let ts = T0 + h * 3600 + m * 60;
            let k = h * 60 + m;
            if k % 7 == 0 {
                b.add_hygiene(
                    65001,
                    "spanning_tree",
                    ts,
                    1,
                    2048,
                    ts + 5,
                    &offence(ts + 5),
                );
                stp_samples += 1;
                stp_frames += 2048;
            }
            if m % 30 == 0 {
                b.add_hygiene(65001, "lldp", ts, 2, 4096, ts + 1, &offence(ts + 1));
            }
            if m == 10 {
                b.add_hygiene(0, "unregistered_mac", ts, 1, 512, ts, &offence(ts));
            }
            // Zero counts write nothing.
            b.add_hygiene(65002, "cdp", ts, 0, 0, ts, "");
        }
        s.write_batch(&b).expect("write");
    }
    // A minute written in two batches adds up; the later offence wins either way round.
    let t = T0 + 3 * 60;
    let mut b = HistoryBatch::new();
    b.add_hygiene(65001, "dhcp", t, 3, 300, t + 40, &offence(t + 40));
    s.write_batch(&b).expect("write");
    let mut b = HistoryBatch::new();
    b.add_hygiene(65001, "dhcp", t, 1, 100, t + 20, &offence(t + 20));
    s.write_batch(&b).expect("write");
    let rows = s.hygiene_minutes(Some(65001), t, t + 60).expect("read");
    let dhcp: Vec<&HygieneRow> = rows.iter().filter(|r| r.rule == "dhcp").collect();
    assert_eq!(dhcp.len(), 1);
    assert_eq!((dhcp[0].samples, dhcp[0].frames), (4, 400));
    assert_eq!(
        (dhcp[0].last_at, dhcp[0].last.as_str()),
        (t + 40, offence(t + 40).as_str())
    );
    assert!(s
        .hygiene_minutes(Some(65002), 0, i64::MAX)
        .expect("read")
        .is_empty());

    let end = T0 + days * 86_400;
    let now = end + 1234;
    let r = Retention::default();
    s.rollup(now, &r).expect("rollup");
    // Minutes older than 35 days are gone; hours sum every minute written.
    let cut = now - 35 * 86_400;
    assert!(s.hygiene_minutes(None, 0, cut).expect("m").is_empty());
    // Readers learn where minute data starts.
    assert_eq!(s.minutes_from().expect("meta"), Some(cut));
    assert!(!s.hygiene_minutes(None, cut, end).expect("m").is_empty());
    let hours = s.hygiene_hours(Some(65001), 0, i64::MAX).expect("h");
    let stp: Vec<&HygieneRow> = hours.iter().filter(|h| h.rule == "spanning_tree").collect();
    assert_eq!(stp.iter().map(|h| h.samples).sum::<u64>(), stp_samples);
    assert_eq!(stp.iter().map(|h| h.frames).sum::<u64>(), stp_frames);
    let lldp: Vec<&HygieneRow> = hours.iter().filter(|h| h.rule == "lldp").collect();
    assert_eq!(lldp.len() as i64, days * 24);
    assert!(lldp.iter().all(|h| h.samples == 4 && h.frames == 8192));
    // The hour's last offence is that of its last offending minute (minute 30, + 1 s).
    assert!(lldp
        .iter()
        .all(|h| h.last_at == h.ts + 30 * 60 + 1 && h.last == offence(h.ts + 30 * 60 + 1)));
    // Each retained hour equals its minutes.
    for h in stp.iter().filter(|h| h.ts >= cut + 3600) {
        let m = s
            .hygiene_minutes(Some(65001), h.ts, h.ts + 3600)
            .expect("m");
        let m: Vec<&HygieneRow> = m.iter().filter(|x| x.rule == "spanning_tree").collect();
        assert_eq!(h.samples, m.iter().map(|x| x.samples).sum::<u64>());
        assert_eq!(h.last_at, m.iter().map(|x| x.last_at).max().unwrap_or(0));
    }
    let unreg = s.hygiene_hours(Some(0), 0, i64::MAX).expect("h");
    assert_eq!(unreg.len() as i64, days * 24);
    assert_eq!(unreg.iter().map(|h| h.frames).sum::<u64>(), 512 * 24 * 40);

    // Idempotent: a second run rewrites the same rows.
    let before = s.hygiene_hours(None, 0, i64::MAX).expect("h");
    s.rollup(now, &r).expect("rollup");
    assert_eq!(s.hygiene_hours(None, 0, i64::MAX).expect("h"), before);

    // After the hourly retention everything is gone.
    s.rollup(now + 401 * 86_400, &r).expect("rollup");
    assert!(s.hygiene_hours(None, 0, i64::MAX).expect("h").is_empty());
    assert!(s.hygiene_minutes(None, 0, i64::MAX).expect("m").is_empty());
}
