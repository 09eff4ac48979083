//! Aggregation and hygiene on crafted frames with known MACs and sampling rates.

use std::net::IpAddr;

use super::*;
use crate::sflow::Frame;
use crate::state::FabricState;
use crate::testdata::{self, flow_sample};

pub(crate) const CONFIG: &str = r#"exchange: { name: TEST }
sites:
  - { id: a, name: Site A }
  - { id: b, name: Site B }
peering_lans:
  - { name: v4, prefix: 192.0.2.0/24 }
route_servers:
  - { name: rs1, asn: 64500, router_id: 192.0.2.1, ipv4: 192.0.2.1, site: a }
members:
  - name: M1
    asn: 65001
    connections:
      - { site: a, ipv4: 192.0.2.11, macs: ["02:00:00:00:00:11"] }
      - { site: b, ipv4: 192.0.2.12, macs: ["02:00:00:00:00:12"] }
  - name: M2
    asn: 65002
    connections:
      - { site: b, ipv4: 192.0.2.21, macs: ["02:00:00:00:00:21"] }
  - name: M3
    asn: 65003
    connections:
      - { site: a, ipv4: 192.0.2.31, macs: ["02:00:00:00:00:31", "02:00:00:00:00:32"] }
"#;

pub(crate) const M1A: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
pub(crate) const M1B: [u8; 6] = [2, 0, 0, 0, 0, 0x12];
pub(crate) const M2: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
pub(crate) const M3A: [u8; 6] = [2, 0, 0, 0, 0, 0x31];
pub(crate) const M3B: [u8; 6] = [2, 0, 0, 0, 0, 0x32];
const ROGUE: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

pub(crate) fn map() -> MemberMap {
    MemberMap::from_config(&fox_config::parse(CONFIG, "t.yaml").expect("valid config"))
}

fn frame(bytes: &[u8]) -> Frame {
    Frame::parse(bytes).expect("ethernet frame")
}

#[test]
fn mac_lookup_gives_member_connection_and_site() {
    let m = map();
    assert_eq!(m.mac_count(), 5);
    let o = m.lookup(&M1B).expect("registered");
    assert_eq!(m.members()[o.member].name, "M1");
    assert_eq!((o.connection, m.sites()[o.site].as_str()), (1, "b"));
    assert_eq!(m.lookup(&ROGUE), None);
    assert_eq!(m.find("M3"), Some(2));
}

#[test]
fn samples_are_scaled_by_sampling_rate_into_members_and_matrix() {
    let m = map();
    let mut t = Traffic::new(&m);
    let v4 = frame(&testdata::ipv4_udp_frame(M1A, M2, 1000));
    let v6 = frame(&testdata::ipv6_tcp_frame(M2, M1B));
    for _ in 0..3 {
        t.add_sample(&m, &v4, 1000, 1024);
    }
    t.add_sample(&m, &v6, 1500, 512);
    let (m1, m2) = (0, 1);
    assert_eq!(
        t.members[m1].out.get(Afi::Ipv4),
        Counts {
            bytes: 3 * 1000 * 1024,
            packets: 3 * 1024
        }
    );
    assert_eq!(
        t.members[m2].in_.get(Afi::Ipv4),
        Counts {
            bytes: 3 * 1000 * 1024,
            packets: 3 * 1024
        }
    );
    assert_eq!(
        t.members[m1].in_.get(Afi::Ipv6),
        Counts {
            bytes: 1500 * 512,
            packets: 512
        }
    );
    assert_eq!(
        t.members[m2].out.total(),
        Counts {
            bytes: 1500 * 512,
            packets: 512
        }
    );
    assert_eq!(t.matrix[&(m1, m2)].get(Afi::Ipv4).packets, 3 * 1024);
    assert_eq!(t.matrix[&(m2, m1)].get(Afi::Ipv6).packets, 512);
    assert_eq!(t.matrix.len(), 2);
    // Ingress sites: M1 sent from site a; M2 sent from b to M1's site-b port.
    let (a, b) = (0, 1);
    assert_eq!(t.matrix_by_site[&(a, m1, m2)].packets, 3 * 1024);
    assert_eq!(t.matrix_by_site[&(b, m2, m1)].packets, 512);
    assert_eq!(t.sites[&(a, b)].total().packets, 3 * 1024);
    assert_eq!(t.sites[&(b, b)].total().packets, 512);
    assert_eq!(t.total.total().packets, 3 * 1024 + 512);
    assert_eq!(t.unattributed.unknown_src, Counts::default());
}

#[test]
fn unknown_macs_and_group_destinations_are_counted_apart() {
    let m = map();
    let mut t = Traffic::new(&m);
    t.add_sample(
        &m,
        &frame(&testdata::ipv4_udp_frame(ROGUE, M2, 100)),
        100,
        10,
    );
    t.add_sample(
        &m,
        &frame(&testdata::ipv4_udp_frame(M1A, ROGUE, 100)),
        100,
        10,
    );
    t.add_sample(&m, &frame(&testdata::arp_request_frame(M1A)), 64, 10);
    assert_eq!(
        t.unattributed.unknown_src,
        Counts {
            bytes: 1000,
            packets: 10
        }
    );
    assert_eq!(
        t.unattributed.unknown_dst,
        Counts {
            bytes: 1000,
            packets: 10
        }
    );
    assert_eq!(
        t.unattributed.non_unicast,
        Counts {
            bytes: 640,
            packets: 10
        }
    );
    assert_eq!(t.unattributed.unknown_macs[&ROGUE].packets, 20);
    assert!(t.matrix.is_empty(), "no member pair");
    // M2 still received, M1 still sent (both unicast and broadcast).
    assert_eq!(t.members[1].in_.total().packets, 10);
    assert_eq!(t.members[0].out.total().packets, 20);
    assert_eq!(
        t.members[0].out.get(Afi::Other).packets,
        10,
        "ARP is neither v4 nor v6"
    );
}

#[test]
fn sampling_rate_zero_counts_as_one() {
    let m = map();
    let mut t = Traffic::new(&m);
    t.add_sample(&m, &frame(&testdata::ipv4_udp_frame(M1A, M2, 100)), 100, 0);
    assert_eq!(
        t.matrix[&(0, 1)].total(),
        Counts {
            bytes: 100,
            packets: 1
        }
    );
}

#[test]
fn top_peers_rank_by_volume_both_ways() {
    let m = map();
    let mut t = Traffic::new(&m);
    t.add_sample(&m, &frame(&testdata::ipv4_udp_frame(M1A, M2, 100)), 100, 1);
    t.add_sample(
        &m,
        &frame(&testdata::ipv4_udp_frame(M3A, M1A, 100)),
        1000,
        1,
    );
    t.add_sample(&m, &frame(&testdata::ipv4_udp_frame(M1A, M3B, 100)), 500, 1);
    let top = t.top_peers(0, 10);
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].0, 2, "M3: 1500 bytes");
    assert_eq!((top[0].1.bytes, top[0].2.bytes), (500, 1000));
    assert_eq!((top[1].0, top[1].1.bytes), (1, 100));
    assert_eq!(t.top_peers(0, 1).len(), 1);
}

fn cx(input: u32, now: u64) -> SampleContext {
    SampleContext {
        agent: Some(IpAddr::from([192, 0, 2, 250])),
        input: Some(input),
        rate: 100,
        now,
    }
}

#[test]
fn protocol_rules_on_crafted_frames() {
    let cases: [(Vec<u8>, Vec<Rule>); 9] = [
        (testdata::lldp_frame(M1A), vec![Rule::Lldp]),
        (testdata::bpdu_frame(M1A), vec![Rule::SpanningTree]),
        (testdata::cdp_frame(M1A), vec![Rule::Cdp]),
        (testdata::dhcp_discover_frame(M1A), vec![Rule::Dhcp]),
        (
            testdata::router_advert_frame(M1A),
            vec![Rule::RouterAdvertisement],
        ),
        (testdata::arp_request_frame(M1A), vec![]),
        (testdata::neighbor_solicit_frame(M1A), vec![]),
        (testdata::ipv4_udp_frame(M1A, M2, 100), vec![]),
        (
            testdata::ethernet(testdata::BROADCAST, M1A, 0x8137, &[0; 30]),
            vec![Rule::NonUnicast, Rule::UnexpectedEthertype],
        ),
    ];
    for (bytes, want) in cases {
        let f = frame(&bytes);
        assert_eq!(frame_rules(&f), want, "{f:?}");
    }
    // Multicast IPv4 (not ARP/ND) is non-unicast but a fine ethertype.
    let mut mc = testdata::ipv4_udp_frame(M1A, [0x01, 0, 0x5e, 0, 0, 5], 100);
    mc[0] = 0x01;
    assert_eq!(frame_rules(&frame(&mc)), vec![Rule::NonUnicast]);
    // Tagged LLDP is still LLDP.
    let tagged = testdata::tagged(testdata::LLDP_DST, M1A, &[10], 0x88cc, &[0; 10]);
    assert_eq!(frame_rules(&frame(&tagged)), vec![Rule::Lldp]);
}

#[test]
fn violations_are_counted_per_mac_and_rule_with_the_last_offence() {
    let m = map();
    let mut h = Hygiene::new();
    assert_eq!(
        h.check(&m, &frame(&testdata::lldp_frame(M1A)), cx(5, 100)),
        vec![Rule::Lldp]
    );
    h.check(&m, &frame(&testdata::lldp_frame(M1A)), cx(5, 160));
    h.check(&m, &frame(&testdata::router_advert_frame(M1A)), cx(5, 170));
    let v = &h.violations[&(M1A, Rule::Lldp)];
    assert_eq!((v.samples, v.frames), (2, 200));
    assert_eq!(v.owner.map(|o| o.member), Some(0));
    assert_eq!(v.last.at, 160);
    assert_eq!(v.last.ethertype, 0x88cc);
    assert_eq!(v.last.src_mac, "02:00:00:00:00:11");
    assert_eq!(v.last.dst_mac, "01:80:c2:00:00:0e");
    assert_eq!(v.last.input_if_index, Some(5));
    assert_eq!(h.violations[&(M1A, Rule::RouterAdvertisement)].samples, 1);
    assert_eq!(h.violations.len(), 2);
}

#[test]
fn unregistered_source_mac_is_a_violation() {
    let m = map();
    let mut h = Hygiene::new();
    let rules = h.check(&m, &frame(&testdata::dhcp_discover_frame(ROGUE)), cx(9, 1));
    assert_eq!(rules, vec![Rule::Dhcp, Rule::UnregisteredMac]);
    let v = &h.violations[&(ROGUE, Rule::UnregisteredMac)];
    assert_eq!(v.owner, None);
}

#[test]
fn more_than_one_mac_behind_a_port() {
    let m = map();
    let mut h = Hygiene::new();
    let data = frame(&testdata::ipv4_udp_frame(M1A, M2, 100));
    assert!(h.check(&m, &data, cx(5, 10)).is_empty());
    // M3's two registered MACs on one port are one router's: fine.
    let m3a = frame(&testdata::ipv4_udp_frame(M3A, M2, 100));
    let m3b = frame(&testdata::ipv4_udp_frame(M3B, M2, 100));
    assert!(h.check(&m, &m3a, cx(7, 10)).is_empty());
    assert!(h.check(&m, &m3b, cx(7, 11)).is_empty());
    // M2's MAC behind M1's port 5: shared port, attributed to the newcomer.
    let m2 = frame(&testdata::ipv4_udp_frame(M2, M1A, 100));
    assert_eq!(h.check(&m, &m2, cx(5, 20)), vec![Rule::MultipleMacsOnPort]);
    assert!(
        h.check(&m, &data, cx(5, 21)).is_empty(),
        "the first MAC is not blamed"
    );
    assert_eq!(h.violations[&(M2, Rule::MultipleMacsOnPort)].samples, 1);
    // Same port number on another agent is another port.
    let other_agent = SampleContext {
        agent: Some(IpAddr::from([192, 0, 2, 251])),
        ..cx(5, 22)
    };
    assert!(h.check(&m, &m2, other_agent).is_empty());
    // An hour later both MACs have aged out; M2 alone behind port 5 is fine.
    let later = 21 + hygiene_age();
    assert!(h.check(&m, &m2, cx(5, later)).is_empty(), "M1A aged out");
}

fn hygiene_age() -> u64 {
    super::hygiene::PORT_MAC_AGE_SECS
}

#[test]
fn state_ingests_datagrams_end_to_end() {
    let mut st = FabricState::new(map());
    let agent = IpAddr::from([192, 0, 2, 250]);
    let f1 = testdata::ipv4_udp_frame(M1A, M2, 1000);
    let lldp = testdata::lldp_frame(M2);
    let d1 = testdata::datagram(
        agent,
        1,
        vec![
            flow_sample(1, 4096, 5, &f1, 1000),
            flow_sample(2, 4096, 5, &f1, 1000),
        ],
    );
    let d3 = testdata::datagram(agent, 3, vec![flow_sample(4, 4096, 6, &lldp, 64)]);
    st.ingest(&d1, 100).expect("valid");
    st.ingest(&d3, 101).expect("valid");
    assert!(st.ingest(&d3[..20], 102).is_err());
    assert_eq!(st.stats.datagrams, 2);
    assert_eq!(st.stats.flow_samples, 3);
    assert_eq!(st.stats.errors.get("truncated"), Some(&1));
    assert_eq!(st.sequences.lost_datagrams, 1, "datagram 2 missing");
    assert_eq!(
        st.sequences.lost_samples, 0,
        "sample streams are per source (5 and 6)"
    );
    assert_eq!(st.traffic.matrix[&(0, 1)].total().packets, 2 * 4096);
    assert_eq!(st.hygiene.violations[&(M2, Rule::Lldp)].frames, 4096);
}
