//! One BGP message (first byte selects 4-octet AS / extended messages).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fox_routeserver::fuzzing::bgp_message(data));
