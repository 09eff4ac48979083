//! The scene every test plays on: a route server with members A (the one
//! that misbehaves), B (well behaved, Established from the start, with a
//! route of its own) and C (spare, used as a 2-octet-AS speaker).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use ipnet::{IpNet, Ipv4Net};
use tokio::time::Instant;

use crate::fox::{Fox, Member};
use crate::msgs;
use crate::peer::{OpenOpts, RawPeer};

/// The member that sends bad input.
pub const A: Member = Member {
    name: "A",
    asn: 1659,
    host: 2,
};
/// The well-behaved member whose session must never notice.
pub const B: Member = Member {
    name: "B",
    asn: 7539,
    host: 3,
};
/// A third member (2-octet AS speaker in the RFC 6793 tests).
pub const C: Member = Member {
    name: "C",
    asn: 9264,
    host: 4,
};

/// A running route server with B established and its route accepted.
pub struct Lab {
    pub fox: Fox,
    pub b: RawPeer,
    /// B's route.
    pub b_prefix: Ipv4Net,
}

/// Parse a prefix written in a test.
pub fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap_or_default()
}

impl Lab {
    /// Start fox on 127.0.`lan`.0/24, bring B up and have it announce its route.
    pub async fn start(test: &str, lan: u8) -> Result<Lab> {
        Lab::start_with_rs(test, lan, "").await
    }

    /// As [`Lab::start`], with `rs_keys` added to the route server's configuration.
    pub async fn start_with_rs(test: &str, lan: u8, rs_keys: &str) -> Result<Lab> {
        let fox = Fox::start_with_rs(test, lan, &[A, B, C], &[], rs_keys).await?;
        let b_addr = fox.addr(B.host);
        let mut b = RawPeer::establish("B", b_addr, fox.bgp, &OpenOpts::new(B.asn, b_addr)).await?;
        fox.wait_established(b_addr).await?;
        let b_prefix = net(&format!("11.{lan}.3.0/24"));
        b.send_raw(&msgs::announce_v4(&[B.asn], b_addr, &[], &[b_prefix]))
            .await?;
        let mut lab = Lab { fox, b, b_prefix };
        lab.wait_accepted(b_addr, b_prefix).await?;
        Ok(lab)
    }

    /// A's usual route.
    pub fn a_prefix(&self) -> Ipv4Net {
        net(&format!("11.{}.2.0/24", self.fox.lan))
    }

    /// A's address.
    pub fn a_addr(&self) -> std::net::Ipv4Addr {
        self.fox.addr(A.host)
    }

    /// A's default OPEN.
    pub fn a_opts(&self) -> OpenOpts {
        OpenOpts::new(A.asn, self.a_addr())
    }

    /// A connected but not yet past OPEN (the route server's OPEN is read).
    pub async fn a_connected(&self) -> Result<RawPeer> {
        let mut a = RawPeer::connect("A", self.a_addr(), self.fox.bgp).await?;
        a.expect_open().await?;
        Ok(a)
    }

    /// A Established with `opts` (on the wire and in the API).
    pub async fn a_with(&self, opts: &OpenOpts) -> Result<RawPeer> {
        let a = RawPeer::establish("A", self.a_addr(), self.fox.bgp, opts).await?;
        self.fox.wait_established(self.a_addr()).await?;
        Ok(a)
    }

    /// A Established, its route announced and received by B.
    pub async fn a_announced(&mut self) -> Result<RawPeer> {
        let mut a = self.a_with(&self.a_opts()).await?;
        self.announce_valid(&mut a, self.a_prefix()).await?;
        Ok(a)
    }

    /// A announces `prefix` correctly; B must receive it.
    pub async fn announce_valid(&mut self, a: &mut RawPeer, prefix: Ipv4Net) -> Result<()> {
        a.send_raw(&msgs::announce_v4(&[A.asn], self.a_addr(), &[], &[prefix]))
            .await?;
        self.b
            .wait_announce(IpNet::V4(prefix))
            .await
            .context("B should receive A's valid route")?;
        Ok(())
    }

    /// Poll the API until `prefix` is in `addr`'s accepted list.
    pub async fn wait_accepted(&mut self, addr: std::net::Ipv4Addr, prefix: Ipv4Net) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self
            .fox
            .has_route(addr, "accepted", &prefix.to_string())
            .await?
        {
            if Instant::now() > deadline {
                let all = self.fox.routes(addr, "received").await?;
                bail!("{prefix} from {addr} not accepted after 5 s; received: {all:?}");
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        Ok(())
    }

    /// A's `prefix` is gone: B receives the withdrawal and the API no longer
    /// lists it among A's received routes.
    pub async fn a_route_gone(&mut self, prefix: Ipv4Net) -> Result<()> {
        self.b
            .wait_withdraw(IpNet::V4(prefix))
            .await
            .context("B should receive the withdrawal of A's route")?;
        if self
            .fox
            .has_route(self.a_addr(), "received", &prefix.to_string())
            .await?
        {
            bail!("{prefix} still in A's received routes after B saw it withdrawn");
        }
        Ok(())
    }

    /// After a session reset: A's routes are withdrawn from B, the API shows
    /// A down, and A can connect again and have a route reach B.
    pub async fn a_reset_and_recovers(&mut self) -> Result<()> {
        self.a_route_gone(self.a_prefix()).await?;
        self.fox
            .wait_down(self.a_addr())
            .await
            .context("the route server reset A")?;
        let mut a = self.a_reconnect().await?;
        let again = net(&format!("11.{}.12.0/24", self.fox.lan));
        self.announce_valid(&mut a, again).await
    }

    /// Establish A again, retrying while the route server still tears the
    /// previous session down (bounded: 20 tries).
    pub async fn a_reconnect(&self) -> Result<RawPeer> {
        let mut last = None;
        for _ in 0..20 {
            match self.a_with(&self.a_opts()).await {
                Ok(a) => return Ok(a),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
            .context("A cannot establish again")
    }

    /// B noticed nothing: still Established (no flap), no NOTIFICATION or
    /// close on its connection, its route still accepted; fox still running.
    pub async fn finish(mut self) -> Result<()> {
        self.b.stay_up(Duration::from_millis(200)).await?;
        let b_addr = self.fox.addr(B.host);
        let n = self.fox.neighbor(b_addr).await?;
        if n["state"] != "Established" || n["flaps"] != 0 {
            bail!("B was disturbed: {n}");
        }
        if !self
            .fox
            .has_route(b_addr, "accepted", &self.b_prefix.to_string())
            .await?
        {
            bail!("B's route {} no longer accepted", self.b_prefix);
        }
        self.fox.assert_alive().await
    }
}
