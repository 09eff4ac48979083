//! RTR PDUs from a cache, through the RTR client and our VRP target.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fox_routeserver::fuzzing::rtr_session(data);
});
