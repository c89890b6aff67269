//! `siyu bench`: benchmarks against a peer on this machine. (Filled in by the benchmark work.)

use clap::Subcommand;
use siyu_app::Settings;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Customer profile GET and customer list on SQLite, against a bare axum handler.
    Api,
}

pub async fn run(_settings: Settings, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Api => anyhow::bail!("not yet available"),
    }
}
