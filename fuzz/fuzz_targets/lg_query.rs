//! A looking-glass query string parsed as the route listing and lookup parse theirs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fox_looking_glass::fuzzing::query(data);
});
