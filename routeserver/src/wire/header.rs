//! Message header and framing (RFC 4271 4.1, RFC 8654).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, BytesMut};

use super::error::*;
use super::notification::Notification;

/// Length of the fixed message header.
pub const HEADER_LEN: usize = 19;
/// The all-ones marker that starts every message.
pub const MARKER: [u8; 16] = [0xff; 16];
/// Largest message without the Extended Message capability.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message with the Extended Message capability (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Message type OPEN.
pub const MSG_OPEN: u8 = 1;
/// Message type UPDATE.
pub const MSG_UPDATE: u8 = 2;
/// Message type NOTIFICATION.
pub const MSG_NOTIFICATION: u8 = 3;
/// Message type KEEPALIVE.
pub const MSG_KEEPALIVE: u8 = 4;
/// Message type ROUTE-REFRESH (RFC 2918).
pub const MSG_ROUTE_REFRESH: u8 = 5;

/// Smallest valid length of each message type, header included.
fn min_len(ty: u8) -> Option<usize> {
    Some(match ty {
        MSG_OPEN => 29,
        MSG_UPDATE => 23,
        MSG_NOTIFICATION => 21,
        MSG_KEEPALIVE => 19,
        MSG_ROUTE_REFRESH => 23,
        _ => return None,
    })
}

/// Length of the first complete message in buf: `Ok(None)` = need more
/// bytes; `Err` = the header error NOTIFICATION to send (Connection Not
/// Synchronized, Bad Message Length with the length as data, Bad Message Type).
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, Notification> {
    let seen = buf.len().min(MARKER.len());
    if buf[..seen].iter().any(|&b| b != 0xff) {
        return Err(Notification::new(
            MESSAGE_HEADER_ERROR,
            HEADER_CONNECTION_NOT_SYNCHRONIZED,
            bytes::Bytes::new(),
        ));
    }
    let Some(&[hi, lo, ty]) = buf.get(16..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u16::from_be_bytes([hi, lo]);
    check_length(len, ty, max_len)?;
    Ok((buf.len() >= usize::from(len)).then_some(usize::from(len)))
}

/// RFC 4271 6.1 length and type checks (RFC 8654: OPEN and KEEPALIVE stay
/// at most 4096 octets).
pub(crate) fn check_length(len: u16, ty: u8, max_len: usize) -> Result<(), Notification> {
    let n = usize::from(len);
    if n < HEADER_LEN || n > max_len {
        return Err(Notification::bad_message_length(len));
    }
    let Some(min) = min_len(ty) else {
        return Err(Notification::new(
            MESSAGE_HEADER_ERROR,
            HEADER_BAD_MESSAGE_TYPE,
            vec![ty],
        ));
    };
    let max = match ty {
        MSG_KEEPALIVE => HEADER_LEN,
        MSG_OPEN => max_len.min(MAX_MESSAGE_LEN),
        _ => max_len,
    };
    if n < min || n > max {
        return Err(Notification::bad_message_length(len));
    }
    Ok(())
}

/// Check the header of one whole message and return (type, body).
pub(crate) fn split_message(msg: &[u8], max_len: usize) -> Result<(u8, &[u8]), Notification> {
    match frame_len(msg, max_len)? {
        Some(n) if n == msg.len() => Ok((msg[18], &msg[HEADER_LEN..])),
        // The header is valid but its length does not match what we were given.
        _ => {
            let len = msg
                .get(16..18)
                .map_or(0, |s| u16::from_be_bytes([s[0], s[1]]));
            Err(Notification::bad_message_length(len))
        }
    }
}

/// Start a message of type `ty`; returns the offset to pass to [`finish`].
pub(crate) fn begin(out: &mut BytesMut, ty: u8) -> usize {
    let start = out.len();
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(ty);
    start
}

/// Write the length of the message started at `start`.
pub(crate) fn finish(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start).min(usize::from(u16::MAX)) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u16, ty: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(ty);
        v
    }

    #[test]
    fn frame_len_waits_for_header_and_body() {
        let mut m = hdr(23, MSG_UPDATE);
        assert_eq!(frame_len(&m[..10], 4096), Ok(None));
        assert_eq!(frame_len(&m, 4096), Ok(None));
        m.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(frame_len(&m, 4096), Ok(Some(23)));
        m.extend_from_slice(&hdr(19, MSG_KEEPALIVE));
        assert_eq!(
            frame_len(&m, 4096),
            Ok(Some(23)),
            "only the first message counts"
        );
    }

    #[test]
    fn bad_marker_is_connection_not_synchronized() {
        let mut m = hdr(19, MSG_KEEPALIVE);
        m[3] = 0;
        let n = frame_len(&m[..5], 4096).unwrap_err();
        assert_eq!(
            (n.code, n.subcode),
            (MESSAGE_HEADER_ERROR, HEADER_CONNECTION_NOT_SYNCHRONIZED)
        );
    }

    #[test]
    fn bad_lengths_carry_the_length() {
        for (len, ty, max) in [
            (18u16, MSG_KEEPALIVE, 4096usize),
            (4097, MSG_UPDATE, 4096),
            (20, MSG_KEEPALIVE, 4096),
            (28, MSG_OPEN, 4096),
            (22, MSG_UPDATE, 4096),
            (20, MSG_NOTIFICATION, 4096),
            (22, MSG_ROUTE_REFRESH, 4096),
            (5000, MSG_OPEN, 65535),
        ] {
            let n = frame_len(&hdr(len, ty), max).unwrap_err();
            assert_eq!(
                (n.code, n.subcode),
                (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_LENGTH),
                "{len} {ty}"
            );
            assert_eq!(n.data.as_ref(), &len.to_be_bytes());
        }
        assert_eq!(frame_len(&hdr(5000, MSG_UPDATE), 65535), Ok(None));
    }

    #[test]
    fn unknown_type_is_bad_message_type() {
        let n = frame_len(&hdr(19, 9), 4096).unwrap_err();
        assert_eq!(
            (n.code, n.subcode),
            (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_TYPE)
        );
        assert_eq!(n.data.as_ref(), &[9]);
    }

    #[test]
    fn split_message_rejects_trailing_or_missing_bytes() {
        let mut m = hdr(19, MSG_KEEPALIVE);
        assert_eq!(
            split_message(&m, 4096).map(|(t, b)| (t, b.len())),
            Ok((MSG_KEEPALIVE, 0))
        );
        m.push(0);
        assert_eq!(
            split_message(&m, 4096).unwrap_err().subcode,
            HEADER_BAD_MESSAGE_LENGTH
        );
        assert_eq!(
            split_message(&m[..10], 4096).unwrap_err().subcode,
            HEADER_BAD_MESSAGE_LENGTH
        );
    }
}
