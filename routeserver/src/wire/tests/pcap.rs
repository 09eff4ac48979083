//! Decode the real captures in ../shared/data/pcap/bgp: a tiny pcap/pcapng
//! reader (no TCP reassembly) hands every TCP payload on port 179 to the
//! decoder, message by message from its start; what does not frame as whole
//! messages is skipped. Known values come from the tcpdump `.out` files.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::wire::*;

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/pcap/bgp");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("skipped: capture directory {} not found", d.display());
        None
    }
}

fn u16_at(b: &[u8], i: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(i..i + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

fn u32_at(b: &[u8], i: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

/// (link type, frame) of every packet in a classic pcap or pcapng file.
fn frames(file: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    match u32_at(file, 0, true) {
        Some(0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1) => {
            let le = matches!(u32_at(file, 0, true), Some(0xa1b2_c3d4 | 0xa1b2_3c4d));
            let link = u32_at(file, 20, le).unwrap_or(0) as u16;
            let mut at = 24;
            while let Some(len) = u32_at(file, at + 8, le) {
                let Some(pkt) = file.get(at + 16..at + 16 + len as usize) else {
                    break;
                };
                out.push((link, pkt));
                at += 16 + len as usize;
            }
        }
        Some(0x0a0d_0d0a) => {
            let mut le = true;
            let mut links: Vec<u16> = Vec::new();
            let mut at = 0;
            while let (Some(ty), Some(_)) = (u32_at(file, at, le), u32_at(file, at + 4, le)) {
                if ty == 0x0a0d_0d0a {
                    le = u32_at(file, at + 8, true) == Some(0x1a2b_3c4d);
                    links.clear();
                }
                let Some(total) = u32_at(file, at + 4, le).map(|t| t as usize) else {
                    break;
                };
                let Some(block) = file.get(at..at + total).filter(|_| total >= 12) else {
                    break;
                };
                match ty {
                    1 => links.push(u16_at(block, 8, le).unwrap_or(0)),
                    6 => {
                        let iface = u32_at(block, 8, le).unwrap_or(0) as usize;
                        let cap = u32_at(block, 20, le).unwrap_or(0) as usize;
                        if let (Some(&link), Some(pkt)) =
                            (links.get(iface), block.get(28..28 + cap))
                        {
                            out.push((link, pkt));
                        }
                    }
                    3 => {
                        if let (Some(&link), Some(pkt)) = (links.first(), block.get(12..total - 4))
                        {
                            out.push((link, pkt));
                        }
                    }
                    _ => {}
                }
                at += total;
            }
        }
        _ => {}
    }
    out
}

/// An IP address and TCP port.
type Endpoint = (IpAddr, u16);

/// A TCP segment: (source, destination, payload).
type Segment<'a> = (Endpoint, Endpoint, &'a [u8]);

fn tcp(link: u16, frame: &[u8]) -> Option<Segment<'_>> {
    let ip = match link {
        1 => {
            let mut off = 12;
            let mut ethertype = u16_at(frame, off, false)?;
            while matches!(ethertype, 0x8100 | 0x88a8) {
                off += 4;
                ethertype = u16_at(frame, off, false)?;
            }
            frame.get(off + 2..)?
        }
        113 => frame.get(16..)?,
        276 => frame.get(20..)?,
        0 | 108 => frame.get(4..)?,
        12 | 14 | 101 => frame,
        _ => return None,
    };
    let (src, dst, seg) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16_at(ip, 2, false)?);
            if *ip.get(9)? != 6 {
                return None;
            }
            let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(*ip.get(16)?, ip[17], ip[18], ip[19]));
            (src, dst, ip.get(ihl..total.min(ip.len()))?)
        }
        6 => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let plen = usize::from(u16_at(ip, 4, false)?);
            let a: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let b: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                IpAddr::V6(Ipv6Addr::from(a)),
                IpAddr::V6(Ipv6Addr::from(b)),
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    let sport = u16_at(seg, 0, false)?;
    let dport = u16_at(seg, 2, false)?;
    let off = usize::from(seg.get(12)? >> 4) * 4;
    Some(((src, sport), (dst, dport), seg.get(off..)?))
}

/// Every message decoded from one capture, in order, with the caps used.
fn decode_capture(file: &[u8]) -> Vec<Result<Message, Notification>> {
    // OPENs per direction, to decode UPDATEs with what the session negotiated.
    let mut opens: HashMap<(Endpoint, Endpoint), Open> = HashMap::new();
    let mut out = Vec::new();
    for (link, frame) in frames(file) {
        let Some((src, dst, payload)) = tcp(link, frame) else {
            continue;
        };
        if src.1 != 179 && dst.1 != 179 {
            continue;
        }
        let caps = match (opens.get(&(src, dst)), opens.get(&(dst, src))) {
            (Some(a), Some(b)) => Some(Open::negotiate(a, b)),
            _ => None,
        };
        let mut rest = payload;
        for _ in 0..1000 {
            let Ok(Some(n)) = frame_len(rest, MAX_EXTENDED_MESSAGE_LEN) else {
                break;
            };
            let msg = &rest[..n];
            let with = |four_octet_as| {
                decode(
                    msg,
                    &SessionCaps {
                        four_octet_as,
                        extended_message: true,
                    },
                )
            };
            let m = match caps {
                Some(c) => with(c.four_octet_as),
                // No OPEN in the capture: the AS number width is unknown; take
                // the 2-octet reading only where the 4-octet one fails.
                None => match with(true) {
                    Ok(Message::Update(u)) if !u.errors.is_empty() => match with(false) {
                        Ok(Message::Update(u2)) if u2.errors.is_empty() => Ok(Message::Update(u2)),
                        _ => Ok(Message::Update(u)),
                    },
                    other => other,
                },
            };
            if let Ok(Message::Open(o)) = &m {
                opens.insert((src, dst), o.clone());
            }
            out.push(m);
            rest = &rest[n..];
        }
    }
    out
}

fn capture(name: &str) -> Option<Vec<Result<Message, Notification>>> {
    let path = data_dir()?.join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(decode_capture(&b)),
        Err(e) => {
            eprintln!("skipped: {}: {e}", path.display());
            None
        }
    }
}

fn updates(msgs: &[Result<Message, Notification>]) -> Vec<&Update> {
    msgs.iter()
        .filter_map(|m| {
            if let Ok(Message::Update(u)) = m {
                Some(u)
            } else {
                None
            }
        })
        .collect()
}

fn announced_with<'a>(
    msgs: &'a [Result<Message, Notification>],
    prefix: &str,
) -> Vec<&'a PathAttrs> {
    let p: IpNet = prefix.parse().unwrap();
    updates(msgs)
        .into_iter()
        .flat_map(|u| &u.announced)
        .filter(|(_, ps)| ps.contains(&p))
        .map(|(a, _)| a)
        .collect()
}

fn lc(global: u32, local1: u32, local2: u32) -> LargeCommunity {
    LargeCommunity {
        global,
        local1,
        local2,
    }
}

#[test]
fn large_community_capture() {
    let Some(msgs) = capture("tcpdump/bgp-large-community.pcap") else {
        return;
    };
    let a = announced_with(&msgs, "203.0.113.16/32");
    assert_eq!(a.len(), 1, "{msgs:?}");
    assert_eq!(
        a[0].large_communities,
        vec![lc(65535, 1, 1), lc(u32::MAX, u32::MAX, u32::MAX)]
    );
    assert_eq!(a[0].as_path, AsPath::from_sequence(vec![65536]));
    assert_eq!(a[0].next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 2)));
    let a = announced_with(&msgs, "203.0.113.13/32");
    assert_eq!(
        a[0].large_communities,
        vec![lc(65536, 1, 1), lc(65536, 1, 2), lc(65536, 1, 3)]
    );
}

#[test]
fn four_byte_asn_capture_reconciles_as4_path() {
    let Some(msgs) = capture("tcpdump/bgp-4byte-asn.pcap") else {
        return;
    };
    let opens: Vec<&Open> = msgs
        .iter()
        .filter_map(|m| {
            if let Ok(Message::Open(o)) = m {
                Some(o)
            } else {
                None
            }
        })
        .collect();
    assert!(opens
        .iter()
        .any(|o| o.my_as == AS_TRANS as u16 && o.asn() == 2_764_334_674));
    let paths: Vec<Vec<Asn>> = announced_with(&msgs, "1.1.1.1/32")
        .iter()
        .map(|a| a.as_path.all_asns().collect())
        .collect();
    // 2-octet session to AS 200: AS_PATH 200 1 23456 23456 23456 + AS4_PATH.
    assert!(
        paths.contains(&vec![200, 1, 222_222, 333_333, 4_294_967_290]),
        "{paths:?}"
    );
    // 4-octet session to AS 300.
    assert!(
        paths.contains(&vec![
            2_764_334_674,
            200,
            1,
            222_222,
            333_333,
            4_294_967_290
        ]),
        "{paths:?}"
    );
    let withdrawn: Vec<&IpNet> = updates(&msgs).iter().flat_map(|u| &u.withdrawn).collect();
    assert!(withdrawn.contains(&&"5.5.5.5/32".parse::<IpNet>().unwrap()));
}

#[test]
fn extended_message_capture_open() {
    let Some(msgs) = capture("tcpdump/bgp-extended-msg.pcapng") else {
        return;
    };
    let Some(Ok(Message::Open(o))) = msgs.first() else {
        panic!("first message is an OPEN: {msgs:?}")
    };
    assert_eq!(
        (o.my_as, o.hold_time, o.bgp_id),
        (65001, 180, Ipv4Addr::new(192, 168, 10, 68))
    );
    assert!(o.has(|c| *c == Capability::ExtendedMessage));
    assert!(o.has(|c| *c == Capability::EnhancedRouteRefresh));
    assert!(o.has(|c| matches!(c, Capability::Unknown { code: 128, .. })));
    assert!(o.has(|c| matches!(c, Capability::Unknown { code: 73, data } if data.len() == 16)));
    assert!(o.has(|c| *c == Capability::AddPath(vec![(1, 1, 1)])));
    assert!(o.has(|c| matches!(
        c,
        Capability::GracefulRestart {
            restart_time: 120,
            restart_state: false,
            ..
        }
    )));
}

#[test]
fn link_local_next_hop_capture() {
    let Some(msgs) = capture("tcpdump/mpbgp-linklocal-nexthop.pcap") else {
        return;
    };
    let a = announced_with(&msgs, "4:5::/64");
    assert_eq!(a.len(), 1, "{msgs:?}");
    assert_eq!(
        a[0].next_hop,
        NextHop::V6 {
            global: "dead:beef::1".parse().unwrap(),
            link_local: Some("fe80::1ff:fe01:0".parse().unwrap())
        }
    );
    assert_eq!(
        (a[0].origin, a[0].as_path.clone()),
        (Origin::Incomplete, AsPath::from_sequence(vec![1]))
    );
}

#[test]
fn shutdown_communication_and_role_captures() {
    let Some(msgs) = capture("tcpdump/bgp-shutdown-communication.pcapng") else {
        return;
    };
    let texts: Vec<String> = msgs
        .iter()
        .filter_map(|m| {
            if let Ok(Message::Notification(n)) = m {
                Some(n.describe())
            } else {
                None
            }
        })
        .collect();
    assert!(
        texts.contains(
            &"Cease/Administrative Shutdown: This is a test of the shutdown communication system."
                .into()
        ),
        "{texts:?}"
    );
    assert!(texts.contains(
        &"Cease/Administrative Reset: This is a test of the shutdown communication system.".into()
    ));
    let Some(msgs) = capture("tcpdump/bgp-role.pcapng") else {
        return;
    };
    assert!(msgs.iter().any(|m| matches!(m, Ok(Message::Open(o)) if o.has(|c| *c == Capability::Role(open::role::CUSTOMER)))));
    assert!(updates(&msgs)
        .iter()
        .any(|u| u.end_of_rib == Some(Afi::Ipv4)));
}

#[test]
fn every_capture_decodes_without_panic() {
    let Some(dir) = data_dir() else { return };
    let mut files = 0;
    let mut decoded = 0;
    let mut errors = 0;
    for sub in ["tcpdump", "ryu", "packetlife"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "out") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            files += 1;
            for m in decode_capture(&bytes) {
                match m {
                    Ok(_) => decoded += 1,
                    Err(n) => {
                        eprintln!("{}: {n}", p.display());
                        errors += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "{files} captures: {decoded} messages decoded, {errors} answered with a NOTIFICATION"
    );
    assert!(
        files > 50 && decoded > 200,
        "{files} files, {decoded} messages"
    );
}
