//! ROUTE-REFRESH message (RFC 2918, subtypes RFC 7313).

use bytes::{BufMut, BytesMut};

use super::error::*;
use super::notification::Notification;

/// Subtype 0: a normal route refresh request.
pub const REFRESH_REQUEST: u8 = 0;
/// Subtype 1: Beginning of Route Refresh (RFC 7313).
pub const REFRESH_BORR: u8 = 1;
/// Subtype 2: End of Route Refresh (RFC 7313).
pub const REFRESH_EORR: u8 = 2;

/// ROUTE-REFRESH message body (RFC 2918 3, RFC 7313 3.2), after the header:
///
/// ```text
///  0       7      15      23      31
/// +-------+-------+-------+-------+
/// |      AFI      | Subtyp| SAFI  |
/// +-------+-------+-------+-------+
/// ```
///
/// A subtype other than 0..=2 decodes fine; RFC 7313 5 says the session
/// ignores it. Trailing ORF entries (RFC 5291) of a subtype 0 request are
/// not kept (FOX does not negotiate ORF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// Address family.
    pub afi: u16,
    /// 0 request, 1 BoRR, 2 EoRR.
    pub subtype: u8,
    /// Subsequent address family.
    pub safi: u8,
}

impl RouteRefresh {
    /// Decode the body; `msg` is the whole message, returned as data of the
    /// RFC 7313 Invalid Message Length error.
    pub(crate) fn decode_body(body: &[u8], msg: &[u8]) -> Result<Self, Notification> {
        match body {
            [a, b, subtype, safi, rest @ ..] => {
                if matches!(*subtype, REFRESH_BORR | REFRESH_EORR) && !rest.is_empty() {
                    return Err(Notification::new(
                        ROUTE_REFRESH_MESSAGE_ERROR,
                        ROUTE_REFRESH_INVALID_MESSAGE_LENGTH,
                        msg.to_vec(),
                    ));
                }
                Ok(RouteRefresh {
                    afi: u16::from_be_bytes([*a, *b]),
                    subtype: *subtype,
                    safi: *safi,
                })
            }
            _ => Err(Notification::bad_message_length((body.len() + 19) as u16)),
        }
    }

    /// Append the body.
    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.afi);
        out.put_u8(self.subtype);
        out.put_u8(self.safi);
    }
}
