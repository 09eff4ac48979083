//! A byte stream of BGP messages, framed as read from a socket.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fox_routeserver::fuzzing::bgp_stream(data));
