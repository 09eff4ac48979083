//! OPEN message (RFC 4271 4.2), optional parameters (RFC 5492, RFC 9072)
//! and capabilities.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use super::buf::{Reader, Src};
use super::error::*;
use super::notification::Notification;
use super::types::{Asn, SessionCaps, AS_TRANS};

/// Optional parameter type: Capabilities (RFC 5492).
pub const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072: Non-Ext OP Type marking the extended parameters encoding.
pub const PARAM_EXTENDED_LENGTH: u8 = 255;

/// Capability code: Multiprotocol Extensions (RFC 4760).
pub const CAP_MULTIPROTOCOL: u8 = 1;
/// Capability code: Route Refresh (RFC 2918).
pub const CAP_ROUTE_REFRESH: u8 = 2;
/// Capability code: Extended Message (RFC 8654).
pub const CAP_EXTENDED_MESSAGE: u8 = 6;
/// Capability code: BGP Role (RFC 9234).
pub const CAP_ROLE: u8 = 9;
/// Capability code: Graceful Restart (RFC 4724).
pub const CAP_GRACEFUL_RESTART: u8 = 64;
/// Capability code: 4-octet AS number (RFC 6793).
pub const CAP_FOUR_OCTET_AS: u8 = 65;
/// Capability code: ADD-PATH (RFC 7911).
pub const CAP_ADD_PATH: u8 = 69;
/// Capability code: Enhanced Route Refresh (RFC 7313).
pub const CAP_ENHANCED_ROUTE_REFRESH: u8 = 70;

/// BGP roles (RFC 9234 4.1).
pub mod role {
    /// Provider.
    pub const PROVIDER: u8 = 0;
    /// Route server.
    pub const RS: u8 = 1;
    /// Route-server client.
    pub const RS_CLIENT: u8 = 2;
    /// Customer.
    pub const CUSTOMER: u8 = 3;
    /// Lateral peer.
    pub const PEER: u8 = 4;
}

/// OPEN message body (RFC 4271 4.2), after the 19-octet header:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// Optional parameter (RFC 4271):
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Parm. Type   | Parm. Length  |  Parameter Value (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// RFC 9072 extended encoding (Opt Parm Len != 0 and first type 255),
/// after which every parameter is Type (1), Length (2), Value:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// Capability (RFC 5492), the value of a type 2 parameter, repeated:
/// +------------------------------+
/// | Capability Code (1 octet)    |
/// | Capability Length (1 octet)  |
/// | Capability Value (variable)  |
/// +------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// Protocol version (4).
    pub version: u8,
    /// 2-octet AS (AS_TRANS for 4-octet ASNs); see [`Open::asn`].
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities from every Capabilities parameter, in order.
    pub capabilities: Vec<Capability>,
}

/// A capability advertised in an OPEN (RFC 5492).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// RFC 4760: AFI/SAFI the speaker carries.
    Multiprotocol { afi: u16, safi: u8 },
    /// RFC 2918.
    RouteRefresh,
    /// RFC 7313.
    EnhancedRouteRefresh,
    /// RFC 6793: the speaker's 4-octet ASN.
    FourOctetAs(Asn),
    /// RFC 8654.
    ExtendedMessage,
    /// RFC 4724: restart flag, restart time (12 bits), and (AFI, SAFI,
    /// forwarding state preserved) per family.
    GracefulRestart {
        restart_state: bool,
        restart_time: u16,
        families: Vec<(u16, u8, bool)>,
    },
    /// RFC 7911: (AFI, SAFI, send/receive: 1 receive, 2 send, 3 both).
    AddPath(Vec<(u16, u8, u8)>),
    /// RFC 9234 role (see [`role`]).
    Role(u8),
    /// Any capability not listed above, or a listed one with a malformed value.
    Unknown { code: u8, data: Bytes },
}

impl Open {
    /// An OPEN for `asn` (my_as becomes AS_TRANS when `asn` needs 4 octets).
    pub fn new(asn: Asn, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS as u16);
        Open {
            version: 4,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The speaker's ASN: the 4-octet AS capability if present, else my_as.
    pub fn asn(&self) -> Asn {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(Asn::from(self.my_as))
    }

    /// Whether any capability satisfies `f`.
    pub fn has(&self, f: impl Fn(&Capability) -> bool) -> bool {
        self.capabilities.iter().any(f)
    }

    /// The encoding that both OPENs together allow (RFC 6793, RFC 8654).
    pub fn negotiate(local: &Open, remote: &Open) -> SessionCaps {
        let both = |f: fn(&Capability) -> bool| local.has(f) && remote.has(f);
        SessionCaps {
            four_octet_as: both(|c| matches!(c, Capability::FourOctetAs(_))),
            extended_message: both(|c| matches!(c, Capability::ExtendedMessage)),
        }
    }

    /// Decode the body (after the header).
    pub(crate) fn decode_body(body: &[u8], src: &Src<'_>) -> Result<Open, Notification> {
        let mut r = Reader::new(body);
        let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
            (r.u8(), r.u16(), r.u16(), r.u32(), r.u8())
        else {
            return Err(Notification::bad_message_length((body.len() + 19) as u16));
        };
        if version != 4 {
            return Err(Notification::unsupported_version());
        }
        let malformed = || Notification::new(OPEN_MESSAGE_ERROR, SUBCODE_UNSPECIFIC, Bytes::new());
        let rest = r.rest();
        // RFC 9072: Non-Ext OP Len != 0 and the first type 255 switch to
        // two-octet lengths.
        let extended = opt_len != 0 && rest.first() == Some(&PARAM_EXTENDED_LENGTH);
        let params = if extended {
            let mut x = Reader::new(rest);
            let _ = x.u8();
            let len = x.u16().ok_or_else(malformed)?;
            if usize::from(len) != x.remaining() {
                return Err(malformed());
            }
            x.rest()
        } else {
            if usize::from(opt_len) != rest.len() {
                return Err(malformed());
            }
            rest
        };
        let mut capabilities = Vec::new();
        let mut p = Reader::new(params);
        while !p.is_empty() {
            let ty = p.u8().ok_or_else(malformed)?;
            let len = if extended {
                p.u16()
            } else {
                p.u8().map(u16::from)
            }
            .ok_or_else(malformed)?;
            let value = p.take(usize::from(len)).ok_or_else(malformed)?;
            if ty != PARAM_CAPABILITIES {
                return Err(Notification::new(
                    OPEN_MESSAGE_ERROR,
                    OPEN_UNSUPPORTED_OPTIONAL_PARAMETER,
                    Bytes::new(),
                ));
            }
            let mut c = Reader::new(value);
            while !c.is_empty() {
                let (Some(code), Some(clen)) = (c.u8(), c.u8()) else {
                    return Err(malformed());
                };
                let data = c.take(usize::from(clen)).ok_or_else(malformed)?;
                capabilities.push(Capability::decode(code, data, src));
            }
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
    }

    /// Append the body (after the header). All capabilities go into one
    /// Capabilities parameter; RFC 9072 encoding is used when they exceed
    /// 255 octets.
    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_u32(u32::from(self.bgp_id));
        let mut caps = BytesMut::new();
        for c in &self.capabilities {
            c.encode(&mut caps);
        }
        if caps.is_empty() {
            out.put_u8(0);
        } else if caps.len() + 2 <= 255 {
            out.put_u8((caps.len() + 2) as u8);
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u8(caps.len() as u8);
            out.put_slice(&caps);
        } else {
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED_LENGTH);
            out.put_u16((caps.len() + 3) as u16);
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u16(caps.len() as u16);
            out.put_slice(&caps);
        }
    }
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => CAP_MULTIPROTOCOL,
            Capability::RouteRefresh => CAP_ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => CAP_ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs(_) => CAP_FOUR_OCTET_AS,
            Capability::ExtendedMessage => CAP_EXTENDED_MESSAGE,
            Capability::GracefulRestart { .. } => CAP_GRACEFUL_RESTART,
            Capability::AddPath(_) => CAP_ADD_PATH,
            Capability::Role(_) => CAP_ROLE,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decode one capability value; malformed known ones become `Unknown`.
    fn decode(code: u8, data: &[u8], src: &Src<'_>) -> Capability {
        let parsed = match (code, data) {
            (CAP_MULTIPROTOCOL, &[a, b, _, safi]) => Some(Capability::Multiprotocol {
                afi: u16::from_be_bytes([a, b]),
                safi,
            }),
            (CAP_ROUTE_REFRESH, []) => Some(Capability::RouteRefresh),
            (CAP_ENHANCED_ROUTE_REFRESH, []) => Some(Capability::EnhancedRouteRefresh),
            (CAP_EXTENDED_MESSAGE, []) => Some(Capability::ExtendedMessage),
            (CAP_FOUR_OCTET_AS, &[a, b, c, d]) => {
                Some(Capability::FourOctetAs(u32::from_be_bytes([a, b, c, d])))
            }
            (CAP_ROLE, &[r]) => Some(Capability::Role(r)),
            (CAP_GRACEFUL_RESTART, [h, l, fams @ ..]) if fams.len() % 4 == 0 => {
                let families = fams
                    .chunks_exact(4)
                    .map(|f| (u16::from_be_bytes([f[0], f[1]]), f[2], f[3] & 0x80 != 0))
                    .collect();
                Some(Capability::GracefulRestart {
                    restart_state: h & 0x80 != 0,
                    restart_time: u16::from_be_bytes([h & 0x0f, *l]),
                    families,
                })
            }
            (CAP_ADD_PATH, fams) if !fams.is_empty() && fams.len() % 4 == 0 => {
                Some(Capability::AddPath(
                    fams.chunks_exact(4)
                        .map(|f| (u16::from_be_bytes([f[0], f[1]]), f[2], f[3]))
                        .collect(),
                ))
            }
            _ => None,
        };
        parsed.unwrap_or_else(|| Capability::Unknown {
            code,
            data: src.bytes(data),
        })
    }

    /// Append code, length and value.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.code());
        let len_at = out.len();
        out.put_u8(0);
        match self {
            Capability::Multiprotocol { afi, safi } => {
                out.put_u16(*afi);
                out.put_u8(0);
                out.put_u8(*safi);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs(asn) => out.put_u32(*asn),
            Capability::GracefulRestart {
                restart_state,
                restart_time,
                families,
            } => {
                let flags: u16 = if *restart_state { 0x8000 } else { 0 };
                out.put_u16(flags | (restart_time & 0x0fff));
                for (afi, safi, fwd) in families.iter().take(63) {
                    out.put_u16(*afi);
                    out.put_u8(*safi);
                    out.put_u8(if *fwd { 0x80 } else { 0 });
                }
            }
            Capability::AddPath(fams) => {
                for (afi, safi, sr) in fams.iter().take(63) {
                    out.put_u16(*afi);
                    out.put_u8(*safi);
                    out.put_u8(*sr);
                }
            }
            Capability::Role(r) => out.put_u8(*r),
            Capability::Unknown { data, .. } => out.put_slice(&data[..data.len().min(255)]),
        }
        out[len_at] = (out.len() - len_at - 1) as u8;
    }
}

#[cfg(test)]
#[path = "open_tests.rs"]
mod tests;
