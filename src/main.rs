//! `fox`: the command line. Each subcommand is a thin call into a library crate.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "fox", version, about = "FOX route server, fabric collector and looking glass")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the exchange's YAML file and print every error with file:line.
    CheckConfig { file: std::path::PathBuf },
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
    }
}
