//! NOTIFICATION message (RFC 4271 4.5) and constructors for the errors a
//! session sends.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::*;

/// NOTIFICATION message body (RFC 4271 4.5), after the 19-octet header:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code    | Error subcode |   Data (variable)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// For Cease / Administrative Shutdown and Administrative Reset the data is
/// an RFC 9003 Shutdown Communication:
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code 6  |    Subcode    |    Length     |     ...       \
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               /
/// \                                                               \
/// /                 ... Shutdown Communication ...                /
/// \                                                               \
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code (see [`super::error`]).
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Error data.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: u8, subcode: u8, data: impl Into<Bytes>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// Cease / Administrative Shutdown with an RFC 9003 message (cut at 255
    /// octets on a character boundary).
    pub fn cease_admin_shutdown(msg: &str) -> Self {
        Self::new(
            CEASE,
            CEASE_ADMINISTRATIVE_SHUTDOWN,
            shutdown_communication(msg),
        )
    }

    /// Cease / Administrative Reset with an RFC 9003 message.
    pub fn cease_admin_reset(msg: &str) -> Self {
        Self::new(
            CEASE,
            CEASE_ADMINISTRATIVE_RESET,
            shutdown_communication(msg),
        )
    }

    /// Cease with `subcode` and no data (max prefixes, collision, ...).
    pub fn cease(subcode: u8) -> Self {
        Self::new(CEASE, subcode, Bytes::new())
    }

    /// Cease / Maximum Number of Prefixes Reached (RFC 4486 4: AFI, SAFI, limit).
    pub fn cease_max_prefixes(afi: u16, safi: u8, limit: u32) -> Self {
        let mut d = BytesMut::with_capacity(7);
        d.put_u16(afi);
        d.put_u8(safi);
        d.put_u32(limit);
        Self::new(CEASE, CEASE_MAX_PREFIXES_REACHED, d.freeze())
    }

    /// OPEN Message Error / Unsupported Version Number; data is the largest
    /// version we support (4), as two octets.
    pub fn unsupported_version() -> Self {
        Self::new(
            OPEN_MESSAGE_ERROR,
            OPEN_UNSUPPORTED_VERSION_NUMBER,
            &[0u8, 4][..],
        )
    }

    /// OPEN Message Error / Bad Peer AS.
    pub fn bad_peer_as() -> Self {
        Self::new(OPEN_MESSAGE_ERROR, OPEN_BAD_PEER_AS, Bytes::new())
    }

    /// OPEN Message Error / Unacceptable Hold Time.
    pub fn unacceptable_hold_time() -> Self {
        Self::new(
            OPEN_MESSAGE_ERROR,
            OPEN_UNACCEPTABLE_HOLD_TIME,
            Bytes::new(),
        )
    }

    /// OPEN Message Error / Bad BGP Identifier.
    pub fn bad_bgp_identifier() -> Self {
        Self::new(OPEN_MESSAGE_ERROR, OPEN_BAD_BGP_IDENTIFIER, Bytes::new())
    }

    /// OPEN Message Error / Unsupported Capability; `caps` are the encoded
    /// capabilities (code, length, value) that the peer lacks (RFC 5492 5).
    pub fn unsupported_capability(caps: impl Into<Bytes>) -> Self {
        Self::new(OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_CAPABILITY, caps)
    }

    /// OPEN Message Error / Role Mismatch (RFC 9234 4.2).
    pub fn role_mismatch() -> Self {
        Self::new(OPEN_MESSAGE_ERROR, OPEN_ROLE_MISMATCH, Bytes::new())
    }

    /// Hold Timer Expired.
    pub fn hold_timer_expired() -> Self {
        Self::new(HOLD_TIMER_EXPIRED, SUBCODE_UNSPECIFIC, Bytes::new())
    }

    /// Finite State Machine Error with an RFC 6608 subcode.
    pub fn fsm_error(subcode: u8) -> Self {
        Self::new(FSM_ERROR, subcode, Bytes::new())
    }

    /// Message Header Error / Bad Message Length; data is the offending length.
    pub fn bad_message_length(len: u16) -> Self {
        Self::new(
            MESSAGE_HEADER_ERROR,
            HEADER_BAD_MESSAGE_LENGTH,
            len.to_be_bytes().to_vec(),
        )
    }

    /// UPDATE Message Error with `subcode` and `data`.
    pub fn update_error(subcode: u8, data: impl Into<Bytes>) -> Self {
        Self::new(UPDATE_MESSAGE_ERROR, subcode, data)
    }

    /// The RFC 9003 Shutdown Communication of an Administrative Shutdown or
    /// Reset, if one is present and its length is consistent.
    pub fn shutdown_message(&self) -> Option<String> {
        if self.code != CEASE
            || !matches!(
                self.subcode,
                CEASE_ADMINISTRATIVE_SHUTDOWN | CEASE_ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        if text.is_empty() {
            return None;
        }
        Some(String::from_utf8_lossy(text).into_owned())
    }

    /// "Cease/Administrative Shutdown: msg" style text for logs and the API.
    pub fn describe(&self) -> String {
        let code = code_name(self.code)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Error code {}", self.code));
        let mut s = match subcode_name(self.code, self.subcode) {
            Some(sub) => format!("{code}/{sub}"),
            None if self.subcode == SUBCODE_UNSPECIFIC => code,
            None => format!("{code}/subcode {}", self.subcode),
        };
        if let Some(msg) = self.shutdown_message() {
            s.push_str(": ");
            s.push_str(&msg);
        }
        s
    }

    /// Decode the body (after the header).
    pub(crate) fn decode_body(
        body: &[u8],
        src: &super::buf::Src<'_>,
    ) -> Result<Self, Notification> {
        match body {
            [code, subcode, data @ ..] => Ok(Self::new(*code, *subcode, src.bytes(data))),
            _ => Err(Notification::bad_message_length(
                (body.len() + super::header::HEADER_LEN) as u16,
            )),
        }
    }

    /// Append the body (after the header).
    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for Notification {}

/// RFC 9003 encoding: one length octet, then at most 255 octets of UTF-8.
fn shutdown_communication(msg: &str) -> Bytes {
    let mut end = msg.len().min(SHUTDOWN_MESSAGE_MAX);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    let mut d = BytesMut::with_capacity(end + 1);
    d.put_u8(end as u8);
    d.put_slice(&msg.as_bytes()[..end]);
    d.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_shutdown_message_round_trips_and_describes() {
        let n = Notification::cease_admin_shutdown("maintenance until 18:00");
        assert_eq!(n.code, CEASE);
        assert_eq!(n.subcode, CEASE_ADMINISTRATIVE_SHUTDOWN);
        assert_eq!(n.data[0] as usize, "maintenance until 18:00".len());
        assert_eq!(
            n.shutdown_message().as_deref(),
            Some("maintenance until 18:00")
        );
        assert_eq!(
            n.describe(),
            "Cease/Administrative Shutdown: maintenance until 18:00"
        );
    }

    #[test]
    fn long_shutdown_message_is_cut_on_char_boundary() {
        let msg = "é".repeat(200); // 400 octets
        let n = Notification::cease_admin_reset(&msg);
        let len = n.data[0] as usize;
        assert_eq!(len, 254, "255 would split a two-octet character");
        assert_eq!(n.data.len(), len + 1);
        assert_eq!(n.shutdown_message().map(|m| m.chars().count()), Some(127));
    }

    #[test]
    fn inconsistent_shutdown_length_gives_no_message() {
        let n = Notification::new(
            CEASE,
            CEASE_ADMINISTRATIVE_SHUTDOWN,
            &[10u8, b'a', b'b'][..],
        );
        assert_eq!(n.shutdown_message(), None);
        assert_eq!(n.describe(), "Cease/Administrative Shutdown");
        let other = Notification::new(CEASE, CEASE_PEER_DECONFIGURED, &[1u8, b'a'][..]);
        assert_eq!(other.shutdown_message(), None);
    }

    #[test]
    fn describe_names_codes_and_falls_back_to_numbers() {
        assert_eq!(
            Notification::hold_timer_expired().describe(),
            "Hold Timer Expired"
        );
        assert_eq!(
            Notification::bad_peer_as().describe(),
            "OPEN Message Error/Bad Peer AS"
        );
        assert_eq!(
            Notification::new(3, 99, Bytes::new()).describe(),
            "UPDATE Message Error/subcode 99"
        );
        assert_eq!(
            Notification::new(42, 1, Bytes::new()).describe(),
            "Error code 42/subcode 1"
        );
        assert_eq!(Notification::unsupported_version().data.as_ref(), &[0, 4]);
        assert_eq!(
            Notification::bad_message_length(5000).data.as_ref(),
            &[0x13, 0x88]
        );
    }

    #[test]
    fn max_prefixes_carries_afi_safi_limit() {
        let n = Notification::cease_max_prefixes(2, 1, 1000);
        assert_eq!(n.data.as_ref(), &[0, 2, 1, 0, 0, 0x03, 0xe8]);
    }
}
