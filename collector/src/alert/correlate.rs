//! Alert correlation: when a site, a fabric link or a route server fails, every probe that
//! depends on it fails at once. Probes carry tags (`site`, `link`, `route_server`,
//! `member`); a group whose probes are all down gives one alert naming the cause, with the
//! failed probes as its symptoms, and those probes' own alerts are held back.
//!
//! - A site is unreachable when at least two probes target it and all are down.
//! - A link is down when at least two probes cross it, all are down, and not all of them
//!   are explained by unreachable sites (some site behind it still answers over another
//!   path). Otherwise the site alert stands and says that a link failure looks the same.
//! - A route server is down when all probes to it are down and they are not all explained
//!   by a site or link alert, when its admin API has not answered `API_DOWN_AFTER` polls,
//!   or when most of its member sessions (more than half, at least two) are not
//!   Established; the down sessions and probes are its symptoms. Otherwise each member
//!   session that is not Established is one `FoxMemberSessionDown`.
//!
//! Alerts of a tagged probe wait `hold` before they go out alone, so probes that fail a
//! moment apart are still seen as one event. Loss alerts of a probe stay quiet until its
//! recent window no longer holds losses from a correlated outage.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AlertKind, Finding};
use crate::probe::{Probe, RECENT};
use crate::sessions::{RsSessions, Session};

/// Default wait for a common cause.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(10);
/// Fewest probes of a site or link for it to be judged as a group.
pub const MIN_GROUP: usize = 2;

/// The correlated findings of one evaluation.
#[derive(Debug, Default)]
pub struct Groups {
    /// Firing group alerts.
    pub firing: Vec<Finding>,
    /// Probes explained by a firing group alert.
    pub explained: HashSet<String>,
    /// Order of this view among all views taken (higher is newer).
    pub generation: u64,
}

/// Tagged probes and the alerts held back for them.
#[derive(Debug)]
pub struct Correlator {
    /// Wait for a common cause.
    pub hold: Duration,
    probes: Vec<Arc<Probe>>,
    pending: HashMap<(String, AlertKind), Instant>,
    quiet_until: HashMap<String, u64>,
    generation: u64,
    applied: u64,
    sessions: BTreeMap<String, RsSessions>,
}

#[derive(Clone, Copy)]
struct View<'a> {
    probe: &'a Probe,
    down: bool,
}

fn symptom(p: &Probe) -> String {
    let target = p.target_text();
    match &p.settings.tags.member {
        Some(m) => format!("probe {} to {target} (member {m}) is down", p.name),
        None => format!("probe {} to {target} is down", p.name),
    }
}

/// Groups of probes by one tag, in name order.
fn group_by<'a>(
    views: &[View<'a>],
    tag: impl Fn(&'a Probe) -> Option<&'a String>,
) -> BTreeMap<&'a str, Vec<View<'a>>> {
    let mut g: BTreeMap<&str, Vec<View<'a>>> = BTreeMap::new();
    for v in views {
        if let Some(t) = tag(v.probe) {
            g.entry(t.as_str()).or_default().push(*v);
        }
    }
    g
}

fn all_down(v: &[View<'_>]) -> bool {
    !v.is_empty() && v.iter().all(|p| p.down)
}

impl Correlator {
    /// An empty correlator waiting `hold` for common causes.
    pub fn new(hold: Duration) -> Self {
        Correlator {
            hold,
            probes: Vec::new(),
            pending: HashMap::new(),
            quiet_until: HashMap::new(),
            generation: 0,
            applied: 0,
            sessions: BTreeMap::new(),
        }
    }

    /// Adds `probe` to the probes judged together (once).
    pub fn register(&mut self, probe: &Arc<Probe>) {
        if !self.probes.iter().any(|p| Arc::ptr_eq(p, probe)) {
            self.probes.push(probe.clone());
        }
    }

    /// The group alerts over every registered probe, as they stand now.
    pub fn groups(&mut self) -> Groups {
        let views: Vec<View<'_>> = self
            .probes
            .iter()
            .map(|p| View {
                probe: p,
                down: p.state().down(),
            })
            .collect();
        let sites = group_by(&views, |p| p.settings.tags.site.as_ref());
        let links = group_by(&views, |p| p.settings.tags.link.as_ref());
        let servers = group_by(&views, |p| p.settings.tags.route_server.as_ref());
        let site_down: HashSet<&str> = sites
            .iter()
            .filter(|(_, v)| v.len() >= MIN_GROUP && all_down(v))
            .map(|(s, _)| *s)
            .collect();
        let in_down_site = |p: &Probe| {
            p.settings
                .tags
                .site
                .as_deref()
                .is_some_and(|s| site_down.contains(s))
        };
        self.generation += 1;
        let mut out = Groups {
            generation: self.generation,
            ..Groups::default()
        };
        let mut link_down: HashSet<&str> = HashSet::new();
        for (link, v) in &links {
            if v.len() >= MIN_GROUP && all_down(v) && !v.iter().all(|p| in_down_site(p.probe)) {
                link_down.insert(link);
                let sites: Vec<&str> = v
                    .iter()
                    .filter_map(|p| p.probe.settings.tags.site.as_deref())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                out.push(
                    link,
                    AlertKind::LinkDown,
                    format!(
                        "fabric link {link} is down: all {} probes across it fail while {} still answer over other paths",
                        v.len(),
                        if sites.is_empty() { "their sites".to_owned() } else { sites.join(", ") }
                    ),
                    v,
                );
            }
        }
        let on_down_link = |p: &Probe| {
            p.settings
                .tags
                .link
                .as_deref()
                .is_some_and(|l| link_down.contains(l))
        };
        for (site, v) in &sites {
            if !site_down.contains(site) || v.iter().all(|p| on_down_link(p.probe)) {
                continue;
            }
            let links: HashSet<Option<&String>> = v
                .iter()
                .map(|p| p.probe.settings.tags.link.as_ref())
                .collect();
            let note = match links.iter().next() {
                Some(Some(l)) if links.len() == 1 => {
                    format!(" (all cross link {l}: a failure of that link looks the same)")
                }
                _ => String::new(),
            };
            out.push(
                site,
                AlertKind::SiteUnreachable,
                format!(
                    "site {site} is unreachable: all {} probes to it fail{note}",
                    v.len()
                ),
                v,
            );
        }
        let names: BTreeSet<&str> = servers
            .keys()
            .copied()
            .chain(self.sessions.keys().map(String::as_str))
            .collect();
        for rs in names {
            let v = servers.get(rs).map_or(&[][..], Vec::as_slice);
            let explained = |p: &View<'_>| in_down_site(p.probe) || on_down_link(p.probe);
            let probes_down = all_down(v) && !v.iter().all(explained);
            let sessions = self.sessions.get(rs);
            let api_down = sessions.is_some_and(RsSessions::api_down);
            let most_down = !api_down && sessions.is_some_and(RsSessions::most_down);
            if !(probes_down || api_down || most_down) {
                for x in sessions.map(RsSessions::down).unwrap_or_default() {
                    out.firing.push(Finding {
                        subject: x.subject(rs),
                        kind: AlertKind::MemberSessionDown,
                        summary: x.describe(rs),
                        symptoms: Vec::new(),
                    });
                }
                continue;
            }
            let mut why = Vec::new();
            let mut session_symptoms = Vec::new();
            if let Some(s) = sessions.filter(|_| api_down) {
                why.push(format!(
                    "its admin API at {} does not answer ({})",
                    s.api,
                    s.last_failure.as_deref().unwrap_or("no answer")
                ));
            }
            if let Some(s) = sessions.filter(|_| most_down) {
                let down = s.down();
                why.push(format!(
                    "{} of {} member sessions left Established",
                    down.len(),
                    s.sessions.len()
                ));
                session_symptoms.extend(down.iter().map(|x| x.describe(rs)));
            }
            if probes_down {
                why.push(format!("all {} probes to it fail", v.len()));
            }
            let failed: Vec<View<'_>> = v.iter().filter(|p| p.down).copied().collect();
            out.push_with(
                rs,
                AlertKind::RouteServerDown,
                format!("route server {rs} is unreachable: {}", why.join("; ")),
                session_symptoms,
                &failed,
            );
        }
        // Losses of an outage stay in the recent window for a while: keep them quiet.
        for name in &out.explained {
            if let Some(p) = self.probes.iter().find(|p| &p.name == name) {
                let sent = p.state().sent;
                self.quiet_until.insert(name.clone(), sent + RECENT as u64);
            }
        }
        out
    }

    /// Takes one poll of route server `rs`'s sessions (its admin API at `api`).
    pub fn set_sessions(&mut self, rs: &str, api: &str, poll: Result<Vec<Session>, String>) {
        let s = self.sessions.entry(rs.to_owned()).or_default();
        s.api = api.to_owned();
        s.update(poll);
    }

    /// Whether `groups` is newer than every view applied so far; if so it becomes the last
    /// applied. Probe tasks evaluate concurrently: a view taken before another one's must
    /// not be applied after it, or it would resolve a group alert the newer view raised.
    pub fn newest(&mut self, groups: &Groups) -> bool {
        if groups.generation <= self.applied {
            return false;
        }
        self.applied = groups.generation;
        true
    }

    /// Whether each of the probe's own `checks` fires now: not when the probe is a symptom
    /// of a group alert, and only after its condition has held for `hold` (or is already
    /// active, as `active` tells).
    pub fn individual(
        &mut self,
        probe: &Probe,
        groups: &Groups,
        checks: &[(AlertKind, bool, String)],
        now: Instant,
        active: impl Fn(AlertKind) -> bool,
    ) -> Vec<bool> {
        let explained = groups.explained.contains(&probe.name);
        let (sent, losing) = {
            let st = probe.state();
            (st.sent, st.consecutive_lost > 0)
        };
        let quiet_loss = match self.quiet_until.get_mut(&probe.name) {
            Some(until) if sent < *until => {
                // The tail of an outage (losses just after the group resolved) stays quiet too.
                if losing {
                    *until = sent + RECENT as u64;
                }
                true
            }
            _ => false,
        };
        checks
            .iter()
            .map(|(kind, firing, _)| {
                let key = (probe.name.clone(), *kind);
                let firing = *firing && !explained && !(quiet_loss && *kind == AlertKind::LossHigh);
                if !firing {
                    self.pending.remove(&key);
                    return false;
                }
                let since = *self.pending.entry(key).or_insert(now);
                active(*kind) || now.duration_since(since) >= self.hold
            })
            .collect()
    }
}

impl Groups {
    fn push(&mut self, subject: &str, kind: AlertKind, summary: String, v: &[View<'_>]) {
        self.push_with(subject, kind, summary, Vec::new(), v);
    }

    /// A group alert with `first` symptoms (sessions) and then the probes of `v`, which it
    /// explains.
    fn push_with(
        &mut self,
        subject: &str,
        kind: AlertKind,
        summary: String,
        first: Vec<String>,
        v: &[View<'_>],
    ) {
        let mut symptoms = first;
        symptoms.extend(v.iter().map(|p| symptom(p.probe)));
        for p in v {
            self.explained.insert(p.probe.name.clone());
        }
        self.firing.push(Finding {
            subject: subject.to_owned(),
            kind,
            summary,
            symptoms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fox_config::{ProbeSettings, ProbeTags};

    fn probe(name: &str, site: Option<&str>, link: Option<&str>, rs: Option<&str>) -> Arc<Probe> {
        let mut s = ProbeSettings::stamp(name, "127.0.0.1:862".parse().expect("address"));
        s.tags = ProbeTags {
            site: site.map(str::to_owned),
            link: link.map(str::to_owned),
            route_server: rs.map(str::to_owned),
            member: Some(format!("M-{name}")),
        };
        Arc::new(Probe::new(s, None))
    }

    fn down(p: &Probe) {
        for _ in 0..crate::probe::DOWN_AFTER {
            p.state().loss(0);
        }
    }

    fn up(p: &Probe) {
        p.state().reply(0.001, 0);
    }

    fn kinds(g: &Groups) -> Vec<(String, AlertKind)> {
        g.firing
            .iter()
            .map(|f| (f.subject.clone(), f.kind))
            .collect()
    }

    #[test]
    fn site_link_and_route_server_are_told_apart() {
        // Site c is reached over link a-c only; site b over a-b and (one probe) a-c-b.
        let c1 = probe("c1", Some("c"), Some("a-c"), None);
        let c2 = probe("c2", Some("c"), Some("a-c"), None);
        let b1 = probe("b1", Some("b"), Some("a-b"), None);
        let b2 = probe("b2", Some("b"), Some("a-b"), None);
        let b3 = probe("b3", Some("b"), Some("a-c"), None);
        let rs = probe("rs1-v4", Some("b"), Some("a-b"), Some("rs1"));
        let rs6 = probe("rs1-v6", Some("b"), Some("a-b"), Some("rs1"));
        let mut c = Correlator::new(DEFAULT_HOLD);
        for p in [&c1, &c2, &b1, &b2, &b3, &rs, &rs6] {
            c.register(p);
            up(p);
        }
        c.register(&c1);
        assert_eq!(c.probes.len(), 7);
        assert!(c.groups().firing.is_empty());

        // Site c fails: both its probes cross a-c, but b3 on a-c still answers.
        down(&c1);
        down(&c2);
        let g = c.groups();
        assert_eq!(kinds(&g), vec![("c".into(), AlertKind::SiteUnreachable)]);
        assert!(g.firing[0].summary.contains("all cross link a-c"));
        assert_eq!(g.firing[0].symptoms.len(), 2);
        assert!(g.firing[0].symptoms[0].contains("member M-c1"));

        // Now b3 fails too: every probe on a-c is down, and site b still answers over a-b.
        down(&b3);
        let g = c.groups();
        assert_eq!(kinds(&g), vec![("a-c".into(), AlertKind::LinkDown)]);
        assert_eq!(g.firing[0].symptoms.len(), 3);
        assert!(g.explained.contains("b3") && g.explained.contains("c1"));
        up(&c1);
        up(&c2);
        up(&b3);

        // Only the route server's two probes fail: one route server alert.
        down(&rs);
        down(&rs6);
        let g = c.groups();
        assert_eq!(kinds(&g), vec![("rs1".into(), AlertKind::RouteServerDown)]);
        // The whole of site b fails: the site explains the route server.
        for p in [&b1, &b2, &b3] {
            down(p);
        }
        let g = c.groups();
        assert_eq!(kinds(&g), vec![("b".into(), AlertKind::SiteUnreachable)]);
        assert_eq!(g.firing[0].symptoms.len(), 5);
    }

    #[test]
    fn own_alerts_wait_for_the_hold_and_symptoms_stay_quiet() {
        let a = probe("a", Some("s"), None, None);
        let b = probe("b", Some("s"), None, None);
        let mut c = Correlator::new(Duration::from_secs(10));
        c.register(&a);
        c.register(&b);
        let t0 = Instant::now();
        let checks = vec![(AlertKind::ProbeDown, true, String::new())];
        down(&a);
        let g = c.groups();
        assert!(g.firing.is_empty());
        assert_eq!(c.individual(&a, &g, &checks, t0, |_| false), vec![false]);
        let later = t0 + Duration::from_secs(11);
        assert_eq!(c.individual(&a, &g, &checks, later, |_| false), vec![true]);
        // Both down: explained by the site, the probe's own alert does not fire.
        down(&b);
        let g = c.groups();
        assert_eq!(g.firing.len(), 1);
        assert_eq!(c.individual(&a, &g, &checks, later, |_| false), vec![false]);
        // Back up: losses of the outage do not raise a loss alert.
        up(&a);
        up(&b);
        let g = c.groups();
        let loss = vec![(AlertKind::LossHigh, true, String::new())];
        let much_later = later + Duration::from_secs(60);
        assert_eq!(
            c.individual(&a, &g, &loss, much_later, |_| false),
            vec![false]
        );
    }

    /// The flap of `FoxRouteServerDown` in the correlation end-to-end test: probe tasks
    /// evaluate on several threads; one took its view while the route server's last probe
    /// still answered, another took a later view with all of them down and raised the alert,
    /// then the first applied its older view and resolved it (raised again at the next tick).
    #[test]
    fn a_stale_view_does_not_resolve_what_a_newer_one_raised() {
        use crate::alert::{AlertEngine, Notifier, RetryPolicy};
        let engine = AlertEngine::new(
            fox_config::SlaSettings::default(),
            Notifier::spawn(&fox_config::AlertTargets::default(), RetryPolicy::default()),
        );
        let a = probe("rs1-a", Some("x"), None, Some("rs1"));
        let b = probe("rs1-b", Some("x"), None, Some("rs1"));
        let other = probe("x-0", Some("x"), None, None);
        for p in [&a, &b, &other] {
            up(p);
        }
        let rs_alerts = |e: &AlertEngine| -> Vec<(String, AlertKind)> {
            e.active()
                .into_iter()
                .map(|x| (x.subject, x.kind))
                .collect()
        };
        down(&a);
        // The task of `other` takes its view: rs1-b still answers.
        let (stale, _) = engine.correlate(&other, &[]);
        assert!(stale.firing.is_empty());
        // rs1-b loses its third packet; its task takes a view and applies it first.
        down(&b);
        let (fresh, _) = engine.correlate(&b, &[]);
        engine.apply_groups(fresh);
        let raised = vec![("rs1".to_owned(), AlertKind::RouteServerDown)];
        assert_eq!(rs_alerts(&engine), raised);
        // Now the older view arrives: it must not resolve the alert.
        engine.apply_groups(stale);
        assert_eq!(rs_alerts(&engine), raised);
        // A view taken after rs1-b answers again does resolve it.
        up(&b);
        let (later, _) = engine.correlate(&a, &[]);
        engine.apply_groups(later);
        assert!(rs_alerts(&engine).is_empty());
    }
}
