//! The fuzz targets' functions on stable Rust: every seed of `fuzz/seeds/`
//! (each must parse: the seeds are meaningful), mutations of the seeds and
//! random bytes. A panic anywhere fails the test.

use std::path::PathBuf;

use fox_routeserver::fuzzing;
use fox_routeserver::wire::{self, SessionCaps};
use proptest::prelude::*;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// A seed with a few bytes overwritten, a few inserted and a cut.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let all = seeds(target);
    (
        0..all.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(i, sets, ins, cut)| {
            let mut v = all[i].clone();
            for (at, b) in sets {
                if !v.is_empty() {
                    let k = at.index(v.len());
                    v[k] = b;
                }
            }
            for (at, b) in ins {
                let k = at.index(v.len() + 1);
                v.insert(k, b);
            }
            let keep = cut.index(v.len() + 1);
            if keep > v.len() / 2 {
                v.truncate(keep);
            }
            v
        })
}

#[test]
fn bgp_seeds_decode() {
    for s in seeds("bgp_message") {
        let caps = SessionCaps {
            four_octet_as: s[0] & 1 != 0,
            extended_message: s[0] & 2 != 0,
        };
        let m = wire::decode(&s[1..], &caps);
        assert!(m.is_ok(), "seed does not decode: {m:?}");
        fuzzing::bgp_message(&s);
    }
    for s in seeds("bgp_stream") {
        fuzzing::bgp_stream(&s);
    }
}

#[test]
fn rtr_seeds_sync() {
    let mut synced = 0;
    for s in seeds("rtr") {
        let n = fuzzing::rtr_session(&s);
        synced += n;
    }
    // Every sync_v*, serial_v* and reset_v* seed completes one update.
    assert!(
        synced >= 6,
        "only {synced} seed sessions completed an update"
    );
}

#[test]
fn rpsl_seeds_parse() {
    for s in seeds("rpsl") {
        fuzzing::rpsl(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn bgp_message_mutations(v in mutated("bgp_message")) {
        fuzzing::bgp_message(&v);
    }

    #[test]
    fn bgp_stream_mutations(v in mutated("bgp_stream")) {
        fuzzing::bgp_stream(&v);
    }

    #[test]
    fn bgp_random(v in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::bgp_message(&v);
        fuzzing::bgp_stream(&v);
    }

    #[test]
    fn rpsl_mutations(v in mutated("rpsl")) {
        fuzzing::rpsl(&v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rtr_mutations(v in mutated("rtr")) {
        fuzzing::rtr_session(&v);
    }

    #[test]
    fn rtr_random(v in prop::collection::vec(any::<u8>(), 0..120)) {
        fuzzing::rtr_session(&v);
    }
}

/// The hand-made MRT seeds read as the replay reads them: the BGP4MP file
/// leaves 1 route (2 announced, 1 withdrawn), the TABLE_DUMP_V2 file 2.
#[test]
fn mrt_seeds_read() {
    let mut counts: Vec<usize> = seeds("mrt").iter().map(|s| fuzzing::mrt(s)).collect();
    counts.sort();
    assert_eq!(counts, [1, 2]);
}

/// The first 64 KiB of a real MRT file (cut mid-record) read without a panic.
#[test]
fn mrt_real_file_head() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mrt/bgpkit/updates.bz2");
    let Ok(f) = std::fs::File::open(&path) else {
        println!("skipped: {} is missing", path.display());
        return;
    };
    let mut head = Vec::new();
    use std::io::Read;
    bzip2::read::MultiBzDecoder::new(f)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .unwrap();
    assert!(
        fuzzing::mrt(&head) > 0,
        "no route in the head of {}",
        path.display()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mrt_mutations(v in mutated("mrt")) {
        fuzzing::mrt(&v);
    }

    #[test]
    fn mrt_random(v in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::mrt(&v);
    }
}
