//! OpenSent and OpenConfirm (RFC 4271 8.2.2): exchange OPENs, check what
//! the member sent, agree on capabilities.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::sync::oneshot;

use super::conn::{MsgReader, MsgWriter, SessionError};
use super::NeighborConfig;
use crate::wire::{self, Capability, Message, Notification, Open, SessionCaps, AS_TRANS};

/// What the two ends agreed on.
#[derive(Clone, Debug)]
pub struct Negotiated {
    pub caps: SessionCaps,
    pub hold_time: u16,
    pub remote_id: Ipv4Addr,
    pub ipv4: bool,
    pub ipv6: bool,
    pub route_refresh: bool,
    /// The member's graceful-restart time, if it announced the capability.
    pub restart_time: Option<u16>,
}

/// Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes).
const OPEN_WAIT: Duration = Duration::from_secs(240);

/// Our OPEN for this neighbour.
pub fn our_open(cfg: &NeighborConfig) -> Open {
    let mut capabilities = vec![
        Capability::Multiprotocol { afi: 1, safi: 1 },
        Capability::Multiprotocol { afi: 2, safi: 1 },
        Capability::RouteRefresh,
        Capability::FourOctetAs(cfg.local_asn),
        Capability::ExtendedMessage,
    ];
    // Graceful restart, receiving-speaker (helper) role: no AFI of our own
    // is preserved across a restart (RFC 4724 3).
    capabilities.push(Capability::GracefulRestart {
        restart_state: false,
        restart_time: 120,
        families: vec![],
    });
    Open {
        version: 4,
        my_as: u16::try_from(cfg.local_asn).unwrap_or(AS_TRANS as u16),
        hold_time: cfg.hold_time,
        bgp_id: cfg.router_id,
        capabilities,
    }
}

/// Check the member's OPEN against its configuration (RFC 4271 6.2).
pub fn check_open(cfg: &NeighborConfig, open: &Open) -> Result<(), Notification> {
    if open.asn() != cfg.asn {
        return Err(Notification::new(
            wire::OPEN_MESSAGE_ERROR,
            wire::OPEN_BAD_PEER_AS,
            bytes::Bytes::new(),
        ));
    }
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(Notification::new(
            wire::OPEN_MESSAGE_ERROR,
            wire::OPEN_UNACCEPTABLE_HOLD_TIME,
            bytes::Bytes::new(),
        ));
    }
    // RFC 6286 2.1: any non-zero 4-octet value is a valid identifier (no
    // longer a unicast address); only zero is rejected for an external peer.
    if open.bgp_id.is_unspecified() {
        return Err(Notification::new(
            wire::OPEN_MESSAGE_ERROR,
            wire::OPEN_BAD_BGP_IDENTIFIER,
            bytes::Bytes::new(),
        ));
    }
    Ok(())
}

/// What both sides support, given our OPEN and theirs.
pub fn negotiate(ours: &Open, theirs: &Open) -> Negotiated {
    let both = |f: &dyn Fn(&Capability) -> bool| {
        ours.capabilities.iter().any(f) && theirs.capabilities.iter().any(f)
    };
    let mp = |afi: u16| move |c: &Capability| matches!(c, Capability::Multiprotocol { afi: a, safi: 1 } if *a == afi);
    let theirs_has_mp = theirs
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::Multiprotocol { .. }));
    // Without any multiprotocol capability, IPv4 unicast is implied (RFC 4760 8).
    let ipv4 = both(&mp(1)) || !theirs_has_mp;
    let ipv6 = both(&mp(2));
    let four = both(&|c| matches!(c, Capability::FourOctetAs(_)));
    let ext = both(&|c| matches!(c, Capability::ExtendedMessage));
    let rr = both(&|c| {
        matches!(
            c,
            Capability::RouteRefresh | Capability::EnhancedRouteRefresh
        )
    });
    let restart_time = theirs.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart { restart_time, .. } => Some(*restart_time),
        _ => None,
    });
    let hold_time = ours.hold_time.min(theirs.hold_time);
    Negotiated {
        caps: SessionCaps {
            four_octet_as: four,
            extended_message: ext,
        },
        hold_time,
        remote_id: theirs.bgp_id,
        ipv4,
        ipv6,
        route_refresh: rr,
        restart_time,
    }
}

/// Ask the peer task whether this connection may go on after the OPEN
/// arrived (connection collision, RFC 4271 6.8).
pub type CollisionCheck = Box<dyn FnOnce(Ipv4Addr) -> oneshot::Receiver<bool> + Send>;

/// Run OpenSent and OpenConfirm on a fresh connection.
pub async fn handshake(
    cfg: &NeighborConfig,
    rd: &mut MsgReader,
    wr: &mut MsgWriter,
    collision: CollisionCheck,
    on_open_sent: impl FnOnce(),
) -> Result<Negotiated, SessionError> {
    // Before negotiation, messages are at most 4096 octets and OPEN AS
    // numbers are 2 octets on the wire anyway.
    let pre = SessionCaps {
        four_octet_as: false,
        extended_message: false,
    };
    let ours = our_open(cfg);
    wr.send(&Message::Open(ours.clone()), &pre).await?;
    on_open_sent();
    let theirs = match tokio::time::timeout(OPEN_WAIT, rd.next(&pre)).await {
        Err(_) => {
            return fail(
                wr,
                &pre,
                Notification::new(wire::HOLD_TIMER_EXPIRED, 0, bytes::Bytes::new()),
            )
            .await
        }
        Ok(Err(SessionError::Sent(n))) => return fail(wr, &pre, n).await,
        Ok(Err(e)) => return Err(e),
        Ok(Ok((Message::Open(o), _))) => o,
        Ok(Ok((Message::Notification(n), _))) => return Err(SessionError::Received(n)),
        Ok(Ok(_)) => {
            return fail(
                wr,
                &pre,
                Notification::new(
                    wire::FSM_ERROR,
                    wire::FSM_UNEXPECTED_IN_OPEN_SENT,
                    bytes::Bytes::new(),
                ),
            )
            .await
        }
    };
    if let Err(n) = check_open(cfg, &theirs) {
        return fail(wr, &pre, n).await;
    }
    let neg = negotiate(&ours, &theirs);
    let proceed = collision(theirs.bgp_id).await.unwrap_or(false);
    if !proceed {
        let n = Notification::new(
            wire::CEASE,
            wire::CEASE_CONNECTION_COLLISION_RESOLUTION,
            bytes::Bytes::new(),
        );
        let _ = wr.send(&Message::Notification(n), &pre).await;
        return Err(SessionError::Collision);
    }
    wr.send(&Message::Keepalive, &neg.caps).await?;
    let wait = if neg.hold_time == 0 {
        OPEN_WAIT
    } else {
        Duration::from_secs(neg.hold_time as u64)
    };
    match tokio::time::timeout(wait, rd.next(&neg.caps)).await {
        Err(_) => {
            fail(
                wr,
                &neg.caps,
                Notification::new(wire::HOLD_TIMER_EXPIRED, 0, bytes::Bytes::new()),
            )
            .await
        }
        Ok(Err(SessionError::Sent(n))) => fail(wr, &neg.caps, n).await,
        Ok(Err(e)) => Err(e),
        Ok(Ok((Message::Keepalive, _))) => Ok(neg),
        Ok(Ok((Message::Notification(n), _))) => Err(SessionError::Received(n)),
        Ok(Ok(_)) => {
            fail(
                wr,
                &neg.caps,
                Notification::new(
                    wire::FSM_ERROR,
                    wire::FSM_UNEXPECTED_IN_OPEN_CONFIRM,
                    bytes::Bytes::new(),
                ),
            )
            .await
        }
    }
}

async fn fail<T>(
    wr: &mut MsgWriter,
    caps: &SessionCaps,
    n: Notification,
) -> Result<T, SessionError> {
    let _ = wr.send(&Message::Notification(n.clone()), caps).await;
    Err(SessionError::Sent(n))
}
