//! One sFlow datagram: decode, parse sampled frames, account in a fabric state.
#![no_main]

use std::sync::OnceLock;

static CFG: OnceLock<Option<fox_config::Config>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cfg = CFG.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/fox.yaml");
        fox_config::load(std::path::Path::new(path)).ok()
    });
    fox_collector::sflow::fuzzing::datagram(data, cfg.as_ref());
});
