//! Alert delivery: one queue and task per target so each receiver sees raise before resolve;
//! failed posts are retried with exponential backoff.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fox_config::AlertTargets;
use serde_json::json;
use tokio::sync::mpsc;

use super::http::post_json;
use super::Alert;

/// How delivery retries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per message, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubles each time.
    pub first_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The kind of receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mattermost/Slack incoming webhook: `{"text": ...}`.
    Webhook,
    /// Alertmanager v2: a list of alerts posted to `/api/v2/alerts`.
    Alertmanager,
}

/// Sends alerts to every configured target.
#[derive(Clone, Default)]
pub struct Notifier {
    queues: Vec<(Format, mpsc::UnboundedSender<Alert>)>,
}

impl Notifier {
    /// Starts one delivery task per target of `targets` (must run inside a tokio runtime).
    pub fn spawn(targets: &AlertTargets, policy: RetryPolicy) -> Self {
        let mut queues = Vec::new();
        let all = targets
            .webhooks
            .iter()
            .map(|u| (u.clone(), Format::Webhook))
            .chain(targets.alertmanager.iter().map(|u| {
                let url = format!("{}/api/v2/alerts", u.trim_end_matches('/'));
                (url, Format::Alertmanager)
            }));
        for (url, format) in all {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(deliver(url, format, policy, rx));
            queues.push((format, tx));
        }
        Notifier { queues }
    }

    /// Queues `alert` for every target.
    pub fn send(&self, alert: &Alert) {
        self.send_to(alert, None);
    }

    /// Queues `alert` again for the Alertmanager targets only: Alertmanager resolves an
    /// alert by itself when it is not re-sent within its `resolve_timeout`.
    pub fn resend(&self, alert: &Alert) {
        self.send_to(alert, Some(Format::Alertmanager));
    }

    fn send_to(&self, alert: &Alert, only: Option<Format>) {
        for (f, q) in &self.queues {
            if only.is_some_and(|o| o != *f) {
                continue;
            }
            if q.send(alert.clone()).is_err() {
                tracing::warn!(subject = %alert.subject, "alert delivery task has stopped");
            }
        }
    }
}

/// The body posted for `alert` in `format`.
pub fn payload(alert: &Alert, format: Format) -> serde_json::Value {
    match format {
        Format::Webhook => {
            let state = if alert.resolved() {
                "RESOLVED"
            } else {
                "FIRING"
            };
            let mut text = format!("{state} {}: {}", alert.kind.name(), alert.summary);
            for s in &alert.symptoms {
                text.push_str("\n- ");
                text.push_str(s);
            }
            json!({ "text": text })
        }
        Format::Alertmanager => {
            let mut labels = json!({
                "alertname": alert.kind.name(),
                "service": "fox-collector",
                "severity": if alert.kind.critical() { "critical" } else { "warning" },
            });
            labels[alert.kind.subject_label()] = json!(alert.subject);
            let mut a = json!({
                "labels": labels,
                "annotations": { "summary": alert.summary, "description": alert.symptoms.join("\n") },
                "startsAt": rfc3339(alert.starts_at),
            });
            if let Some(end) = alert.ends_at {
                a["endsAt"] = json!(rfc3339(end));
            }
            json!([a])
        }
    }
}

async fn deliver(
    url: String,
    format: Format,
    policy: RetryPolicy,
    mut rx: mpsc::UnboundedReceiver<Alert>,
) {
    while let Some(alert) = rx.recv().await {
        let body = payload(&alert, format).to_string().into_bytes();
        let mut backoff = policy.first_backoff;
        for attempt in 1..=policy.attempts.max(1) {
            let (done, why) = match post_json(&url, body.clone(), policy.timeout).await {
                Ok(s) if (200..300).contains(&s) => (true, String::new()),
                // A client error other than 408/429 will not get better by retrying.
                Ok(s) if (400..500).contains(&s) && s != 408 && s != 429 => {
                    tracing::warn!(url = %url, status = s, "alert rejected");
                    break;
                }
                Ok(s) => (false, format!("status {s}")),
                Err(e) => (false, e.to_string()),
            };
            if done {
                tracing::debug!(url = %url, attempt, "alert delivered");
                break;
            }
            tracing::warn!(url = %url, attempt, error = %why, "alert delivery failed");
            if attempt < policy.attempts {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(policy.max_backoff);
            }
        }
    }
}

/// `t` as RFC 3339 UTC with milliseconds, e.g. `2026-11-23T14:05:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_164_800_250); // 2024-02-29
        assert_eq!(rfc3339(t), "2024-02-29T00:00:00.250Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_446_245);
        assert_eq!(rfc3339(t), "2026-11-23T15:04:05.000Z");
    }

    #[test]
    fn payloads_for_both_formats() {
        let mut a = Alert {
            subject: "fra-ams".into(),
            kind: AlertKind::ProbeDown,
            summary: "probe fra-ams is down".into(),
            symptoms: Vec::new(),
            starts_at: UNIX_EPOCH,
            ends_at: None,
        };
        let w = payload(&a, Format::Webhook);
        assert_eq!(w["text"], "FIRING FoxProbeDown: probe fra-ams is down");
        let am = payload(&a, Format::Alertmanager);
        assert_eq!(am[0]["labels"]["alertname"], "FoxProbeDown");
        assert_eq!(am[0]["labels"]["probe"], "fra-ams");
        assert_eq!(am[0]["startsAt"], "1970-01-01T00:00:00.000Z");
        assert!(am[0].get("endsAt").is_none());
        a.ends_at = Some(UNIX_EPOCH + Duration::from_secs(60));
        let am = payload(&a, Format::Alertmanager);
        assert_eq!(am[0]["endsAt"], "1970-01-01T00:01:00.000Z");
        assert!(payload(&a, Format::Webhook)["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("RESOLVED FoxProbeDown")));
        let site = Alert {
            subject: "tainan".into(),
            kind: AlertKind::SiteUnreachable,
            summary: "site tainan is unreachable".into(),
            symptoms: vec!["probe x is down".into(), "probe y is down".into()],
            starts_at: UNIX_EPOCH,
            ends_at: None,
        };
        let am = payload(&site, Format::Alertmanager);
        assert_eq!(am[0]["labels"]["site"], "tainan");
        assert_eq!(am[0]["labels"]["severity"], "critical");
        assert_eq!(
            am[0]["annotations"]["description"],
            "probe x is down\nprobe y is down"
        );
        assert_eq!(
            payload(&site, Format::Webhook)["text"],
            "FIRING FoxSiteUnreachable: site tainan is unreachable\n- probe x is down\n- probe y is down"
        );
    }
}
