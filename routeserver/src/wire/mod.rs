//! BGP-4 wire format: decode from bytes, encode into `BytesMut`.
//!
//! [`frame_len`] finds message boundaries in a TCP stream, [`decode`] turns
//! one whole message into a [`Message`], [`encode`] and the UPDATE encoders
//! write messages. Decoding errors are the NOTIFICATION to send (RFC 4271 6,
//! RFC 7606); nothing here panics on any input.

mod buf;
pub mod error;
pub mod header;
pub mod notification;
pub mod open;
pub mod refresh;
pub mod types;
pub mod update;

#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};

pub use error::*;
pub use header::{frame_len, HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
pub use notification::Notification;
pub use open::{Capability, Open};
pub use refresh::RouteRefresh;
pub use types::*;
pub use update::{encode_announcements, encode_end_of_rib, encode_withdrawals};

use buf::Src;
use header::{MSG_KEEPALIVE, MSG_NOTIFICATION, MSG_OPEN, MSG_ROUTE_REFRESH, MSG_UPDATE};

/// A decoded BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// OPEN (RFC 4271 4.2).
    Open(Open),
    /// UPDATE after RFC 7606 handling (RFC 4271 4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// Decode one whole message (header included). Errors are the NOTIFICATION
/// to send (RFC 4271 6.x, RFC 7606). Byte fields are copied out of `msg`;
/// use [`decode_bytes`] to share the buffer instead.
pub fn decode(msg: &[u8], caps: &SessionCaps) -> Result<Message, Notification> {
    decode_from(msg, &Src::copying(), caps)
}

/// Like [`decode`], but byte fields (unknown attributes, NOTIFICATION data,
/// unknown capabilities) are zero-copy slices of `msg`.
pub fn decode_bytes(msg: &Bytes, caps: &SessionCaps) -> Result<Message, Notification> {
    decode_from(msg, &Src::shared(msg), caps)
}

fn decode_from(msg: &[u8], src: &Src<'_>, caps: &SessionCaps) -> Result<Message, Notification> {
    let (ty, body) = header::split_message(msg, caps.max_message_len())?;
    match ty {
        MSG_OPEN => Open::decode_body(body, src).map(Message::Open),
        MSG_UPDATE => update::decode_update(body, caps, src).map(Message::Update),
        MSG_NOTIFICATION => Notification::decode_body(body, src).map(Message::Notification),
        MSG_KEEPALIVE => Ok(Message::Keepalive),
        MSG_ROUTE_REFRESH => RouteRefresh::decode_body(body, msg).map(Message::RouteRefresh),
        _ => Err(Notification::new(
            MESSAGE_HEADER_ERROR,
            HEADER_BAD_MESSAGE_TYPE,
            vec![ty],
        )),
    }
}

/// Encode a message into `out`. An `Update` is written as its withdrawals,
/// announcements and End-of-RIB marker, in as many messages as needed (none
/// for an empty `Update`). NOTIFICATION data is cut to fit the message.
pub fn encode(msg: &Message, caps: &SessionCaps, out: &mut BytesMut) {
    let simple = |out: &mut BytesMut, ty: u8, body: &dyn Fn(&mut BytesMut)| {
        let start = header::begin(out, ty);
        body(out);
        header::finish(out, start);
    };
    match msg {
        Message::Open(o) => simple(out, MSG_OPEN, &|b| o.encode_body(b)),
        Message::Update(u) => {
            update::encode_update(u, caps, out);
        }
        Message::Notification(n) => {
            let room = caps.max_message_len() - HEADER_LEN - 2;
            let n = Notification::new(n.code, n.subcode, n.data.slice(..n.data.len().min(room)));
            simple(out, MSG_NOTIFICATION, &|b| n.encode_body(b));
        }
        Message::Keepalive => simple(out, MSG_KEEPALIVE, &|_| {}),
        Message::RouteRefresh(r) => simple(out, MSG_ROUTE_REFRESH, &|b| r.encode_body(b)),
    }
}
