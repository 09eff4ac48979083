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
    /// IRR tools.
    Irr {
        #[command(subcommand)]
        command: IrrCommand,
    },
    /// Run one route server of the exchange.
    Routeserver {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
        /// Which route server of the file to run (default: the first).
        #[arg(long, short)]
        name: Option<String>,
    },
    /// Run the looking glass (web UI and JSON API over the route servers).
    LookingGlass {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum IrrCommand {
    /// Expand an AS-SET from RPSL dumps and print its ASNs (and prefixes), as bgpq4 would.
    Expand {
        /// The AS-SET (or a single ASN), e.g. AS-TANET or RIPE::AS-FOO.
        as_set: String,
        /// RPSL dump files (gzip allowed); repeat for several.
        #[arg(long = "irr", required = true)]
        files: Vec<PathBuf>,
        /// Also print the route/route6 prefixes of the expanded ASNs.
        #[arg(long)]
        prefixes: bool,
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
                use std::io::Write;
                // A closed pipe (`| head`) is not an error worth a panic.
                let _ = writeln!(std::io::stdout(), "{}", config.summary());
                Ok(())
            }
            Err(errors) => {
                eprintln!("{errors}");
                std::process::exit(1);
            }
        },
        Command::Irr {
            command:
                IrrCommand::Expand {
                    as_set,
                    files,
                    prefixes,
                },
        } => match fox_routeserver::irr::expand_cli(&as_set, &files, prefixes) {
            Ok(text) => {
                use std::io::Write;
                let _ = write!(std::io::stdout(), "{text}");
                Ok(())
            }
            Err(e) => {
                eprintln!("fox irr expand: {e}");
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
        Command::LookingGlass { config } => {
            init_logging();
            let cfg = load_config(&config);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let shutdown = shutdown_on_signals();
                fox_looking_glass::run(cfg, shutdown).await
            })?;
            Ok(())
        }
    }
}
