//! The config fuzz target's function on stable Rust: the seed files of
//! `fuzz/seeds/config` (which must load), line-level mutations and random text.

use std::path::PathBuf;

use proptest::prelude::*;

fn seeds() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

#[test]
fn seeds_load() {
    for s in seeds() {
        if let Err(e) = fox_config::parse(&s, "seed.yaml") {
            panic!("seed does not load: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Lines dropped, duplicated or overwritten by random text.
    #[test]
    fn mutations(i in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "[ -~]{0,20}"), 1..6)) {
        let all = seeds();
        let mut lines: Vec<String> = all[i.index(all.len())].lines().map(str::to_owned).collect();
        for (at, op, text) in edits {
            if lines.is_empty() {
                break;
            }
            let k = at.index(lines.len());
            match op {
                0 => { lines.remove(k); }
                1 => { let l = lines[k].clone(); lines.insert(k, l); }
                _ => lines[k] = text,
            }
        }
        let _ = fox_config::parse(&lines.join("\n"), "fuzz.yaml");
    }

    #[test]
    fn random(s in "[ -~\n\t:{}\\[\\]-]{0,400}") {
        let _ = fox_config::parse(&s, "fuzz.yaml");
    }
}
