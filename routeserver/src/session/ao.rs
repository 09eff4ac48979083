//! TCP-AO (RFC 5925) keys of a neighbour in use: on the listeners, on the
//! connections we open, and on the established connection, whose keys a
//! reload rolls over without a reset (RFC 5925 7.5.2: both sides hold the
//! new key, we switch our current key and ask the peer for it with RNext,
//! the old key goes once the peer has had time to switch).

use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fox_config::TcpAo;

use super::tcp_ao::{self, AoError, AoInfo, AoKey};

/// How long a key removed from the configuration stays on the established
/// connection after the switch, so the peer's segments in flight (and a
/// peer that switches at its next keepalive) still verify.
pub const KEY_DELETE_AFTER: Duration = Duration::from_secs(30);

/// The keys a neighbour's sessions use now, and its established socket.
#[derive(Debug, Default)]
pub struct AoState {
    /// The configured keys (`None`: no TCP-AO).
    pub keys: Option<TcpAo>,
    /// A duplicate of the established connection's descriptor, so a reload
    /// can change its keys; dropped when the session ends.
    live: Option<OwnedFd>,
    /// Counts registered connections, so a delayed delete only touches the
    /// connection it was meant for.
    generation: u64,
}

/// Shared between the reload and the neighbour's task.
pub type SharedAo = Arc<Mutex<AoState>>;

fn lock(ao: &SharedAo) -> std::sync::MutexGuard<'_, AoState> {
    match ao.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A new shared state holding `keys`.
pub fn shared(keys: Option<TcpAo>) -> SharedAo {
    Arc::new(Mutex::new(AoState {
        keys,
        live: None,
        generation: 0,
    }))
}

/// The current keys, for a connection about to be opened.
pub fn keys(ao: &SharedAo) -> Option<TcpAo> {
    lock(ao).keys.clone()
}

/// Install every key of `ao` for `peer` on a socket before `connect`, the
/// configured current key as current (and RNext).
pub fn apply_to_connect(
    sock: &impl std::os::fd::AsRawFd,
    peer: IpAddr,
    ao: &TcpAo,
) -> Result<(), AoError> {
    for k in &ao.keys {
        tcp_ao::add_key(sock, peer, &AoKey::from(k), k.id == ao.current)?;
    }
    Ok(())
}

/// Does going from `old` to `new` need a new session? Turning TCP-AO on
/// or off does (a connection cannot start or stop signing), and so does a
/// key whose ids stay but whose secret or algorithm changes (the kernel
/// cannot replace a key in place). Adding, removing and switching keys
/// does not.
pub fn needs_reset(old: Option<&TcpAo>, new: Option<&TcpAo>) -> bool {
    match (old, new) {
        (None, None) => false,
        (Some(o), Some(n)) => o.keys.iter().any(|ok| {
            n.keys.iter().any(|nk| {
                (nk.id == ok.id || nk.recv_id == ok.recv_id)
                    && (nk.id != ok.id
                        || nk.recv_id != ok.recv_id
                        || nk.algorithm != ok.algorithm
                        || nk.secret != ok.secret)
            })
        }),
        _ => true,
    }
}

/// Keys of `old` that `new` does not have (by ids).
pub fn removed_keys(old: Option<&TcpAo>, new: Option<&TcpAo>) -> Vec<(u8, u8)> {
    let Some(old) = old else { return Vec::new() };
    old.keys
        .iter()
        .filter(|k| {
            !new.is_some_and(|n| {
                n.keys
                    .iter()
                    .any(|x| x.id == k.id && x.recv_id == k.recv_id)
            })
        })
        .map(|k| (k.id, k.recv_id))
        .collect()
}

/// Keys of `new` that `old` does not have.
pub fn added_keys<'a>(old: Option<&TcpAo>, new: &'a TcpAo) -> Vec<&'a fox_config::TcpAoKey> {
    new.keys
        .iter()
        .filter(|k| !old.is_some_and(|o| o.keys.iter().any(|x| x.id == k.id)))
        .collect()
}

/// Keeps the established socket registered while the session runs.
pub struct LiveGuard {
    ao: SharedAo,
    generation: u64,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut s = lock(&self.ao);
        if s.generation == self.generation {
            s.live = None;
        }
    }
}

/// Register the established connection so a reload can roll its keys, and
/// make the configured current key current on it (an accepted connection
/// starts with the key the peer's SYN used). Returns `None` if the
/// neighbour has no TCP-AO or the descriptor cannot be duplicated.
pub fn register(ao: &SharedAo, sock: &impl AsFd, peer: IpAddr) -> Option<LiveGuard> {
    let mut s = lock(ao);
    let current = s.keys.as_ref()?.current_key().map(|k| (k.id, k.recv_id));
    let fd = match sock.as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            tracing::warn!(peer = %peer, error = %e, "cannot keep the TCP-AO connection for key rollover");
            return None;
        }
    };
    if let Some((id, recv_id)) = current {
        match tcp_ao::info(&fd) {
            Ok(i) if i.current_key == Some(id) && i.rnext == Some(recv_id) => {}
            _ => {
                if let Err(e) = tcp_ao::set_current(&fd, Some(id), Some(recv_id)) {
                    tracing::warn!(peer = %peer, key = id, error = %e, "cannot make the configured TCP-AO key current");
                }
            }
        }
    }
    s.generation += 1;
    s.live = Some(fd);
    Some(LiveGuard {
        ao: ao.clone(),
        generation: s.generation,
    })
}

/// The established connection's TCP-AO counters, if there is one.
pub fn live_info(ao: &SharedAo) -> Option<AoInfo> {
    let s = lock(ao);
    tcp_ao::info(s.live.as_ref()?).ok()
}

/// How often [`export_counters`] reads the established socket's counters.
pub const COUNTERS_EVERY: Duration = Duration::from_secs(5);

/// Publish the established connection's TCP-AO counters as
/// `fox_bgp_tcp_ao_segments{result}` every [`COUNTERS_EVERY`], until
/// aborted (the session task aborts it when the session ends).
pub async fn export_counters(
    ao: SharedAo,
    metrics: Arc<crate::metrics::Metrics>,
    labels: [String; 3],
) {
    let mut every = tokio::time::interval(COUNTERS_EVERY);
    loop {
        every.tick().await;
        let Some(i) = live_info(&ao) else { continue };
        for (result, v) in [
            ("good", i.good),
            ("bad", i.bad),
            ("key-not-found", i.key_not_found),
            ("ao-required", i.ao_required),
            ("dropped-icmp", i.dropped_icmp),
        ] {
            let [m, asn, n] = &labels;
            metrics
                .tcp_ao_segments
                .with_label_values(&[m.as_str(), asn.as_str(), n.as_str(), result])
                .set(i64::try_from(v).unwrap_or(i64::MAX));
        }
    }
}

/// Roll the neighbour's keys to `new` (same session: see [`needs_reset`]):
/// the established connection, if any, gets the added keys and switches
/// its current key and RNext; keys no longer configured are deleted from
/// it after [`KEY_DELETE_AFTER`]. Future connections use `new`.
pub fn roll(ao: &SharedAo, peer: IpAddr, new: &TcpAo) -> Result<(), AoError> {
    let mut s = lock(ao);
    let old = s.keys.clone();
    if let Some(fd) = &s.live {
        for k in added_keys(old.as_ref(), new) {
            tcp_ao::add_key(fd, peer, &AoKey::from(k), false)?;
        }
        if let Some(k) = new.current_key() {
            tcp_ao::set_current(fd, Some(k.id), Some(k.recv_id))?;
            tracing::info!(peer = %peer, key = k.id, rnext = k.recv_id, "TCP-AO: switched the established session to the new current key");
        }
        let gone = removed_keys(old.as_ref(), Some(new));
        if !gone.is_empty() {
            let generation = s.generation;
            let ao = ao.clone();
            tokio::spawn(async move {
                tokio::time::sleep(KEY_DELETE_AFTER).await;
                delete_later(&ao, peer, generation, &gone);
            });
        }
    }
    s.keys = Some(new.clone());
    Ok(())
}

fn delete_later(ao: &SharedAo, peer: IpAddr, generation: u64, gone: &[(u8, u8)]) {
    let s = lock(ao);
    if s.generation != generation {
        return;
    }
    let Some(fd) = &s.live else { return };
    for (id, recv_id) in gone {
        match tcp_ao::del_key(fd, peer, *id, *recv_id) {
            Ok(()) => {
                tracing::info!(peer = %peer, key = id, recv_id, "TCP-AO: old key deleted from the established session")
            }
            Err(e) => {
                tracing::warn!(peer = %peer, key = id, recv_id, error = %e, "TCP-AO: cannot delete the old key from the established session")
            }
        }
    }
}

/// Refuse to start (or reload) when a neighbour has TCP-AO keys and the
/// kernel lacks TCP-AO; the error names the members.
pub fn check_kernel<'a>(
    neighbors: impl IntoIterator<Item = &'a fox_config::Neighbor>,
) -> anyhow::Result<()> {
    let mut users: Vec<String> = neighbors
        .into_iter()
        .filter(|n| n.tcp_ao.is_some())
        .map(|n| format!("{} ({})", n.member, n.address))
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    users.dedup();
    match tcp_ao::supported() {
        Ok(()) => Ok(()),
        Err(e) => {
            anyhow::bail!(
            "{} {} configured with `tcp_ao`, but {e}; use `password` (TCP-MD5) or a newer kernel",
            if users.len() == 1 { "member" } else { "members" },
            users.join(", ")
        )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fox_config::{AoAlgorithm, AoSecret, TcpAoKey};

    fn k(id: u8, recv_id: u8, secret: &str) -> TcpAoKey {
        TcpAoKey {
            id,
            recv_id,
            algorithm: AoAlgorithm::HmacSha1,
            secret: AoSecret::new(secret).unwrap(),
        }
    }

    fn ao(keys: Vec<TcpAoKey>, current: u8) -> TcpAo {
        TcpAo { keys, current }
    }

    #[test]
    fn what_needs_a_reset() {
        let one = ao(vec![k(1, 1, "a")], 1);
        let both = ao(vec![k(1, 1, "a"), k(2, 2, "b")], 2);
        let two = ao(vec![k(2, 2, "b")], 2);
        assert!(!needs_reset(None, None));
        assert!(needs_reset(None, Some(&one)));
        assert!(needs_reset(Some(&one), None));
        // Rollover steps keep the session.
        assert!(!needs_reset(Some(&one), Some(&both)));
        assert!(!needs_reset(Some(&both), Some(&two)));
        assert!(!needs_reset(Some(&one), Some(&two)));
        // Same ids, new secret or algorithm; or an id reused with another peer id.
        assert!(needs_reset(Some(&one), Some(&ao(vec![k(1, 1, "z")], 1))));
        let mut alg = k(1, 1, "a");
        alg.algorithm = AoAlgorithm::CmacAes128;
        assert!(needs_reset(Some(&one), Some(&ao(vec![alg], 1))));
        assert!(needs_reset(Some(&one), Some(&ao(vec![k(1, 3, "a")], 1))));
        assert!(needs_reset(Some(&one), Some(&ao(vec![k(3, 1, "a")], 3))));
    }

    #[test]
    fn added_and_removed() {
        let one = ao(vec![k(1, 1, "a")], 1);
        let both = ao(vec![k(1, 1, "a"), k(2, 2, "b")], 2);
        let two = ao(vec![k(2, 2, "b")], 2);
        let ids = |v: Vec<&TcpAoKey>| v.iter().map(|k| k.id).collect::<Vec<_>>();
        assert_eq!(ids(added_keys(Some(&one), &both)), vec![2]);
        assert_eq!(ids(added_keys(None, &both)), vec![1, 2]);
        assert!(added_keys(Some(&both), &two).is_empty());
        assert_eq!(removed_keys(Some(&both), Some(&two)), vec![(1, 1)]);
        assert_eq!(removed_keys(Some(&one), None), vec![(1, 1)]);
        assert!(removed_keys(None, Some(&two)).is_empty());
    }

    #[test]
    fn roll_without_a_live_connection_changes_future_keys() {
        let st = shared(Some(ao(vec![k(1, 1, "a")], 1)));
        let new = ao(vec![k(2, 2, "b")], 2);
        roll(&st, "192.0.2.1".parse().unwrap(), &new).unwrap();
        assert_eq!(keys(&st), Some(new));
        assert!(live_info(&st).is_none());
    }
}
