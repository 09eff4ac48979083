//! The RPKI manager with VRP files only: initial load, reload on change,
//! a broken or missing file keeps the previous data, union of files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fox_routeserver::rpki::{RpkiConfig, RpkiManager, RpkiState, Vrp, VrpSet};
use prometheus::Registry;
use tokio::sync::watch;

struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p =
            std::env::temp_dir().join(format!("fox-rpki-mgr-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn v(p: &str, m: u8, a: u32) -> Vrp {
    Vrp::new(p.parse().unwrap(), m, a).unwrap()
}

fn write_atomic(path: &Path, body: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn wait_set(rx: &mut watch::Receiver<Arc<VrpSet>>, want: &VrpSet, what: &str) {
    let ok = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| **s == *want))
        .await
        .is_ok_and(|r| r.is_ok());
    assert!(
        ok,
        "{what}: expected {} VRPs, have {}",
        want.len(),
        rx.borrow().len()
    );
}

fn counter(reg: &Registry, name: &str, label: &str) -> f64 {
    reg.gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .find(|m| m.get_label().iter().any(|l| l.value() == label))
        .map_or(0.0, |m| m.get_counter().get_value())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpki_files_reload_and_keep_last_good_data() {
    let dir = TmpDir::new("files");
    let json = dir.0.join("vrps.json");
    let csv = dir.0.join("local.csv");
    write_atomic(
        &json,
        r#"{"roas":[{"asn":"AS64496","prefix":"192.0.2.0/24","maxLength":24}]}"#,
    );
    write_atomic(&csv, "ASN,IP Prefix,Max Length\nAS64497,2001:db8::/32,48\n");
    let missing = dir.0.join("later.json");
    let reg = Registry::new();
    let cfg = RpkiConfig {
        rtr: vec![],
        files: vec![json.clone(), csv.clone(), missing.clone()],
        file_poll_interval: Duration::from_millis(200),
    };
    let (mgr, mut rx) = RpkiManager::start(cfg, &reg).unwrap();
    let first: VrpSet = [v("192.0.2.0/24", 24, 64496), v("2001:db8::/32", 48, 64497)]
        .into_iter()
        .collect();
    wait_set(&mut rx, &first, "initial union of two files").await;
    assert_eq!(
        rx.borrow()
            .validate(&"2001:db8:1::/48".parse().unwrap(), Some(64497)),
        RpkiState::Valid
    );
    let st = mgr.status();
    assert_eq!(st.vrps, 2);
    assert!(st.files[2].error.is_some(), "missing file reported: {st:?}");
    let missing_src = format!("file:{}", missing.display());
    assert!(counter(&reg, "fox_rpki_source_errors_total", &missing_src) >= 1.0);

    // Change one file: the new content is published.
    write_atomic(
        &json,
        r#"{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":25}]}"#,
    );
    let second: VrpSet = [v("192.0.2.0/24", 25, 64496), v("2001:db8::/32", 48, 64497)]
        .into_iter()
        .collect();
    wait_set(&mut rx, &second, "reload after change").await;
    assert_eq!(
        VrpSet::diff(&first, &second),
        vec!["192.0.2.0/24".parse().unwrap()]
    );

    // Break it: error logged and counted, previous data kept.
    let json_src = format!("file:{}", json.display());
    let errors_before = counter(&reg, "fox_rpki_source_errors_total", &json_src);
    write_atomic(&json, r#"{"roas":[{"asn":64496,"prefix":"192.0.2.0/33"}]}"#);
    for _ in 0..50 {
        if counter(&reg, "fox_rpki_source_errors_total", &json_src) > errors_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counter(&reg, "fox_rpki_source_errors_total", &json_src),
        errors_before + 1.0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(**rx.borrow(), second);
    let st = mgr.status();
    assert!(
        st.files[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("roas[0]"),
        "{st:?}"
    );
    assert_eq!(st.files[0].vrps, 1);

    // The missing file appears: it is merged in.
    write_atomic(
        &missing,
        r#"{"roas":[{"asn":64498,"prefix":"198.51.100.0/24","maxLength":24}]}"#,
    );
    let third: VrpSet = second
        .iter()
        .chain([v("198.51.100.0/24", 24, 64498)])
        .collect();
    wait_set(&mut rx, &third, "late file").await;
    assert!(mgr.status().files[2].error.is_none());
    assert!(counter(&reg, "fox_rpki_updates_total", "effective") >= 3.0);
}

#[tokio::test]
async fn rpki_registering_twice_is_an_error() {
    let reg = Registry::new();
    let (_a, _rx) = RpkiManager::start(RpkiConfig::default(), &reg).unwrap();
    assert!(RpkiManager::start(RpkiConfig::default(), &reg).is_err());
}
