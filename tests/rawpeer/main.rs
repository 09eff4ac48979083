//! Bad input over real TCP against the real `fox routeserver` binary.
//!
//! Each test starts its own route server on a loopback /24 of its own
//! (127.0.`lan`.0/24, the route server at .1, members A .2, B .3, C .4) with
//! free ports, so tests run in parallel. A raw peer sends hand-made bytes
//! and reads the route server's answers with the project's decoder. Every
//! test asserts the exact NOTIFICATION (or the RFC 7606 behaviour), that the
//! well-behaved member B stays Established and keeps its routes, and that
//! the process is still running. Logs: `target/tmp/rawpeer/<test>/`.
//!
//! `lan` numbers: header 10-19, open 20-29, fsm 30-39, update 40-59,
//! as4 60-69, misc 70-79, roles 80-89, reload 90-99, hostile 100-109
//! (limits 104, 1,000-flap soak 105), mrt_cli 110-119.

mod fox;
mod lab;
mod msgs;
mod peer;

mod as4;
mod fsm;
mod header;
mod hostile;
mod limits;
mod misc;
mod mrt_cli;
mod open;
mod reload;
mod roles;
mod tcp_ao;
mod update;
