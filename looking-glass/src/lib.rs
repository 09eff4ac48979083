//! The FOX looking glass: a JSON API (OpenAPI at `/api/openapi.json`), birdwatcher-compatible
//! endpoints for Alice-LG, and a server-rendered web UI, over the route servers' and the
//! collector's APIs. Access: public (summary, prefix search), member (its own sessions and
//! routes, filtered ones included), NOC (everything), by hashed tokens from a file.

#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod birdwatcher;
pub mod birdwatcher_table;
pub mod client;
pub mod data;
pub mod fuzzing;
pub mod history;
pub mod metrics;
pub mod server;
pub mod source;
pub mod state;
pub mod ui;

use std::sync::Arc;
use std::time::SystemTime;

pub use access::{hash_token, Role, Tokens};
pub use state::{AppState, Lg, MemberInfo};

/// Why the looking glass cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The tokens file is unreadable or wrong.
    #[error(transparent)]
    Tokens(#[from] access::TokensError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Builds the shared state from the exchange's configuration and looking-glass settings.
pub fn build(
    config: &fox_config::Config,
    settings: &fox_config::LookingGlass,
) -> Result<AppState, StartError> {
    let members: Vec<MemberInfo> = config
        .members
        .iter()
        .map(|m| MemberInfo {
            name: m.name.clone(),
            asn: m.asn,
            addresses: m
                .connections
                .iter()
                .flat_map(|c| {
                    [
                        c.ipv4.map(std::net::IpAddr::V4),
                        c.ipv6.map(std::net::IpAddr::V6),
                    ]
                })
                .flatten()
                .collect(),
        })
        .collect();
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let tokens = match &settings.tokens_file {
        Some(path) => {
            // Relative paths are relative to the configuration file.
            let path = if path.is_relative() {
                config
                    .source
                    .parent()
                    .map(|d| d.join(path))
                    .unwrap_or_else(|| path.clone())
            } else {
                path.clone()
            };
            Tokens::load(&path, &names)?
        }
        None => Tokens::none(),
    };
    let metrics = Arc::new(metrics::Metrics::new()?);
    let conv = |l: &[fox_config::LgSource]| {
        l.iter()
            .map(|s| source::Source {
                name: s.name.clone(),
                url: s.url.clone(),
            })
            .collect::<Vec<_>>()
    };
    let sources = Arc::new(source::Sources::new(
        conv(&settings.route_servers),
        conv(&settings.collectors),
        settings.cache,
        settings.timeout,
        Arc::clone(&metrics),
    ));
    Ok(Arc::new(Lg {
        exchange: config.exchange.name.clone(),
        members,
        sources,
        tokens,
        limiter: access::RateLimiter::new(
            settings.rate_limit.per_minute,
            settings.rate_limit.burst,
        ),
        metrics,
        trusted: settings.birdwatcher_allow.clone(),
        started: SystemTime::now(),
    }))
}

/// Runs `fox looking-glass`: binds the configured address and serves until `shutdown`
/// carries a message.
pub async fn run(
    config: fox_config::Config,
    mut shutdown: tokio::sync::watch::Receiver<Option<String>>,
) -> Result<(), StartError> {
    let settings = config.looking_glass_settings();
    let st = build(&config, &settings)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|error| StartError::Listen {
            addr: settings.listen,
            error,
        })?;
    tracing::info!(
        listen = %settings.listen,
        route_servers = settings.route_servers.len(),
        tokens = st.tokens.len(),
        "looking glass listening"
    );
    let stop = async move {
        while shutdown.borrow().is_none() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    server::serve(st, listener, stop)
        .await
        .map_err(StartError::Serve)
}
