//! `fox`: the command line. Each subcommand is a thin call into a library crate.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "fox",
    version,
    about = "FOX route server, fabric collector and looking glass"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the exchange's YAML file and print every error with file:line.
    CheckConfig { file: PathBuf },
    /// Run one route server of the exchange.
    Routeserver {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
        /// Which route server of the file to run (default: the first).
        #[arg(long, short)]
        name: Option<String>,
    },
    /// Run the fabric collector (sFlow, member traffic matrix, hygiene, API).
    Collector {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn load_config(file: &std::path::Path) -> fox_config::Config {
    match fox_config::load(file) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            std::process::exit(1);
        }
    }
}

/// A shutdown signal: SIGTERM or Ctrl-C set a message for the Cease.
fn shutdown_on_signals() -> watch::Receiver<Option<String>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot install SIGTERM handler");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down");
        let _ = tx.send(Some("route server shutting down for maintenance".into()));
    });
    rx
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match fox_config::load(&file) {
            Ok(config) => {
                println!("{}", config.summary());
                Ok(())
            }
            Err(errors) => {
                eprintln!("{errors}");
                std::process::exit(1);
            }
        },
        Command::Routeserver { config, name } => {
            init_logging();
            let cfg = load_config(&config);
            let name = match name.or_else(|| cfg.route_servers.first().map(|r| r.name.clone())) {
                Some(n) => n,
                None => anyhow::bail!("{} defines no route server", config.display()),
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let shutdown = shutdown_on_signals();
                fox_routeserver::server::run(cfg, &name, shutdown).await
            })
        }
        Command::Collector { config } => {
            init_logging();
            let cfg = load_config(&config);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move { fox_collector::run(cfg, shutdown_on_signals()).await })
        }
    }
}
