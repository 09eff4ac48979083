//! The collector's state: decoded datagrams go through sequence tracking, the traffic
//! matrix and the hygiene rules. One owner mutates it; readers take snapshots.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alert::Finding;
use crate::archive::{Archive, FlowRow};
use crate::baseline::{Baselines, Talkers};
use crate::fabric::{Hygiene, MemberMap, SampleContext, Traffic};
use crate::sflow::{self, Datagram, DecodeError, Sample, SequenceTracker};

/// Decoder and transport counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Datagrams decoded.
    pub datagrams: u64,
    /// Flow samples decoded (compact and expanded).
    pub flow_samples: u64,
    /// Counter samples decoded (compact and expanded).
    pub counter_samples: u64,
    /// Samples of types not decoded.
    pub unknown_samples: u64,
    /// Flow samples without an Ethernet raw header (not accounted).
    pub flow_samples_without_frame: u64,
    /// Datagrams rejected, by error kind.
    pub errors: BTreeMap<&'static str, u64>,
}

/// Everything the collector has learned since it started.
#[derive(Debug)]
pub struct FabricState {
    /// Members, sites and MACs from the configuration.
    pub map: MemberMap,
    /// Traffic counters.
    pub traffic: Traffic,
    /// Hygiene violations.
    pub hygiene: Hygiene,
    /// Loss accounting.
    pub sequences: SequenceTracker,
    /// Decoder counters.
    pub stats: Stats,
    /// Who sent what to each member during the current baseline interval.
    pub talkers: Talkers,
    /// Learned traffic baselines.
    pub baselines: Baselines,
    /// Flow archive queue (ClickHouse), if configured.
    pub archive: Option<Archive>,
}

impl FabricState {
    /// Empty state for the members of `map`.
    pub fn new(map: MemberMap) -> Self {
        FabricState {
            traffic: Traffic::new(&map),
            map,
            hygiene: Hygiene::new(),
            sequences: SequenceTracker::new(),
            stats: Stats::default(),
            talkers: Talkers::default(),
            baselines: Baselines::default(),
            archive: None,
        }
    }

    /// Ends a baseline interval at unix time `now`: the surge and drop findings firing now.
    pub fn observe_baselines(&mut self, now: u64) -> Vec<Finding> {
        let talkers = std::mem::take(&mut self.talkers);
        self.baselines
            .observe(now, &self.traffic, &talkers, &self.map)
    }

    /// Decodes and accounts one UDP payload received at unix time `now` (seconds).
    pub fn ingest(&mut self, bytes: &[u8], now: u64) -> Result<(), DecodeError> {
        match sflow::decode(bytes) {
            Ok(d) => {
                self.apply(&d, now);
                Ok(())
            }
            Err(e) => {
                *self.stats.errors.entry(e.kind()).or_default() += 1;
                Err(e)
            }
        }
    }

    /// Accounts one decoded datagram.
    pub fn apply(&mut self, d: &Datagram<'_>, now: u64) {
        self.stats.datagrams += 1;
        self.sequences.datagram(d.agent, d.sub_agent, d.sequence);
        for s in &d.samples {
            match s {
                Sample::Flow(f) => {
                    self.stats.flow_samples += 1;
                    self.sequences.flow_sample(
                        d.agent,
                        d.sub_agent,
                        (f.source_id_type, f.source_id_index),
                        f.sequence,
                    );
                    let Some((h, frame)) = f.raw_header().and_then(|h| Some((h, h.frame()?)))
                    else {
                        self.stats.flow_samples_without_frame += 1;
                        continue;
                    };
                    self.traffic
                        .add_sample(&self.map, &frame, h.frame_length, f.sampling_rate);
                    let bytes =
                        u64::from(h.frame_length).saturating_mul(u64::from(f.sampling_rate.max(1)));
                    self.talkers.add(&self.map, &frame, bytes);
                    if let Some(a) = &self.archive {
                        a.push(FlowRow::new(
                            &self.map,
                            now,
                            d.agent,
                            f.input.if_index().unwrap_or(0),
                            f.output.if_index().unwrap_or(0),
                            &frame,
                            h.frame_length,
                            f.sampling_rate,
                        ));
                    }
                    let cx = SampleContext {
                        agent: d.agent,
                        input: f.input.if_index(),
                        rate: f.sampling_rate,
                        now,
                    };
                    self.hygiene.check(&self.map, &frame, cx);
                }
                Sample::Counter(_) => self.stats.counter_samples += 1,
                Sample::Unknown(_) => self.stats.unknown_samples += 1,
            }
        }
    }
}
