//! bgpkit-parser as an independent oracle: every message our encoder writes
//! must be read back by `bgpkit_parser::parser::bgp::parse_bgp_message` with
//! the same content.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgpkit_parser::models as bk;
use bgpkit_parser::parser::bgp::parse_bgp_message;
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

use crate::wire::*;

/// Split a buffer of whole messages.
pub(super) fn split(buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let n = frame_len(rest, MAX_EXTENDED_MESSAGE_LEN)
            .expect("valid header")
            .expect("whole message");
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

fn parse(msg: &[u8], four_octet: bool) -> bk::BgpMessage {
    let asn_len = if four_octet {
        bk::AsnLength::Bits32
    } else {
        bk::AsnLength::Bits16
    };
    let mut b = Bytes::copy_from_slice(msg);
    let m = parse_bgp_message(&mut b, false, &asn_len).expect("bgpkit parses our message");
    assert!(b.is_empty(), "bgpkit consumed the whole message");
    m
}

fn path(p: &bk::AsPath) -> AsPath {
    AsPath {
        segments: p
            .segments
            .iter()
            .map(|s| match s {
                bk::AsPathSegment::AsSequence(v) => {
                    AsSegment::Sequence(v.iter().map(|a| a.to_u32()).collect())
                }
                bk::AsPathSegment::AsSet(v) => {
                    AsSegment::Set(v.iter().map(|a| a.to_u32()).collect())
                }
                bk::AsPathSegment::ConfedSequence(v) => {
                    AsSegment::ConfedSequence(v.iter().map(|a| a.to_u32()).collect())
                }
                bk::AsPathSegment::ConfedSet(v) => {
                    AsSegment::ConfedSet(v.iter().map(|a| a.to_u32()).collect())
                }
            })
            .collect(),
    }
}

/// What bgpkit saw in one UPDATE, in our types.
#[derive(Debug, Default)]
struct Seen {
    withdrawn: Vec<IpNet>,
    announced: Vec<IpNet>,
    origin: Option<Origin>,
    as_path: Option<AsPath>,
    as4_path: Option<AsPath>,
    next_hop: Option<NextHop>,
    med: Option<u32>,
    atomic: bool,
    aggregator: Option<(Asn, Ipv4Addr)>,
    as4_aggregator: Option<(Asn, Ipv4Addr)>,
    communities: Vec<u32>,
    ext: Vec<[u8; 8]>,
    large: Vec<LargeCommunity>,
    otc: Option<Asn>,
    unknown: Vec<RawAttr>,
    codes: Vec<u8>,
    eor_unreach: Option<u16>,
}

fn seen(msg: &[u8], four_octet: bool) -> Seen {
    let bk::BgpMessage::Update(u) = parse(msg, four_octet) else {
        panic!("not an UPDATE")
    };
    assert!(
        u.attributes.validation_warnings().is_empty(),
        "bgpkit RFC 7606 warnings: {:?}",
        u.attributes.validation_warnings()
    );
    let mut s = Seen {
        withdrawn: u.withdrawn_prefixes.iter().map(|p| p.prefix).collect(),
        announced: u.announced_prefixes.iter().map(|p| p.prefix).collect(),
        ..Seen::default()
    };
    for a in u.attributes.clone().into_attributes_iter() {
        s.codes.push(a.value.attr_code());
        match &a.value {
            bk::AttributeValue::Origin(o) => {
                s.origin = Some(match o {
                    bk::Origin::IGP => Origin::Igp,
                    bk::Origin::EGP => Origin::Egp,
                    bk::Origin::INCOMPLETE => Origin::Incomplete,
                })
            }
            bk::AttributeValue::AsPath(p) => s.as_path = Some(path(p)),
            bk::AttributeValue::As4Path(p) => s.as4_path = Some(path(p)),
            bk::AttributeValue::NextHop(IpAddr::V4(v)) => s.next_hop = Some(NextHop::V4(*v)),
            bk::AttributeValue::MultiExitDiscriminator(m) => s.med = Some(*m),
            bk::AttributeValue::AtomicAggregate => s.atomic = true,
            bk::AttributeValue::Aggregator { asn, id } => s.aggregator = Some((asn.to_u32(), *id)),
            bk::AttributeValue::As4Aggregator { asn, id } => {
                s.as4_aggregator = Some((asn.to_u32(), *id))
            }
            bk::AttributeValue::Communities(cs) => {
                s.communities = cs
                    .iter()
                    .map(|c| match c {
                        bk::Community::NoExport => 0xffff_ff01,
                        bk::Community::NoAdvertise => 0xffff_ff02,
                        bk::Community::NoExportSubConfed => 0xffff_ff03,
                        bk::Community::Custom(asn, v) => (asn.to_u32() << 16) | u32::from(*v),
                    })
                    .collect()
            }
            bk::AttributeValue::ExtendedCommunities(_) => {
                // Typed by bgpkit; compare through its own encoder.
                let enc = a.encode(bk::AsnLength::Bits32).expect("bgpkit encodes");
                let hdr = if a.is_extended() { 4 } else { 3 };
                s.ext = enc[hdr..]
                    .chunks_exact(8)
                    .map(|c| c.try_into().unwrap())
                    .collect();
            }
            bk::AttributeValue::LargeCommunities(ls) => {
                s.large = ls
                    .iter()
                    .map(|l| LargeCommunity {
                        global: l.global_admin,
                        local1: l.local_data[0],
                        local2: l.local_data[1],
                    })
                    .collect()
            }
            bk::AttributeValue::OnlyToCustomer(asn) => s.otc = Some(asn.to_u32()),
            bk::AttributeValue::MpReachNlri(n) => {
                assert_eq!(n.safi, bk::Safi::Unicast);
                s.next_hop = Some(match n.next_hop {
                    Some(bk::NextHopAddress::Ipv6(g)) => NextHop::V6 {
                        global: g,
                        link_local: None,
                    },
                    Some(bk::NextHopAddress::Ipv6LinkLocal(g, l)) => NextHop::V6 {
                        global: g,
                        link_local: Some(l),
                    },
                    other => panic!("unexpected next hop {other:?}"),
                });
                s.announced.extend(n.prefixes.iter().map(|p| p.prefix));
            }
            bk::AttributeValue::MpUnreachNlri(n) => {
                if n.prefixes.is_empty() {
                    s.eor_unreach = Some(n.afi as u16);
                }
                s.withdrawn.extend(n.prefixes.iter().map(|p| p.prefix));
            }
            bk::AttributeValue::Unknown(raw)
            | bk::AttributeValue::Raw(raw)
            | bk::AttributeValue::Deprecated(raw) => s.unknown.push(RawAttr {
                flags: a.flag.bits() & !0x10,
                code: raw.code,
                data: raw.bytes.clone(),
            }),
            other => panic!("unexpected attribute {other:?}"),
        }
    }
    s
}

fn lc(global: u32, local1: u32, local2: u32) -> LargeCommunity {
    LargeCommunity {
        global,
        local1,
        local2,
    }
}

pub(super) fn full_attrs(next_hop: NextHop) -> PathAttrs {
    PathAttrs {
        origin: Origin::Egp,
        as_path: AsPath {
            segments: vec![
                AsSegment::Sequence(vec![65001, 4_200_000_000, 3356]),
                AsSegment::Set(vec![64512, 400_000]),
            ],
        },
        next_hop,
        med: Some(50),
        local_pref: None,
        atomic_aggregate: true,
        aggregator: Some((4_200_000_000, Ipv4Addr::new(10, 0, 0, 1))),
        communities: vec![0xffff_ff01, (65001 << 16) | 100],
        ext_communities: vec![
            [0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 7],
            [0x02, 0x02, 0, 0, 0xfd, 0xe9, 0, 8],
        ],
        large_communities: vec![lc(4_200_000_000, 1, 2), lc(65001, 1101, 7)],
        otc: Some(65001),
        unknown: vec![RawAttr {
            flags: 0xc0,
            code: 99,
            data: Bytes::from_static(b"opaque"),
        }],
    }
}

fn v4_prefixes(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| IpNet::new(IpAddr::V4(Ipv4Addr::from(0x6400_0000 + (i << 8))), 24).unwrap())
        .collect()
}

fn v6_prefixes(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            IpNet::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 0)),
                48,
            )
            .unwrap()
        })
        .collect()
}

/// Checks every attribute of `s` against `a` as sent on a session with `caps`.
fn check_attrs(s: &Seen, a: &PathAttrs, caps: &SessionCaps) {
    assert_eq!(s.origin, Some(a.origin));
    assert_eq!(s.next_hop, Some(a.next_hop));
    assert_eq!(s.med, a.med);
    assert_eq!(s.atomic, a.atomic_aggregate);
    assert_eq!(s.communities, a.communities);
    assert_eq!(s.ext, a.ext_communities);
    assert_eq!(s.large, a.large_communities);
    assert_eq!(s.otc, a.otc);
    let partial: Vec<RawAttr> = a
        .unknown
        .iter()
        .map(|u| RawAttr {
            flags: u.flags | 0x20,
            ..u.clone()
        })
        .collect();
    assert_eq!(
        s.unknown, partial,
        "unknown transitive attributes re-sent with the Partial bit"
    );
    if caps.four_octet_as {
        assert_eq!(s.as_path.as_ref(), Some(&a.as_path));
        assert_eq!(s.aggregator, a.aggregator);
        assert_eq!((s.as4_path.as_ref(), s.as4_aggregator), (None, None));
    } else {
        let trans = |x: Asn| if x > 0xffff { AS_TRANS } else { x };
        let two = AsPath {
            segments: a
                .as_path
                .segments
                .iter()
                .map(|seg| match seg {
                    AsSegment::Sequence(v) => {
                        AsSegment::Sequence(v.iter().copied().map(trans).collect())
                    }
                    AsSegment::Set(v) => AsSegment::Set(v.iter().copied().map(trans).collect()),
                    other => other.clone(),
                })
                .collect(),
        };
        assert_eq!(s.as_path.as_ref(), Some(&two));
        assert_eq!(s.as4_path.as_ref(), Some(&a.as_path));
        assert_eq!(s.aggregator, a.aggregator.map(|(x, ip)| (trans(x), ip)));
        assert_eq!(s.as4_aggregator, a.aggregator);
    }
    let mut sorted = s.codes.clone();
    sorted.sort_unstable();
    if s.codes.first() == Some(&14) {
        sorted.retain(|&c| c != 14);
        sorted.insert(0, 14);
    }
    assert_eq!(s.codes, sorted, "MP_REACH first, then ascending type codes");
}

fn announce_and_check(attrs: &PathAttrs, prefixes: &[IpNet], caps: SessionCaps) -> usize {
    let mut out = BytesMut::new();
    let n = encode_announcements(attrs, prefixes, &caps, &mut out);
    let msgs = split(&out);
    assert_eq!(msgs.len(), n);
    let mut all = Vec::new();
    for m in msgs {
        assert!(m.len() <= caps.max_message_len());
        let s = seen(m, caps.four_octet_as);
        check_attrs(&s, attrs, &caps);
        all.extend(s.announced);
    }
    assert_eq!(all, prefixes, "every prefix announced once, in order");
    n
}

const FOUR: SessionCaps = SessionCaps {
    four_octet_as: true,
    extended_message: false,
};
const TWO: SessionCaps = SessionCaps {
    four_octet_as: false,
    extended_message: false,
};

#[test]
fn ipv4_announcements_with_all_attributes() {
    let attrs = full_attrs(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(announce_and_check(&attrs, &v4_prefixes(1), FOUR), 1);
    let n = announce_and_check(&attrs, &v4_prefixes(2000), FOUR);
    assert!(
        n >= 3,
        "2000 prefixes need several 4096-octet messages, got {n}"
    );
    let big = SessionCaps {
        extended_message: true,
        ..FOUR
    };
    assert_eq!(announce_and_check(&attrs, &v4_prefixes(2000), big), 1);
}

#[test]
fn ipv6_announcements_with_all_attributes() {
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    for nh in [
        NextHop::V6 {
            global,
            link_local: None,
        },
        NextHop::V6 {
            global,
            link_local: Some(ll),
        },
    ] {
        let attrs = full_attrs(nh);
        announce_and_check(&attrs, &v6_prefixes(3), FOUR);
        assert!(announce_and_check(&attrs, &v6_prefixes(900), FOUR) >= 2);
        announce_and_check(&attrs, &v6_prefixes(5), TWO);
    }
}

#[test]
fn two_octet_sessions_get_as_trans_and_as4_attributes() {
    let attrs = full_attrs(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    announce_and_check(&attrs, &v4_prefixes(10), TWO);
    // A path that fits in 2 octets gets no AS4_PATH.
    let small = PathAttrs {
        as_path: AsPath::from_sequence(vec![65001, 3356]),
        aggregator: None,
        ..attrs
    };
    let mut out = BytesMut::new();
    encode_announcements(&small, &v4_prefixes(1), &TWO, &mut out);
    let s = seen(&out, false);
    assert_eq!(s.as_path, Some(small.as_path.clone()));
    assert_eq!(s.as4_path, None);
}

#[test]
fn withdrawals_and_end_of_rib() {
    for (afi, prefixes) in [
        (Afi::Ipv4, v4_prefixes(1500)),
        (Afi::Ipv6, v6_prefixes(1000)),
    ] {
        let mut out = BytesMut::new();
        let n = encode_withdrawals(afi, &prefixes, &FOUR, &mut out);
        assert!(n >= 2);
        let all: Vec<IpNet> = split(&out)
            .iter()
            .flat_map(|m| seen(m, true).withdrawn)
            .collect();
        assert_eq!(all, prefixes);
    }
    let mut out = BytesMut::new();
    encode_end_of_rib(Afi::Ipv4, &mut out);
    assert_eq!(out.len(), 23);
    let s = seen(&out, true);
    assert!(s.withdrawn.is_empty() && s.announced.is_empty() && s.codes.is_empty());
    let mut out = BytesMut::new();
    encode_end_of_rib(Afi::Ipv6, &mut out);
    assert_eq!(seen(&out, true).eor_unreach, Some(2));
}

fn cap_from_bgpkit(c: &bk::Capability) -> Capability {
    let code: u8 = c.ty.into();
    match &c.value {
        bk::CapabilityValue::MultiprotocolExtensions(m) => Capability::Multiprotocol {
            afi: m.afi as u16,
            safi: m.safi as u8,
        },
        bk::CapabilityValue::RouteRefresh(_) => Capability::RouteRefresh,
        bk::CapabilityValue::GracefulRestart(g) => Capability::GracefulRestart {
            restart_state: g.restart_state,
            restart_time: g.restart_time,
            families: g
                .address_families
                .iter()
                .map(|f| (f.afi as u16, f.safi as u8, f.forwarding_state))
                .collect(),
        },
        bk::CapabilityValue::FourOctetAs(f) => Capability::FourOctetAs(f.asn),
        bk::CapabilityValue::AddPath(a) => Capability::AddPath(
            a.address_families
                .iter()
                .map(|f| (f.afi as u16, f.safi as u8, f.send_receive as u8))
                .collect(),
        ),
        bk::CapabilityValue::BgpRole(r) => Capability::Role(r.role as u8),
        bk::CapabilityValue::BgpExtendedMessage(_) => Capability::ExtendedMessage,
        bk::CapabilityValue::Raw(d) if code == 70 && d.is_empty() => {
            Capability::EnhancedRouteRefresh
        }
        bk::CapabilityValue::Raw(d) => Capability::Unknown {
            code,
            data: Bytes::from(d.clone()),
        },
        other => panic!("unexpected capability {other:?}"),
    }
}

#[test]
fn open_with_all_capabilities() {
    let caps = vec![
        Capability::Multiprotocol { afi: 1, safi: 1 },
        Capability::Multiprotocol { afi: 2, safi: 1 },
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::FourOctetAs(4_200_000_001),
        Capability::ExtendedMessage,
        Capability::GracefulRestart {
            restart_state: true,
            restart_time: 120,
            families: vec![(1, 1, true), (2, 1, false)],
        },
        Capability::AddPath(vec![(1, 1, 1), (2, 1, 3)]),
        Capability::Role(open::role::RS),
        Capability::Unknown {
            code: 73,
            data: Bytes::from_static(b"\x03rs1\x00"),
        },
    ];
    for caps in [
        caps.clone(),
        caps.iter().cycle().take(60).cloned().collect(),
    ] {
        let open = Open::new(4_200_000_001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
        let mut out = BytesMut::new();
        encode(&Message::Open(open.clone()), &FOUR, &mut out);
        let bk::BgpMessage::Open(o) = parse(&out, true) else {
            panic!("not an OPEN")
        };
        assert_eq!(o.version, 4);
        assert_eq!(o.asn.to_u32(), AS_TRANS);
        assert_eq!(o.hold_time, 90);
        assert_eq!(o.bgp_identifier, open.bgp_id);
        let got: Vec<Capability> = o
            .opt_params
            .iter()
            .flat_map(|p| match &p.param_value {
                bk::ParamValue::Capacities(cs) => {
                    cs.iter().map(cap_from_bgpkit).collect::<Vec<_>>()
                }
                bk::ParamValue::Raw(_) => panic!("raw parameter"),
            })
            .collect();
        assert_eq!(got, open.capabilities);
    }
}

#[test]
fn notification_keepalive_and_route_refresh() {
    let n = Notification::cease_admin_shutdown("maintenance");
    let mut out = BytesMut::new();
    encode(&Message::Notification(n.clone()), &FOUR, &mut out);
    let bk::BgpMessage::Notification(got) = parse(&out, true) else {
        panic!()
    };
    assert_eq!(got.error.get_codes(), (n.code, n.subcode));
    assert_eq!(got.data, n.data.to_vec());

    let mut out = BytesMut::new();
    encode(&Message::Keepalive, &FOUR, &mut out);
    assert_eq!(parse(&out, true), bk::BgpMessage::KeepAlive);

    for subtype in [0, 1, 2] {
        let rr = RouteRefresh {
            afi: 2,
            subtype,
            safi: 1,
        };
        let mut out = BytesMut::new();
        encode(&Message::RouteRefresh(rr), &FOUR, &mut out);
        let bk::BgpMessage::RouteRefresh(got) = parse(&out, true) else {
            panic!()
        };
        assert_eq!(
            (got.afi, got.subtype, got.safi, got.data.len()),
            (2, subtype, 1, 0)
        );
        assert_eq!(decode(&out, &FOUR), Ok(Message::RouteRefresh(rr)));
    }
}
