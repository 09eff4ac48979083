//! End-to-end tests of the FOX route server on a small exchange built from Linux network
//! namespaces, with real, independently written BGP speakers (BIRD 2, GoBGP, FRR) as members.
//!
//! Needs root (network namespaces); without it every test prints why and returns.
//! Logs of every daemon and every command: `target/e2e-logs/<test>/`.

mod bird;
mod fixture;
mod frr;
mod gobgp;
mod member;
mod netns;
mod routeserver;
mod scenario_core;
