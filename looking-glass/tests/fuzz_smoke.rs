//! The `lg_query` fuzz target's function on stable Rust: every seed of
//! `fuzz/seeds/lg_query/` is accepted by exactly one of the two parsers,
//! and mutations of the seeds and random strings never panic.

use std::path::PathBuf;

use fox_looking_glass::fuzzing;

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/lg_query");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// xorshift64: a fixed, reproducible sequence.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn seeds_are_accepted() {
    for s in seeds() {
        assert_eq!(fuzzing::query(&s), 1, "{}", String::from_utf8_lossy(&s));
    }
}

#[test]
fn hostile_values_are_refused() {
    for q in [
        "prefix=..%2F..%2Fetc%2Fpasswd",
        "origin=AS1%26limit%3D999999",
        "community=1:2%26reason=5",
        "page=0",
        "page_size=100000",
        "reason=-1",
        "prefix=192.0.2.0/24&mode=%00",
    ] {
        assert_eq!(fuzzing::query(q.as_bytes()), 0, "{q} accepted");
    }
}

#[test]
fn mutations_and_random_do_not_panic() {
    const ALPHABET: &[u8] = b"=&%:/.-_aAsS0123456789fF?#+ \x00\xff";
    let all = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut v = all[rng.below(all.len())].clone();
        for _ in 0..rng.below(6) {
            let b = ALPHABET[rng.below(ALPHABET.len())];
            match rng.below(3) {
                0 if !v.is_empty() => {
                    let k = rng.below(v.len());
                    v[k] = b;
                }
                1 => {
                    let k = rng.below(v.len() + 1);
                    v.insert(k, b);
                }
                _ => v.truncate(rng.below(v.len() + 1)),
            }
        }
        fuzzing::query(&v);
    }
    for _ in 0..5_000 {
        let v: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
        fuzzing::query(&v);
    }
}
