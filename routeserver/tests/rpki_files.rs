//! Real VRP data: two global rpki-client exports 30 minutes apart, the
//! rpkilog diff between them, the FOX members' VRPs and small test files.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use fox_routeserver::rpki::{load_vrp_file, RpkiState, Vrp, VrpSet};
use ipnet::IpNet;

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/rpki");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "skipped: {} not found (shared test data missing)",
            d.display()
        );
        None
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The prefixes rpkilog says changed in VRP key (NEW or DELETE); REPLACE
/// entries only change `expires`, which cannot change a validation result.
fn rpkilog_changed_prefixes(path: &Path) -> BTreeSet<IpNet> {
    let mut text = String::new();
    bzip2::read::MultiBzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let diffs = v["vrp_diffs"].as_array().unwrap();
    assert_eq!(
        diffs.len() as u64,
        v["metadata"]["diff_count"].as_u64().unwrap()
    );
    let key = |r: &serde_json::Value| {
        (
            r["prefix"].as_str().unwrap().to_string(),
            r["maxLength"].as_u64().unwrap(),
            r["asn"].as_u64().unwrap(),
        )
    };
    let mut out = BTreeSet::new();
    for d in diffs {
        match d["verb"].as_str().unwrap() {
            "NEW" => {
                out.insert(net(d["new_roa"]["prefix"].as_str().unwrap()));
            }
            "DELETE" => {
                out.insert(net(d["old_roa"]["prefix"].as_str().unwrap()));
            }
            "REPLACE" => assert_eq!(key(&d["old_roa"]), key(&d["new_roa"])),
            other => panic!("unknown verb {other}"),
        }
    }
    out
}

#[test]
fn rpki_global_sets_counts_diff_and_fox_members() {
    let Some(dir) = data_dir() else { return };
    let t = std::time::Instant::now();
    let old = load_vrp_file(&dir.join("rpkiclient_20250720T093135Z.json.bz2")).unwrap();
    eprintln!(
        "loaded {} VRPs in {:?} (debug build); VrpSet heap {} bytes",
        old.set.len(),
        t.elapsed(),
        old.set.heap_bytes()
    );
    let new = load_vrp_file(&dir.join("rpkiclient_20250720T100145Z.json.bz2")).unwrap();
    // We count distinct (prefix, maxLength, ASN) like rpki-client's
    // "uniquevrps" (the same VRP from two ROAs or TAs counts once).
    assert_eq!((old.entries, old.set.len()), (723_521, 723_521));
    assert_eq!((new.entries, new.set.len()), (723_524, 723_524));
    assert_eq!(new.set.len_v4() + new.set.len_v6(), new.set.len());
    assert_eq!(new.set.len_v6(), 143_157);
    // 12 bytes per IPv4 VRP, 24 per IPv6 VRP, plus the per-length bucket
    // index (under 1 byte per VRP).
    let entries = 580_367 * 12 + 143_157 * 24;
    assert!(new.set.heap_bytes() > entries);
    assert!(
        new.set.heap_bytes() < entries + new.set.len() + 4096,
        "{}",
        new.set.heap_bytes()
    );

    let want = rpkilog_changed_prefixes(&dir.join("rpkilog_vrpdiff_20250720T100145Z.json.bz2"));
    let got: BTreeSet<IpNet> = VrpSet::diff(&old.set, &new.set).into_iter().collect();
    assert_eq!(got, want);
    assert!(!want.is_empty());

    // Spot checks against the real set.
    let s = &new.set;
    assert_eq!(
        s.validate(&net("1.1.1.0/24"), Some(13335)),
        RpkiState::Valid
    );
    assert_eq!(
        s.validate(&net("1.1.1.0/24"), Some(64496)),
        RpkiState::Invalid
    );
    assert_eq!(
        s.validate(&net("1.1.1.0/25"), Some(13335)),
        RpkiState::Invalid
    );
    assert_eq!(
        s.validate(&net("192.0.2.0/24"), Some(64496)),
        RpkiState::NotFound
    );

    // The FOX members' VRPs: every one is in the global set and validates.
    let members =
        load_vrp_file(&dir.join("derived/fox-members-vrps-20250720T100145Z.csv")).unwrap();
    assert_eq!(members.set.len(), 93);
    for v in members.set.iter() {
        assert!(s.contains(&v), "{v} missing from the global set");
        assert_eq!(s.validate(&v.prefix, Some(v.asn)), RpkiState::Valid, "{v}");
    }
}

#[test]
fn rpki_fox_members_overlap_140_110() {
    let Some(dir) = data_dir() else { return };
    let m = load_vrp_file(&dir.join("derived/fox-members-vrps-20250720T100145Z.csv"))
        .unwrap()
        .set;
    assert!(m.contains(&Vrp::new(net("140.110.0.0/15"), 15, 1659).unwrap()));
    assert!(m.contains(&Vrp::new(net("140.110.0.0/16"), 24, 7539).unwrap()));
    // RFC 6811: a route is Valid if any covering VRP matches, Invalid if
    // VRPs cover it and none matches.
    assert_eq!(
        m.validate(&net("140.110.0.0/15"), Some(1659)),
        RpkiState::Valid
    );
    assert_eq!(
        m.validate(&net("140.110.0.0/15"), Some(7539)),
        RpkiState::Invalid
    );
    assert_eq!(
        m.validate(&net("140.110.0.0/16"), Some(7539)),
        RpkiState::Valid
    );
    // TANet's /15 has maxLength 15: TANet announcing the /16 is Invalid.
    assert_eq!(
        m.validate(&net("140.110.0.0/16"), Some(1659)),
        RpkiState::Invalid
    );
    assert_eq!(
        m.validate(&net("140.110.128.0/24"), Some(7539)),
        RpkiState::Valid
    );
    assert_eq!(
        m.validate(&net("140.110.128.0/25"), Some(7539)),
        RpkiState::Invalid
    );
    assert_eq!(
        m.validate(&net("140.111.0.0/16"), Some(7539)),
        RpkiState::Invalid
    );
    assert_eq!(m.validate(&net("140.110.0.0/16"), None), RpkiState::Invalid);
}

#[test]
fn rpki_small_files_stayrtr_and_ripe_csv() {
    let Some(dir) = data_dir() else { return };
    let st = load_vrp_file(&dir.join("stayrtr-test.rpki.json")).unwrap();
    assert_eq!((st.entries, st.set.len()), (19, 19));
    assert_eq!(
        st.set.validate(&net("192.0.2.0/24"), Some(1)),
        RpkiState::Valid
    );
    let csv = load_vrp_file(&dir.join("ripe-validator-roas.csv")).unwrap();
    assert_eq!(csv.entries, 49);
    let v6 = Vrp::new(net("2a00:bf60::/32"), 33, 60390).unwrap();
    assert!(csv.set.contains(&v6));
    assert_eq!(
        csv.set.validate(&net("2a00:bf60:8000::/33"), Some(60390)),
        RpkiState::Valid
    );
}
