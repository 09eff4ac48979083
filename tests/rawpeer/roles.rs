//! RFC 9234 against the real route server: it announces the BGP Role RS,
//! refuses a member whose role does not pair with it (OPEN Message Error /
//! Role Mismatch, 2/11), filters routes carrying Only to Customer from a
//! member (reason 1004) and adds OTC = its own ASN to routes it exports.
//! Member C runs with `role: off` and sees none of it.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};
use fox_routeserver::wire::open::role;
use fox_routeserver::wire::{Capability, Message, SessionCaps, OPEN_MESSAGE_ERROR};
use ipnet::{IpNet, Ipv4Net};
use serde_json::Value;
use tokio::time::Instant;

use crate::fox::{Fox, Member, RS_ASN};
use crate::lab::{net, A, B, C};
use crate::msgs;
use crate::peer::{Event, RawPeer};

/// Capability code of the BGP Role (RFC 9234 4.1).
const CAP_ROLE: u8 = 9;
/// Path attribute type code of Only to Customer (RFC 9234 5).
const OTC: u8 = 35;
/// OPEN Message Error subcode Role Mismatch (RFC 9234 4.2).
const ROLE_MISMATCH: u8 = 11;

/// An OPEN of member `m` from `id` with an optional Role capability.
fn open_with_role(m: Member, id: Ipv4Addr, role: Option<u8>) -> Vec<u8> {
    let mut caps = vec![
        (1, vec![0, 1, 0, 1]),
        (2, vec![]),
        (65, m.asn.to_be_bytes().to_vec()),
    ];
    if let Some(r) = role {
        caps.push((CAP_ROLE, vec![r]));
    }
    msgs::open(4, m.asn as u16, 90, id, &msgs::capabilities(&caps))
}

/// The Role values in the route server's OPEN.
fn rs_roles(p: &RawPeer) -> Result<Vec<u8>> {
    let open = p.rs_open.as_ref().ok_or_else(|| anyhow!("no OPEN"))?;
    Ok(open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
        .collect())
}

/// Member `m` sends an OPEN with `role` and must be refused with Role Mismatch.
async fn refused(fox: &Fox, m: Member, role: Option<u8>) -> Result<()> {
    let addr = fox.addr(m.host);
    let mut p = RawPeer::connect(m.name, addr, fox.bgp).await?;
    p.expect_open().await?;
    ensure!(rs_roles(&p)? == [role::RS], "route server's role is RS");
    p.send_raw(&open_with_role(m, addr, role)).await?;
    p.expect_error(OPEN_MESSAGE_ERROR, ROLE_MISMATCH, &[])
        .await
        .with_context(|| format!("{} with role {role:?}", m.name))?;
    ensure!(
        fox.state(addr).await? != "Established",
        "{} Established with role {role:?}",
        m.name
    );
    Ok(())
}

/// Member `m` establishes with `role` (retried while a previous session of
/// it is still torn down; 20 tries). Returns the peer and the route
/// server's Role values.
async fn establish(fox: &Fox, m: Member, role: Option<u8>) -> Result<(RawPeer, Vec<u8>)> {
    let addr = fox.addr(m.host);
    let mut last = anyhow!("no attempt");
    for _ in 0..20 {
        match try_establish(fox, m, addr, role).await {
            Ok(p) => {
                fox.wait_established(addr).await?;
                let roles = rs_roles(&p)?;
                return Ok((p, roles));
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Err(last).with_context(|| format!("{} with role {role:?} cannot establish", m.name))
}

async fn try_establish(fox: &Fox, m: Member, addr: Ipv4Addr, role: Option<u8>) -> Result<RawPeer> {
    let mut p = RawPeer::connect(m.name, addr, fox.bgp).await?;
    p.send_raw(&open_with_role(m, addr, role)).await?;
    p.expect_open().await?;
    p.caps = SessionCaps {
        four_octet_as: true,
        extended_message: false,
    };
    p.send_raw(&msgs::keepalive()).await?;
    match p.next(Duration::from_secs(5)).await? {
        Event::Msg(Message::Keepalive, _) => Ok(p),
        other => bail!("{}: expected KEEPALIVE, got {other:?}", p.name),
    }
}

#[tokio::test]
async fn role_strict_refuses_customer_and_missing_role_accepts_rs_client() -> Result<()> {
    let fox = Fox::start_with("role_strict", 80, &[A, B, C], &[("A", "{ role: strict }")]).await?;
    let (mut b, _) = establish(&fox, B, None).await?;
    refused(&fox, A, Some(role::CUSTOMER)).await?;
    refused(&fox, A, None).await?;
    let (a, roles) = establish(&fox, A, Some(role::RS_CLIENT)).await?;
    ensure!(roles == [role::RS], "RS role in the OPEN: {roles:?}");
    b.stay_up(Duration::from_millis(200)).await?;
    drop(a);
    let mut fox = fox;
    fox.assert_alive().await
}

#[tokio::test]
async fn role_on_refuses_a_wrong_role_and_accepts_none_off_checks_nothing() -> Result<()> {
    let fox = Fox::start_with("role_on", 81, &[A, B, C], &[("C", "{ role: off }")]).await?;
    for r in [role::PROVIDER, role::RS, role::CUSTOMER, role::PEER, 7] {
        refused(&fox, A, Some(r)).await?;
    }
    // On: a missing role is accepted.
    let (_a, roles) = establish(&fox, A, None).await?;
    ensure!(roles == [role::RS], "RS role in the OPEN: {roles:?}");
    // Off: no role announced, none checked.
    let (_c, roles) = establish(&fox, C, Some(role::CUSTOMER)).await?;
    ensure!(roles.is_empty(), "no role towards C: {roles:?}");
    let mut fox = fox;
    fox.assert_alive().await
}

/// Poll (5 s) until `prefix` of `addr` is filtered; returns its API entry.
async fn wait_filtered(fox: &Fox, addr: Ipv4Addr, prefix: Ipv4Net) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let routes = fox.routes(addr, "filtered").await?;
        if let Some(r) = routes.iter().find(|r| r["prefix"] == prefix.to_string()) {
            return Ok(r.clone());
        }
        if Instant::now() > deadline {
            let all = fox.routes(addr, "received").await?;
            bail!("{prefix} from {addr} not filtered after 5 s; received: {all:?}");
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The OTC attribute of an UPDATE as (flags, value).
fn otc_of(raw: &[u8]) -> Option<(u8, Vec<u8>)> {
    msgs::raw_attrs(raw)
        .into_iter()
        .find(|(_, code, _)| *code == OTC)
        .map(|(flags, _, v)| (flags, v))
}

#[tokio::test]
async fn role_otc_from_a_member_is_filtered_and_otc_is_added_on_export() -> Result<()> {
    let lan = 82;
    let fox = Fox::start_with("role_otc", lan, &[A, B, C], &[("C", "{ role: off }")]).await?;
    let (mut b, _) = establish(&fox, B, Some(role::RS_CLIENT)).await?;
    let (mut c, _) = establish(&fox, C, None).await?;
    let (mut a, _) = establish(&fox, A, Some(role::RS_CLIENT)).await?;
    let a_addr = fox.addr(A.host);
    let otc = |asn: u32| msgs::attr(msgs::OPTIONAL | msgs::TRANSITIVE, OTC, &asn.to_be_bytes());

    // A leak: OTC set by a network upstream of A (AS17716).
    let leak = net(&format!("11.{lan}.2.0/24"));
    a.send_raw(&msgs::announce_v4(
        &[A.asn, 17716],
        a_addr,
        &otc(17716),
        &[leak],
    ))
    .await?;
    let r = wait_filtered(&fox, a_addr, leak).await?;
    let codes: Vec<u64> = r["reasons"]
        .as_array()
        .map(|rs| rs.iter().filter_map(|x| x["code"].as_u64()).collect())
        .unwrap_or_default();
    ensure!(codes == [1004], "exactly reason 1004 (otc-leak): {r}");
    // A clean route: B (role on) gets it with OTC = the route server's ASN,
    // C (role off) without OTC.
    let clean = net(&format!("11.{lan}.4.0/24"));
    a.send_raw(&msgs::announce_v4(&[A.asn], a_addr, &[], &[clean]))
        .await?;
    let (_, raw) = b.wait_announce(IpNet::V4(clean)).await?;
    ensure!(
        otc_of(&raw) == Some((0xC0, RS_ASN.to_be_bytes().to_vec())),
        "B: OTC optional transitive with {RS_ASN}: {:02x?}",
        msgs::raw_attrs(&raw)
    );
    let (_, raw) = c.wait_announce(IpNet::V4(clean)).await?;
    ensure!(otc_of(&raw).is_none(), "C (role off) gets no OTC");
    // The leak reached nobody.
    for m in b.stay_up(Duration::from_millis(200)).await? {
        if let Message::Update(u) = m {
            ensure!(
                !u.announced
                    .iter()
                    .any(|(_, ps)| ps.contains(&IpNet::V4(leak))),
                "B received the leak"
            );
        }
    }
    ensure!(
        fox.has_route(a_addr, "accepted", &clean.to_string())
            .await?,
        "the clean route is accepted"
    );
    // The MRT dump of the RIB holds both paths as received, the filtered
    // leak with its OTC, the clean one without.
    let mut seen = mrt_paths(&fox).await?;
    seen.sort();
    let a_ip = std::net::IpAddr::V4(a_addr);
    ensure!(
        seen == [
            (IpNet::V4(leak), a_ip, A.asn, Some(17716)),
            (IpNet::V4(clean), a_ip, A.asn, None)
        ],
        "MRT dump: {seen:?}"
    );
    let mut fox = fox;
    fox.assert_alive().await
}

/// `GET /api/v1/mrt`, read back with bgpkit-parser: (prefix, peer, peer
/// ASN, OTC) of every path.
async fn mrt_paths(fox: &Fox) -> Result<Vec<(IpNet, std::net::IpAddr, u32, Option<u32>)>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(fox.api).await?;
        let req = format!(
            "GET /api/v1/mrt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            fox.api
        );
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| anyhow!("GET /api/v1/mrt timed out"))??;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    ensure!(head.starts_with("http/1.1 200"), "GET /api/v1/mrt: {head}");
    ensure!(
        !head.contains("transfer-encoding: chunked"),
        "unexpected chunked body"
    );
    let body = raw[end + 4..].to_vec();
    Ok(
        bgpkit_parser::BgpkitParser::from_reader(std::io::Cursor::new(body))
            .into_elem_iter()
            .map(|e| {
                (
                    e.prefix.prefix,
                    e.peer_ip,
                    e.peer_asn.to_u32(),
                    e.only_to_customer.map(|a| a.to_u32()),
                )
            })
            .collect(),
    )
}
