//! Entry points of the fuzz targets (`fuzz/`) and of their stable smoke
//! test: each takes arbitrary bytes and must return without panicking,
//! hanging or allocating without bound.

use std::io::Cursor;
use std::path::Path;

use bytes::{Bytes, BytesMut};

use crate::irr::{IrrDb, MemberIrr};
use crate::wire::{self, Message, SessionCaps};

/// Session capabilities from a selector byte: bit 0 four-octet AS, bit 1
/// extended messages.
fn caps(sel: u8) -> SessionCaps {
    SessionCaps {
        four_octet_as: sel & 1 != 0,
        extended_message: sel & 2 != 0,
    }
}

/// One BGP message (first byte: capabilities, see [`caps`]): framing,
/// decoding (copying and zero-copy must agree), and for what decodes, our
/// own encoding must frame and decode again.
pub fn bgp_message(data: &[u8]) {
    let Some((&sel, msg)) = data.split_first() else {
        return;
    };
    let caps = caps(sel);
    let _ = wire::frame_len(msg, caps.max_message_len());
    let copied = wire::decode(msg, &caps);
    let shared = wire::decode_bytes(&Bytes::copy_from_slice(msg), &caps);
    assert_eq!(copied, shared, "decode and decode_bytes disagree");
    let Ok(m) = copied else {
        return;
    };
    let mut out = BytesMut::new();
    wire::encode(&m, &caps, &mut out);
    let mut rest = &out[..];
    let mut n = 0;
    while !rest.is_empty() {
        let len = match wire::frame_len(rest, caps.max_message_len()) {
            Ok(Some(len)) => len,
            other => panic!("our encoding of {m:?} does not frame: {other:?}"),
        };
        let again = wire::decode(&rest[..len], &caps);
        if let Err(e) = &again {
            panic!("our encoding of {m:?} does not decode: {e:?}");
        }
        rest = &rest[len..];
        n += 1;
        assert!(n <= 1_000_000, "runaway encoding");
    }
    if let Message::Keepalive = m {
        assert_eq!(n, 1);
    }
}

/// A stream of BGP messages as read from a socket, split at every message
/// boundary the framing finds (first byte: capabilities).
pub fn bgp_stream(data: &[u8]) {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let caps = caps(sel);
    while let Ok(Some(len)) = wire::frame_len(rest, caps.max_message_len()) {
        let Some(msg) = rest.get(..len) else {
            return;
        };
        let _ = wire::decode(msg, &caps);
        rest = &rest[len..];
        if len == 0 {
            return;
        }
    }
}

/// An RPSL dump: parse it, index it, and expand (at most 4 of) its AS-SETs.
pub fn rpsl(data: &[u8]) {
    let mut parsed = crate::irr::rpsl::RpslData::default();
    let mut warnings = Vec::new();
    if crate::irr::rpsl::read_from(
        Cursor::new(data),
        Path::new("fuzz.db"),
        &mut parsed,
        &mut warnings,
    )
    .is_err()
    {
        return;
    }
    let names: Vec<String> = parsed
        .as_sets
        .iter()
        .take(4)
        .map(|s| s.name.clone())
        .collect();
    let db = IrrDb::from_data(parsed, &mut warnings);
    let _ = MemberIrr::build(&db, 64500, None);
    for n in names {
        let _ = MemberIrr::build(&db, 64500, Some(&n));
    }
}

/// An RTR session in which the cache sends `data[2..]` and closes;
/// `data[0]` picks the version we propose (0 to 2) and `data[1]` bit 0
/// whether we start with a serial query instead of a reset query.
/// Returns the number of complete updates applied.
pub fn rtr_session(data: &[u8]) -> u64 {
    let (version, serial, body) = match data {
        [v, s, rest @ ..] => (v % 3, (s & 1 != 0).then_some(7), rest),
        _ => return 0,
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return 0;
    };
    rt.block_on(crate::rpki::rtr::session_over(
        body.to_vec(),
        version,
        serial,
    ))
}

/// An MRT stream (BGP4MP or TABLE_DUMP_V2, uncompressed) read as the replay
/// reads it, for every peer and for the first peer it names; returns the
/// number of routes of the whole-file table.
pub fn mrt(data: &[u8]) -> usize {
    use crate::replay::mrt::{read_table_from, PeerSelect};
    let all = read_table_from(Cursor::new(data.to_vec()), &PeerSelect::All);
    assert!(
        all.routes.len() <= all.elements,
        "more routes than elements"
    );
    if let Some(&(ip, _, _)) = all.peers.first() {
        let one = read_table_from(Cursor::new(data.to_vec()), &PeerSelect::Address(ip));
        assert!(one.elements <= all.elements, "one peer read more than all");
    }
    all.routes.len()
}
