//! Property tests: announcements survive encode -> decode, and no input
//! makes the decoder panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use proptest::prelude::*;

use super::oracle::{full_attrs, split};
use crate::wire::*;

fn asn() -> impl Strategy<Value = Asn> {
    prop_oneof![1u32..65536, any::<u32>(), Just(AS_TRANS)]
}

fn as_path() -> impl Strategy<Value = AsPath> {
    let seg = prop_oneof![
        prop::collection::vec(asn(), 1..12).prop_map(AsSegment::Sequence),
        prop::collection::vec(asn(), 1..5).prop_map(AsSegment::Set),
    ];
    prop::collection::vec(seg, 0..4).prop_map(|segments| AsPath { segments })
}

fn next_hop() -> impl Strategy<Value = NextHop> {
    prop_oneof![
        any::<u32>().prop_map(|a| NextHop::V4(Ipv4Addr::from(a))),
        (any::<u128>(), prop::option::of(any::<u128>())).prop_map(|(g, l)| NextHop::V6 {
            global: Ipv6Addr::from(g),
            link_local: l.map(Ipv6Addr::from)
        }),
    ]
}

fn unknown() -> impl Strategy<Value = Vec<RawAttr>> {
    prop::collection::btree_map(
        100u8..128,
        (prop::bool::ANY, prop::collection::vec(any::<u8>(), 0..300)),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(code, (partial, data))| RawAttr {
                flags: 0xc0 | if partial { 0x20 } else { 0 },
                code,
                data: Bytes::from(data),
            })
            .collect()
    })
}

prop_compose! {
    fn path_attrs()(
        origin in prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
        as_path in as_path(),
        next_hop in next_hop(),
        med in prop::option::of(any::<u32>()),
        atomic_aggregate in any::<bool>(),
        aggregator in prop::option::of((asn(), any::<u32>().prop_map(Ipv4Addr::from))),
        communities in prop::collection::vec(any::<u32>(), 0..6),
        ext_communities in prop::collection::vec(any::<[u8; 8]>(), 0..4),
        large in prop::collection::vec(any::<(u32, u32, u32)>(), 0..4),
        otc in prop::option::of(any::<u32>()),
        unknown in unknown(),
    ) -> PathAttrs {
        PathAttrs {
            origin, as_path, next_hop, med, local_pref: None, atomic_aggregate, aggregator,
            communities, ext_communities,
            large_communities: large.into_iter().map(|(global, local1, local2)| LargeCommunity { global, local1, local2 }).collect(),
            otc, unknown,
        }
    }
}

fn prefixes(v6: bool) -> impl Strategy<Value = Vec<IpNet>> {
    let one = if v6 {
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, l)| {
                IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), l)
                    .unwrap()
                    .trunc()
            })
            .boxed()
    } else {
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, l)| {
                IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), l)
                    .unwrap()
                    .trunc()
            })
            .boxed()
    };
    prop::collection::vec(one, 1..400)
}

fn attrs_and_prefixes() -> impl Strategy<Value = (PathAttrs, Vec<IpNet>)> {
    path_attrs().prop_flat_map(|a| {
        // An IPv6 next hop carries either family (RFC 8950 for IPv4).
        let v6 = prop_oneof![Just(false), Just(matches!(a.next_hop, NextHop::V6 { .. }))];
        (Just(a), v6.prop_flat_map(prefixes))
    })
}

fn caps() -> impl Strategy<Value = SessionCaps> {
    (any::<bool>(), any::<bool>()).prop_map(|(four_octet_as, extended_message)| SessionCaps {
        four_octet_as,
        extended_message,
    })
}

/// What a peer should see: the partial bit aside, `a` itself, except that
/// RFC 6793 4.2.3 makes a 2-octet receiver ignore AS4_PATH when AGGREGATOR
/// is not AS_TRANS.
fn expected(a: &PathAttrs, caps: &SessionCaps) -> (PathAttrs, bool) {
    let mut e = a.clone();
    for u in &mut e.unknown {
        u.flags &= !0x20;
    }
    let ignored =
        !caps.four_octet_as && matches!(a.aggregator, Some((x, _)) if x <= 0xffff && x != AS_TRANS);
    if ignored {
        let t = |v: &Vec<Asn>| {
            v.iter()
                .map(|&x| if x > 0xffff { AS_TRANS } else { x })
                .collect()
        };
        e.as_path.segments = a
            .as_path
            .segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => AsSegment::Sequence(t(v)),
                AsSegment::Set(v) => AsSegment::Set(t(v)),
                other => other.clone(),
            })
            .collect();
    }
    (e, ignored)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn announcements_round_trip((attrs, prefixes) in attrs_and_prefixes(), caps in caps()) {
        let mut out = BytesMut::new();
        let n = encode_announcements(&attrs, &prefixes, &caps, &mut out);
        let msgs = split(&out);
        prop_assert_eq!(msgs.len(), n);
        let (want, as4_ignored) = expected(&attrs, &caps);
        let mut all = Vec::new();
        for m in msgs {
            prop_assert!(m.len() <= caps.max_message_len());
            let Ok(Message::Update(u)) = decode(m, &caps) else { panic!("decode failed") };
            prop_assert!(u.errors.is_empty() || as4_ignored, "{:?}", u.errors);
            prop_assert!(u.withdrawn.is_empty());
            prop_assert_eq!(u.announced.len(), 1);
            let (mut got, p) = u.announced.into_iter().next().unwrap();
            for x in &mut got.unknown {
                prop_assert!(x.flags & 0x20 != 0, "partial bit set when re-sent");
                x.flags &= !0x20;
            }
            prop_assert_eq!(&got, &want);
            all.extend(p);
        }
        prop_assert_eq!(all, prefixes);
    }

    #[test]
    fn withdrawals_round_trip(v6 in any::<bool>(), caps in caps(), prefixes in any::<bool>().prop_flat_map(prefixes)) {
        let afi = if v6 { Afi::Ipv6 } else { Afi::Ipv4 };
        let mine: Vec<IpNet> = prefixes.iter().copied().filter(|p| Afi::of(p) == afi).collect();
        let mut out = BytesMut::new();
        let n = encode_withdrawals(afi, &prefixes, &caps, &mut out);
        let mut all = Vec::new();
        for m in split(&out) {
            let Ok(Message::Update(u)) = decode(m, &caps) else { panic!("decode failed") };
            prop_assert!(u.announced.is_empty() && u.errors.is_empty());
            all.extend(u.withdrawn);
        }
        prop_assert_eq!(split(&out).len(), n);
        prop_assert_eq!(all, mine);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), caps in caps()) {
        let _ = decode(&bytes, &caps);
        let _ = frame_len(&bytes, caps.max_message_len());
    }

    #[test]
    fn random_bodies_never_panic(ty in 1u8..=5, body in prop::collection::vec(any::<u8>(), 0..600), caps in caps()) {
        let mut m = header::MARKER.to_vec();
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(ty);
        m.extend_from_slice(&body);
        let _ = decode(&m, &caps);
        let _ = decode_bytes(&Bytes::from(m), &caps);
    }

    #[test]
    fn mutated_messages_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), caps in caps(), cut in any::<prop::sample::Index>()) {
        let mut out = BytesMut::new();
        let attrs = full_attrs(NextHop::V6 { global: Ipv6Addr::LOCALHOST, link_local: None });
        encode_announcements(&attrs, &["2001:db8::/32".parse().unwrap()], &caps, &mut out);
        let open = Open::new(65001, 90, Ipv4Addr::LOCALHOST, vec![Capability::FourOctetAs(65001), Capability::AddPath(vec![(1, 1, 3)])]);
        encode(&Message::Open(open), &caps, &mut out);
        let mut v = out.to_vec();
        for (i, b) in flips {
            let i = i.index(v.len());
            v[i] = b;
        }
        let _ = decode(&v, &caps);
        let mut rest = &v[..];
        for _ in 0..4 {
            match frame_len(rest, caps.max_message_len()) {
                Ok(Some(n)) => {
                    let _ = decode(&rest[..n], &caps);
                    rest = &rest[n..];
                }
                _ => break,
            }
        }
        let _ = decode(&v[..cut.index(v.len())], &caps);
    }
}
