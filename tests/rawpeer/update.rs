//! UPDATE errors with RFC 7606 handling: treat-as-withdraw keeps the
//! session and withdraws the NLRI; errors that make the NLRI impossible to
//! locate reset the session with the RFC 4271 6.3 subcode.

use std::time::Duration;

use anyhow::{ensure, Result};
use fox_routeserver::wire::*;
use ipnet::IpNet;

use crate::lab::{Lab, A};
use crate::msgs;
use crate::peer::RawPeer;

/// Attributes ORIGIN IGP, AS_PATH [A], NEXT_HOP A.
fn good_attrs(lab: &Lab) -> Vec<u8> {
    let mut a = msgs::origin(0);
    a.extend(msgs::as_path4(&[A.asn]));
    a.extend(msgs::next_hop(lab.a_addr()));
    a
}

/// A announces its route, then sends `bad` (built for A's prefix): the
/// session stays up, the route is withdrawn from B and from the API, the
/// RFC 7606 counter moves, and a later valid UPDATE works again.
async fn withdraw_case(test: &str, lan: u8, bad: impl Fn(&Lab) -> Vec<u8>) -> Result<()> {
    let mut lab = Lab::start(test, lan).await?;
    let mut a = lab.a_announced().await?;
    let labels = [&format!("neighbor=\"{}\"", lab.a_addr())[..]];
    let errors_before = lab
        .fox
        .metric("fox_bgp_update_errors_total", &labels)
        .await?;
    a.send_raw(&bad(&lab)).await?;
    lab.a_route_gone(lab.a_prefix()).await?;
    still_up(&mut lab, &mut a).await?;
    let errors_after = lab
        .fox
        .metric("fox_bgp_update_errors_total", &labels)
        .await?;
    ensure!(
        errors_after == errors_before + 1.0,
        "fox_bgp_update_errors_total for A: {errors_before} -> {errors_after}"
    );
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

/// A's session survived: no NOTIFICATION, API shows it Established, no flap.
async fn still_up(lab: &mut Lab, a: &mut RawPeer) -> Result<()> {
    a.stay_up(Duration::from_millis(200)).await?;
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    ensure!(
        n["state"] == "Established" && n["flaps"] == 0,
        "A's session should have stayed up: {n}"
    );
    Ok(())
}

/// A announces its route, then sends `bad`: UPDATE Message Error `sub`
/// (with `data`), A's routes withdrawn, A can come back.
async fn reset_case(
    test: &str,
    lan: u8,
    bad: impl Fn(&Lab) -> Vec<u8>,
    sub: u8,
    data: &[u8],
) -> Result<()> {
    let mut lab = Lab::start(test, lan).await?;
    let mut a = lab.a_announced().await?;
    a.send_raw(&bad(&lab)).await?;
    a.expect_error(UPDATE_MESSAGE_ERROR, sub, data).await?;
    lab.a_reset_and_recovers().await?;
    lab.finish().await
}

fn nlri(lab: &Lab) -> Vec<u8> {
    msgs::nlri(&[lab.a_prefix()])
}

/// RFC 7606 7.1: undefined ORIGIN value.
#[tokio::test]
async fn bad_origin_value_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_bad_origin", 40, |l| {
        let mut a = msgs::origin(5);
        a.extend(msgs::as_path4(&[A.asn]));
        a.extend(msgs::next_hop(l.a_addr()));
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 7606 7.2: an AS_SEQUENCE that says 3 ASNs but holds 2.
#[tokio::test]
async fn as_path_segment_overrun_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_as_path_overrun", 41, |l| {
        let mut seg = msgs::sequence4(&[A.asn, 3321]);
        seg[1] = 3;
        let mut a = msgs::origin(0);
        a.extend(msgs::attr(msgs::TRANSITIVE, msgs::AS_PATH, &seg));
        a.extend(msgs::next_hop(l.a_addr()));
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 7606 7.3: NEXT_HOP of length 5.
#[tokio::test]
async fn next_hop_length_5_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_next_hop_5", 42, |l| {
        let mut nh = l.a_addr().octets().to_vec();
        nh.push(0);
        let mut a = msgs::origin(0);
        a.extend(msgs::as_path4(&[A.asn]));
        a.extend(msgs::attr(msgs::TRANSITIVE, msgs::NEXT_HOP, &nh));
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 7606 4: the last attribute (MED) says 10 octets where 4 remain in
/// the path attribute field. The NLRI is found with the Total Path Attribute
/// Length, so this is treat-as-withdraw, not a session reset.
#[tokio::test]
async fn attribute_overrunning_the_attribute_field_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_attr_overrun", 43, |l| {
        let mut a = good_attrs(l);
        a.extend([msgs::OPTIONAL, 4, 10, 0, 0, 0, 1]);
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 7606 4, second case: fewer than three octets left for an attribute header.
#[tokio::test]
async fn truncated_attribute_header_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_attr_header_cut", 44, |l| {
        let mut a = good_attrs(l);
        a.extend([msgs::OPTIONAL, 4]);
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 7606 3 d: a well-known mandatory attribute (ORIGIN) missing.
#[tokio::test]
async fn missing_origin_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_missing_origin", 45, |l| {
        let mut a = msgs::as_path4(&[A.asn]);
        a.extend(msgs::next_hop(l.a_addr()));
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// RFC 4271 6.3 (unchanged by RFC 7606): Total Path Attribute Length beyond
/// the message, so the NLRI cannot be located: Malformed Attribute List.
#[tokio::test]
async fn total_attribute_length_overrunning_the_message_resets() -> Result<()> {
    reset_case(
        "upd_total_attr_len",
        46,
        |l| {
            let a = good_attrs(l);
            msgs::update_with_lens(0, &[], a.len() as u16 + 50, &a, &nlri(l))
        },
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        &[],
    )
    .await
}

/// RFC 4271 6.3: Withdrawn Routes Length beyond the message.
#[tokio::test]
async fn withdrawn_length_overrunning_the_message_resets() -> Result<()> {
    reset_case(
        "upd_withdrawn_len",
        47,
        |l| {
            let w = nlri(l);
            msgs::update_with_lens(200, &w, 0, &[], &[])
        },
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        &[],
    )
    .await
}

/// RFC 7606 3 g: MP_REACH_NLRI twice.
#[tokio::test]
async fn duplicate_mp_reach_resets_with_malformed_attribute_list() -> Result<()> {
    reset_case(
        "upd_dup_mp_reach",
        48,
        |l| {
            let v6: IpNet = format!("2a0a:{}::/32", l.fox.lan)
                .parse()
                .unwrap_or_default();
            let nh = "2a0a::2".parse().unwrap_or(std::net::Ipv6Addr::LOCALHOST);
            let mut a = msgs::origin(0);
            a.extend(msgs::as_path4(&[A.asn]));
            a.extend(msgs::mp_reach_v6(nh, &[v6]));
            a.extend(msgs::mp_reach_v6(nh, &[v6]));
            msgs::update(&[], &a, &[])
        },
        UPDATE_MALFORMED_ATTRIBUTE_LIST,
        &[],
    )
    .await
}

/// RFC 7606 5.3 / RFC 4271 6.3: an IPv4 prefix of length 33.
#[tokio::test]
async fn nlri_prefix_length_33_resets_with_invalid_network_field() -> Result<()> {
    reset_case(
        "upd_nlri_33",
        49,
        |l| msgs::update(&[], &good_attrs(l), &[33, 11, l.fox.lan, 2, 0, 0]),
        UPDATE_INVALID_NETWORK_FIELD,
        &[],
    )
    .await
}

/// RFC 4271 6.3: a well-known (not optional) attribute the route server
/// does not know; the data is the attribute (flags, type, length, value).
#[tokio::test]
async fn unrecognized_well_known_attribute_resets_with_the_attribute() -> Result<()> {
    let bad = msgs::attr(msgs::TRANSITIVE, 99, &[7, 7]);
    let data = bad.clone();
    reset_case(
        "upd_unknown_well_known",
        50,
        move |l| {
            let mut a = good_attrs(l);
            a.extend_from_slice(&bad);
            msgs::update(&[], &a, &nlri(l))
        },
        UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        &data,
    )
    .await
}

/// RFC 4271 5 and 9.1.2: an unknown optional transitive attribute is kept
/// and passed on with the Partial bit set.
#[tokio::test]
async fn unknown_optional_transitive_reaches_b_with_partial_bit() -> Result<()> {
    let mut lab = Lab::start("upd_unknown_transitive", 51).await?;
    let mut a = lab.a_with(&lab.a_opts()).await?;
    let value = [0xde, 0xad, 0xbe, 0xef, 0x01];
    let extra = msgs::attr(msgs::OPTIONAL | msgs::TRANSITIVE, 99, &value);
    let p = lab.a_prefix();
    a.send_raw(&msgs::announce_v4(&[A.asn], lab.a_addr(), &extra, &[p]))
        .await?;
    let (u, raw) = lab.b.wait_announce(IpNet::V4(p)).await?;
    let got: Vec<_> = msgs::raw_attrs(&raw)
        .into_iter()
        .filter(|(_, c, _)| *c == 99)
        .collect();
    ensure!(
        got == vec![(
            msgs::OPTIONAL | msgs::TRANSITIVE | msgs::PARTIAL,
            99,
            value.to_vec()
        )],
        "attribute 99 as B received it: {got:02x?}"
    );
    let decoded = &u.announced[0].0.unknown;
    ensure!(
        decoded.len() == 1 && decoded[0].flags & msgs::PARTIAL != 0,
        "decoded unknown attributes: {decoded:?}"
    );
    still_up(&mut lab, &mut a).await?;
    lab.finish().await
}

/// RFC 4271 5: an unknown optional non-transitive attribute is quietly
/// dropped; the route itself is accepted and passed on.
#[tokio::test]
async fn unknown_optional_non_transitive_is_dropped() -> Result<()> {
    let mut lab = Lab::start("upd_unknown_non_transitive", 52).await?;
    let mut a = lab.a_with(&lab.a_opts()).await?;
    let extra = msgs::attr(msgs::OPTIONAL, 98, &[1, 2, 3]);
    let p = lab.a_prefix();
    a.send_raw(&msgs::announce_v4(&[A.asn], lab.a_addr(), &extra, &[p]))
        .await?;
    let (u, raw) = lab.b.wait_announce(IpNet::V4(p)).await?;
    let codes: Vec<u8> = msgs::raw_attrs(&raw).iter().map(|(_, c, _)| *c).collect();
    ensure!(!codes.contains(&98), "B received attribute 98: {codes:?}");
    ensure!(codes.contains(&msgs::AS_PATH), "no AS_PATH in {codes:?}");
    ensure!(u.announced[0].0.unknown.is_empty());
    still_up(&mut lab, &mut a).await?;
    lab.finish().await
}

/// RFC 7606 7.11: an MP_REACH_NLRI next hop of the wrong length hides the
/// NLRI, so the session is reset; RFC 4760 7: Optional Attribute Error with
/// the attribute (flags, type, length, value) as data.
#[tokio::test]
async fn mp_reach_next_hop_length_5_resets_with_the_attribute() -> Result<()> {
    // AFI 2, SAFI 1, next hop length 5 (IPv6 needs 16 or 32), next hop,
    // reserved octet, then 2a0a:35::/32.
    let mut v = vec![0, 2, 1, 5];
    v.extend([0x2a, 0x0a, 0, 0, 2]);
    v.push(0);
    v.extend([32, 0x2a, 0x0a, 0, 53]);
    let bad = msgs::attr(msgs::OPTIONAL, msgs::MP_REACH_NLRI, &v);
    let data = bad.clone();
    reset_case(
        "upd_mp_reach_nh_5",
        53,
        move |_| {
            let mut a = msgs::origin(0);
            a.extend(msgs::as_path4(&[A.asn]));
            a.extend_from_slice(&bad);
            msgs::update(&[], &a, &[])
        },
        UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
        &data,
    )
    .await
}

/// RFC 7606 3 c: ORIGIN with the Optional bit set (flags conflict with the
/// type) is treat-as-withdraw.
#[tokio::test]
async fn origin_with_optional_flag_is_treat_as_withdraw() -> Result<()> {
    withdraw_case("upd_origin_flags", 54, |l| {
        let mut a = msgs::attr(msgs::OPTIONAL | msgs::TRANSITIVE, msgs::ORIGIN, &[0]);
        a.extend(msgs::as_path4(&[A.asn]));
        a.extend(msgs::next_hop(l.a_addr()));
        msgs::update(&[], &a, &nlri(l))
    })
    .await
}

/// Treat-as-withdraw also covers NLRI in MP_REACH_NLRI (RFC 7606 5.1, 2):
/// A's IPv6 route, then the same route with AS_PATH malformed.
#[tokio::test]
async fn treat_as_withdraw_withdraws_ipv6_nlri_of_mp_reach() -> Result<()> {
    let mut lab = Lab::start("upd_taw_ipv6", 55).await?;
    let mut a = lab.a_with(&lab.a_opts()).await?;
    let v6: IpNet = format!("2a0a:{}::/32", lab.fox.lan)
        .parse()
        .unwrap_or_default();
    let nh = format!("2a0a:{}::2", lab.fox.lan)
        .parse()
        .unwrap_or(std::net::Ipv6Addr::LOCALHOST);
    let with_path = |path: Vec<u8>| {
        let mut a = msgs::origin(0);
        a.extend(path);
        a.extend(msgs::mp_reach_v6(nh, &[v6]));
        msgs::update(&[], &a, &[])
    };
    a.send_raw(&with_path(msgs::as_path4(&[A.asn]))).await?;
    let (u, _) = lab.b.wait_announce(v6).await?;
    ensure!(
        matches!(u.announced[0].0.next_hop, NextHop::V6 { global, .. } if global == nh),
        "IPv6 next hop to B: {:?}",
        u.announced[0].0.next_hop
    );
    // A zero-length segment (RFC 7606 7.2).
    a.send_raw(&with_path(msgs::attr(
        msgs::TRANSITIVE,
        msgs::AS_PATH,
        &[2, 0],
    )))
    .await?;
    lab.b.wait_withdraw(v6).await?;
    ensure!(
        !lab.fox
            .has_route(lab.a_addr(), "received", &v6.to_string())
            .await?,
        "{v6} still among A's received routes"
    );
    still_up(&mut lab, &mut a).await?;
    lab.finish().await
}
