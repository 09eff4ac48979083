//! Prometheus metrics of the route server (names `fox_bgp_*`, `fox_rib_*`).
//! Labels carry the member, its ASN, the session address and the AFI,
//! never a prefix.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::policy::verdict::RpkiTag;
use crate::rib::peers::PeerState;

/// Every metric the route server exports.
pub struct Metrics {
    pub registry: Registry,
    pub session_state: IntGaugeVec,
    pub session_established: IntGaugeVec,
    pub session_established_since: IntGaugeVec,
    pub session_transitions: IntCounterVec,
    pub messages_received: IntCounterVec,
    pub messages_sent: IntCounterVec,
    pub update_errors: IntCounterVec,
    pub prefixes_received: IntGaugeVec,
    pub prefixes_accepted: IntGaugeVec,
    pub prefixes_filtered: IntGaugeVec,
    pub prefixes_advertised: IntGaugeVec,
    pub routes_filtered_by_reason: IntGaugeVec,
    pub routes_rpki: IntGaugeVec,
    pub update_seconds: Histogram,
    pub revalidation_seconds: Histogram,
    pub rib_prefixes: IntGauge,
    pub rib_attr_sets: IntGauge,
    pub connections_refused: IntCounterVec,
    pub md5_dropped: IntCounterVec,
    /// TCP-AO segment counters of each member's established connection.
    pub tcp_ao_segments: IntGaugeVec,
}

const PEER_LABELS: &[&str] = &["member", "asn", "neighbor"];
const AFI_LABELS: &[&str] = &["member", "asn", "neighbor", "afi"];

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    r.register(Box::new(g.clone()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    g
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    c
}

impl Metrics {
    /// Create and register the metrics in a new registry. Names are fixed
    /// at compile time, so a failure here is a programming error.
    pub fn new() -> Metrics {
        let r = Registry::new();
        let update_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "fox_bgp_update_processing_seconds",
                "Time from reading an UPDATE to queueing its exports",
            )
            .buckets(vec![
                1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0,
            ]),
        )
        .unwrap_or_else(|e| panic!("histogram: {e}"));
        r.register(Box::new(update_seconds.clone()))
            .unwrap_or_else(|e| panic!("histogram: {e}"));
        let revalidation_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "fox_rpki_revalidation_seconds",
                "Time to revalidate the routes a VRP change affects",
            )
            .buckets(vec![1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0]),
        )
        .unwrap_or_else(|e| panic!("histogram: {e}"));
        r.register(Box::new(revalidation_seconds.clone()))
            .unwrap_or_else(|e| panic!("histogram: {e}"));
        let rib_prefixes = IntGauge::new("fox_rib_prefixes", "Prefixes in the RIB")
            .unwrap_or_else(|e| panic!("{e}"));
        r.register(Box::new(rib_prefixes.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        let rib_attr_sets = IntGauge::new(
            "fox_rib_attribute_sets",
            "Distinct interned path attribute sets",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        r.register(Box::new(rib_attr_sets.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        Metrics {
            session_state: gauge_vec(&r, "fox_bgp_session_state", "BGP FSM state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established", PEER_LABELS),
            session_established: gauge_vec(&r, "fox_bgp_session_established", "1 when the session is Established", PEER_LABELS),
            session_established_since: gauge_vec(&r, "fox_bgp_session_established_timestamp_seconds", "Unix time the session reached Established (0 when down)", PEER_LABELS),
            session_transitions: counter_vec(&r, "fox_bgp_session_transitions_total", "Transitions into Established and out of it", &["member", "asn", "neighbor", "to"]),
            messages_received: counter_vec(&r, "fox_bgp_messages_received_total", "BGP messages received, by type", &["member", "asn", "neighbor", "type"]),
            messages_sent: counter_vec(&r, "fox_bgp_messages_sent_total", "BGP messages sent, by type", &["member", "asn", "neighbor", "type"]),
            update_errors: counter_vec(&r, "fox_bgp_update_errors_total", "UPDATEs handled by RFC 7606 treat-as-withdraw or attribute discard", PEER_LABELS),
            prefixes_received: gauge_vec(&r, "fox_bgp_prefixes_received", "Prefixes received from the member (accepted and filtered)", AFI_LABELS),
            prefixes_accepted: gauge_vec(&r, "fox_bgp_prefixes_accepted", "Prefixes accepted by the import policy", AFI_LABELS),
            prefixes_filtered: gauge_vec(&r, "fox_bgp_prefixes_filtered", "Prefixes filtered by the import policy", AFI_LABELS),
            prefixes_advertised: gauge_vec(&r, "fox_bgp_prefixes_advertised", "Prefixes advertised to the member", AFI_LABELS),
            routes_filtered_by_reason: gauge_vec(&r, "fox_bgp_routes_filtered_by_reason", "Routes from the member filtered, by reason (a route may count under several)", &["member", "asn", "neighbor", "reason", "code"]),
            routes_rpki: gauge_vec(&r, "fox_bgp_routes_rpki", "Routes from the member by RPKI origin validation state", &["member", "asn", "neighbor", "state"]),
            connections_refused: counter_vec(&r, "fox_bgp_connections_refused_total", "TCP connections refused (unknown source address)", &["reason"]),
            md5_dropped: counter_vec(&r, "fox_bgp_tcp_md5_dropped_segments_total", "TCP segments the kernel dropped for a missing, unexpected or wrong TCP-MD5 signature (whole network namespace)", &["reason"]),
            tcp_ao_segments: gauge_vec(&r, "fox_bgp_tcp_ao_segments", "TCP-AO segments of the member's established connection (the kernel's per-socket counters, from 0 at each connection), by result", &["member", "asn", "neighbor", "result"]),
            update_seconds,
            revalidation_seconds,
            rib_prefixes,
            rib_attr_sets,
            registry: r,
        }
    }

    /// Publish the RIB's per-peer counters.
    pub fn set_prefix_counts(&self, st: &PeerState) {
        let asn = st.stat.asn.to_string();
        let addr = st.stat.address.to_string();
        let filtered = st.filtered();
        for (i, afi) in ["ipv4", "ipv6"].into_iter().enumerate() {
            let l = [&*st.stat.member, asn.as_str(), addr.as_str(), afi];
            self.prefixes_received
                .with_label_values(&l)
                .set(st.received[i] as i64);
            self.prefixes_accepted
                .with_label_values(&l)
                .set(st.accepted[i] as i64);
            self.prefixes_filtered
                .with_label_values(&l)
                .set(filtered[i] as i64);
            self.prefixes_advertised
                .with_label_values(&l)
                .set(st.advertised[i] as i64);
        }
        for r in crate::policy::reasons::ALL_REASONS {
            let n = st.by_reason[r as usize];
            let code = r.code().to_string();
            let l = [
                &*st.stat.member,
                asn.as_str(),
                addr.as_str(),
                r.name(),
                code.as_str(),
            ];
            // Only reasons that occur for this member, to keep the series few.
            if n > 0 {
                self.routes_filtered_by_reason
                    .with_label_values(&l)
                    .set(n as i64);
            } else {
                let _ = self.routes_filtered_by_reason.remove_label_values(&l);
            }
        }
        for state in [
            RpkiTag::NotChecked,
            RpkiTag::Valid,
            RpkiTag::NotFound,
            RpkiTag::Invalid,
        ] {
            let l = [
                &*st.stat.member,
                asn.as_str(),
                addr.as_str(),
                state.as_str(),
            ];
            self.routes_rpki
                .with_label_values(&l)
                .set(st.by_rpki[state as usize] as i64);
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = String::new();
        let enc = prometheus::TextEncoder::new();
        if let Err(e) = enc.encode_utf8(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "encoding metrics");
        }
        buf
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
