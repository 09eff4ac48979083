//! `fox`: the command line. Each subcommand is a thin call into a library crate.

use std::path::PathBuf;

mod demo;
mod lab;
mod mrt_cli;

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
    /// The whole system on loopback: two route servers, the collector and four
    /// simulated members replaying real routes. No root, no external service.
    Demo {
        /// Working directory for the generated configuration and data (default: a temporary one).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Write the committed route sample from ../shared/data and exit.
        #[arg(long, hide = true)]
        make_sample: Option<PathBuf>,
    },
    /// Announce the routes of MRT files into a BGP session, as a member would.
    Replay(ReplayArgs),
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
    /// Run the looking glass (web UI and JSON API over the route servers).
    LookingGlass {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// The FOX lab (containerlab topology and lab/netns.sh), generated from the YAML file.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// The monthly service report from the history store (HTML, JSON or CSV).
    Report(ReportArgs),
    /// The ClickHouse flow archive (`collector: clickhouse:` in the YAML file).
    Clickhouse {
        #[command(subcommand)]
        command: ClickhouseCommand,
    },
    /// MRT (RFC 6396) exports of a running route server.
    Mrt {
        #[command(subcommand)]
        command: MrtCommand,
    },
}

#[derive(Subcommand)]
enum MrtCommand {
    /// Fetch the route server's RIB as a TABLE_DUMP_V2 file now (admin API `/api/v1/mrt`).
    Dump {
        /// The route server's admin API, e.g. http://127.0.0.1:8081.
        #[arg(long)]
        api: String,
        /// File to write (gzip when it ends in `.gz`).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum LabCommand {
    /// Write the lab's configurations (route servers, collector, looking glass, member
    /// routers), the containerlab topology and the netns plan into a directory.
    Render {
        /// The exchange's YAML file.
        #[arg(long, short, default_value = "configs/fox.yaml")]
        config: PathBuf,
        /// RPSL route objects the member routers announce from.
        #[arg(long, default_value = lab::SAMPLE)]
        sample: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The month, YYYY-MM (in the time zone).
    #[arg(long)]
    month: String,
    /// Only this site.
    #[arg(long)]
    site: Option<String>,
    /// Only this member (name or ASN).
    #[arg(long)]
    member: Option<String>,
    /// html, json or csv.
    #[arg(long, default_value = "html")]
    format: fox_report::cli::Format,
    /// The exchange's YAML file.
    #[arg(long, short)]
    config: PathBuf,
    /// The history store (default: `history.path` of the YAML file).
    #[arg(long)]
    store: Option<PathBuf>,
    /// IANA time zone the month is cut in (default: `history.time_zone`, Asia/Taipei).
    #[arg(long)]
    time_zone: Option<String>,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ClickhouseCommand {
    /// Create the archive's database and table (safe to run again).
    Init {
        /// The exchange's YAML file.
        #[arg(long, short)]
        config: PathBuf,
        /// Print the SQL instead of running it.
        #[arg(long)]
        print: bool,
    },
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// MRT files (TABLE_DUMP_V2 or BGP4MP, .gz/.bz2 allowed).
    #[arg(long = "mrt", required = true)]
    mrt: Vec<PathBuf>,
    /// Route server address:port to connect to.
    #[arg(long)]
    connect: std::net::SocketAddr,
    /// Route server ASN.
    #[arg(long)]
    remote_as: u32,
    /// Our ASN (prepended to every path that does not start with it).
    #[arg(long = "as")]
    local_as: u32,
    /// Source address of the session (must be the member's address in the config).
    #[arg(long)]
    local_address: Option<std::net::IpAddr>,
    /// BGP identifier (default: the source address, or 192.0.2.254).
    #[arg(long)]
    router_id: Option<std::net::Ipv4Addr>,
    /// IPv4 next hop (default: the IPv4 source address); IPv4 routes are skipped without one.
    #[arg(long)]
    next_hop: Option<std::net::Ipv4Addr>,
    /// IPv6 next hop; IPv6 routes are skipped without one.
    #[arg(long)]
    next_hop6: Option<std::net::Ipv6Addr>,
    /// Replay only the routes of the peer with this address or ASN in the file.
    #[arg(long)]
    peer: Option<String>,
    /// Keep only routes whose path contains one of these ASNs, cut to start there.
    #[arg(long, value_delimiter = ',')]
    via: Vec<u32>,
    /// At most this many prefixes.
    #[arg(long)]
    limit: Option<usize>,
    /// Routes per second at most.
    #[arg(long)]
    rate: Option<u32>,
    /// Close the session once everything is sent instead of keeping it open.
    #[arg(long)]
    exit: bool,
    /// TCP-AO key (RFC 5925) `send_id:recv_id:algorithm:secret`, algorithm one of
    /// hmac(sha1), hmac(sha256), cmac(aes128); repeat for more keys; the first is current.
    #[arg(long = "tcp-ao-key", value_parser = parse_ao_key)]
    tcp_ao_keys: Vec<fox_routeserver::session::tcp_ao::AoKey>,
    /// Key rollover: this many seconds after Established switch to the last --tcp-ao-key
    /// (current and RNext), and as long again later delete the other keys.
    #[arg(long = "tcp-ao-switch-after")]
    tcp_ao_switch_after: Option<u64>,
}

/// `send_id:recv_id:algorithm:secret` of `fox replay --tcp-ao-key`.
fn parse_ao_key(s: &str) -> Result<fox_routeserver::session::tcp_ao::AoKey, String> {
    s.parse()
}

/// `fox replay --tcp-ao-switch-after`: switch the session to the last key,
/// then delete the others.
async fn ao_rollover(
    fd: std::os::fd::OwnedFd,
    peer: std::net::IpAddr,
    keys: Vec<fox_routeserver::session::tcp_ao::AoKey>,
    after: std::time::Duration,
) {
    use fox_routeserver::session::tcp_ao;
    let Some(new) = keys.last() else { return };
    tokio::time::sleep(after).await;
    match tcp_ao::set_current(&fd, Some(new.send_id), Some(new.recv_id)) {
        Ok(()) => {
            tracing::info!(
                key = new.send_id,
                rnext = new.recv_id,
                "TCP-AO: switched to the new key"
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "TCP-AO: cannot switch to the new key");
            return;
        }
    }
    tokio::time::sleep(after).await;
    for k in &keys[..keys.len() - 1] {
        match tcp_ao::del_key(&fd, peer, k.send_id, k.recv_id) {
            Ok(()) => tracing::info!(key = k.send_id, "TCP-AO: old key deleted"),
            Err(e) => {
                tracing::warn!(key = k.send_id, error = %e, "TCP-AO: cannot delete the old key")
            }
        }
    }
    if let Ok(i) = tcp_ao::info(&fd) {
        tracing::info!(current = ?i.current_key, rnext = ?i.rnext, good = i.good, bad = i.bad, key_not_found = i.key_not_found, "TCP-AO counters");
    }
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

/// Logging for the demo: warnings only, so the tour stays readable
/// (RUST_LOG overrides).
fn init_logging_quiet() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
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

/// SIGHUP asks the route server to read its configuration file again.
fn reload_on_sighup() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot install SIGHUP handler: no configuration reload");
                return;
            }
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: configuration reload requested");
            // One reload pending is enough: a burst of signals is one reload.
            let _ = tx.try_send(());
        }
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
        Command::Demo {
            make_sample: Some(out),
            ..
        } => demo::make_sample(&out, 1500),
        Command::Demo { dir, .. } => {
            init_logging_quiet();
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move { demo::run(dir, shutdown_on_signals()).await })
        }
        Command::Replay(args) => {
            init_logging();
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(replay(args))
        }
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
                let reloads = reload_on_sighup();
                fox_routeserver::server::run_with_reload(cfg, &name, shutdown, reloads).await
            })
        }
        Command::Collector { config } => {
            init_logging();
            let cfg = load_config(&config);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move { fox_collector::run(cfg, shutdown_on_signals()).await })
        }
        Command::Lab {
            command:
                LabCommand::Render {
                    config,
                    sample,
                    out,
                },
        } => {
            let written = lab::render(&config, &sample, &out)?;
            println!(
                "fox lab render: {} files in {}",
                written.len(),
                out.display()
            );
            Ok(())
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
        Command::Report(a) => {
            let cfg = load_config(&a.config);
            let req = fox_report::cli::Request {
                month: a.month,
                time_zone: a.time_zone,
                site: a.site,
                member: a.member,
                format: a.format,
                store: a.store,
            };
            let text = fox_report::cli::run(&cfg, &req)?;
            match a.output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
                None => {
                    use std::io::Write;
                    let _ = std::io::stdout().write_all(text.as_bytes());
                }
            }
            Ok(())
        }
        Command::Clickhouse {
            command: ClickhouseCommand::Init { config, print },
        } => {
            let cfg = load_config(&config);
            let Some(ch) = cfg.collector.clickhouse else {
                anyhow::bail!(
                    "{} has no `collector: clickhouse:` section",
                    config.display()
                );
            };
            use fox_collector::archive;
            if print {
                println!(
                    "{};\n{};",
                    archive::create_database_sql(&ch),
                    archive::create_table_sql(&ch)
                );
                return Ok(());
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(archive::init(&ch))?;
            println!("{}.{} ready at {}", ch.database, ch.table, ch.url);
            Ok(())
        }
        Command::Mrt {
            command: MrtCommand::Dump { api, out },
        } => {
            let (records, entries) = mrt_cli::dump(&api, &out)?;
            println!(
                "{}: {records} MRT records, {entries} RIB entries",
                out.display()
            );
            Ok(())
        }
    }
}

async fn replay(a: ReplayArgs) -> anyhow::Result<()> {
    use fox_routeserver::replay::{self, PeerSelect, ReplayConfig, Speaker};
    let select = match &a.peer {
        None => PeerSelect::All,
        Some(p) => match p.parse::<std::net::IpAddr>() {
            Ok(ip) => PeerSelect::Address(ip),
            Err(_) => PeerSelect::Asn(
                p.trim_start_matches("AS")
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--peer {p}: neither an address nor an ASN"))?,
            ),
        },
    };
    let v4_source = match a.local_address {
        Some(std::net::IpAddr::V4(v4)) => Some(v4),
        _ => None,
    };
    let cfg = ReplayConfig {
        mrt: a.mrt,
        select,
        via: a.via,
        limit: a.limit,
        local_asn: a.local_as,
        local_address: a.local_address,
        router_id: a
            .router_id
            .or(v4_source)
            .unwrap_or(std::net::Ipv4Addr::new(192, 0, 2, 254)),
        next_hop_v4: a.next_hop.or(v4_source),
        next_hop_v6: a.next_hop6,
        remote: a.connect,
        remote_asn: a.remote_as,
        rate: a.rate,
        hold_time: 90,
    };
    if a.tcp_ao_switch_after.is_some() && a.tcp_ao_keys.len() < 2 {
        anyhow::bail!("--tcp-ao-switch-after needs at least two --tcp-ao-key");
    }
    let started = std::time::Instant::now();
    let prepared = replay::prepare(&cfg)?;
    tracing::info!(
        prefixes = prepared.prefixes,
        attribute_sets = prepared.groups.len(),
        seconds = started.elapsed().as_secs_f64(),
        "routes loaded"
    );
    let mut speaker = Speaker::connect_with_ao(&cfg, &a.tcp_ao_keys).await?;
    tracing::info!(peer = %cfg.remote, tcp_ao = !a.tcp_ao_keys.is_empty(), "session established");
    if let Some(secs) = a.tcp_ao_switch_after {
        use std::os::fd::AsFd;
        let fd = speaker.stream().as_fd().try_clone_to_owned()?;
        tokio::spawn(ao_rollover(
            fd,
            cfg.remote.ip(),
            a.tcp_ao_keys.clone(),
            std::time::Duration::from_secs(secs),
        ));
    }
    let sending = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    speaker
        .announce(&prepared, cfg.rate, |p| {
            if last.elapsed().as_secs() >= 1 {
                last = std::time::Instant::now();
                tracing::info!(sent = p.sent, total = p.total, "replaying");
            }
        })
        .await?;
    let secs = sending.elapsed().as_secs_f64();
    tracing::info!(
        sent = prepared.prefixes,
        seconds = secs,
        rate = (prepared.prefixes as f64 / secs.max(1e-9)) as u64,
        "all routes sent"
    );
    if a.exit {
        return Ok(());
    }
    speaker
        .hold_open(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
