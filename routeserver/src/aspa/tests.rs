//! The upstream procedure of draft-ietf-sidrops-aspa-verification-28
//! section 5.5, case by case, and the ASPA readers on real files.

use std::path::PathBuf;

use super::*;
use crate::wire::AsPath;

/// AS_PATH as received (neighbour first, origin last).
fn path(asns: &[Asn]) -> AsPath {
    AsPath::from_sequence(asns.to_vec())
}

/// Customer 65001 has providers 65002, 65003; 65002 has provider 65010;
/// 65004 attests AS0 only (no providers); 65005 has no ASPA.
fn set() -> AspaSet {
    AspaSet::from_records([
        (65001, vec![65003]),
        (65001, vec![65002]), // a second ASPA of the same CAS: union
        (65002, vec![65010]),
        (65004, vec![0]),
    ])
}

#[test]
fn authorized_follows_section_5_3() {
    let s = set();
    assert_eq!(s.authorized(65001, 65002), Hop::ProviderPlus);
    assert_eq!(s.authorized(65001, 65003), Hop::ProviderPlus);
    assert_eq!(s.authorized(65001, 65010), Hop::NotProviderPlus);
    assert_eq!(s.authorized(65005, 65001), Hop::NoAttestation);
    // AS0 matches nothing real.
    assert_eq!(s.authorized(65004, 65001), Hop::NotProviderPlus);
    assert_eq!(s.providers(65001), Some(&[65002, 65003][..]));
}

#[test]
fn origin_only_path_from_the_member_is_valid() {
    // N = 1: no hop to check.
    assert_eq!(
        set().verify_upstream(&path(&[65005]), 65005),
        AspaState::Valid
    );
    // Prepends compress away (section 5.2).
    assert_eq!(
        set().verify_upstream(&path(&[65005, 65005, 65005]), 65005),
        AspaState::Valid
    );
}

#[test]
fn every_hop_attested_is_valid() {
    // origin 65001 -> provider 65002 -> provider 65010 (the member).
    let p = path(&[65010, 65002, 65002, 65001, 65001]);
    assert_eq!(set().verify_upstream(&p, 65010), AspaState::Valid);
}

#[test]
fn a_refuted_hop_is_invalid_even_after_an_unattested_one() {
    // 65005 (no ASPA) -> 65001, then 65001 -> 65010 is Not Provider+: a leak.
    let p = path(&[65010, 65001, 65005]);
    assert_eq!(set().verify_upstream(&p, 65010), AspaState::Invalid);
    assert_eq!(set().unauthorized_hops(&p), vec![(65001, 65010)]);
    // A member leaking its provider's route to the RS: origin 65001 has
    // provider 65002, whose route 65002 then sends through its customer 65004
    // (ASPA: no providers) to the exchange.
    let leak = path(&[65004, 65002, 65001]);
    assert_eq!(set().verify_upstream(&leak, 65004), AspaState::Invalid);
}

#[test]
fn an_unattested_hop_and_no_refuted_one_is_unknown() {
    // 65005 has no ASPA: 65005 -> 65001 cannot be checked.
    let p = path(&[65001, 65005]);
    assert_eq!(set().verify_upstream(&p, 65001), AspaState::Unknown);
    // Attested first hop, unattested second.
    let p = path(&[65020, 65002, 65001]);
    // 65002 -> 65020: 65002's ASPA does not list 65020: refuted.
    assert_eq!(set().verify_upstream(&p, 65020), AspaState::Invalid);
    let p = path(&[65030, 65005, 65001]);
    // 65001 -> 65005 refuted (65005 not a provider of 65001).
    assert_eq!(set().verify_upstream(&p, 65030), AspaState::Invalid);
    let p = path(&[65030, 65002, 65001]);
    // 65001 -> 65002 attested, 65002 -> 65030 refuted.
    assert_eq!(set().verify_upstream(&p, 65030), AspaState::Invalid);
    let p = path(&[65030, 65005]);
    assert_eq!(set().verify_upstream(&p, 65030), AspaState::Unknown);
}

#[test]
fn structural_checks_come_first() {
    let s = set();
    // Step 1: empty.
    assert_eq!(s.verify_upstream(&path(&[]), 65001), AspaState::Invalid);
    // Step 2: the neighbour's AS is not the most recent one (the RS is
    // transparent, so the member's AS must be AS(N)).
    assert_eq!(
        s.verify_upstream(&path(&[65002, 65001]), 65010),
        AspaState::Invalid
    );
    // Step 3: AS_SET.
    let with_set = AsPath {
        segments: vec![
            AsSegment::Sequence(vec![65002, 65001]),
            AsSegment::Set(vec![65005, 65006]),
        ],
    };
    assert_eq!(s.verify_upstream(&with_set, 65002), AspaState::Invalid);
    // An empty set verifies nothing: Unknown for an unattested hop.
    assert_eq!(
        AspaSet::new().verify_upstream(&path(&[65002, 65001]), 65002),
        AspaState::Unknown
    );
}

#[test]
fn non_consecutive_repeats_are_not_compressed() {
    // 65001 -> 65002 -> 65001: the last hop 65002 -> 65001 is checked
    // against 65002's ASPA (65010 only): refuted.
    let p = path(&[65001, 65002, 65001]);
    assert_eq!(set().verify_upstream(&p, 65001), AspaState::Invalid);
}

#[test]
fn diff_names_customers_whose_providers_changed() {
    let old = set();
    let new = AspaSet::from_records([
        (65001, vec![65002, 65003]),
        (65002, vec![65010, 65011]),
        (65006, vec![65001]),
    ]);
    let d: Vec<Asn> = AspaSet::diff(&old, &new).into_iter().collect();
    assert_eq!(d, vec![65002, 65004, 65006]);
    assert!(AspaSet::diff(&old, &old).is_empty());
}

#[test]
fn tag_communities_mirror_the_rpki_ones() {
    let mut a = PathAttrs {
        origin: crate::wire::Origin::Igp,
        as_path: path(&[65001]),
        next_hop: crate::wire::NextHop::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
        med: None,
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![],
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    };
    tag_export(&mut a, 64500, AspaTag::NotChecked);
    assert!(a.large_communities.is_empty());
    tag_export(&mut a, 64500, AspaTag::Invalid);
    assert_eq!(
        a.large_communities,
        vec![LargeCommunity {
            global: 64500,
            local1: ASPA_INFO,
            local2: 4
        }]
    );
    assert_eq!(AspaTag::from(AspaState::Valid).community(), 1);
    assert_eq!(AspaTag::from(AspaState::Unknown).community(), 2);
}

fn data(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/rpki")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is missing", p.display());
        None
    }
}

#[test]
fn rpki_client_file_aspas_are_loaded_with_the_vrps() {
    let Some(p) = data("rpkiclient_20250720T100145Z.json.bz2") else {
        return;
    };
    let f = crate::rpki::load_vrp_file(&p).expect("loads");
    let a = f.set.aspas();
    // metadata: "aspas": 100, "uniquevaps": 100.
    assert_eq!(a.len(), 100);
    assert_eq!(a.providers(945), Some(&[13213, 150369][..]));
    assert_eq!(a.providers(970), Some(&[54874][..]));
    assert_eq!(
        a.providers(11358),
        Some(&[835, 924, 6939, 20473, 34927][..])
    );
    // 945 originates, 13213 is its provider and the member.
    assert_eq!(
        a.verify_upstream(&path(&[13213, 945]), 13213),
        AspaState::Valid
    );
    assert_eq!(
        a.verify_upstream(&path(&[3356, 945]), 3356),
        AspaState::Invalid
    );
}

#[test]
fn stayrtr_file_provider_authorizations_are_loaded() {
    let Some(p) = data("stayrtr-test.rpki.json") else {
        return;
    };
    let f = crate::rpki::load_vrp_file(&p).expect("loads");
    let a = f.set.aspas();
    assert_eq!(a.len(), 2);
    assert_eq!(a.providers(15562), Some(&[2914, 8283, 51088, 206238][..]));
    assert_eq!(
        a.providers(64496),
        Some(&[1299, 6939, 7480, 32097, 50058, 61138][..])
    );
}

#[test]
fn json_records_accept_strings_objects_and_report_errors() {
    let v: serde_json::Value = serde_json::from_str(
        r#"[{"customer_asid": "AS64500", "providers": ["AS64501", {"asid": 64502}]}]"#,
    )
    .expect("json");
    let s = file::aspas_from_json(Some(&v), None)
        .expect("ok")
        .expect("some");
    assert_eq!(s.providers(64500), Some(&[64501, 64502][..]));
    let bad: serde_json::Value =
        serde_json::from_str(r#"[{"customer_asid": 1}, {"providers": []}]"#).expect("json");
    let e = file::aspas_from_json(Some(&bad), None).expect_err("no providers");
    assert!(e.contains("aspas[0]"), "{e}");
    assert_eq!(file::aspas_from_json(None, None), Ok(None));
}
