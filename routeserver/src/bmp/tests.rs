//! Every message the encoder writes, read back with bgpkit-parser's BMP parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgpkit_parser::models::BgpMessage;
use bgpkit_parser::parse_bmp_msg;
use bgpkit_parser::parser::bmp::messages::BmpMessageBody;

use super::*;
use crate::wire::{AsPath, NextHop, Origin};

fn hdr(post: bool) -> PeerHeader {
    PeerHeader {
        peer_type: PeerType::Global,
        post_policy: post,
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
        asn: 1659,
        bgp_id: Ipv4Addr::new(192, 0, 2, 11),
        time: (1_795_450_000, 5),
        legacy_as_path: false,
    }
}

fn parse(b: &Bytes) -> bgpkit_parser::parser::bmp::messages::BmpMessage {
    let mut d = b.clone();
    let m = parse_bmp_msg(&mut d).expect("bgpkit-parser reads it");
    assert!(d.is_empty(), "{} bytes left over", d.len());
    m
}

fn attrs() -> PathAttrs {
    PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(vec![1659, 17716]),
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 11)),
        med: Some(50),
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![(1659 << 16) | 100],
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    }
}

#[test]
fn initiation_and_termination() {
    let m = parse(&initiation("rs1", "FOX route server"));
    assert!(matches!(
        m.message_body,
        BmpMessageBody::InitiationMessage(_)
    ));
    assert!(m.per_peer_header.is_none());
    let m = parse(&termination(0, "shutdown"));
    assert!(matches!(
        m.message_body,
        BmpMessageBody::TerminationMessage(_)
    ));
}

#[test]
fn peer_up_carries_both_opens() {
    let sent = Open::new(64500, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
    let recv = Open::new(1659, 90, Ipv4Addr::new(192, 0, 2, 11), vec![]);
    let b = peer_up(
        &hdr(false),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 179),
        40000,
        &sent,
        &recv,
    );
    let m = parse(&b);
    let p = m.per_peer_header.expect("per-peer header");
    assert_eq!(p.peer_ip, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)));
    assert_eq!(p.peer_asn, bgpkit_parser::models::Asn::from(1659u32));
    let BmpMessageBody::PeerUpNotification(up) = m.message_body else {
        panic!("not a peer up");
    };
    assert_eq!((up.local_port, up.remote_port), (179, 40000));
    let (BgpMessage::Open(s), BgpMessage::Open(r)) = (up.sent_open, up.received_open) else {
        panic!("not OPENs");
    };
    assert_eq!(
        (s.asn, r.asn),
        (
            bgpkit_parser::models::Asn::from(64500u32),
            bgpkit_parser::models::Asn::from(1659u32)
        )
    );
}

#[test]
fn route_monitoring_pre_and_post_policy() {
    let p: IpNet = "140.112.0.0/16".parse().unwrap();
    for post in [false, true] {
        let msgs = route_monitoring(&hdr(post), &attrs(), &[p]);
        assert_eq!(msgs.len(), 1);
        let m = parse(&msgs[0]);
        let h = m.per_peer_header.expect("per-peer header");
        let bgpkit_parser::parser::bmp::messages::PerPeerFlags::PeerFlags(f) = h.peer_flags else {
            panic!("not a global peer");
        };
        assert_eq!(f.is_post_policy(), post);
        let BmpMessageBody::RouteMonitoring(rm) = m.message_body else {
            panic!("not route monitoring");
        };
        let BgpMessage::Update(u) = rm.bgp_message else {
            panic!("not an update");
        };
        assert_eq!(u.announced_prefixes.len(), 1);
        assert_eq!(u.announced_prefixes[0].prefix, p);
    }
    let msgs = route_withdrawal(&hdr(false), &[p]);
    let BmpMessageBody::RouteMonitoring(rm) = parse(&msgs[0]).message_body else {
        panic!("not route monitoring");
    };
    let BgpMessage::Update(u) = rm.bgp_message else {
        panic!("not an update");
    };
    assert_eq!(u.withdrawn_prefixes[0].prefix, p);
}

#[test]
fn ipv6_peer_flag_and_loc_rib() {
    let mut h = hdr(false);
    h.address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xb));
    let m = parse(&peer_down(&h, &DownReason::RemoteNoData));
    let p = m.per_peer_header.expect("per-peer header");
    assert_eq!(p.peer_ip, h.address);
    assert!(matches!(
        m.message_body,
        BmpMessageBody::PeerDownNotification(_)
    ));
    let loc = PeerHeader {
        peer_type: PeerType::LocRib,
        address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..hdr(false)
    };
    let msgs = route_monitoring(&loc, &attrs(), &["140.112.0.0/16".parse().unwrap()]);
    let m = parse(&msgs[0]);
    assert!(matches!(m.message_body, BmpMessageBody::RouteMonitoring(_)));
}

#[test]
fn statistics_and_peer_down_with_notification() {
    let m = parse(&statistics(&hdr(false), 3, 10, 7));
    let BmpMessageBody::StatsReport(s) = m.message_body else {
        panic!("not stats");
    };
    assert_eq!(s.stats_count, 3);
    assert_eq!(s.counters.len(), 3);
    let n = Notification::new(6, 2, Bytes::new());
    let m = parse(&peer_down(&hdr(false), &DownReason::LocalNotification(n)));
    assert!(matches!(
        m.message_body,
        BmpMessageBody::PeerDownNotification(_)
    ));
}

#[test]
fn loc_rib_peer_up_and_down_rfc9069() {
    let id = Ipv4Addr::new(192, 0, 2, 1);
    let h = loc_rib_header(64500, id, (1_795_450_000, 0));
    let m = parse(&loc_rib_peer_up(&h, GLOBAL_TABLE));
    let p = m.per_peer_header.expect("per-peer header");
    assert_eq!(
        p.peer_type,
        bgpkit_parser::parser::bmp::messages::BmpPeerType::LocalRib
    );
    assert_eq!(p.peer_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(p.peer_asn, bgpkit_parser::models::Asn::from(64500u32));
    assert_eq!(p.peer_bgp_id, id);
    let BmpMessageBody::PeerUpNotification(up) = m.message_body else {
        panic!("not a peer up");
    };
    assert!(up.local_addr.is_unspecified(), "{}", up.local_addr);
    assert_eq!((up.local_port, up.remote_port), (0, 0));
    let (BgpMessage::Open(s), BgpMessage::Open(r)) = (up.sent_open, up.received_open) else {
        panic!("not OPENs");
    };
    assert_eq!(s, r, "the received OPEN repeats the sent one");
    assert_eq!(s.bgp_identifier, id);
    assert_eq!(up.tlvs.len(), 1);
    assert_eq!(up.tlvs[0].info_value, "global");
    // A long name is cut to 255 bytes at a character boundary.
    let long = "é".repeat(200);
    let b = loc_rib_peer_up(&h, &long);
    parse(&b);
    assert_eq!(&b[b.len() - 258..b.len() - 254], &[0, 3, 0, 254]);
    assert_eq!(&b[b.len() - 254..], "é".repeat(127).as_bytes());

    let b = peer_down(&h, &DownReason::LocRibClosed(GLOBAL_TABLE.into()));
    // reason 6, then TLV type 3, length 6, "global"
    assert_eq!(&b[b.len() - 11..], b"\x06\x00\x03\x00\x06global");
    let m = parse(&b);
    assert!(matches!(
        m.message_body,
        BmpMessageBody::PeerDownNotification(_)
    ));
}

#[test]
fn two_octet_member_gets_the_a_flag_and_a_2_octet_as_path() {
    let mut h = hdr(false);
    h.legacy_as_path = true;
    let mut a = attrs();
    a.as_path = AsPath::from_sequence(vec![1659, 263_075]);
    let msgs = route_monitoring(&h, &a, &["140.112.0.0/16".parse().unwrap()]);
    // Per-peer flags: A (0x20) set; V and L clear.
    assert_eq!(msgs[0][7], 0x20);
    let m = parse(&msgs[0]);
    let BmpMessageBody::RouteMonitoring(rm) = m.message_body else {
        panic!("not route monitoring");
    };
    let BgpMessage::Update(u) = rm.bgp_message else {
        panic!("not an update");
    };
    // bgpkit-parser follows the A flag: AS_PATH [1659 AS_TRANS] merged
    // with AS4_PATH [1659 263075] gives the real path.
    let elems = bgpkit_parser::Elementor::bgp_update_to_elems(
        u,
        0.0,
        &h.address,
        &bgpkit_parser::models::Asn::from(1659u32),
    );
    let path = elems[0]
        .as_path
        .as_ref()
        .and_then(|p| p.to_u32_vec_opt(false));
    assert_eq!(path, Some(vec![1659, 263_075]));
    // The Loc-RIB is always 4-octet (RFC 9069 5.6.1).
    let mut loc = loc_rib_header(64500, Ipv4Addr::new(192, 0, 2, 1), (0, 0));
    loc.legacy_as_path = true;
    let msgs = route_monitoring(&loc, &a, &["140.112.0.0/16".parse().unwrap()]);
    assert_eq!(msgs[0][7], 0);
}
