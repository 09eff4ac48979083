use super::*;
use crate::wire::header::{MARKER, MSG_OPEN};
use crate::wire::{decode, encode, Message};

fn msg(body: &[u8]) -> Vec<u8> {
    let mut v = MARKER.to_vec();
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(MSG_OPEN);
    v.extend_from_slice(body);
    v
}

/// version 4, AS 65001, hold 90, id 192.0.2.1, then `opt`.
fn body(opt_len: u8, opt: &[u8]) -> Vec<u8> {
    let mut b = vec![4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1, opt_len];
    b.extend_from_slice(opt);
    b
}

fn err(m: &[u8]) -> Notification {
    decode(m, &SessionCaps::default()).unwrap_err()
}

fn all_caps() -> Vec<Capability> {
    vec![
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
        Capability::Role(role::RS),
        Capability::Unknown {
            code: 73,
            data: Bytes::from_static(b"\x03rs1"),
        },
    ]
}

#[test]
fn open_round_trips_with_every_capability() {
    let open = Open::new(4_200_000_001, 90, Ipv4Addr::new(192, 0, 2, 1), all_caps());
    assert_eq!(open.my_as, AS_TRANS as u16);
    let mut out = BytesMut::new();
    encode(
        &Message::Open(open.clone()),
        &SessionCaps::default(),
        &mut out,
    );
    assert_eq!(
        decode(&out, &SessionCaps::default()),
        Ok(Message::Open(open.clone()))
    );
    assert_eq!(open.asn(), 4_200_000_001);
    assert!(open.has(|c| matches!(c, Capability::Role(r) if *r == role::RS)));
    assert!(!open.has(|c| matches!(c, Capability::Role(r) if *r == role::PEER)));
}

#[test]
fn asn_falls_back_to_my_as() {
    let open = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
    assert_eq!((open.my_as, open.asn()), (65001, 65001));
    let mut out = BytesMut::new();
    encode(
        &Message::Open(open.clone()),
        &SessionCaps::default(),
        &mut out,
    );
    assert_eq!(out.len(), 29, "no optional parameters");
    assert_eq!(
        decode(&out, &SessionCaps::default()),
        Ok(Message::Open(open))
    );
}

#[test]
fn many_capabilities_use_rfc9072_extended_parameters() {
    let caps: Vec<Capability> = (0..50)
        .map(|i| Capability::Multiprotocol { afi: 1, safi: i })
        .collect();
    let open = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
    let mut out = BytesMut::new();
    encode(
        &Message::Open(open.clone()),
        &SessionCaps::default(),
        &mut out,
    );
    assert_eq!(out[28], 255, "Non-Ext OP Len");
    assert_eq!(out[29], 255, "Non-Ext OP Type");
    assert_eq!(
        decode(&out, &SessionCaps::default()),
        Ok(Message::Open(open))
    );
}

#[test]
fn negotiate_needs_both_sides() {
    let id = Ipv4Addr::new(192, 0, 2, 1);
    let a = Open::new(
        65001,
        90,
        id,
        vec![Capability::FourOctetAs(65001), Capability::ExtendedMessage],
    );
    let b = Open::new(65002, 90, id, vec![Capability::FourOctetAs(65002)]);
    assert_eq!(
        Open::negotiate(&a, &b),
        SessionCaps {
            four_octet_as: true,
            extended_message: false
        }
    );
    let c = Open::new(65003, 90, id, vec![]);
    assert_eq!(
        Open::negotiate(&a, &c),
        SessionCaps {
            four_octet_as: false,
            extended_message: false
        }
    );
}

#[test]
fn unsupported_version_carries_version_4() {
    let mut b = body(0, &[]);
    b[0] = 3;
    let n = err(&msg(&b));
    assert_eq!(
        (n.code, n.subcode),
        (OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_VERSION_NUMBER)
    );
    assert_eq!(n.data.as_ref(), &[0, 4]);
}

#[test]
fn unknown_optional_parameter_is_unsupported() {
    // Deprecated authentication parameter (type 1).
    let n = err(&msg(&body(3, &[1, 1, 0])));
    assert_eq!(
        (n.code, n.subcode),
        (OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_OPTIONAL_PARAMETER)
    );
}

#[test]
fn inconsistent_parameter_lengths_are_open_errors() {
    for (len, opt) in [
        (5u8, &[2u8, 2, 2, 0][..]), // Opt Parm Len longer than the parameters
        (4, &[2, 5, 2, 0][..]),     // parameter longer than its space
        (4, &[2, 2, 2, 5][..]),     // capability overruns the parameter
        (3, &[2, 1, 2][..]),        // capability header cut
        (255, &[255, 0, 9, 2][..]), // RFC 9072 length wrong
    ] {
        let n = err(&msg(&body(len, opt)));
        assert_eq!(
            (n.code, n.subcode),
            (OPEN_MESSAGE_ERROR, SUBCODE_UNSPECIFIC),
            "{opt:?}"
        );
    }
}

#[test]
fn unknown_and_malformed_capabilities_are_kept_not_errors() {
    // Code 200 (unknown) and a 4-octet AS capability of length 2.
    let caps = [200u8, 1, 7, 65, 2, 0, 1];
    let mut p = vec![2, caps.len() as u8];
    p.extend_from_slice(&caps);
    let m = msg(&body(p.len() as u8, &p));
    let Ok(Message::Open(o)) = decode(&m, &SessionCaps::default()) else {
        panic!("OPEN expected")
    };
    assert_eq!(
        o.capabilities,
        vec![
            Capability::Unknown {
                code: 200,
                data: Bytes::from_static(&[7])
            },
            Capability::Unknown {
                code: 65,
                data: Bytes::from_static(&[0, 1])
            },
        ]
    );
    assert_eq!(
        o.asn(),
        65001,
        "malformed 4-octet AS capability is not used"
    );
}

#[test]
fn graceful_restart_flags_and_time() {
    let caps = [64u8, 6, 0x80 | 0x01, 0x2c, 0, 2, 1, 0x80];
    let mut p = vec![2, caps.len() as u8];
    p.extend_from_slice(&caps);
    let Ok(Message::Open(o)) = decode(&msg(&body(p.len() as u8, &p)), &SessionCaps::default())
    else {
        panic!("OPEN expected")
    };
    assert_eq!(
        o.capabilities,
        vec![Capability::GracefulRestart {
            restart_state: true,
            restart_time: 300,
            families: vec![(2, 1, true)]
        }]
    );
}

#[test]
fn short_open_is_bad_message_length() {
    let n = err(&msg(&[4, 0, 1, 0]));
    assert_eq!(
        (n.code, n.subcode),
        (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_LENGTH)
    );
}

#[test]
fn notification_helpers_for_the_session() {
    assert_eq!(Notification::bad_peer_as().subcode, OPEN_BAD_PEER_AS);
    assert_eq!(
        Notification::unacceptable_hold_time().subcode,
        OPEN_UNACCEPTABLE_HOLD_TIME
    );
    assert_eq!(
        Notification::bad_bgp_identifier().subcode,
        OPEN_BAD_BGP_IDENTIFIER
    );
    assert_eq!(Notification::role_mismatch().subcode, OPEN_ROLE_MISMATCH);
}
