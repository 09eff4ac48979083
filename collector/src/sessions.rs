//! Route-server member sessions as alert input: every `session_poll` the collector asks each
//! configured route server's admin API (`GET /api/v1/neighbors`) for its sessions and hands
//! what it found to the alert engine, which correlates it with the probes (see
//! `alert::correlate`): a member session that left Established is one
//! `FoxMemberSessionDown`; an API that does not answer, or most sessions of one route
//! server down at once, is one `FoxRouteServerDown` with the sessions as symptoms.
//!
//! The route server writes its own session up/down events into the history store, so the
//! collector does not write them again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use crate::alert::AlertEngine;

/// Largest neighbour list read (bytes): about 5,000 sessions of the route server's JSON.
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;
/// Longest wait for one answer.
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// Failed polls in a row after which a route server's API counts as unreachable.
pub const API_DOWN_AFTER: u32 = 2;

/// One member session as the route server's API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Member name.
    pub member: String,
    /// Member ASN.
    pub asn: u32,
    /// Neighbour address.
    pub address: String,
    /// BGP state name (`Established`, `Active`, `Idle`, ...).
    pub state: String,
    /// The last error of the session (NOTIFICATION or what else ended it), if any.
    pub last_error: Option<String>,
}

impl Session {
    /// Whether the session is up.
    pub fn established(&self) -> bool {
        self.state.eq_ignore_ascii_case("established")
    }

    /// A stable alert subject: route server and neighbour address.
    pub fn subject(&self, rs: &str) -> String {
        format!("{rs}/{}", self.address)
    }

    /// One line for people: member, ASN, address, state and last error.
    pub fn describe(&self, rs: &str) -> String {
        let why = match &self.last_error {
            Some(e) if !e.is_empty() => format!(", last error: {e}"),
            _ => String::new(),
        };
        format!(
            "session of member {} (AS{}, {}) on route server {rs} is {}{why}",
            self.member, self.asn, self.address, self.state
        )
    }
}

/// What the polls of one route server found so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RsSessions {
    /// The admin API address.
    pub api: String,
    /// The sessions of the last successful poll.
    pub sessions: Vec<Session>,
    /// Failed polls in a row.
    pub failed_polls: u32,
    /// Why the last poll failed.
    pub last_failure: Option<String>,
}

impl RsSessions {
    /// Whether the API has not answered `API_DOWN_AFTER` polls in a row.
    pub fn api_down(&self) -> bool {
        self.failed_polls >= API_DOWN_AFTER
    }

    /// The sessions not Established.
    pub fn down(&self) -> Vec<&Session> {
        self.sessions.iter().filter(|s| !s.established()).collect()
    }

    /// Whether most sessions (more than half, at least two) are down.
    pub fn most_down(&self) -> bool {
        let down = self.down().len();
        down >= 2 && down * 2 > self.sessions.len()
    }

    /// Takes the result of one poll.
    pub fn update(&mut self, poll: Result<Vec<Session>, String>) {
        match poll {
            Ok(s) => {
                self.sessions = s;
                self.failed_polls = 0;
                self.last_failure = None;
            }
            Err(e) => {
                self.failed_polls = self.failed_polls.saturating_add(1);
                self.last_failure = Some(e);
            }
        }
    }
}

/// What went wrong reading a neighbour list.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// Not the JSON the route server sends.
    #[error("not a neighbour list: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Answer {
    neighbors: Vec<Neighbor>,
}

#[derive(Deserialize)]
struct Neighbor {
    #[serde(default)]
    member: String,
    #[serde(default)]
    asn: u32,
    address: String,
    state: String,
    #[serde(default)]
    last_error: Option<String>,
}

/// Reads the answer of `GET /api/v1/neighbors`.
pub fn parse_neighbors(body: &[u8]) -> Result<Vec<Session>, SessionsError> {
    let a: Answer = serde_json::from_slice(body)?;
    Ok(a.neighbors
        .into_iter()
        .map(|n| Session {
            member: n.member,
            asn: n.asn,
            address: n.address,
            state: n.state,
            last_error: n.last_error,
        })
        .collect())
}

/// Asks the admin API at `api` for the sessions once.
pub async fn poll(api: SocketAddr) -> Result<Vec<Session>, String> {
    let url = format!("http://{api}/api/v1/neighbors");
    let (status, body) = crate::alert::http::get(&url, MAX_ANSWER, MAX_WAIT)
        .await
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP status {status}"));
    }
    parse_neighbors(&body).map_err(|e| e.to_string())
}

/// Polls route server `rs` at `api` every `interval` until `shutdown` changes, handing each
/// result to `engine`.
pub async fn run(
    engine: Arc<AlertEngine>,
    rs: String,
    api: SocketAddr,
    interval: Duration,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    let mut iv = tokio::time::interval(interval);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = iv.tick() => {}
            _ = shutdown.changed() => return,
        }
        let result = tokio::select! {
            r = poll(api) => r,
            _ = shutdown.changed() => return,
        };
        if let Err(e) = &result {
            tracing::debug!(route_server = %rs, api = %api, error = %e, "session poll failed");
        }
        engine.update_sessions(&rs, &api.to_string(), result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_servers_neighbour_json_is_read() {
        // The shape of routeserver/src/api `neighbor_list`, fields the collector ignores
        // included.
        let body = br#"{"neighbors":[
            {"id":1,"member":"GSN","asn":65001,"address":"192.0.2.1","state":"Established",
             "state_since":1,"uptime_seconds":5,"remote_router_id":"192.0.2.1","hold_time":90,
             "capabilities":{"four_octet_as":true},"last_error":null,"flaps":0,"routes":null},
            {"id":2,"member":"TWIX","asn":65002,"address":"2001:db8::2","state":"Active",
             "last_error":"hold timer expired","flaps":3}
        ]}"#;
        let s = parse_neighbors(body).expect("valid");
        assert_eq!(s.len(), 2);
        assert!(s[0].established());
        assert!(!s[1].established());
        assert_eq!(
            s[1].describe("rs1"),
            "session of member TWIX (AS65002, 2001:db8::2) on route server rs1 is Active, last error: hold timer expired"
        );
        assert_eq!(s[1].subject("rs1"), "rs1/2001:db8::2");
        assert!(parse_neighbors(b"{\"neighbors\":[{\"member\":\"x\"}]}").is_err());
        assert!(parse_neighbors(b"<html>").is_err());
    }

    #[test]
    fn most_down_and_api_down() {
        let s = |state: &str| Session {
            member: "M".into(),
            asn: 1,
            address: "192.0.2.1".into(),
            state: state.into(),
            last_error: None,
        };
        let mut r = RsSessions::default();
        r.update(Ok(vec![s("Established"), s("Active"), s("Established")]));
        assert!(!r.most_down());
        r.update(Ok(vec![s("Idle"), s("Active"), s("Established")]));
        assert!(r.most_down());
        // One session of one: down, but not "most" (that is the member's own problem).
        r.update(Ok(vec![s("Idle")]));
        assert!(!r.most_down());
        r.update(Err("refused".into()));
        assert!(!r.api_down());
        r.update(Err("refused".into()));
        assert!(r.api_down());
        // The last sessions seen are kept while the API does not answer.
        assert_eq!(r.sessions.len(), 1);
        r.update(Ok(Vec::new()));
        assert!(!r.api_down() && r.last_failure.is_none());
    }
}
