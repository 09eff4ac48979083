//! OpenSent and OpenConfirm (RFC 4271 8.2.2): exchange OPENs, check what
//! the member sent, agree on capabilities.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::sync::oneshot;

use super::conn::{MsgReader, MsgWriter, SessionError};
use super::NeighborConfig;
use crate::policy::RoleMode;
use crate::wire::open::role;
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
    /// The OPEN sent and the OPEN received (for BMP Peer Up).
    pub opens: std::sync::Arc<(Open, Open)>,
}

/// Hold time while waiting for the peer's OPEN. RFC 4271 suggests 4
/// minutes; a member's router sends its OPEN as soon as TCP is up, and a
/// connection that stays silent only ties up a pending slot, so 30 s.
pub const OPEN_WAIT: Duration = Duration::from_secs(30);

/// Our OPEN for this neighbour.
pub fn our_open(cfg: &NeighborConfig) -> Open {
    let mut capabilities = vec![
        Capability::Multiprotocol { afi: 1, safi: 1 },
        Capability::Multiprotocol { afi: 2, safi: 1 },
        Capability::RouteRefresh,
        Capability::FourOctetAs(cfg.local_asn),
        Capability::ExtendedMessage,
    ];
    // RFC 9234 4.1: the route server's role towards every member is RS.
    if cfg.role != RoleMode::Off {
        capabilities.push(Capability::Role(role::RS));
    }
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
    check_role(cfg, open)
}

/// The BGP Role check of RFC 9234 4.2 for a route server: the member's role
/// must be RS-Client (the only role that corresponds to RS in Table 2).
fn check_role(cfg: &NeighborConfig, open: &Open) -> Result<(), Notification> {
    if cfg.role == RoleMode::Off {
        return Ok(());
    }
    let mut roles = open.capabilities.iter().filter_map(|c| match c {
        Capability::Role(r) => Some(*r),
        _ => None,
    });
    let Some(first) = roles.next() else {
        // "If the BGP Role Capability is not received from the peer, and
        // the local AS has strict mode configured, ... Role Mismatch".
        if cfg.role == RoleMode::Strict {
            tracing::warn!(member = %cfg.member, address = %cfg.address, "BGP Role missing in strict mode: refused");
            return Err(Notification::role_mismatch());
        }
        return Ok(());
    };
    // "If multiple BGP Role Capabilities are received and not all of them
    // have the same value, then the BGP speaker MUST reject the connection
    // using the Role Mismatch Notification"; a role that does not pair with
    // RS is a mismatch too (unknown values included).
    if roles.any(|r| r != first) || first != role::RS_CLIENT {
        tracing::warn!(member = %cfg.member, address = %cfg.address, role = first, "BGP Role is not RS-Client: refused");
        return Err(Notification::role_mismatch());
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
        opens: std::sync::Arc::new((ours.clone(), theirs.clone())),
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

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use super::*;

    fn cfg(role: RoleMode) -> NeighborConfig {
        NeighborConfig {
            id: 0,
            member: Arc::from("TANet"),
            asn: 1659,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
            local_address: None,
            port: 179,
            passive: true,
            local_asn: 64500,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            max_prefix_restart: None,
            role,
            password: None,
            ttl_security: false,
            tcp_ao: None,
            max_inbound_pending: crate::session::MAX_INBOUND_PENDING,
        }
    }

    fn open(roles: &[u8]) -> Open {
        let mut capabilities = vec![Capability::FourOctetAs(1659)];
        capabilities.extend(roles.iter().map(|&r| Capability::Role(r)));
        Open {
            version: 4,
            my_as: 1659,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(192, 0, 2, 11),
            capabilities,
        }
    }

    fn roles_of(o: &Open) -> Vec<u8> {
        o.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Role(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn role_rs_is_announced_unless_off() {
        assert_eq!(roles_of(&our_open(&cfg(RoleMode::On))), [role::RS]);
        assert_eq!(roles_of(&our_open(&cfg(RoleMode::Strict))), [role::RS]);
        assert_eq!(roles_of(&our_open(&cfg(RoleMode::Off))), [] as [u8; 0]);
    }

    #[test]
    fn role_check_per_mode() {
        let mismatch = Err(Notification::role_mismatch());
        let wrong = [role::PROVIDER, role::RS, role::CUSTOMER, role::PEER, 5, 255];
        for mode in [RoleMode::On, RoleMode::Strict] {
            assert_eq!(check_open(&cfg(mode), &open(&[role::RS_CLIENT])), Ok(()));
            // The same role twice is fine, two different ones are not.
            assert_eq!(
                check_open(&cfg(mode), &open(&[role::RS_CLIENT, role::RS_CLIENT])),
                Ok(())
            );
            assert_eq!(
                check_open(&cfg(mode), &open(&[role::RS_CLIENT, role::CUSTOMER])),
                mismatch
            );
            for r in wrong {
                assert_eq!(check_open(&cfg(mode), &open(&[r])), mismatch, "{r}");
            }
        }
        // A missing role: accepted unless strict.
        assert_eq!(check_open(&cfg(RoleMode::On), &open(&[])), Ok(()));
        assert_eq!(check_open(&cfg(RoleMode::Strict), &open(&[])), mismatch);
        // Off: nothing is checked.
        for r in wrong {
            assert_eq!(check_open(&cfg(RoleMode::Off), &open(&[r])), Ok(()));
        }
        assert_eq!(check_open(&cfg(RoleMode::Off), &open(&[])), Ok(()));
        let n = Notification::role_mismatch();
        assert_eq!((n.code, n.subcode), (2, 11));
    }
}
