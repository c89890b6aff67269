//! `siyu import` / `siyu export`. (Filled in by the import/export work.)

use clap::Subcommand;
use siyu_app::Settings;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import customers from CSV or XLSX.
    Customers { file: std::path::PathBuf },
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export customers to CSV or XLSX.
    Customers { file: std::path::PathBuf },
}

pub async fn import(_settings: Settings, _cmd: ImportCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet available")
}

pub async fn export(_settings: Settings, _cmd: ExportCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet available")
}
