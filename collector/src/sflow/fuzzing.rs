//! Entry point of the sFlow fuzz target (`fuzz/`) and its stable smoke test.

use super::{decode, Sample};
use crate::fabric::MemberMap;
use crate::state::FabricState;

/// One UDP payload: decode it, parse every sampled frame, and account it in
/// a fabric state built from `cfg` (as the collector does on receipt).
/// Must never panic, whatever the bytes.
pub fn datagram(data: &[u8], cfg: Option<&fox_config::Config>) {
    if let Ok(d) = decode(data) {
        for s in &d.samples {
            if let Sample::Flow(f) = s {
                let _ = f.raw_header().map(|h| h.frame());
                let _ = f.input.if_index();
                let _ = f.extended_switch();
            }
        }
    }
    if let Some(cfg) = cfg {
        let mut state = FabricState::new(MemberMap::from_config(cfg));
        let _ = state.ingest(data, 1_700_000_000);
    }
}
