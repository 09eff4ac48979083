//! RIB behaviour: transparency, withdrawals, no path hiding.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use tokio::sync::mpsc;

use super::*;
use crate::policy::{NextHopMode, PeerPolicy, Policy};
use crate::wire::{AsPath, Origin, PathAttrs};

const RS: u32 = 64500;

pub(super) struct Member {
    pub(super) out: OutReceiver,
    _ctl: mpsc::UnboundedReceiver<PeerCtl>,
}

pub(super) fn setup(asns: &[u32]) -> (Rib, Vec<Member>) {
    let peers: Vec<PeerStatic> = asns
        .iter()
        .enumerate()
        .map(|(i, &asn)| reload_static(i as PeerId, asn, 32))
        .collect();
    let export = ExportConfig {
        rs_asn: RS,
        blackhole_v4: None,
        blackhole_v6: None,
        tag_info: false,
        otc_to: Arc::default(),
    };
    let mut rib = Rib::new(peers, export, Policy::default(), Arc::new(Metrics::new()));
    let mut members = Vec::new();
    for i in 0..asns.len() {
        let (out_tx, out) = OutQueue::new();
        let (ctl_tx, ctl) = mpsc::unbounded_channel();
        rib.handle(RibMsg::Up {
            peer: i as PeerId,
            up: PeerUp {
                router_id: i as u32 + 1,
                ipv4: true,
                ipv6: true,
                out: out_tx,
                ctl: ctl_tx,
            },
        });
        members.push(Member { out, _ctl: ctl });
    }
    for m in &mut members {
        while m.out.try_recv().is_some() {}
    }
    (rib, members)
}

/// Brings `peer` up (again) with the given address families; returns its export
/// queue and control channel, which the caller keeps alive.
pub(super) fn bring_up(
    rib: &mut Rib,
    peer: PeerId,
    router_id: u32,
    ipv4: bool,
    ipv6: bool,
) -> (OutReceiver, mpsc::UnboundedReceiver<PeerCtl>) {
    let (out_tx, out) = OutQueue::new();
    let (ctl_tx, ctl) = mpsc::unbounded_channel();
    rib.handle(RibMsg::Up {
        peer,
        up: PeerUp {
            router_id,
            ipv4,
            ipv6,
            out: out_tx,
            ctl: ctl_tx,
        },
    });
    (out, ctl)
}

pub(super) fn attrs(path: Vec<u32>, nh: [u8; 4], communities: Vec<u32>) -> PathAttrs {
    PathAttrs {
        origin: Origin::Igp,
        as_path: AsPath::from_sequence(path),
        next_hop: NextHop::V4(Ipv4Addr::from(nh)),
        med: Some(5),
        local_pref: Some(200),
        atomic_aggregate: false,
        aggregator: None,
        communities,
        ext_communities: vec![],
        large_communities: vec![],
        otc: None,
        unknown: vec![],
    }
}

pub(super) fn announce(rib: &mut Rib, peer: PeerId, a: PathAttrs, prefixes: &[&str]) {
    let update = Update {
        announced: vec![(a, prefixes.iter().map(|p| p.parse().unwrap()).collect())],
        ..Update::default()
    };
    rib.handle(RibMsg::Update {
        peer,
        update,
        received: Instant::now(),
    });
    rib.flush();
}

pub(super) fn withdraw(rib: &mut Rib, peer: PeerId, prefixes: &[&str]) {
    let update = Update {
        withdrawn: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
        ..Update::default()
    };
    rib.handle(RibMsg::Update {
        peer,
        update,
        received: Instant::now(),
    });
    rib.flush();
}

/// What a member was sent since the last call: (announced prefix -> first ASN), withdrawn.
fn drain(m: &mut Member) -> (Vec<(IpNet, u32, PathAttrs)>, Vec<IpNet>) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    while let Some(b) = m.out.try_recv() {
        for c in b.changes {
            let r = match c {
                OutChange::Announce(r) => r,
                OutChange::Withdraw(p) => {
                    wd.push(p);
                    continue;
                }
            };
            ann.push((
                r.prefix,
                r.attrs.as_path.first_asn().unwrap_or(0),
                (*r.attrs).clone(),
            ));
        }
    }
    (ann, wd)
}

#[test]
fn announcement_reaches_others_unchanged_but_not_the_sender() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![(1659 << 16) | 7]),
        &["140.112.0.0/16"],
    );
    assert!(
        drain(&mut m[0]).0.is_empty(),
        "never sent back to its sender"
    );
    for i in [1, 2] {
        let (ann, _) = drain(&mut m[i]);
        assert_eq!(ann.len(), 1);
        let (prefix, first, a) = &ann[0];
        assert_eq!(prefix.to_string(), "140.112.0.0/16");
        assert_eq!(*first, 1659);
        assert_eq!(a.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 10)));
        assert_eq!(a.med, Some(5));
        assert_eq!(a.communities, vec![(1659 << 16) | 7]);
        assert!(!a.as_path.all_asns().any(|x| x == RS));
        assert_eq!(
            a.local_pref, None,
            "LOCAL_PREF from a member is not passed on"
        );
    }
    withdraw(&mut rib, 0, &["140.112.0.0/16"]);
    for i in [1, 2] {
        assert_eq!(drain(&mut m[i]).1.len(), 1);
    }
    assert!(rib.table().is_empty());
}

#[test]
fn no_path_hiding_when_best_is_withheld() {
    // A (1659) has the shorter path but tags it do-not-announce-to C (9264).
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![9264]),
        &["140.110.0.0/16"],
    );
    announce(
        &mut rib,
        1,
        attrs(vec![7539, 1659], [192, 0, 2, 11], vec![]),
        &["140.110.0.0/16"],
    );
    let (ann_c, _) = drain(&mut m[2]);
    assert_eq!(ann_c.last().map(|a| a.1), Some(7539), "C gets B's path");
    let (ann_b, _) = drain(&mut m[1]);
    assert_eq!(ann_b.last().map(|a| a.1), Some(1659), "B gets A's path");
    // A withdraws: B's path goes to nobody but A; C keeps B's path (no change).
    withdraw(&mut rib, 0, &["140.110.0.0/16"]);
    assert!(drain(&mut m[2]).0.is_empty() && drain(&mut m[2]).1.is_empty());
    let (ann_a, _) = drain(&mut m[0]);
    assert_eq!(ann_a.last().map(|a| a.1), Some(7539));
    let (_, wd_b) = drain(&mut m[1]);
    assert_eq!(wd_b.len(), 1, "B loses A's path and has no other");
}

#[test]
fn session_loss_withdraws_everything_from_that_member() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16", "163.13.0.0/16"],
    );
    drain(&mut m[1]);
    rib.handle(RibMsg::Down {
        peer: 0,
        restart_time: None,
    });
    let (_, wd) = drain(&mut m[1]);
    assert_eq!(wd.len(), 2);
    assert!(rib.table().is_empty());
    assert_eq!(rib.peers()[0].received, [0, 0]);
}

#[test]
fn new_member_gets_full_table_and_end_of_rib() {
    let (mut rib, _m) = setup(&[1659, 7539]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16", "2001:e10::/32"],
    );
    rib.handle(RibMsg::Down {
        peer: 1,
        restart_time: None,
    });
    let (mut out, _ctl) = bring_up(&mut rib, 1, 9, true, false);
    let b = out.try_recv().unwrap();
    assert_eq!(out.queued(), 0);
    assert_eq!(
        b.changes.len(),
        1,
        "IPv6 not negotiated: only the IPv4 route"
    );
    assert_eq!(b.end_of_rib, vec![Afi::Ipv4]);
    assert_eq!(rib.peers()[1].advertised, [1, 0]);
}

#[test]
fn better_path_replaces_and_filtered_paths_are_kept_not_exported() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 3, 4], [192, 0, 2, 10], vec![]),
        &["1.0.0.0/24"],
    );
    announce(
        &mut rib,
        1,
        attrs(vec![7539, 4], [192, 0, 2, 11], vec![]),
        &["1.0.0.0/24"],
    );
    let (ann, _) = drain(&mut m[2]);
    assert_eq!(
        ann.iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![1659, 7539]
    );
    drain(&mut m[0]);
    // A bogon ASN makes member 2's route filtered: kept with its reason, never exported.
    announce(
        &mut rib,
        2,
        attrs(vec![9264, 64512], [192, 0, 2, 12], vec![]),
        &["2.0.0.0/24"],
    );
    assert!(drain(&mut m[0]).0.is_empty());
    let v = rib.verdict_of(2, &"2.0.0.0/24".parse().unwrap()).unwrap();
    assert!(v.reasons.contains(crate::policy::reasons::Reason::BogonAsn));
    assert_eq!(rib.peers()[2].filtered(), [1, 0]);
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib() {
    let (mut rib, mut m) = setup(&[1659, 7539]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16", "163.13.0.0/16"],
    );
    drain(&mut m[1]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        rib.handle(RibMsg::Down {
            peer: 0,
            restart_time: Some(std::time::Duration::from_secs(120)),
        });
    });
    assert_eq!(rib.table().len(), 2, "kept while the member restarts");
    let (_out, _ctl) = bring_up(&mut rib, 0, 1, true, true);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    let eor = Update {
        end_of_rib: Some(Afi::Ipv4),
        ..Update::default()
    };
    rib.handle(RibMsg::Update {
        peer: 0,
        update: eor,
        received: Instant::now(),
    });
    rib.flush();
    assert_eq!(
        rib.table().len(),
        1,
        "the prefix not re-announced is gone after End-of-RIB"
    );
    let (_, wd) = drain(&mut m[1]);
    assert_eq!(wd, vec!["163.13.0.0/16".parse::<IpNet>().unwrap()]);
}

#[test]
fn announce_then_withdraw_before_a_flush_ends_withdrawn() {
    let (mut rib, mut m) = setup(&[1659, 7539]);
    let a = attrs(vec![1659], [192, 0, 2, 10], vec![]);
    let up = Update {
        announced: vec![(a, vec!["140.112.0.0/16".parse().unwrap()])],
        ..Update::default()
    };
    let down = Update {
        withdrawn: vec!["140.112.0.0/16".parse().unwrap()],
        ..Update::default()
    };
    rib.handle(RibMsg::Update {
        peer: 0,
        update: up,
        received: Instant::now(),
    });
    rib.handle(RibMsg::Update {
        peer: 0,
        update: down,
        received: Instant::now(),
    });
    rib.flush();
    let b = m[1].out.try_recv().unwrap();
    // The prefix was dirty once; it is resolved to its state at the flush.
    assert!(
        matches!(&b.changes[..], [OutChange::Withdraw(p)] if p.to_string() == "140.112.0.0/16"),
        "{:?}",
        b.changes
    );
    assert_eq!(rib.peers()[1].advertised, [0, 0]);
    assert!(rib.table().is_empty());
}

#[test]
fn metrics_count_filtered_routes_by_reason_and_rpki_state() {
    let (mut rib, _m) = setup(&[1659, 7539]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 64512], [192, 0, 2, 10], vec![]),
        &["1.0.0.0/24", "10.0.0.0/8"],
    );
    let st = &rib.peers()[0];
    assert_eq!(
        st.by_reason[crate::policy::reasons::Reason::BogonAsn as usize],
        2
    );
    assert_eq!(
        st.by_reason[crate::policy::reasons::Reason::BogonPrefix as usize],
        1
    );
    assert_eq!(
        st.by_rpki[crate::policy::verdict::RpkiTag::NotChecked as usize],
        2
    );
    rib.publish_counters();
    let text = rib.metrics.render();
    assert!(text.contains("fox_bgp_routes_filtered_by_reason{asn=\"1659\",code=\"4\",member=\"m1659\",neighbor=\"192.0.2.10\",reason=\"bogon-asn\"} 2"), "{text}");
    withdraw(&mut rib, 0, &["1.0.0.0/24", "10.0.0.0/8"]);
    rib.publish_counters();
    let text = rib.metrics.render();
    assert!(
        !text.contains("reason=\"bogon-asn\""),
        "series removed when no route has the reason"
    );
}

pub(super) fn reload_static(id: PeerId, asn: u32, max_as_path_len: usize) -> PeerStatic {
    PeerStatic {
        id,
        member: Arc::from(format!("m{asn}")),
        asn,
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + id as u8)),
        max_prefix_v4: None,
        max_prefix_v6: None,
        max_prefix_enforce: true,
        blackhole_opt_in: false,
        policy: Arc::new(PeerPolicy {
            next_hop: NextHopMode::Any,
            max_as_path_len,
            ..PeerPolicy::default()
        }),
        irr: None,
    }
}

#[test]
fn reload_policy_refilters_stored_paths_both_ways() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    let p: IpNet = "140.112.0.0/16".parse().unwrap();
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 38880, 4608], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    assert_eq!(drain(&mut m[1]).0.len(), 1);
    rib.handle(RibMsg::SetPeer(reload_static(0, 1659, 2)));
    rib.flush();
    assert_eq!(drain(&mut m[1]).1, vec![p], "now filtered: withdrawn");
    assert_eq!(drain(&mut m[2]).1, vec![p]);
    assert!(!rib.verdict_of(0, &p).unwrap().accepted());
    assert_eq!(
        (rib.peers()[0].received[0], rib.peers()[0].accepted[0]),
        (1, 0)
    );
    // Loosened again: announced again from the stored path.
    rib.handle(RibMsg::SetPeer(reload_static(0, 1659, 32)));
    rib.flush();
    let (ann, wd) = drain(&mut m[1]);
    assert_eq!((ann.len(), wd.len()), (1, 0));
    assert_eq!(ann[0].0, p);
    assert_eq!(rib.peers()[0].accepted[0], 1);
}

#[test]
fn reload_removed_peer_is_withdrawn_and_ignored_afterwards() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    let p: IpNet = "140.112.0.0/16".parse().unwrap();
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    drain(&mut m[1]);
    drain(&mut m[2]);
    rib.handle(RibMsg::RemovePeer { peer: 0 });
    rib.flush();
    assert_eq!(drain(&mut m[1]).1, vec![p]);
    assert_eq!(drain(&mut m[2]).1, vec![p]);
    assert!(rib.table().is_empty());
    assert!(rib.peers()[0].gone);
    // A late UPDATE and a late Up of the removed session change nothing.
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    assert!(rib.table().is_empty());
    let (mut out, _ctl) = bring_up(&mut rib, 0, 1, true, true);
    rib.flush();
    assert!(out.try_recv().is_none(), "a removed peer gets no table");
    announce(
        &mut rib,
        1,
        attrs(vec![7539], [192, 0, 2, 11], vec![]),
        &["140.113.0.0/16"],
    );
    assert!(out.try_recv().is_none(), "nor later routes");
    assert_eq!(drain(&mut m[2]).0.len(), 1);
}

#[test]
fn reload_added_peer_gets_the_table() {
    let (mut rib, mut m) = setup(&[1659, 7539]);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    drain(&mut m[1]);
    // An id that is not the next index is refused.
    rib.handle(RibMsg::AddPeer(reload_static(5, 9264, 32)));
    assert_eq!(rib.peers().len(), 2);
    rib.handle(RibMsg::AddPeer(reload_static(2, 9264, 32)));
    assert_eq!(rib.peers().len(), 3);
    let (mut out, _ctl) = bring_up(&mut rib, 2, 3, true, true);
    rib.flush();
    let b = out.try_recv().expect("the table");
    assert!(
        matches!(&b.changes[..], [OutChange::Announce(r)] if r.prefix.to_string() == "140.112.0.0/16")
    );
    assert_eq!(b.end_of_rib.len(), 2);
    // Its routes reach the others.
    announce(
        &mut rib,
        2,
        attrs(vec![9264], [192, 0, 2, 12], vec![]),
        &["140.114.0.0/16"],
    );
    assert_eq!(drain(&mut m[0]).0.len(), 1);
}

#[test]
fn reload_peering_lans_refilter_everything() {
    let (mut rib, mut m) = setup(&[1659, 7539]);
    let p: IpNet = "140.112.0.0/24".parse().unwrap();
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/24"],
    );
    assert_eq!(drain(&mut m[1]).0.len(), 1);
    rib.handle(RibMsg::SetPeeringLans(vec!["140.112.0.0/23"
        .parse()
        .unwrap()]));
    rib.flush();
    assert_eq!(drain(&mut m[1]).1, vec![p], "inside the new LAN: withdrawn");
    rib.handle(RibMsg::SetPeeringLans(vec![]));
    rib.flush();
    assert_eq!(drain(&mut m[1]).0.len(), 1, "LAN gone: announced again");
}

#[test]
fn aspa_change_reverifies_paths_and_updates_exports_in_place() {
    use crate::aspa::{AspaMode, AspaSet, AspaTag};
    use crate::policy::reasons::Reason;
    let (mut rib, mut m) = setup(&[1659, 7539]);
    let mut stat = reload_static(0, 1659, 32);
    stat.policy = Arc::new(PeerPolicy {
        aspa: AspaMode::Filter,
        ..(*stat.policy).clone()
    });
    rib.handle(RibMsg::SetPeer(stat));
    let aspas = |recs: Vec<(u32, Vec<u32>)>| {
        Arc::new(crate::rpki::VrpSet::new().with_aspas(AspaSet::from_records(recs)))
    };
    // 4608's only provider is 38880; 38880's is 1659.
    rib.handle(RibMsg::Vrps(aspas(vec![
        (4608, vec![38880]),
        (38880, vec![1659]),
    ])));
    rib.flush();
    let valid: IpNet = "140.112.0.0/16".parse().unwrap();
    let leak: IpNet = "140.113.0.0/16".parse().unwrap();
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 38880, 4608], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    announce(
        &mut rib,
        0,
        attrs(vec![1659, 4608], [192, 0, 2, 10], vec![]),
        &["140.113.0.0/16"],
    );
    let (ann, _) = drain(&mut m[1]);
    assert_eq!(ann.iter().map(|a| a.0).collect::<Vec<_>>(), vec![valid]);
    let v = rib.verdict_of(0, &leak).unwrap();
    assert_eq!(v.aspa, AspaTag::Invalid);
    assert!(v.reasons.contains(Reason::AspaInvalid));
    assert_eq!(rib.verdict_of(0, &valid).unwrap().aspa, AspaTag::Valid);
    // 4608 adds 1659 as a provider: the leak is now attested and exported,
    // the session stays up (no withdrawal of the valid route).
    rib.handle(RibMsg::Vrps(aspas(vec![
        (4608, vec![1659, 38880]),
        (38880, vec![1659]),
    ])));
    rib.flush();
    let (ann, wd) = drain(&mut m[1]);
    assert_eq!(ann.iter().map(|a| a.0).collect::<Vec<_>>(), vec![leak]);
    assert!(wd.is_empty());
    assert!(rib.verdict_of(0, &leak).unwrap().accepted());
    // 38880's ASPA disappears: the valid path becomes Unknown, still accepted;
    // the export is refreshed for the new tag, nothing is withdrawn.
    rib.handle(RibMsg::Vrps(aspas(vec![(4608, vec![1659, 38880])])));
    rib.flush();
    assert_eq!(rib.verdict_of(0, &valid).unwrap().aspa, AspaTag::Unknown);
    let (ann, wd) = drain(&mut m[1]);
    assert_eq!(ann.iter().map(|a| a.0).collect::<Vec<_>>(), vec![valid]);
    assert!(wd.is_empty());
    // 4608 drops 1659 again: filtered and withdrawn.
    rib.handle(RibMsg::Vrps(aspas(vec![(4608, vec![38880])])));
    rib.flush();
    assert_eq!(drain(&mut m[1]).1, vec![leak]);
}

#[test]
fn lookup_lists_only_sessions_of_the_prefix_family() {
    let (mut rib, _m) = setup(&[1659, 7539, 9264]);
    // Member 2's session carries IPv6 only.
    rib.handle(RibMsg::Down {
        peer: 2,
        restart_time: None,
    });
    let (_out, _ctl) = bring_up(&mut rib, 2, 3, false, true);
    announce(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &["140.112.0.0/16"],
    );
    rib.flush();
    let query::Answer::Lookup(views) = rib.answer(query::Query::Lookup {
        prefix: "140.112.0.0/16".parse().unwrap(),
        mode: query::MatchMode::Exact,
        limit: 10,
    }) else {
        panic!("lookup answers with prefix views");
    };
    assert_eq!(views.len(), 1);
    let asns: Vec<u32> = views[0].receivers.iter().map(|r| r.asn).collect();
    // The announcer itself is listed (its own path withheld); the IPv6-only session is not.
    assert_eq!(asns, vec![1659, 7539]);
    assert!(views[0].receivers[1].receives_from.is_some());
    assert_eq!(
        views[0].receivers[0].best_withheld.as_deref(),
        Some("its own path")
    );
}
