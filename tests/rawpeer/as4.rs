//! RFC 6793 between a 2-octet-AS speaker (C, no 4-octet AS capability) and
//! a 4-octet one (B), through the route server.

use anyhow::{ensure, Result};
use fox_routeserver::wire::AsPath;
use ipnet::IpNet;

use crate::lab::{net, Lab, B, C};
use crate::msgs;
use crate::peer::OpenOpts;

/// A 4-octet ASN (not reserved, not private).
const AS4: u32 = 263_075;

fn old_speaker(lab: &Lab) -> OpenOpts {
    let mut o = OpenOpts::new(C.asn, lab.fox.addr(C.host));
    o.four_octet = false;
    o
}

/// C learnt a route from AS 263075 (AS_PATH [AS_TRANS] + AS4_PATH [263075])
/// and announces it with itself prepended to AS_PATH only. B must receive
/// the real path [9264 263075] in 4-octet encoding and no AS4_PATH.
#[tokio::test]
async fn as_trans_and_as4_path_from_old_speaker_reach_new_speaker_as_real_asns() -> Result<()> {
    let mut lab = Lab::start("as4_old_to_new", 60).await?;
    let c_addr = lab.fox.addr(C.host);
    let mut c =
        crate::peer::RawPeer::establish("C", c_addr, lab.fox.bgp, &old_speaker(&lab)).await?;
    lab.fox.wait_established(c_addr).await?;
    let n = lab.fox.neighbor(c_addr).await?;
    ensure!(
        n["capabilities"]["four_octet_as"] == false,
        "C negotiated 4-octet AS: {n}"
    );
    let p = net(&format!("11.{}.4.0/24", lab.fox.lan));
    let mut a = msgs::origin(0);
    a.extend(msgs::as_path2(&[C.asn as u16, msgs::AS_TRANS]));
    a.extend(msgs::next_hop(c_addr));
    a.extend(msgs::as4_path(&[AS4]));
    c.send_raw(&msgs::update(&[], &a, &msgs::nlri(&[p])))
        .await?;

    let (u, raw) = lab.b.wait_announce(IpNet::V4(p)).await?;
    let want = AsPath::from_sequence(vec![C.asn, AS4]);
    ensure!(
        u.announced[0].0.as_path == want,
        "B decoded {:?}",
        u.announced[0].0.as_path
    );
    let attrs = msgs::raw_attrs(&raw);
    let as_path: Vec<_> = attrs
        .iter()
        .filter(|(_, c, _)| *c == msgs::AS_PATH)
        .collect();
    ensure!(
        as_path.len() == 1 && as_path[0].2 == msgs::sequence4(&[C.asn, AS4]),
        "AS_PATH on the wire to B: {as_path:02x?}"
    );
    ensure!(
        !attrs.iter().any(|(_, c, _)| *c == msgs::AS4_PATH),
        "AS4_PATH sent to a 4-octet speaker"
    );
    let routes = lab.fox.routes(c_addr, "accepted").await?;
    ensure!(
        routes.iter().any(
            |r| r["prefix"] == p.to_string() && r["as_path"] == serde_json::json!([C.asn, AS4])
        ),
        "C's accepted routes in the API: {routes:?}"
    );
    c.stay_up(std::time::Duration::from_millis(100)).await?;
    lab.finish().await
}

/// The other way: B's path [7539 263075] reaches C as AS_PATH [7539 AS_TRANS]
/// (2-octet) plus AS4_PATH [7539 263075].
#[tokio::test]
async fn four_octet_path_reaches_old_speaker_as_as_trans_plus_as4_path() -> Result<()> {
    let mut lab = Lab::start("as4_new_to_old", 61).await?;
    let c_addr = lab.fox.addr(C.host);
    let mut c =
        crate::peer::RawPeer::establish("C", c_addr, lab.fox.bgp, &old_speaker(&lab)).await?;
    lab.fox.wait_established(c_addr).await?;
    let p = net(&format!("11.{}.5.0/24", lab.fox.lan));
    let b_addr = lab.fox.addr(B.host);
    lab.b
        .send_raw(&msgs::announce_v4(&[B.asn, AS4], b_addr, &[], &[p]))
        .await?;
    let (u, raw) = c.wait_announce(IpNet::V4(p)).await?;
    let attrs = msgs::raw_attrs(&raw);
    let find = |code: u8| {
        attrs
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|a| a.2.clone())
    };
    let mut two = vec![2, 2];
    two.extend((B.asn as u16).to_be_bytes());
    two.extend(msgs::AS_TRANS.to_be_bytes());
    ensure!(
        find(msgs::AS_PATH) == Some(two),
        "AS_PATH to C: {:02x?}",
        find(msgs::AS_PATH)
    );
    ensure!(
        find(msgs::AS4_PATH) == Some(msgs::sequence4(&[B.asn, AS4])),
        "AS4_PATH to C: {:02x?}",
        find(msgs::AS4_PATH)
    );
    ensure!(
        u.announced[0].0.as_path == AsPath::from_sequence(vec![B.asn, AS4]),
        "C's view after RFC 6793 reconciliation: {:?}",
        u.announced[0].0.as_path
    );
    lab.finish().await
}
