//! Prometheus metrics. Counters live in the fabric state (no registry work on the hot path);
//! a scrape brings the registry up to date by adding what changed since the last scrape.

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

use crate::fabric::{MemberMap, Rule};
use crate::probe::Probe;
use crate::state::FabricState;

/// The collector's registry and metric families.
pub struct Metrics {
    registry: Registry,
    datagrams: IntCounter,
    samples: IntCounterVec,
    errors: IntCounterVec,
    lost_datagrams: IntCounter,
    lost_samples: IntCounter,
    agent_resets: IntCounter,
    in_bytes: IntCounterVec,
    out_bytes: IntCounterVec,
    in_packets: IntCounterVec,
    out_packets: IntCounterVec,
    matrix_bytes: IntCounterVec,
    matrix_packets: IntCounterVec,
    unattributed_bytes: IntCounterVec,
    hygiene: IntCounterVec,
    members: IntGauge,
    probe_rtt: HistogramVec,
    probe_sent: IntCounterVec,
    probe_lost: IntCounterVec,
    probe_up: IntGaugeVec,
    probe_availability: GaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

/// Adds to `c` what `total` has beyond it (counters only go up).
fn catch_up(c: &IntCounter, total: u64) {
    let have = c.get();
    if total > have {
        c.inc_by(total - have);
    }
}

impl Metrics {
    /// The registry (other parts of the collector register their families in it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers every family in a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let m = ["member", "asn"];
        Ok(Metrics {
            datagrams: counter(&r, "fox_sflow_datagrams_total", "sFlow datagrams decoded")?,
            samples: counter_vec(
                &r,
                "fox_sflow_samples_total",
                "sFlow samples decoded",
                &["type"],
            )?,
            errors: counter_vec(
                &r,
                "fox_sflow_decode_errors_total",
                "sFlow datagrams rejected",
                &["kind"],
            )?,
            lost_datagrams: counter(
                &r,
                "fox_sflow_lost_datagrams_total",
                "datagrams missing from agent sequence numbers",
            )?,
            lost_samples: counter(
                &r,
                "fox_sflow_lost_samples_total",
                "flow samples missing from data source sequence numbers",
            )?,
            agent_resets: counter(
                &r,
                "fox_sflow_agent_resets_total",
                "agent sequence numbers that went backwards (restarts)",
            )?,
            in_bytes: counter_vec(
                &r,
                "fox_traffic_in_bytes_total",
                "bytes received by the member from the fabric (estimated from samples)",
                &m,
            )?,
            out_bytes: counter_vec(
                &r,
                "fox_traffic_out_bytes_total",
                "bytes sent by the member into the fabric (estimated from samples)",
                &m,
            )?,
            in_packets: counter_vec(
                &r,
                "fox_traffic_in_packets_total",
                "packets received by the member from the fabric (estimated)",
                &m,
            )?,
            out_packets: counter_vec(
                &r,
                "fox_traffic_out_packets_total",
                "packets sent by the member into the fabric (estimated)",
                &m,
            )?,
            matrix_bytes: counter_vec(
                &r,
                "fox_traffic_matrix_bytes_total",
                "bytes from one member to another (estimated)",
                &["src_member", "dst_member"],
            )?,
            matrix_packets: counter_vec(
                &r,
                "fox_traffic_matrix_packets_total",
                "packets from one member to another (estimated)",
                &["src_member", "dst_member"],
            )?,
            unattributed_bytes: counter_vec(
                &r,
                "fox_traffic_unattributed_bytes_total",
                "bytes not attributed to a member pair",
                &["reason"],
            )?,
            hygiene: counter_vec(
                &r,
                "fox_traffic_hygiene_violations_total",
                "sampled frames that broke a peering-LAN rule",
                &["member", "asn", "rule"],
            )?,
            members: {
                let g = IntGauge::new("fox_traffic_members", "members in the MAC table")?;
                r.register(Box::new(g.clone()))?;
                g
            },
            probe_rtt: {
                // 50 us doubling to ~26 s: IXP LAN RTTs land in the low buckets.
                let b = prometheus::exponential_buckets(0.000_05, 2.0, 20)?;
                let opts =
                    HistogramOpts::new("fox_probe_rtt_seconds", "STAMP round-trip time").buckets(b);
                let h = HistogramVec::new(opts, &["probe"])?;
                r.register(Box::new(h.clone()))?;
                h
            },
            probe_sent: counter_vec(
                &r,
                "fox_probe_sent_total",
                "STAMP test packets sent",
                &["probe"],
            )?,
            probe_lost: counter_vec(
                &r,
                "fox_probe_lost_total",
                "STAMP test packets not reflected within the timeout",
                &["probe"],
            )?,
            probe_up: {
                let g = IntGaugeVec::new(
                    Opts::new("fox_probe_up", "1 when the probe's target answers"),
                    &["probe"],
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            probe_availability: {
                let g = GaugeVec::new(
                    Opts::new(
                        "fox_probe_availability_ratio",
                        "minutes with a reply over minutes probed, per window",
                    ),
                    &["probe", "window"],
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            registry: r,
        })
    }

    /// Brings every family up to date with `st`.
    pub fn sync(&self, st: &FabricState) {
        catch_up(&self.datagrams, st.stats.datagrams);
        for (t, v) in [
            ("flow", st.stats.flow_samples),
            ("counter", st.stats.counter_samples),
            ("unknown", st.stats.unknown_samples),
        ] {
            catch_up(&self.samples.with_label_values(&[t]), v);
        }
        for (k, v) in &st.stats.errors {
            catch_up(&self.errors.with_label_values(&[k]), *v);
        }
        catch_up(&self.lost_datagrams, st.sequences.lost_datagrams);
        catch_up(&self.lost_samples, st.sequences.lost_samples);
        catch_up(&self.agent_resets, st.sequences.resets);
        let map = &st.map;
        self.members
            .set(i64::try_from(map.members().len()).unwrap_or(i64::MAX));
        for (i, info) in map.members().iter().enumerate() {
            let Some(t) = st.traffic.members.get(i) else {
                continue;
            };
            let asn = info.asn.to_string();
            let l = [info.name.as_str(), asn.as_str()];
            catch_up(&self.in_bytes.with_label_values(&l), t.in_.total().bytes);
            catch_up(&self.out_bytes.with_label_values(&l), t.out.total().bytes);
            catch_up(
                &self.in_packets.with_label_values(&l),
                t.in_.total().packets,
            );
            catch_up(
                &self.out_packets.with_label_values(&l),
                t.out.total().packets,
            );
        }
        for (&(s, d), v) in &st.traffic.matrix {
            let (Some(s), Some(d)) = (map.members().get(s), map.members().get(d)) else {
                continue;
            };
            let l = [s.name.as_str(), d.name.as_str()];
            let t = v.total();
            catch_up(&self.matrix_bytes.with_label_values(&l), t.bytes);
            catch_up(&self.matrix_packets.with_label_values(&l), t.packets);
        }
        let u = &st.traffic.unattributed;
        for (reason, c) in [
            ("unknown_src", u.unknown_src),
            ("unknown_dst", u.unknown_dst),
            ("non_unicast", u.non_unicast),
        ] {
            catch_up(
                &self.unattributed_bytes.with_label_values(&[reason]),
                c.bytes,
            );
        }
        self.sync_hygiene(st, map);
    }

    fn sync_hygiene(&self, st: &FabricState, map: &MemberMap) {
        // Sum per (member, rule) first: several MACs of one member share a series.
        let mut sums: std::collections::HashMap<(Option<usize>, Rule), u64> = Default::default();
        for ((_, rule), v) in &st.hygiene.violations {
            *sums.entry((v.owner.map(|o| o.member), *rule)).or_default() += v.samples;
        }
        for ((member, rule), n) in sums {
            let (name, asn) = match member.and_then(|m| map.members().get(m)) {
                Some(i) => (i.name.as_str(), i.asn.to_string()),
                None => ("unknown", String::new()),
            };
            catch_up(
                &self.hygiene.with_label_values(&[name, &asn, rule.name()]),
                n,
            );
        }
    }

    /// The RTT histogram of probe `name`.
    pub fn probe_histogram(&self, name: &str) -> Histogram {
        self.probe_rtt.with_label_values(&[name])
    }

    /// Brings the probe families up to date at unix time `now`.
    pub fn sync_probes(&self, probes: &[std::sync::Arc<Probe>], now: u64) {
        for p in probes {
            let l = [p.name.as_str()];
            for w in p.availability(now) {
                if let Some(r) = w.ratio {
                    self.probe_availability
                        .with_label_values(&[p.name.as_str(), w.window])
                        .set(r);
                }
            }
            let st = p.state();
            catch_up(&self.probe_sent.with_label_values(&l), st.sent);
            catch_up(&self.probe_lost.with_label_values(&l), st.lost);
            self.probe_up.with_label_values(&l).set(i64::from(st.up()));
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
