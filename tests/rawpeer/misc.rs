//! ROUTE-REFRESH (RFC 2918), a Cease from the member, and the route
//! server's KEEPALIVE interval (RFC 4271 4.4: hold time / 3).

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use fox_routeserver::wire::*;
use ipnet::IpNet;

use crate::lab::{Lab, B};
use crate::msgs;
use crate::peer::Event;

/// B asks for the table again and gets A's route a second time.
#[tokio::test]
async fn route_refresh_resends_the_table() -> Result<()> {
    let mut lab = Lab::start("misc_route_refresh", 70).await?;
    let mut a = lab.a_announced().await?;
    let p = IpNet::V4(lab.a_prefix());
    lab.b.send_raw(&msgs::route_refresh(1, 1)).await?;
    lab.b.wait_announce(p).await?;
    let b_addr = lab.fox.addr(B.host);
    let rr = lab
        .fox
        .metric(
            "fox_bgp_messages_received_total",
            &[&format!("neighbor=\"{b_addr}\""), "type=\"route-refresh\""],
        )
        .await?;
    ensure!(rr == 1.0, "route-refresh counter for B: {rr}");
    a.stay_up(Duration::from_millis(100)).await?;
    lab.finish().await
}

/// A ends its session with Cease / Administrative Shutdown (RFC 9003
/// message): its routes are withdrawn from B and the API shows why.
#[tokio::test]
async fn cease_from_member_withdraws_its_routes() -> Result<()> {
    let mut lab = Lab::start("misc_cease", 71).await?;
    let mut a = lab.a_announced().await?;
    // Read what the route server sent so far (B's route, End-of-RIB).
    a.stay_up(Duration::from_millis(200)).await?;
    let text = b"maintenance window";
    let mut data = vec![text.len() as u8];
    data.extend_from_slice(text);
    a.send_raw(&msgs::notification(
        CEASE,
        CEASE_ADMINISTRATIVE_SHUTDOWN,
        &data,
    ))
    .await?;
    // The route server answers a NOTIFICATION by closing, not with another one.
    a.expect_closed(Duration::from_secs(3)).await?;
    lab.a_route_gone(lab.a_prefix()).await?;
    lab.fox.wait_down(lab.a_addr()).await?;
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    let err = n["last_error"].as_str().unwrap_or_default();
    ensure!(
        err.contains("Administrative Shutdown") && err.contains("maintenance window"),
        "A's last_error: {n}"
    );
    let mut a = lab.a_reconnect().await?;
    let p = lab.a_prefix();
    lab.announce_valid(&mut a, p).await?;
    lab.finish().await
}

/// With hold time 3 s the route server sends a KEEPALIVE every second.
#[tokio::test]
async fn keepalives_come_every_third_of_the_hold_time() -> Result<()> {
    let lab = Lab::start("misc_keepalive", 72).await?;
    let mut opts = lab.a_opts();
    opts.hold = 3;
    let mut a = lab.a_with(&opts).await?;
    let start = Instant::now();
    let mut arrivals = Vec::new();
    let mut next_send = start + Duration::from_secs(1);
    while start.elapsed() < Duration::from_millis(4200) {
        let wait = next_send.saturating_duration_since(Instant::now());
        match a.next(wait).await? {
            Event::Timeout => {
                a.send_raw(&msgs::keepalive()).await?;
                next_send += Duration::from_secs(1);
            }
            Event::Msg(Message::Keepalive, _) => arrivals.push(start.elapsed()),
            Event::Msg(Message::Update(_), _) => {}
            other => bail!("A: unexpected {other:?}"),
        }
    }
    ensure!(arrivals.len() >= 3, "KEEPALIVEs at {arrivals:?}");
    let gaps: Vec<_> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    ensure!(
        gaps.iter()
            .all(|g| *g >= Duration::from_millis(700) && *g <= Duration::from_millis(1400)),
        "KEEPALIVE gaps {gaps:?}, want about 1 s"
    );
    ensure!(lab.fox.state(lab.a_addr()).await? == "Established");
    lab.finish().await
}
