//! The sFlow fuzz target's function on stable Rust: the seeds of
//! `fuzz/seeds/sflow` (which must decode), their mutations and random bytes.

use std::path::{Path, PathBuf};

use fox_collector::sflow::{self, fuzzing};
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/sflow");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn config() -> fox_config::Config {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/fox.yaml");
    fox_config::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn seeds_decode_and_account() {
    let cfg = config();
    for s in seeds() {
        let d = sflow::decode(&s).unwrap_or_else(|e| panic!("seed does not decode: {e}"));
        assert_eq!(d.samples.len(), 2);
        fuzzing::datagram(&s, Some(&cfg));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutations(i in any::<prop::sample::Index>(), sets in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let all = seeds();
        let mut v = all[i.index(all.len())].clone();
        for (at, b) in sets {
            let k = at.index(v.len());
            v[k] = b;
        }
        let keep = cut.index(v.len() + 1);
        if keep > v.len() / 2 {
            v.truncate(keep);
        }
        fuzzing::datagram(&v, None);
    }

    #[test]
    fn random(v in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::datagram(&v, None);
    }
}
