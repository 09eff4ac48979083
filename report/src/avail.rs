//! Availability per minute: sites from probe results, member ports from route server
//! sessions, the service from the sites; and the runs of unavailable minutes (faults).

use std::collections::{BTreeMap, HashSet};

use fox_history::{ProbeRow, SessionEvent};

use crate::model::{Availability, Status, Targets};
use crate::period::Period;

/// State of one minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minute {
    /// No measurement.
    Unmeasured,
    /// Available.
    Up,
    /// Unavailable.
    Down,
}

/// Site `probes` rows merged per minute: measured when a probe has data, down when every
/// probe with data lost all its packets.
///
/// Rows before `hourly_until` are hourly rows (minute data gone): an hourly row only knows
/// how many of its minutes had data and how many were up, not which. Its down minutes are
/// placed at the end of the hour when the same probe's next hour has down minutes too (so an
/// outage across an hour boundary stays one run, exact in start, end and duration), else at
/// the start of the hour; then its up minutes; then the unmeasured rest. Per probe the counts
/// are exact; several probes to one site merge as if their down minutes coincided.
pub fn site_minutes(p: &Period, rows: &[&ProbeRow], hourly_until: i64) -> Vec<Minute> {
    let mut m = vec![Minute::Unmeasured; p.minutes() as usize];
    let hour_down: HashSet<(&str, i64)> = rows
        .iter()
        .filter(|r| r.ts < hourly_until && r.minutes_up < r.minutes_with_data)
        .map(|r| (r.probe.as_str(), r.ts))
        .collect();
    for r in rows {
        if r.minutes_with_data == 0 || r.ts < p.from() || r.ts >= p.to() {
            continue;
        }
        let first = ((r.ts - p.from()) / 60) as usize;
        let measured = r.minutes_with_data as usize;
        let down = measured.saturating_sub(r.minutes_up as usize);
        let at_end = r.ts < hourly_until && hour_down.contains(&(r.probe.as_str(), r.ts + 3600));
        let span = if r.ts < hourly_until { 60 } else { 1 };
        for k in 0..measured {
            // Minute k of the row's measured minutes; at_end shifts them to the hour's end.
            let offset = if at_end { span - measured + k } else { k };
            let Some(slot) = m.get_mut(first + offset) else {
                break;
            };
            let is_down = if at_end {
                k >= measured - down
            } else {
                k < down
            };
            if is_down {
                if *slot == Minute::Unmeasured {
                    *slot = Minute::Down;
                }
            } else {
                *slot = Minute::Up;
            }
        }
    }
    m
}

/// The service per minute: measured when any site is, down when any measured site is down.
pub fn service_minutes(sites: &[Vec<Minute>], minutes: usize) -> Vec<Minute> {
    let mut out = vec![Minute::Unmeasured; minutes];
    for s in sites {
        for (o, &v) in out.iter_mut().zip(s) {
            *o = match (*o, v) {
                (Minute::Down, _) | (_, Minute::Down) => Minute::Down,
                (Minute::Up, _) | (_, Minute::Up) => Minute::Up,
                _ => Minute::Unmeasured,
            };
        }
    }
    out
}

/// A member's port per minute from its session `events` (any time before the month's end,
/// ascending): down in a minute when, at its start, every session of the member is down.
/// A session's state before its first event is the opposite of that event. `None` when the
/// member has no session events at all.
pub fn port_minutes(p: &Period, events: &[&SessionEvent]) -> Option<Vec<Minute>> {
    let mut sessions: BTreeMap<(&str, &str), Vec<&SessionEvent>> = BTreeMap::new();
    for e in events {
        sessions
            .entry((e.rs.as_str(), e.neighbor.as_str()))
            .or_default()
            .push(e);
    }
    if sessions.is_empty() {
        return None;
    }
    let n = p.minutes() as usize;
    let mut up_count = vec![0u32; n];
    for evs in sessions.values() {
        let mut state = !evs[0].up;
        let mut k = 0;
        for (i, c) in up_count.iter_mut().enumerate() {
            let t = p.from() + 60 * i as i64;
            while k < evs.len() && evs[k].ts <= t {
                state = evs[k].up;
                k += 1;
            }
            if state {
                *c += 1;
            }
        }
    }
    Some(
        up_count
            .into_iter()
            .map(|c| if c > 0 { Minute::Up } else { Minute::Down })
            .collect(),
    )
}

/// The availability figures of `minutes` against `t`.
pub fn availability(minutes: &[Minute], t: &Targets) -> Availability {
    let measured = minutes.iter().filter(|m| **m != Minute::Unmeasured).count() as u32;
    let down = minutes.iter().filter(|m| **m == Minute::Down).count() as u32;
    let percent = (measured > 0).then(|| f64::from(measured - down) / f64::from(measured) * 100.0);
    let status = match percent {
        None => Status::NoData,
        Some(v) if v >= t.availability_percent => Status::Met,
        Some(v) if v >= t.availability_floor_percent => Status::BelowTarget,
        Some(_) => Status::Missed,
    };
    Availability {
        measured_minutes: measured,
        unavailable_minutes: down,
        unmeasured_minutes: minutes.len() as u32 - measured,
        percent,
        status,
    }
}

/// Runs of down minutes as (first minute index, end index exclusive).
pub fn down_runs(minutes: &[Minute]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, m) in minutes.iter().enumerate() {
        match (m, start) {
            (Minute::Down, None) => start = Some(i),
            (Minute::Down, Some(_)) => {}
            (_, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (_, None) => {}
        }
    }
    if let Some(s) = start {
        out.push((s, minutes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_figures() {
        use Minute::*;
        let m = [Up, Down, Down, Unmeasured, Up, Down];
        assert_eq!(down_runs(&m), vec![(1, 3), (5, 6)]);
        let a = availability(&m, &Targets::default());
        assert_eq!(
            (
                a.measured_minutes,
                a.unavailable_minutes,
                a.unmeasured_minutes
            ),
            (5, 3, 1)
        );
        assert_eq!(a.status, Status::Missed);
        assert_eq!(
            service_minutes(&[vec![Up, Unmeasured], vec![Down, Up]], 2),
            vec![Down, Up]
        );
    }
}
