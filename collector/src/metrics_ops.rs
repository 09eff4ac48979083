//! Prometheus families of the operations features: interface counters read over netlink
//! (with their rates and whether the last read worked) and the learned traffic baselines.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::ifstats::IfState;
use crate::metrics::{catch_up, counter_vec};
use crate::state::FabricState;

/// Interface and baseline metric families.
pub struct OpsMetrics {
    /// One counter family per kernel counter, in `IfCounters::fields` order.
    counters: Vec<IntCounterVec>,
    up: IntGaugeVec,
    read_ok: IntGaugeVec,
    rate_bits: GaugeVec,
    baseline: GaugeVec,
}

/// (kernel field, metric name, help) of each interface counter.
const IF_COUNTERS: [(&str, &str, &str); 8] = [
    (
        "rx_bytes",
        "fox_interface_receive_bytes_total",
        "bytes received",
    ),
    (
        "tx_bytes",
        "fox_interface_transmit_bytes_total",
        "bytes sent",
    ),
    (
        "rx_packets",
        "fox_interface_receive_packets_total",
        "packets received",
    ),
    (
        "tx_packets",
        "fox_interface_transmit_packets_total",
        "packets sent",
    ),
    (
        "rx_errors",
        "fox_interface_receive_errors_total",
        "receive errors",
    ),
    (
        "tx_errors",
        "fox_interface_transmit_errors_total",
        "transmit errors",
    ),
    (
        "rx_dropped",
        "fox_interface_receive_drops_total",
        "packets dropped on receive",
    ),
    (
        "tx_dropped",
        "fox_interface_transmit_drops_total",
        "packets dropped on transmit",
    ),
];

fn gauge_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn int_gauge_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl OpsMetrics {
    /// Registers the families in `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let l = ["interface", "site"];
        let counters = IF_COUNTERS
            .iter()
            .map(|(_, name, help)| counter_vec(r, name, help, &l))
            .collect::<prometheus::Result<Vec<_>>>()?;
        Ok(OpsMetrics {
            counters,
            up: int_gauge_vec(
                r,
                "fox_interface_up",
                "1 when the interface is operationally up",
                &l,
            )?,
            read_ok: int_gauge_vec(
                r,
                "fox_interface_read_ok",
                "1 when the last netlink read of the interface worked (0: see /api/v1/interfaces)",
                &l,
            )?,
            rate_bits: gauge_vec(
                r,
                "fox_interface_rate_bits_per_second",
                "bit rate between the last two reads",
                &["interface", "site", "direction"],
            )?,
            baseline: gauge_vec(
                r,
                "fox_traffic_baseline_bits_per_second",
                "learned expected member traffic rate for the current hour",
                &["member", "asn", "direction"],
            )?,
        })
    }

    /// Brings the interface families up to date.
    pub fn sync_interfaces(&self, ifs: &[IfState]) {
        for s in ifs {
            let l = [s.interface.as_str(), s.site.as_str()];
            self.read_ok
                .with_label_values(&l)
                .set(i64::from(s.error.is_none() && s.counters.is_some()));
            if let Some(up) = s.up {
                self.up.with_label_values(&l).set(i64::from(up));
            }
            if let Some(c) = &s.counters {
                for (family, (_, v)) in self.counters.iter().zip(c.fields()) {
                    catch_up(&family.with_label_values(&l), v);
                }
            }
            if let Some(r) = &s.rates {
                for (dir, v) in [("receive", r.rx_bytes), ("transmit", r.tx_bytes)] {
                    self.rate_bits
                        .with_label_values(&[l[0], l[1], dir])
                        .set(v as f64 * 8.0);
                }
            }
        }
    }

    /// Brings the baseline gauges up to date at unix time `now`.
    pub fn sync_baselines(&self, st: &FabricState, now: u64) {
        for (i, info) in st.map.members().iter().enumerate() {
            let asn = info.asn.to_string();
            let [rx, tx] = st.baselines.expected(i, now);
            for (dir, v) in [("in", rx), ("out", tx)] {
                if let Some(v) = v {
                    self.baseline
                        .with_label_values(&[info.name.as_str(), asn.as_str(), dir])
                        .set(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_matches_the_counter_table() {
        let c = crate::ifstats::IfCounters::default();
        let names: Vec<&str> = c.fields().iter().map(|f| f.0).collect();
        let table: Vec<&str> = IF_COUNTERS.iter().map(|f| f.0).collect();
        assert_eq!(names, table);
    }
}
