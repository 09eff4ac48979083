//! OPEN message errors (RFC 4271 6.2, RFC 5492) and connections from
//! addresses that are not members.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{ensure, Result};
use fox_routeserver::wire::*;

use crate::lab::{Lab, A};
use crate::msgs;
use crate::peer::{Event, RawPeer};

/// Capabilities of a normal modern speaker with 4-octet AS `asn`.
fn caps(asn: u32) -> Vec<u8> {
    msgs::capabilities(&[
        (1, vec![0, 1, 0, 1]),
        (2, vec![]),
        (65, asn.to_be_bytes().to_vec()),
    ])
}

/// A sends `open` after the route server's OPEN and must get `sub`/`data`;
/// then A establishes normally and B notices nothing.
async fn open_case(
    test: &str,
    lan: u8,
    open: impl Fn(&Lab) -> Vec<u8>,
    sub: u8,
    data: &[u8],
) -> Result<()> {
    let mut lab = Lab::start(test, lan).await?;
    let mut a = lab.a_connected().await?;
    a.send_raw(&open(&lab)).await?;
    a.expect_error(OPEN_MESSAGE_ERROR, sub, data).await?;
    ensure!(
        lab.fox.state(lab.a_addr()).await? != "Established",
        "A Established after a bad OPEN"
    );
    let mut a = lab.a_reconnect().await?;
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

#[tokio::test]
async fn version_3_is_unsupported_version_number_with_4() -> Result<()> {
    open_case(
        "open_version_3",
        20,
        |l| msgs::open(3, A.asn as u16, 90, l.a_addr(), &caps(A.asn)),
        OPEN_UNSUPPORTED_VERSION_NUMBER,
        &[0, 4],
    )
    .await
}

#[tokio::test]
async fn hold_time_1_is_unacceptable() -> Result<()> {
    open_case(
        "open_hold_1",
        21,
        |l| msgs::open(4, A.asn as u16, 1, l.a_addr(), &caps(A.asn)),
        OPEN_UNACCEPTABLE_HOLD_TIME,
        &[],
    )
    .await
}

#[tokio::test]
async fn hold_time_2_is_unacceptable() -> Result<()> {
    open_case(
        "open_hold_2",
        22,
        |l| msgs::open(4, A.asn as u16, 2, l.a_addr(), &caps(A.asn)),
        OPEN_UNACCEPTABLE_HOLD_TIME,
        &[],
    )
    .await
}

#[tokio::test]
async fn wrong_peer_as_is_bad_peer_as() -> Result<()> {
    open_case(
        "open_bad_peer_as",
        23,
        |l| msgs::open(4, 1234, 90, l.a_addr(), &caps(1234)),
        OPEN_BAD_PEER_AS,
        &[],
    )
    .await
}

/// The 4-octet AS capability is what counts (RFC 6793 4.1): my_as is right
/// but the capability names another AS.
#[tokio::test]
async fn wrong_four_octet_as_is_bad_peer_as() -> Result<()> {
    open_case(
        "open_bad_peer_as4",
        24,
        |l| msgs::open(4, A.asn as u16, 90, l.a_addr(), &caps(263_075)),
        OPEN_BAD_PEER_AS,
        &[],
    )
    .await
}

#[tokio::test]
async fn bgp_identifier_zero_is_bad_bgp_identifier() -> Result<()> {
    open_case(
        "open_bad_id",
        25,
        |_| msgs::open(4, A.asn as u16, 90, Ipv4Addr::UNSPECIFIED, &caps(A.asn)),
        OPEN_BAD_BGP_IDENTIFIER,
        &[],
    )
    .await
}

/// Optional parameter type 1 (the deprecated Authentication Information).
#[tokio::test]
async fn unknown_optional_parameter_is_unsupported_optional_parameter() -> Result<()> {
    open_case(
        "open_bad_param",
        26,
        |l| {
            let mut p = msgs::param(1, &[0]);
            p.extend(caps(A.asn));
            msgs::open(4, A.asn as u16, 90, l.a_addr(), &p)
        },
        OPEN_UNSUPPORTED_OPTIONAL_PARAMETER,
        &[],
    )
    .await
}

/// A connection from an address that is no member's is closed without an
/// OPEN, counted, and leaves every session alone.
#[tokio::test]
async fn connection_from_non_member_is_refused() -> Result<()> {
    let mut lab = Lab::start("open_non_member", 27).await?;
    let refused = ["reason=\"unknown-address\""];
    let before = lab
        .fox
        .metric("fox_bgp_connections_refused_total", &refused)
        .await?;
    let stranger = lab.fox.addr(99);
    let mut x = RawPeer::connect("stranger", stranger, lab.fox.bgp).await?;
    // Whatever the stranger sends, it gets no OPEN and the connection closes.
    x.send_raw(&msgs::open(4, 65001, 90, stranger, &caps(65001)))
        .await
        .ok();
    match x.next(Duration::from_secs(3)).await? {
        Event::Closed => {}
        other => anyhow::bail!("stranger should be disconnected, got {other:?}"),
    }
    let after = lab
        .fox
        .metric("fox_bgp_connections_refused_total", &refused)
        .await?;
    ensure!(after == before + 1.0, "refused counter {before} -> {after}");
    let ns = lab.fox.json("/api/v1/neighbors").await?;
    ensure!(
        !ns.to_string().contains(&stranger.to_string()),
        "stranger appears among neighbours: {ns}"
    );
    // Members still get in.
    let mut a = lab.a_reconnect().await?;
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

/// RFC 6286 2.1: a BGP Identifier is any non-zero 4-octet value, so
/// identifiers that are not unicast addresses are accepted.
#[tokio::test]
async fn non_unicast_bgp_identifiers_are_accepted() -> Result<()> {
    let lab = Lab::start("open_id_any", 28).await?;
    for id in [Ipv4Addr::new(224, 0, 0, 5), Ipv4Addr::BROADCAST] {
        let mut opts = lab.a_opts();
        opts.id = id;
        let mut a = lab.a_with(&opts).await?;
        let n = lab.fox.neighbor(lab.a_addr()).await?;
        ensure!(
            n["state"] == "Established" && n["remote_router_id"] == id.to_string(),
            "A with identifier {id}: {n}"
        );
        a.stay_up(Duration::from_millis(100)).await?;
        drop(a);
        lab.fox.wait_down(lab.a_addr()).await?;
    }
    lab.finish().await
}
