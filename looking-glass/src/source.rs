//! The sources the looking glass reads (route-server and collector APIs): requests in
//! parallel with a timeout, answers cached briefly, failures kept as values so one
//! unreachable source never breaks a page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::client;
use crate::metrics::Metrics;

/// Most cached answers kept; past this, expired entries go, then everything.
const MAX_CACHE_ENTRIES: usize = 4096;

/// One source: its name and base URL.
#[derive(Clone, Debug)]
pub struct Source {
    /// Name shown to people and used in URLs (`rs1`).
    pub name: String,
    /// Base URL without trailing slash.
    pub url: String,
}

/// Why a source gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// No connection, timeout, or a broken HTTP exchange.
    #[error("{source_name} unreachable: {detail}")]
    Unreachable {
        /// The source.
        source_name: String,
        /// What happened.
        detail: String,
    },
    /// The source answered with an error status and message.
    #[error("{source_name} answered {status}: {message}")]
    Status {
        /// The source.
        source_name: String,
        /// HTTP status.
        status: u16,
        /// The `error` field of its JSON body, or the body.
        message: String,
    },
    /// The answer was not JSON.
    #[error("{source_name} sent an answer that is not JSON")]
    BadJson {
        /// The source.
        source_name: String,
    },
}

impl SourceError {
    /// True if the source could not be reached at all (as opposed to refusing a query).
    pub fn is_down(&self) -> bool {
        match self {
            SourceError::Unreachable { .. } | SourceError::BadJson { .. } => true,
            SourceError::Status { status, .. } => *status >= 500,
        }
    }
}

/// An answer from a source.
pub type Fetched = Result<Arc<Value>, SourceError>;

struct Entry {
    at: Instant,
    value: Fetched,
}

/// The route servers and collectors, with a shared cache.
pub struct Sources {
    /// Route-server admin APIs.
    pub route_servers: Vec<Source>,
    /// Collector APIs.
    pub collectors: Vec<Source>,
    ttl: Duration,
    timeout: Duration,
    cache: Mutex<HashMap<String, Entry>>,
    metrics: Arc<Metrics>,
}

impl Sources {
    /// Sources with a cache lifetime and a per-request timeout.
    pub fn new(
        route_servers: Vec<Source>,
        collectors: Vec<Source>,
        ttl: Duration,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Sources {
        for s in route_servers.iter().chain(&collectors) {
            metrics.source_up.with_label_values(&[&s.name]).set(0);
        }
        Sources {
            route_servers,
            collectors,
            ttl,
            timeout,
            cache: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// How long answers are reused.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The route server called `name`.
    pub fn route_server(&self, name: &str) -> Option<&Source> {
        self.route_servers.iter().find(|s| s.name == name)
    }

    fn cached(&self, key: &str) -> Option<Fetched> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|e| e.at.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    fn store(&self, key: String, value: Fetched) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHE_ENTRIES {
            let ttl = self.ttl;
            cache.retain(|_, e| e.at.elapsed() < ttl);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Entry {
                at: Instant::now(),
                value,
            },
        );
    }

    /// `GET path` (starting with `/`) from `src`, through the cache.
    pub async fn get(&self, src: &Source, path: &str) -> Fetched {
        let key = format!("{}\n{}", src.name, path);
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        let value = self.fetch(src, path).await;
        self.store(key, value.clone());
        value
    }

    async fn fetch(&self, src: &Source, path: &str) -> Fetched {
        let url = format!("{}{}", src.url, path);
        let up = self.metrics.source_up.with_label_values(&[&src.name]);
        let resp = match client::get(&url, self.timeout).await {
            Ok(r) => r,
            Err(e) => {
                up.set(0);
                tracing::warn!(source = %src.name, url = %url, error = %e, "source unreachable");
                return Err(SourceError::Unreachable {
                    source_name: src.name.clone(),
                    detail: e.to_string(),
                });
            }
        };
        up.set(i64::from(resp.status < 500));
        let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
        if !(200..300).contains(&resp.status) {
            let message = parsed
                .as_ref()
                .and_then(|v| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| resp.text().chars().take(200).collect());
            return Err(SourceError::Status {
                source_name: src.name.clone(),
                status: resp.status,
                message,
            });
        }
        match parsed {
            Some(v) => Ok(Arc::new(v)),
            None => {
                up.set(0);
                Err(SourceError::BadJson {
                    source_name: src.name.clone(),
                })
            }
        }
    }

    /// `GET path` from every route server at once, in configuration order.
    pub async fn all_route_servers(self: &Arc<Self>, path: &str) -> Vec<(Source, Fetched)> {
        let mut set = JoinSet::new();
        for (i, src) in self.route_servers.iter().enumerate() {
            let me = Arc::clone(self);
            let src = src.clone();
            let path = path.to_owned();
            set.spawn(async move {
                let v = me.get(&src, &path).await;
                (i, src, v)
            });
        }
        let mut out: Vec<(usize, Source, Fetched)> = Vec::with_capacity(self.route_servers.len());
        while let Some(r) = set.join_next().await {
            match r {
                Ok(x) => out.push(x),
                Err(e) => tracing::error!(error = %e, "source task failed"),
            }
        }
        out.sort_by_key(|x| x.0);
        out.into_iter().map(|(_, s, v)| (s, v)).collect()
    }
}
