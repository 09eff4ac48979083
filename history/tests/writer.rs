//! The background writer: batches on flush, the running probe minute held back until it
//! ends (or shutdown), errors counted and reported without panics.

use std::time::Duration;

use fox_history::{unix_now, HistoryMetrics, HistoryStore, HistoryWriter, WriterOptions};

fn options(path: std::path::PathBuf) -> WriterOptions {
    let mut o = WriterOptions::new(path);
    o.batch_interval = Duration::from_secs(3600);
    o
}

#[test]
fn running_minute_waits_for_its_end_or_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    let metrics = HistoryMetrics::unregistered().expect("metrics");
    let w = HistoryWriter::start(options(path.clone()), metrics.clone()).expect("start");
    let h = w.handle();
    let now = unix_now();
    let past = now / 60 * 60 - 60;
    h.record(|b| {
        b.add_probe_result("p", past, Some(1500));
        b.add_probe_result("p", past + 1, None);
        b.add_traffic(65001, 4, now, 10, 20, 1, 2);
    });
    assert!(h.flush(Duration::from_secs(10)));
    let s = HistoryStore::open_read_only(&path).expect("open");
    let mut p = s.probe_minutes(Some("p"), 0, i64::MAX).expect("probe");
    // Unless the minute turned between `now` and the flush, the current one is not written.
    let turned = unix_now() / 60 != now / 60;
    if !turned {
        h.record(|b| b.add_probe_result("p", now, Some(900)));
        assert!(h.flush(Duration::from_secs(10)));
        p = s.probe_minutes(Some("p"), 0, i64::MAX).expect("probe");
        assert_eq!(p.len(), 1, "{p:?}");
    }
    assert_eq!((p[0].ts, p[0].sent, p[0].lost), (past, 2, 1));
    assert_eq!(s.traffic_minutes(None, 0, i64::MAX).expect("t").len(), 1);
    // The second flush had only the running minute: nothing to write, no batch.
    assert_eq!(h.status().batches, 1);
    w.shutdown();
    let p = s.probe_minutes(Some("p"), 0, i64::MAX).expect("probe");
    if !turned {
        assert_eq!(p.len(), 2, "shutdown writes the running minute: {p:?}");
        assert_eq!(p[1].rtt_min_us, Some(900));
    }
    assert_eq!(metrics.write_errors.get(), 0);
    assert!(metrics.samples.get() >= 3);
}

#[test]
fn unusable_path_is_counted_and_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("file");
    let path = file.join("h.sqlite"); // its parent is a regular file, even root cannot
    let metrics = HistoryMetrics::unregistered().expect("metrics");
    let w = HistoryWriter::start(options(path), metrics.clone()).expect("start");
    let h = w.handle();
    h.record(|b| b.add_traffic(65001, 4, 1_790_000_000, 1, 1, 1, 1));
    assert!(h.flush(Duration::from_secs(10)));
    h.record(|b| b.add_traffic(65001, 4, 1_790_000_000, 1, 1, 1, 1));
    assert!(h.flush(Duration::from_secs(10)));
    let st = h.status();
    assert_eq!((st.batches, st.errors), (0, 2));
    let msg = st.last_error.unwrap_or_default();
    assert!(
        msg.contains("not-a-dir") && msg.contains("cannot create"),
        "{msg}"
    );
    assert_eq!(metrics.write_errors.get(), 2);
    assert_eq!(metrics.dropped.get(), 2);
    w.shutdown();
}
