//! An MRT stream (BGP4MP, TABLE_DUMP_V2) read as the replay reads it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fox_routeserver::fuzzing::mrt(data);
});
