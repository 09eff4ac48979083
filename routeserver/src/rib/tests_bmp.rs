//! BMP post-policy messages when a verdict changes without an UPDATE.

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::io::AsyncReadExt;

use super::tests::{announce, attrs, setup};
use super::*;
use crate::bmp::client::BmpStation;
use crate::bmp::feed::{BmpEvent, Feed};
use crate::wire::{Message, Open, SessionCaps};

/// (post-policy, announced, withdrawn) of every Route Monitoring message in `buf`.
fn route_monitoring(buf: &[u8]) -> Vec<(bool, Vec<IpNet>, Vec<IpNet>)> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 6 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        assert!(len >= 6 && len <= rest.len(), "truncated BMP message");
        let (msg, tail) = rest.split_at(len);
        rest = tail;
        if msg[5] != crate::bmp::ROUTE_MONITORING {
            continue;
        }
        let post = msg[7] & 0x40 != 0;
        // The A flag (RFC 7854 4.2): a 2-octet AS_PATH inside.
        let caps = SessionCaps {
            four_octet_as: msg[7] & 0x20 == 0,
            extended_message: true,
        };
        let Ok(Message::Update(u)) = crate::wire::decode(&msg[6 + 42..], &caps) else {
            panic!("Route Monitoring without an UPDATE");
        };
        let ann = u.announced.iter().flat_map(|(_, p)| p.clone()).collect();
        out.push((post, ann, u.withdrawn));
    }
    out
}

#[tokio::test]
async fn aspa_change_sends_post_policy_announce_and_withdrawal() {
    use crate::aspa::{AspaMode, AspaSet};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let init = crate::bmp::initiation("rs1", "test");
    let (st, _task) = BmpStation::start(addr.to_string(), init.clone(), 1024);
    let (mut sock, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .unwrap()
        .unwrap();
    for _ in 0..100 {
        if st.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(st.connected());
    let (mut rib, _m) = setup(&[1659, 7539]);
    let mut stat = super::tests::reload_static(0, 1659, 32);
    stat.policy = Arc::new(crate::policy::PeerPolicy {
        aspa: AspaMode::Filter,
        ..(*stat.policy).clone()
    });
    rib.handle(RibMsg::SetPeer(stat));
    rib.set_bmp(Feed::new(vec![st], 3600));
    let open = |asn: u32, id: [u8; 4]| Open::new(asn, 90, id.into(), vec![]);
    rib.handle(RibMsg::Bmp(BmpEvent::Up {
        peer: 0,
        local: "192.0.2.1:179".parse().unwrap(),
        remote: "192.0.2.10:40000".parse().unwrap(),
        opens: Arc::new((open(64500, [192, 0, 2, 1]), open(1659, [192, 0, 2, 10]))),
    }));
    let aspas = |recs: Vec<(u32, Vec<u32>)>| {
        Arc::new(crate::rpki::VrpSet::new().with_aspas(AspaSet::from_records(recs)))
    };
    rib.handle(RibMsg::Vrps(aspas(vec![(4608, vec![38880])])));
    let leak: IpNet = "140.113.0.0/16".parse().unwrap();
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 4608], [192, 0, 2, 10], vec![]),
        &["140.113.0.0/16"],
    );
    // 4608 adds 1659 as a provider: accepted, post-policy announce.
    rib.handle(RibMsg::Vrps(aspas(vec![(4608, vec![1659, 38880])])));
    // And drops it again: post-policy withdrawal.
    rib.handle(RibMsg::Vrps(aspas(vec![(4608, vec![38880])])));
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 65536];
    // Initiation, Peer Up and four Route Monitoring messages.
    for _ in 0..50 {
        if route_monitoring(&buf[init.len().min(buf.len())..]).len() >= 3 {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), sock.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => {}
        }
    }
    assert!(buf.starts_with(&init));
    let rm = route_monitoring(&buf[init.len()..]);
    assert_eq!(
        rm,
        vec![
            (false, vec![leak], vec![]),
            (true, vec![leak], vec![]),
            (true, vec![], vec![leak]),
        ]
    );
}
