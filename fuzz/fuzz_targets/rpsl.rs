//! An RPSL dump: parse, index, expand AS-SETs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fox_routeserver::fuzzing::rpsl(data));
