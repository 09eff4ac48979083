//! The YAML configuration loader.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fox_config::parse(text, "fuzz.yaml");
    }
});
