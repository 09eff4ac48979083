//! AS_PATH and AS4_PATH (RFC 4271 4.3, RFC 6793) encoding, and the RFC 6793
//! 4.2.3 reconstruction of the path received from a 2-octet speaker.
//!
//! ```text
//! AS_PATH / AS4_PATH value: one or more segments
//! +-----------------+-----------------+-------------------------------+
//! | Segment Type (1)| Segment Len (1) | Len ASNs, 2 or 4 octets each  |
//! +-----------------+-----------------+-------------------------------+
//! Type 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET
//! ```

use bytes::{BufMut, BytesMut};

use crate::wire::types::{AsPath, AsSegment, Asn, AS_TRANS};

const AS_SET: u8 = 1;
const AS_SEQUENCE: u8 = 2;
const AS_CONFED_SEQUENCE: u8 = 3;
const AS_CONFED_SET: u8 = 4;

/// Parse an AS_PATH (or AS4_PATH with `width` 4). Errors follow RFC 7606
/// 7.2: unknown segment type, zero-length segment, overrun, or one octet left.
pub(crate) fn parse(value: &[u8], width: usize) -> Result<AsPath, &'static str> {
    let mut segments = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let [ty, count, tail @ ..] = rest else {
            return Err("AS path segment header truncated");
        };
        if *count == 0 {
            return Err("AS path segment of length zero");
        }
        let n = usize::from(*count) * width;
        let Some(body) = tail.get(..n) else {
            return Err("AS path segment overruns the attribute");
        };
        let asns: Vec<Asn> = body
            .chunks_exact(width)
            .map(|c| c.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)))
            .collect();
        segments.push(match *ty {
            AS_SET => AsSegment::Set(asns),
            AS_SEQUENCE => AsSegment::Sequence(asns),
            AS_CONFED_SEQUENCE => AsSegment::ConfedSequence(asns),
            AS_CONFED_SET => AsSegment::ConfedSet(asns),
            _ => return Err("AS path segment type unknown"),
        });
        rest = &tail[n..];
    }
    Ok(AsPath { segments })
}

/// Whether the path has confederation segments.
pub(crate) fn has_confed(path: &AsPath) -> bool {
    path.segments
        .iter()
        .any(|s| matches!(s, AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_)))
}

/// The path without confederation segments (what AS4_PATH may carry).
pub(crate) fn without_confed(path: &AsPath) -> AsPath {
    AsPath {
        segments: path
            .segments
            .iter()
            .filter(|s| matches!(s, AsSegment::Sequence(_) | AsSegment::Set(_)))
            .cloned()
            .collect(),
    }
}

/// Whether a 2-octet speaker needs AS4_PATH to learn this path.
pub(crate) fn needs_as4(path: &AsPath) -> bool {
    without_confed(path).all_asns().any(|a| a > 0xffff)
}

/// Append the path with ASNs `width` octets wide (ASNs that do not fit in 2
/// octets become AS_TRANS). Segments longer than 255 are split; empty
/// segments are skipped.
pub(crate) fn put(path: &AsPath, width: usize, out: &mut BytesMut) {
    for seg in &path.segments {
        let (ty, asns) = match seg {
            AsSegment::Set(v) => (AS_SET, v),
            AsSegment::Sequence(v) => (AS_SEQUENCE, v),
            AsSegment::ConfedSequence(v) => (AS_CONFED_SEQUENCE, v),
            AsSegment::ConfedSet(v) => (AS_CONFED_SET, v),
        };
        for chunk in asns.chunks(255) {
            out.put_u8(ty);
            out.put_u8(chunk.len() as u8);
            for &a in chunk {
                if width == 4 {
                    out.put_u32(a);
                } else {
                    out.put_u16(u16::try_from(a).unwrap_or(AS_TRANS as u16));
                }
            }
        }
    }
}

/// RFC 6793 4.2.3: rebuild the 4-octet path from AS_PATH and AS4_PATH
/// received from a 2-octet speaker. If AS_PATH holds fewer ASes than
/// AS4_PATH, AS4_PATH is ignored; otherwise the leading ASes of AS_PATH that
/// AS4_PATH lacks (with any leading confederation segments) are prepended
/// to AS4_PATH.
pub(crate) fn reconcile(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let n = as_path.decision_len();
    let m = as4_path.decision_len();
    if n < m {
        return as_path.clone();
    }
    let mut need = n - m;
    let mut split = false;
    let mut out: Vec<AsSegment> = Vec::new();
    for seg in &as_path.segments {
        match seg {
            AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_) => out.push(seg.clone()),
            _ if need == 0 => break,
            AsSegment::Set(_) => {
                out.push(seg.clone());
                need -= 1;
            }
            AsSegment::Sequence(v) => {
                let k = need.min(v.len());
                out.push(AsSegment::Sequence(v[..k].to_vec()));
                need -= k;
                split = k < v.len();
            }
        }
    }
    let mut rest = as4_path.segments.iter();
    // Where an AS_PATH sequence was cut, its head and the first AS4_PATH
    // sequence are one segment again.
    if let (true, Some(AsSegment::Sequence(prev)), Some(AsSegment::Sequence(v))) =
        (split, out.last_mut(), as4_path.segments.first())
    {
        prev.extend_from_slice(v);
        rest.next();
    }
    out.extend(rest.cloned());
    AsPath { segments: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(v: &[Asn]) -> AsSegment {
        AsSegment::Sequence(v.to_vec())
    }

    #[test]
    fn parse_and_put_round_trip_both_widths() {
        let p = AsPath {
            segments: vec![seq(&[65001, 3356]), AsSegment::Set(vec![1, 2])],
        };
        for w in [2, 4] {
            let mut b = BytesMut::new();
            put(&p, w, &mut b);
            assert_eq!(parse(&b, w), Ok(p.clone()));
        }
        let mut b = BytesMut::new();
        put(&AsPath::from_sequence(vec![4_200_000_000, 1]), 2, &mut b);
        assert_eq!(b.as_ref(), &[2, 2, 0x5b, 0xa0, 0, 1]);
    }

    #[test]
    fn long_sequence_is_split() {
        let p = AsPath::from_sequence((1..=300).collect());
        let mut b = BytesMut::new();
        put(&p, 4, &mut b);
        let back = parse(&b, 4).unwrap();
        assert_eq!(back.segments.len(), 2);
        assert_eq!(
            back.all_asns().collect::<Vec<_>>(),
            (1..=300).collect::<Vec<_>>()
        );
    }

    #[test]
    fn malformed_paths() {
        assert!(parse(&[2, 0], 4).is_err(), "zero length");
        assert!(parse(&[2, 2, 0, 1], 2).is_err(), "overrun");
        assert!(parse(&[2, 1, 0, 1, 2], 2).is_err(), "one octet left");
        assert!(parse(&[5, 1, 0, 1], 2).is_err(), "unknown type");
        assert_eq!(parse(&[], 2), Ok(AsPath::default()));
    }

    #[test]
    fn reconcile_prepends_missing_leading_ases() {
        // A 4-octet AS 400000 behind 2-octet AS 65001, seen by an OLD speaker
        // (AS 100) that prepended itself.
        let as_path = AsPath::from_sequence(vec![100, 65001, AS_TRANS]);
        let as4 = AsPath::from_sequence(vec![65001, 400000]);
        assert_eq!(
            reconcile(&as_path, &as4),
            AsPath::from_sequence(vec![100, 65001, 400000])
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let long4 = AsPath::from_sequence(vec![1, 2, 3, 4]);
        assert_eq!(reconcile(&as_path, &long4), as_path);
        // Leading confederation segment is kept; sets count as one.
        let confed = AsPath {
            segments: vec![
                AsSegment::ConfedSequence(vec![64512]),
                seq(&[AS_TRANS]),
                AsSegment::Set(vec![1, AS_TRANS]),
            ],
        };
        let as4 = AsPath {
            segments: vec![seq(&[400000]), AsSegment::Set(vec![1, 400001])],
        };
        assert_eq!(
            reconcile(&confed, &as4),
            AsPath {
                segments: vec![
                    AsSegment::ConfedSequence(vec![64512]),
                    seq(&[400000]),
                    AsSegment::Set(vec![1, 400001])
                ]
            }
        );
    }
}
