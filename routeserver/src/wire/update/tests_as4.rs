//! RFC 6793 4.2.3 and 6: AS4_PATH / AS4_AGGREGATOR on 2-octet sessions.

use super::*;

fn two_octet() -> SessionCaps {
    SessionCaps {
        four_octet_as: false,
        extended_message: false,
    }
}

#[test]
fn as4_path_is_merged_for_two_octet_sessions() {
    // AS_PATH 100 23456, AS4_PATH 400000: path is 100 400000.
    let a = [
        origin(),
        attr(T, AS_PATH, &[2, 2, 0, 100, 0x5b, 0xa0]),
        next_hop(),
        attr(OT, AGGREGATOR, &[0x5b, 0xa0, 10, 0, 0, 1]),
        attr(OT, AS4_PATH, &[2, 1, 0, 6, 0x1a, 0x80]),
        attr(OT, AS4_AGGREGATOR, &[0, 6, 0x1a, 0x80, 10, 0, 0, 1]),
    ]
    .concat();
    let u = dec_with(&msg(&[], &a, &NLRI), two_octet()).unwrap();
    let attrs = &u.announced[0].0;
    assert_eq!(attrs.as_path, AsPath::from_sequence(vec![100, 400000]));
    assert_eq!(attrs.aggregator, Some((400000, Ipv4Addr::new(10, 0, 0, 1))));
    assert!(u.errors.is_empty(), "{:?}", u.errors);
}

#[test]
fn as4_attributes_ignored_when_aggregator_is_not_as_trans() {
    let a = [
        origin(),
        attr(T, AS_PATH, &[2, 2, 0, 100, 0x5b, 0xa0]),
        next_hop(),
        attr(OT, AGGREGATOR, &[0, 100, 10, 0, 0, 1]),
        attr(OT, AS4_PATH, &[2, 1, 0, 6, 0x1a, 0x80]),
    ]
    .concat();
    let u = dec_with(&msg(&[], &a, &NLRI), two_octet()).unwrap();
    assert_eq!(
        u.announced[0].0.as_path,
        AsPath::from_sequence(vec![100, AS_TRANS])
    );
    assert_eq!(
        u.announced[0].0.aggregator,
        Some((100, Ipv4Addr::new(10, 0, 0, 1)))
    );
}

#[test]
fn malformed_as4_path_is_discarded() {
    for v in [&[2u8, 0][..], &[2, 1, 0, 6][..], &[][..]] {
        let a = [
            origin(),
            attr(T, AS_PATH, &[2, 1, 0x5b, 0xa0]),
            next_hop(),
            attr(OT, AS4_PATH, v),
        ]
        .concat();
        let u = dec_with(&msg(&[], &a, &NLRI), two_octet()).unwrap();
        assert_eq!(
            u.announced[0].0.as_path,
            AsPath::from_sequence(vec![AS_TRANS]),
            "{v:?}"
        );
        assert!(!u.errors.is_empty());
    }
}

#[test]
fn as4_attributes_from_four_octet_speakers_are_discarded() {
    let a = assert_discarded(
        &msg(
            &[],
            &with(&[&attr(OT, AS4_PATH, &[2, 1, 0, 6, 0x1a, 0x80])]),
            &NLRI,
        ),
        "AS4_PATH",
    );
    assert_eq!(a.as_path, AsPath::from_sequence(vec![65001]));
}
