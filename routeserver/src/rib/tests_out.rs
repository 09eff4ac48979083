//! RIB export to members that read slowly: dirty-prefix sets, the window
//! of routes handed to a writer, collapsed replacements, pending withdrawals.

use ipnet::IpNet;
use std::time::Instant;

use super::tests::{announce, attrs, setup, withdraw, Member};
use super::*;
use crate::wire::PathAttrs;

/// `n` distinct /24s under 10.0.0.0/8 .. (n < 65536).
fn many(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{}.{}.{}.0/24", 20 + i / 65536, (i / 256) % 256, i % 256))
        .collect()
}

fn announce_many(rib: &mut Rib, peer: PeerId, a: PathAttrs, prefixes: &[String]) {
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

/// Take everything a member is sent, handing over more as it is taken, as
/// the writer and the RIB do between them: prefix -> last change.
fn drain_all(rib: &mut Rib, m: &mut Member) -> (Vec<OutChange>, Vec<Afi>) {
    let mut changes = Vec::new();
    let mut eor = Vec::new();
    for _ in 0..10_000 {
        let mut got = false;
        while let Some(b) = m.out.try_recv() {
            got = true;
            changes.extend(b.changes);
            eor.extend(b.end_of_rib);
        }
        if !got {
            break;
        }
        rib.flush();
    }
    (changes, eor)
}

#[test]
fn a_member_that_does_not_read_gets_a_dirty_set_not_queued_routes() {
    let (mut rib, mut m) = setup(&[1659, 7539]);
    let n = out::OUT_WINDOW * 2 + 100;
    let prefixes = many(n);
    announce_many(
        &mut rib,
        0,
        attrs(vec![1659, 4608], [192, 0, 2, 10], vec![]),
        &prefixes,
    );
    // Member 1 took nothing: only a window of routes was handed over.
    assert_eq!(m[1].out.queued(), out::OUT_WINDOW);
    assert_eq!(rib.dirty[1].len(), n - out::OUT_WINDOW);
    // The same prefixes replaced (a shorter path): still one entry each.
    announce_many(
        &mut rib,
        0,
        attrs(vec![1659], [192, 0, 2, 10], vec![]),
        &prefixes,
    );
    assert_eq!(m[1].out.queued(), out::OUT_WINDOW);
    assert_eq!(rib.dirty[1].len(), n, "replacements collapse");
    let (changes, _) = drain_all(&mut rib, &mut m[1]);
    // The first window went out with the old path, then every prefix once
    // with its current path: nothing is lost, the last state wins.
    assert_eq!(changes.len(), out::OUT_WINDOW + n);
    let mut last: std::collections::HashMap<IpNet, usize> = Default::default();
    for c in &changes {
        let OutChange::Announce(r) = c else {
            panic!("no withdrawal expected: {c:?}");
        };
        last.insert(r.prefix, r.attrs.as_path.decision_len());
    }
    assert_eq!(last.len(), n);
    assert!(
        last.values().all(|&l| l == 1),
        "every prefix ends on the new path"
    );
    assert_eq!(rib.peers()[1].advertised, [n, 0]);
    assert!(rib.dirty[1].is_empty());
}

#[test]
fn a_withdrawal_pending_for_a_slow_member_is_not_lost_when_the_slot_is_reused() {
    let (mut rib, mut m) = setup(&[1659, 7539, 9264]);
    let p: IpNet = "140.112.0.0/16".parse().unwrap();
    let q: IpNet = "163.13.0.0/16".parse().unwrap();
    let a = attrs(vec![1659], [192, 0, 2, 10], vec![]);
    announce(&mut rib, 0, a.clone(), &["140.112.0.0/16"]);
    // Member 2 received P; now its window fills and it stops reading.
    announce_many(&mut rib, 0, a.clone(), &many(out::OUT_WINDOW));
    assert_eq!(m[2].out.queued(), out::OUT_WINDOW);
    withdraw(&mut rib, 0, &["140.112.0.0/16"]);
    // Member 1 reads: it got P and its withdrawal.
    let (c1, _) = drain_all(&mut rib, &mut m[1]);
    assert!(matches!(c1.last(), Some(OutChange::Withdraw(x)) if *x == p));
    // A new prefix must not take P's slot while member 2 still owes P's
    // withdrawal.
    let slot_p = rib.table().slot_of(&p);
    assert!(slot_p.is_some(), "kept for member 2");
    announce(&mut rib, 0, a, &["163.13.0.0/16"]);
    assert_ne!(rib.table().slot_of(&q), slot_p);
    let (c2, _) = drain_all(&mut rib, &mut m[2]);
    let about = |x: IpNet| {
        c2.iter()
            .filter(|c| c.prefix() == x)
            .map(|c| matches!(c, OutChange::Announce(_)))
            .collect::<Vec<bool>>()
    };
    assert_eq!(about(p), vec![true, false], "P announced, then withdrawn");
    assert_eq!(about(q), vec![true]);
    assert_eq!(rib.peers()[2].advertised, [out::OUT_WINDOW + 1, 0]);
    // Once nobody owes P, its slot is free again.
    assert_eq!(rib.table().slot_of(&p), None);
}
