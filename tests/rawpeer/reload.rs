//! Configuration reload on SIGHUP: the YAML file is rewritten and the real
//! process is sent `kill -HUP`. A tightened policy is applied to the routes
//! already received without touching the session; a removed member gets
//! Cease / Peer De-configured with a message and its routes are withdrawn;
//! an added member can come up and gets the table; a broken file changes
//! nothing.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use fox_routeserver::wire::*;
use ipnet::{IpNet, Ipv4Net};

use crate::fox::{Fox, Member};
use crate::lab::{net, A, B, C};
use crate::msgs;
use crate::peer::{Event, OpenOpts, RawPeer};

/// The member added by a reload.
const D: Member = Member {
    name: "D",
    asn: 20940,
    host: 5,
};

/// Two public transit ASNs for a longer AS path (not bogons, not in the
/// transit-free list).
const PATH_TAIL: [u32; 2] = [38880, 4608];

/// A, B and C Established; B announced a short-path and a long-path route,
/// C one route, and A (the observer) received all three.
struct Scene {
    fox: Fox,
    a: RawPeer,
    b: RawPeer,
    c: RawPeer,
    b_short: Ipv4Net,
    b_long: Ipv4Net,
    c_prefix: Ipv4Net,
}

async fn up(fox: &Fox, m: Member) -> Result<RawPeer> {
    let addr = fox.addr(m.host);
    let p = RawPeer::establish(m.name, addr, fox.bgp, &OpenOpts::new(m.asn, addr)).await?;
    fox.wait_established(addr).await?;
    Ok(p)
}

/// Establish `m`, retrying while a reload is still being applied (bounded:
/// 20 tries over about 3 s).
async fn up_after_reload(fox: &Fox, m: Member) -> Result<RawPeer> {
    let mut last = None;
    for _ in 0..20 {
        match up(fox, m).await {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
        .with_context(|| format!("{} cannot establish after the reload", m.name))
}

/// `m`'s session was not touched: no NOTIFICATION or close, the API shows
/// it Established with 0 flaps.
async fn untouched(fox: &Fox, p: &mut RawPeer, m: Member) -> Result<()> {
    p.stay_up(Duration::from_millis(200)).await?;
    let n = fox.neighbor(fox.addr(m.host)).await?;
    ensure!(
        n["state"] == "Established" && n["flaps"] == 0,
        "{}'s session should not have noticed the reload: {n}",
        m.name
    );
    Ok(())
}

/// Read `p`'s UPDATEs until every prefix of `want` was announced, in any
/// order (at most 5 s).
async fn wait_all(p: &mut RawPeer, want: &[Ipv4Net]) -> Result<()> {
    let mut missing: Vec<IpNet> = want.iter().map(|n| IpNet::V4(*n)).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match p.next(left).await? {
            Event::Msg(Message::Update(u), _) => {
                for (_, ps) in &u.announced {
                    missing.retain(|m| !ps.contains(m));
                }
            }
            Event::Msg(Message::Keepalive, _) => {}
            other => bail!("{}: waiting for {missing:?}, got {other:?}", p.name),
        }
    }
    Ok(())
}

impl Scene {
    async fn start(test: &str, lan: u8) -> Result<Scene> {
        let fox = Fox::start(test, lan, &[A, B, C]).await?;
        let mut a = up(&fox, A).await?;
        let mut b = up(&fox, B).await?;
        let mut c = up(&fox, C).await?;
        let b_short = net(&format!("11.{lan}.3.0/24"));
        let b_long = net(&format!("11.{lan}.13.0/24"));
        let c_prefix = net(&format!("11.{lan}.4.0/24"));
        let b_addr = fox.addr(B.host);
        let long_path = [B.asn, PATH_TAIL[0], PATH_TAIL[1]];
        b.send_raw(&msgs::announce_v4(&[B.asn], b_addr, &[], &[b_short]))
            .await?;
        b.send_raw(&msgs::announce_v4(&long_path, b_addr, &[], &[b_long]))
            .await?;
        let c_addr = fox.addr(C.host);
        c.send_raw(&msgs::announce_v4(&[C.asn], c_addr, &[], &[c_prefix]))
            .await?;
        wait_all(&mut a, &[b_short, b_long, c_prefix])
            .await
            .context("A should receive B's and C's routes before the reload")?;
        Ok(Scene {
            fox,
            a,
            b,
            c,
            b_short,
            b_long,
            c_prefix,
        })
    }

    /// The configuration for `members`, with B limited to AS paths of at
    /// most `b_max_path` when given.
    fn yaml(&self, members: &[Member], b_max_path: Option<u16>) -> String {
        let y = self.fox.config_for(members);
        match b_max_path {
            Some(n) => y.replace(
                "  - name: B\n",
                &format!("  - name: B\n    policy: {{ max_as_path_len: {n} }}\n"),
            ),
            None => y,
        }
    }

    async fn listed(&self, m: Member, kind: &str, p: Ipv4Net) -> Result<bool> {
        self.fox
            .has_route(self.fox.addr(m.host), kind, &p.to_string())
            .await
    }
}

/// B's policy is tightened (AS path at most 2): its long-path route becomes
/// filtered and is withdrawn from A, its short one stays; B's session stays up.
#[tokio::test]
async fn tightened_policy_is_applied_to_stored_routes() -> Result<()> {
    let mut s = Scene::start("reload_policy", 90).await?;
    s.fox.reload_with(&s.yaml(&[A, B, C], Some(2)))?;
    s.a.wait_withdraw(IpNet::V4(s.b_long))
        .await
        .context("A should lose B's long-path route after the reload")?;
    untouched(&s.fox, &mut s.b, B).await?;
    ensure!(
        s.listed(B, "filtered", s.b_long).await?,
        "B's long-path route should be listed as filtered"
    );
    ensure!(
        s.listed(B, "accepted", s.b_short).await? && !s.listed(B, "accepted", s.b_long).await?,
        "B's accepted routes after the reload"
    );
    // The short route was not withdrawn from A: nothing but KEEPALIVEs follow.
    for m in s.a.stay_up(Duration::from_millis(300)).await? {
        if let Message::Update(u) = m {
            ensure!(
                !u.withdrawn.contains(&IpNet::V4(s.b_short)),
                "B's short route was withdrawn from A"
            );
        }
    }
    untouched(&s.fox, &mut s.c, C).await?;
    s.fox.assert_alive().await
}

/// The message of a Cease as RFC 9003 encodes it: length octet, UTF-8.
fn shutdown_message(data: &[u8]) -> Result<String> {
    let (&len, text) = data.split_first().context("Cease without data")?;
    ensure!(
        text.len() == len as usize,
        "message length {len}, data {data:02x?}"
    );
    Ok(String::from_utf8(text.to_vec())?)
}

/// C is removed: it gets Cease / Peer De-configured with a message, its
/// route is withdrawn from A, it is refused when it connects again, and
/// A and B notice nothing else.
#[tokio::test]
async fn removed_member_gets_a_cease_and_its_routes_go() -> Result<()> {
    let mut s = Scene::start("reload_remove", 91).await?;
    s.fox.reload_with(&s.yaml(&[A, B], None))?;
    let n = s.c.expect_notification(Duration::from_secs(5)).await?;
    ensure!(
        (n.code, n.subcode) == (CEASE, CEASE_PEER_DECONFIGURED),
        "C should get Cease / Peer De-configured, got {n}"
    );
    let text = shutdown_message(&n.data)?;
    ensure!(text.contains("removed"), "C's Cease message: {text:?}");
    s.a.wait_withdraw(IpNet::V4(s.c_prefix))
        .await
        .context("A should lose C's route")?;
    // C is no longer a neighbour: its connection is refused and the API
    // does not list it.
    let c_addr = s.fox.addr(C.host);
    let mut again = RawPeer::connect("C", c_addr, s.fox.bgp).await?;
    match again.next(Duration::from_secs(3)).await? {
        Event::Closed => {}
        other => bail!("C connecting after its removal: expected a close, got {other:?}"),
    }
    ensure!(
        s.fox.neighbor(c_addr).await.is_err(),
        "the API still lists C"
    );
    untouched(&s.fox, &mut s.a, A).await?;
    untouched(&s.fox, &mut s.b, B).await?;
    ensure!(
        s.listed(B, "accepted", s.b_short).await?,
        "B's route after C's removal"
    );
    s.fox.assert_alive().await
}

/// D is added: it can establish, receives the table (B's routes) and its
/// own route reaches A; nobody else is disturbed.
#[tokio::test]
async fn added_member_comes_up_and_gets_the_table() -> Result<()> {
    let mut s = Scene::start("reload_add", 92).await?;
    let d_addr: Ipv4Addr = s.fox.addr(D.host);
    // Before the reload D is not a neighbour.
    let mut early = RawPeer::connect("D", d_addr, s.fox.bgp).await?;
    ensure!(
        matches!(early.next(Duration::from_secs(3)).await?, Event::Closed),
        "D should be refused before it is configured"
    );
    s.fox.reload_with(&s.yaml(&[A, B, C, D], None))?;
    let mut d = up_after_reload(&s.fox, D).await?;
    wait_all(&mut d, &[s.b_short, s.b_long, s.c_prefix])
        .await
        .context("D should receive the table")?;
    let d_prefix = net(&format!("11.{}.5.0/24", s.fox.lan));
    d.send_raw(&msgs::announce_v4(&[D.asn], d_addr, &[], &[d_prefix]))
        .await?;
    s.a.wait_announce(IpNet::V4(d_prefix))
        .await
        .context("A should receive D's route")?;
    untouched(&s.fox, &mut s.b, B).await?;
    untouched(&s.fox, &mut s.c, C).await?;
    s.fox.assert_alive().await
}

/// A broken file is logged and changes nothing; a good file afterwards is
/// applied.
#[tokio::test]
async fn broken_file_changes_nothing() -> Result<()> {
    let mut s = Scene::start("reload_broken", 93).await?;
    // Valid YAML that drops C and tightens B, cut off in the middle.
    let good = s.yaml(&[A, B], Some(2));
    let broken = format!(
        "{}
  - name: [unclosed",
        &good[..good.len() / 2]
    );
    s.fox.reload_with(&broken)?;
    s.fox
        .wait_log("configuration has errors: nothing changed", 0)
        .await?;
    untouched(&s.fox, &mut s.a, A).await?;
    untouched(&s.fox, &mut s.b, B).await?;
    untouched(&s.fox, &mut s.c, C).await?;
    for (m, p) in [(B, s.b_short), (B, s.b_long), (C, s.c_prefix)] {
        ensure!(
            s.listed(m, "accepted", p).await?,
            "{p} of {} no longer accepted after a broken reload",
            m.name
        );
    }
    s.fox.assert_alive().await?;
    // The next good file is applied.
    s.fox.reload_with(&s.yaml(&[A, B, C, D], None))?;
    let mut d = up_after_reload(&s.fox, D).await?;
    d.wait_announce(IpNet::V4(s.b_short)).await?;
    s.fox.assert_alive().await
}

/// C's ASN changes (a session setting): C's session ends with Cease /
/// Other Configuration Change, its route is withdrawn, and C comes back
/// with the new ASN; A and B notice nothing else.
#[tokio::test]
async fn changed_session_settings_restart_only_that_session() -> Result<()> {
    let mut s = Scene::start("reload_restart", 94).await?;
    let c2 = Member { asn: 9265, ..C };
    s.fox.reload_with(&s.yaml(&[A, B, c2], None))?;
    let n = s.c.expect_notification(Duration::from_secs(5)).await?;
    ensure!(
        (n.code, n.subcode) == (CEASE, CEASE_OTHER_CONFIGURATION_CHANGE),
        "C should get Cease / Other Configuration Change, got {n}"
    );
    ensure!(
        !shutdown_message(&n.data)?.is_empty(),
        "C's Cease carries a message"
    );
    s.a.wait_withdraw(IpNet::V4(s.c_prefix))
        .await
        .context("A should lose C's route")?;
    let mut c = up_after_reload(&s.fox, c2).await?;
    let c_addr = s.fox.addr(C.host);
    ensure!(
        s.fox.neighbor(c_addr).await?["asn"] == c2.asn,
        "the API shows C's new ASN"
    );
    c.send_raw(&msgs::announce_v4(&[c2.asn], c_addr, &[], &[s.c_prefix]))
        .await?;
    s.a.wait_announce(IpNet::V4(s.c_prefix))
        .await
        .context("A should get C's route again")?;
    untouched(&s.fox, &mut s.a, A).await?;
    untouched(&s.fox, &mut s.b, B).await?;
    s.fox.assert_alive().await
}
