//! RFC 4271 6.3 / RFC 7606 / RFC 6793 cases, one test per rule.

use std::net::Ipv6Addr;

use bytes::BytesMut;
use ipnet::IpNet;

use super::attrs::code::*;
use super::*;
use crate::wire::header::{MARKER, MSG_UPDATE};
use crate::wire::{decode, Message};

const T: u8 = 0x40; // well-known transitive
const O: u8 = 0x80; // optional non-transitive
const OT: u8 = 0xc0; // optional transitive

fn attr(flags: u8, c: u8, v: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, c];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(v.len() as u16).to_be_bytes());
    } else {
        a.push(v.len() as u8);
    }
    a.extend_from_slice(v);
    a
}

fn msg(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = (withdrawn.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    raw(&body)
}

fn raw(body: &[u8]) -> Vec<u8> {
    let mut m = MARKER.to_vec();
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(MSG_UPDATE);
    m.extend_from_slice(body);
    m
}

fn origin() -> Vec<u8> {
    attr(T, ORIGIN, &[0])
}
fn as_path() -> Vec<u8> {
    attr(T, AS_PATH, &[2, 1, 0, 0, 0xfd, 0xe9]) // AS_SEQUENCE 65001
}
fn next_hop() -> Vec<u8> {
    attr(T, NEXT_HOP, &[192, 0, 2, 1])
}
const NLRI: [u8; 4] = [24, 203, 0, 113];

fn p(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn with(extra: &[&[u8]]) -> Vec<u8> {
    let mut a = [origin(), as_path(), next_hop()].concat();
    for e in extra {
        a.extend_from_slice(e);
    }
    a
}

fn dec_with(m: &[u8], caps: SessionCaps) -> Result<Update, Notification> {
    match decode(m, &caps)? {
        Message::Update(u) => Ok(u),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn dec(m: &[u8]) -> Result<Update, Notification> {
    dec_with(m, SessionCaps::default())
}

/// Decodes and checks that the NLRI was turned into a withdrawal.
fn assert_withdrawn(m: &[u8], why: &str) -> Update {
    let u = dec(m).unwrap_or_else(|n| panic!("{why}: session reset {n}"));
    assert!(u.announced.is_empty(), "{why}: announced {:?}", u.announced);
    assert!(u.withdrawn.contains(&p("203.0.113.0/24")), "{why}: {u:?}");
    assert!(
        u.errors.iter().any(|e| e.starts_with("treat-as-withdraw")),
        "{why}: {:?}",
        u.errors
    );
    u
}

/// Decodes and checks that the route is kept and something was discarded.
fn assert_discarded(m: &[u8], why: &str) -> PathAttrs {
    let u = dec(m).unwrap_or_else(|n| panic!("{why}: session reset {n}"));
    assert_eq!(u.announced.len(), 1, "{why}: {u:?}");
    assert!(
        !u.errors.is_empty() && u.errors.iter().all(|e| !e.starts_with("treat")),
        "{why}: {:?}",
        u.errors
    );
    u.announced[0].0.clone()
}

fn assert_reset(m: &[u8], subcode: u8, why: &str) -> Notification {
    let n = dec(m).expect_err(why);
    assert_eq!(
        (n.code, n.subcode),
        (UPDATE_MESSAGE_ERROR, subcode),
        "{why}: {n}"
    );
    n
}

#[test]
fn clean_update_decodes_every_attribute() {
    let m = msg(
        &[],
        &with(&[
            &attr(O, MED, &[0, 0, 0, 7]),
            &attr(T, ATOMIC_AGGREGATE, &[]),
            &attr(OT, AGGREGATOR, &[0, 0, 0xfd, 0xe9, 10, 0, 0, 1]),
            &attr(OT, COMMUNITIES, &[0xfd, 0xe9, 0, 1]),
            &attr(OT, EXT_COMMUNITIES, &[0, 2, 0xfd, 0xe9, 0, 0, 0, 9]),
            &attr(
                OT,
                LARGE_COMMUNITY,
                &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2],
            ),
            &attr(OT, OTC, &[0, 0, 0xfd, 0xe9]),
            &attr(OT | 0x20, 99, &[1, 2, 3]),
        ]),
        &NLRI,
    );
    let u = dec(&m).unwrap();
    assert!(u.errors.is_empty(), "{:?}", u.errors);
    let (a, prefixes) = &u.announced[0];
    assert_eq!(prefixes, &vec![p("203.0.113.0/24")]);
    assert_eq!(a.origin, Origin::Igp);
    assert_eq!(a.as_path, AsPath::from_sequence(vec![65001]));
    assert_eq!(a.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(a.med, Some(7));
    assert!(a.atomic_aggregate);
    assert_eq!(a.aggregator, Some((65001, Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(a.communities, vec![0xfde9_0001]);
    assert_eq!(a.ext_communities, vec![[0, 2, 0xfd, 0xe9, 0, 0, 0, 9]]);
    assert_eq!(
        a.large_communities,
        vec![LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 2
        }]
    );
    assert_eq!(a.otc, Some(65001));
    assert_eq!(
        a.unknown,
        vec![RawAttr {
            flags: OT | 0x20,
            code: 99,
            data: Bytes::from_static(&[1, 2, 3])
        }]
    );
}

#[test]
fn end_of_rib_markers() {
    assert_eq!(
        dec(&msg(&[], &[], &[])).unwrap().end_of_rib,
        Some(Afi::Ipv4)
    );
    let v6 = dec(&msg(&[], &attr(O, MP_UNREACH_NLRI, &[0, 2, 1]), &[])).unwrap();
    assert_eq!((v6.end_of_rib, v6.withdrawn.len()), (Some(Afi::Ipv6), 0));
    // Not End-of-RIB: MP_UNREACH with prefixes, or for a family FOX does not carry.
    let w = dec(&msg(
        &[],
        &attr(O, MP_UNREACH_NLRI, &[0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]),
        &[],
    ))
    .unwrap();
    assert_eq!(
        (w.end_of_rib, w.withdrawn),
        (None, vec![p("2001:db8::/32")])
    );
    let vpn = dec(&msg(&[], &attr(O, MP_UNREACH_NLRI, &[0, 1, 128]), &[])).unwrap();
    assert_eq!(vpn.end_of_rib, None);
}

#[test]
fn withdrawn_and_attribute_lengths_overrunning_the_message_reset() {
    // RFC 4271 6.3: Withdrawn Routes Length + Total Attribute Length + 23 > Length.
    assert_reset(
        &raw(&[0, 9, 24, 10, 0, 0, 0, 0]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "withdrawn length",
    );
    assert_reset(
        &raw(&[0, 0, 0, 9, 0x40, 1, 1, 0]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "attribute length",
    );
    assert_reset(
        &raw(&[0, 1, 0, 0]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "no room for the attribute length",
    );
}

#[test]
fn attribute_overrunning_the_list_is_treat_as_withdraw() {
    // RFC 7606 4: last attribute longer than what remains.
    let mut a = with(&[]);
    a.extend_from_slice(&[OT, COMMUNITIES, 8, 0, 0, 0, 1]);
    assert_withdrawn(&msg(&[], &a, &NLRI), "overrun");
    // Fewer than three octets left.
    let mut a = with(&[]);
    a.extend_from_slice(&[OT, COMMUNITIES]);
    assert_withdrawn(&msg(&[], &a, &NLRI), "underrun");
    // Extended length flag with only three octets left.
    let mut a = with(&[]);
    a.extend_from_slice(&[OT | 0x10, COMMUNITIES, 0]);
    assert_withdrawn(&msg(&[], &a, &NLRI), "extended underrun");
}

#[test]
fn overrunning_mp_attribute_is_a_session_reset() {
    let mut a = with(&[]);
    a.extend_from_slice(&[O, MP_REACH_NLRI, 40, 0, 2, 1, 16]);
    assert_reset(
        &msg(&[], &a, &[]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "MP_REACH overrun",
    );
}

#[test]
fn malformed_origin_is_treat_as_withdraw() {
    for v in [&[3u8][..], &[0, 0][..], &[][..]] {
        let a = [attr(T, ORIGIN, v), as_path(), next_hop()].concat();
        assert_withdrawn(&msg(&[], &a, &NLRI), "ORIGIN");
    }
}

#[test]
fn malformed_as_path_is_treat_as_withdraw() {
    for v in [
        &[2u8, 0][..],                    // zero segment length
        &[2, 2, 0, 0, 0xfd, 0xe9][..],    // overrun
        &[2, 1, 0, 0, 0xfd, 0xe9, 2][..], // one octet left
        &[9, 1, 0, 0, 0xfd, 0xe9][..],    // unknown segment type
        &[3, 1, 0, 0, 0xfd, 0xe9][..],    // confederation segment from eBGP
    ] {
        let a = [origin(), attr(T, AS_PATH, v), next_hop()].concat();
        assert_withdrawn(&msg(&[], &a, &NLRI), &format!("AS_PATH {v:?}"));
    }
}

#[test]
fn bad_next_hop_length_is_treat_as_withdraw() {
    let a = [origin(), as_path(), attr(T, NEXT_HOP, &[192, 0, 2, 1, 0])].concat();
    assert_withdrawn(&msg(&[], &a, &NLRI), "NEXT_HOP length 5");
}

#[test]
fn missing_well_known_attributes_are_treat_as_withdraw() {
    let cases = [
        ([as_path(), next_hop()].concat(), "ORIGIN"),
        ([origin(), next_hop()].concat(), "AS_PATH"),
        ([origin(), as_path()].concat(), "NEXT_HOP"),
    ];
    for (a, missing) in cases {
        let u = assert_withdrawn(&msg(&[], &a, &NLRI), missing);
        assert!(
            u.errors.iter().any(|e| e.contains(missing)),
            "{:?}",
            u.errors
        );
    }
    // NLRI in MP_REACH only: NEXT_HOP is not needed (RFC 4760 3).
    let mp = attr(
        O,
        MP_REACH_NLRI,
        &[
            0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1,
            0xd, 0xb8,
        ],
    );
    let u = dec(&msg(&[], &[mp, origin(), as_path()].concat(), &[])).unwrap();
    assert_eq!(u.announced[0].1, vec![p("2001:db8::/32")]);
    // No NLRI at all: attributes are not checked.
    assert!(dec(&msg(&[], &origin(), &[])).unwrap().errors.is_empty());
}

#[test]
fn conflicting_flags_on_known_attributes_are_treat_as_withdraw() {
    let a = [attr(OT, ORIGIN, &[0]), as_path(), next_hop()].concat();
    assert_withdrawn(&msg(&[], &a, &NLRI), "ORIGIN optional");
    assert_withdrawn(
        &msg(&[], &with(&[&attr(O, COMMUNITIES, &[0, 0, 0, 1])]), &NLRI),
        "COMMUNITIES non-transitive",
    );
    assert_withdrawn(
        &msg(&[], &with(&[&attr(OT, MED, &[0, 0, 0, 1])]), &NLRI),
        "MED transitive",
    );
    // The Partial and Extended Length bits are not checked.
    let u = dec(&msg(
        &[],
        &with(&[&attr(O | 0x30, MED, &[0, 0, 0, 1])]),
        &NLRI,
    ))
    .unwrap();
    assert_eq!(u.announced[0].0.med, Some(1));
}

#[test]
fn duplicate_attributes_keep_the_first() {
    let a = with(&[
        &attr(OT, COMMUNITIES, &[0, 0, 0, 1]),
        &attr(OT, COMMUNITIES, &[0, 0, 0, 2]),
    ]);
    let attrs = assert_discarded(&msg(&[], &a, &NLRI), "duplicate COMMUNITIES");
    assert_eq!(attrs.communities, vec![1]);
}

#[test]
fn duplicate_mp_attributes_reset() {
    let un = attr(O, MP_UNREACH_NLRI, &[0, 2, 1]);
    assert_reset(
        &msg(&[], &[un.clone(), un].concat(), &[]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "MP_UNREACH twice",
    );
    let r = attr(O, MP_REACH_NLRI, &[0, 1, 1, 4, 192, 0, 2, 1, 0]);
    assert_reset(
        &msg(&[], &with(&[&r, &r]), &[]),
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        "MP_REACH twice",
    );
}

#[test]
fn bad_atomic_aggregate_and_aggregator_are_discarded() {
    let a = assert_discarded(
        &msg(&[], &with(&[&attr(T, ATOMIC_AGGREGATE, &[1])]), &NLRI),
        "ATOMIC_AGGREGATE",
    );
    assert!(!a.atomic_aggregate);
    let a = assert_discarded(
        &msg(
            &[],
            &with(&[&attr(OT, AGGREGATOR, &[0, 0, 1, 10, 0, 0, 1])]),
            &NLRI,
        ),
        "AGGREGATOR",
    );
    assert_eq!(a.aggregator, None);
}

#[test]
fn bad_community_and_numeric_attribute_lengths_are_treat_as_withdraw() {
    for (c, v) in [
        (COMMUNITIES, &[0u8, 0, 0, 1, 2][..]),
        (COMMUNITIES, &[][..]),
        (LARGE_COMMUNITY, &[0; 13][..]),
        (LARGE_COMMUNITY, &[][..]),
        (EXT_COMMUNITIES, &[0; 9][..]),
        (OTC, &[0, 0, 1][..]),
    ] {
        assert_withdrawn(
            &msg(&[], &with(&[&attr(OT, c, v)]), &NLRI),
            &format!("attribute {c} {v:?}"),
        );
    }
    assert_withdrawn(
        &msg(&[], &with(&[&attr(O, MED, &[0, 1])]), &NLRI),
        "MED length 2",
    );
}

#[test]
fn ibgp_only_attributes_from_ebgp_are_discarded() {
    for (flags, c, v) in [
        (T, LOCAL_PREF, &[0u8, 0, 0, 100][..]),
        (O, ORIGINATOR_ID, &[1, 2, 3, 4][..]),
        (O, CLUSTER_LIST, &[1, 2, 3][..]),
    ] {
        let a = assert_discarded(
            &msg(&[], &with(&[&attr(flags, c, v)]), &NLRI),
            &format!("attribute {c}"),
        );
        assert_eq!(a.local_pref, None);
        assert!(a.unknown.is_empty());
    }
}

#[test]
fn malformed_mp_reach_and_unreach_reset() {
    // IPv6 next hop of 8 octets (RFC 7606 7.11).
    let bad_nh = attr(
        O,
        MP_REACH_NLRI,
        &[
            0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1, 0xd, 0xb8,
        ],
    );
    let n = assert_reset(
        &msg(&[], &with(&[&bad_nh]), &[]),
        UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
        "next hop length",
    );
    assert_eq!(n.data.as_ref(), &bad_nh[..], "data is the attribute");
    // Next hop running past the attribute; missing reserved octet.
    assert_reset(
        &msg(
            &[],
            &with(&[&attr(O, MP_REACH_NLRI, &[0, 2, 1, 16, 0])]),
            &[],
        ),
        UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
        "next hop cut",
    );
    assert_reset(
        &msg(
            &[],
            &with(&[&attr(O, MP_REACH_NLRI, &[0, 1, 1, 4, 1, 2, 3, 4])]),
            &[],
        ),
        UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
        "no reserved",
    );
    assert_reset(
        &msg(&[], &attr(O, MP_UNREACH_NLRI, &[0, 2]), &[]),
        UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
        "MP_UNREACH cut",
    );
    // Unparseable NLRI inside (prefix length 129).
    let bad_nlri = attr(
        O,
        MP_REACH_NLRI,
        &[
            0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 129,
        ],
    );
    assert_reset(
        &msg(&[], &with(&[&bad_nlri]), &[]),
        UPDATE_INVALID_NETWORK_FIELD,
        "MP_REACH prefix",
    );
    assert_reset(
        &msg(&[], &attr(O, MP_UNREACH_NLRI, &[0, 2, 1, 64, 0x20]), &[]),
        UPDATE_INVALID_NETWORK_FIELD,
        "MP_UNREACH prefix",
    );
}

#[test]
fn other_families_in_mp_reach_are_ignored() {
    // VPNv4 (SAFI 128) with a 12-octet next hop: not carried, not an error.
    let vpn = attr(
        O,
        MP_REACH_NLRI,
        &[0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 0, 0],
    );
    let u = dec(&msg(&[], &[vpn, origin(), as_path()].concat(), &[])).unwrap();
    assert!(
        u.announced.is_empty() && u.withdrawn.is_empty() && u.errors.is_empty(),
        "{u:?}"
    );
}

#[test]
fn treat_as_withdraw_also_withdraws_mp_reach_nlri() {
    let mp = attr(
        O,
        MP_REACH_NLRI,
        &[
            0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 48, 0x20, 1,
            0xd, 0xb8, 0, 1,
        ],
    );
    let a = [mp, attr(T, ORIGIN, &[7]), as_path(), next_hop()].concat();
    let u = assert_withdrawn(&msg(&[], &a, &NLRI), "bad ORIGIN");
    assert!(u.withdrawn.contains(&p("2001:db8:1::/48")));
}

#[test]
fn unparseable_nlri_is_invalid_network_field() {
    assert_reset(
        &msg(&[], &with(&[]), &[33, 1, 2, 3, 4, 5]),
        UPDATE_INVALID_NETWORK_FIELD,
        "prefix length 33",
    );
    assert_reset(
        &msg(&[], &with(&[]), &[24, 10, 0]),
        UPDATE_INVALID_NETWORK_FIELD,
        "NLRI overrun",
    );
    assert_reset(
        &msg(&[16, 10], &[], &[]),
        UPDATE_INVALID_NETWORK_FIELD,
        "withdrawn overrun",
    );
}

#[test]
fn ipv6_next_hop_with_link_local() {
    let mut v = vec![0, 2, 1, 32];
    v.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    v.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
    v.extend_from_slice(&[0, 64, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 5]);
    let u = dec(&msg(
        &[],
        &[attr(O, MP_REACH_NLRI, &v), origin(), as_path()].concat(),
        &[],
    ))
    .unwrap();
    let (a, pfx) = &u.announced[0];
    assert_eq!(
        a.next_hop,
        NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap())
        }
    );
    assert_eq!(pfx, &vec![p("2001:db8:0:5::/64")]);
}

#[test]
fn unknown_attributes() {
    // Unrecognised well-known: session reset with the attribute as data.
    let wk = attr(T, 99, &[1]);
    let n = assert_reset(
        &msg(&[], &with(&[&wk]), &NLRI),
        UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        "well-known 99",
    );
    assert_eq!(n.data.as_ref(), &wk[..]);
    // Optional non-transitive: dropped; optional transitive: kept, extended
    // length bit cleared.
    let u = dec(&msg(
        &[],
        &with(&[&attr(O, 98, &[1]), &attr(OT | 0x10, 97, &[2])]),
        &NLRI,
    ))
    .unwrap();
    assert_eq!(
        u.announced[0].0.unknown,
        vec![RawAttr {
            flags: OT,
            code: 97,
            data: Bytes::from_static(&[2])
        }]
    );
}

#[test]
fn message_length_respects_extended_message() {
    let nlri: Vec<u8> = (0..1100u32)
        .flat_map(|i| [32, 10, 0, (i >> 8) as u8, i as u8])
        .collect();
    let m = msg(&[], &with(&[]), &nlri);
    assert!(m.len() > 4096);
    let n = dec(&m).unwrap_err();
    assert_eq!(
        (n.code, n.subcode),
        (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_LENGTH)
    );
    let u = dec_with(
        &m,
        SessionCaps {
            four_octet_as: true,
            extended_message: true,
        },
    )
    .unwrap();
    assert_eq!(u.announced[0].1.len(), 1100);
}

#[test]
fn decode_bytes_shares_the_buffer() {
    let m = Bytes::from(msg(&[], &with(&[&attr(OT, 97, &[9; 40])]), &NLRI));
    let Ok(Message::Update(u)) = crate::wire::decode_bytes(&m, &SessionCaps::default()) else {
        panic!()
    };
    let data = &u.announced[0].0.unknown[0].data;
    let (lo, hi) = (m.as_ptr() as usize, m.as_ptr() as usize + m.len());
    assert!(
        (lo..hi).contains(&(data.as_ptr() as usize)),
        "unknown attribute data is a slice of the message"
    );
    let _ = BytesMut::new();
}

#[path = "tests_as4.rs"]
mod as4;
