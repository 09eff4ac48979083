//! End-to-end tests of the FOX route server on a small exchange built from Linux network
//! namespaces, with real, independently written BGP speakers (BIRD 2, GoBGP, FRR) as members.
//!
//! Needs root (network namespaces); without it every test prints why and returns.
//! Logs of every daemon and every command: `target/e2e-logs/<test>/`.
//!
//! Every core scenario runs against BIRD 2 as the reference route server (`bird_rs_*`) and
//! against FOX (`fox_rs_*`, ignored until `fox routeserver` exists: remove the `#[ignore]`
//! in `scenario_core.rs`). FOX is started in the route server's namespace as
//! `fox routeserver --config <target/e2e-logs/<test>/rs1/fox.yaml> --name rs1`; it must listen
//! on TCP 179 within 15 s (checked with `ss`), and its API answers on 127.0.0.1:8180 inside
//! that namespace (`/metrics` is saved to `rs-diagnostics.txt` after each test).
//!
//! The MANRS policy scenarios run against FOX only: `fox_policy_filters` (every import filter
//! case with StayRTR and an IRR dump, max-prefix), `fox_rpki_revalidation` (VRP changes,
//! cache failover) and `fox_communities` (announcement control, graceful shutdown, blackholing).

mod bird;
mod demo;
mod fixture;
mod frr;
mod gobgp;
mod member;
mod netns;
mod routeserver;
mod scenario_aspa;
mod scenario_communities;
mod scenario_core;
mod scenario_dashboards;
mod scenario_lg_browser;
mod scenario_mrt;
mod scenario_policy;
mod scenario_rpki;
mod scenario_security;
mod scenario_tcp_ao;
mod stayrtr;
