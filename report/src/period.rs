//! The month in the exchange's time zone, as Unix seconds.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::ReportError;

/// A calendar month in a time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// Year.
    pub year: i32,
    /// Month (1..=12).
    pub month: u32,
    /// Time zone.
    pub tz: Tz,
    /// Local midnight starting each day, plus the end of the month (days + 1 entries).
    pub day_starts: Vec<i64>,
}

impl Period {
    /// Parses `YYYY-MM` in the IANA zone `tz` (`Asia/Taipei`).
    pub fn parse(month: &str, tz: &str) -> Result<Period, ReportError> {
        let bad = || ReportError::Month(month.to_owned());
        let (y, m) = month.split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month_n: u32 = m.parse().map_err(|_| bad())?;
        let tz: Tz = tz
            .parse()
            .map_err(|_| ReportError::TimeZone(tz.to_owned()))?;
        let first = NaiveDate::from_ymd_opt(year, month_n, 1).ok_or_else(bad)?;
        let mut day_starts = Vec::with_capacity(32);
        let mut d = first;
        loop {
            let midnight = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
            // A midnight that does not exist (DST gap) starts at the first instant after it.
            let t = tz
                .from_local_datetime(&midnight)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                        .earliest()
                })
                .ok_or_else(bad)?;
            day_starts.push(t.timestamp());
            if d.month0() + 1 != month_n {
                break;
            }
            d = d.succ_opt().ok_or_else(bad)?;
        }
        Ok(Period {
            year,
            month: month_n,
            tz,
            day_starts,
        })
    }

    /// First second of the month.
    pub fn from(&self) -> i64 {
        self.day_starts.first().copied().unwrap_or(0)
    }

    /// End of the month (exclusive).
    pub fn to(&self) -> i64 {
        self.day_starts.last().copied().unwrap_or(0)
    }

    /// Days in the month.
    pub fn days(&self) -> u32 {
        self.day_starts.len().saturating_sub(1) as u32
    }

    /// Minutes in the month.
    pub fn minutes(&self) -> u32 {
        ((self.to() - self.from()) / 60) as u32
    }

    /// Index (0-based) of the local day holding `ts`, if in the month.
    pub fn day_of(&self, ts: i64) -> Option<usize> {
        if ts < self.from() || ts >= self.to() {
            return None;
        }
        Some(self.day_starts.partition_point(|&s| s <= ts) - 1)
    }

    /// `YYYY-MM`.
    pub fn label(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// `ts` in local time, `YYYY-MM-DD HH:MM`.
    pub fn local(&self, ts: i64) -> String {
        match self.tz.timestamp_opt(ts, 0).single() {
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => ts.to_string(),
        }
    }
}

use chrono::Datelike;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taipei_october() {
        let p = Period::parse("2026-10", "Asia/Taipei").expect("valid");
        assert_eq!(p.days(), 31);
        assert_eq!(p.minutes(), 31 * 1440);
        // 2026-10-01 00:00 +08:00 = 2026-09-30 16:00 UTC.
        assert_eq!(p.from(), 1_790_784_000);
        assert_eq!(p.local(p.from()), "2026-10-01 00:00");
        assert_eq!(p.day_of(p.from() + 86_400), Some(1));
        assert_eq!(p.day_of(p.to()), None);
    }

    #[test]
    fn dst_month_has_one_hour_less() {
        let p = Period::parse("2026-03", "Europe/Amsterdam").expect("valid");
        assert_eq!(p.minutes(), 31 * 1440 - 60);
        assert!(Period::parse("2026-13", "Asia/Taipei").is_err());
        assert!(Period::parse("2026-10", "Mars/Olympus").is_err());
    }
}
