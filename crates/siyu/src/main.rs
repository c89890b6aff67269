//! The siyu binary: `serve`, `worker`, `demo`, `migrate`, `import`, `export`, `bench`, `config`, `admin`, `archive`.

mod admin;
mod archive;
mod bench;
mod demo;
mod server;
mod transfer;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use siyu_app::Settings;

#[derive(Parser)]
#[command(name = "siyu", version, about = "私域客户运营平台 — private-domain customer operations")]
struct Cli {
    /// Configuration file (TOML) layered over the defaults; also SIYU_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL (sqlite://file.db or postgres://...); overrides database.url.
    #[arg(long, global = true, env = "SIYU_DATABASE__URL")]
    database_url: Option<String>,
    /// Log format: pretty or json; overrides log.format.
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the console and API (and /metrics on its own port).
    Serve {
        /// Address to listen on; overrides server.listen.
        #[arg(long)]
        listen: Option<String>,
        /// Do not run migrations at start.
        #[arg(long)]
        no_migrate: bool,
        /// Do not run the embedded background worker (imports and bulk jobs then need `siyu worker`).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run background jobs (add as many worker processes as you like).
    Worker,
    /// Seed a realistic demo brand into ./siyu-demo.db (reused if present) and serve it.
    Demo {
        /// Demo database file.
        #[arg(long, default_value = "siyu-demo.db")]
        file: PathBuf,
        /// Number of customers to seed.
        #[arg(long, default_value_t = 50_000)]
        customers: u32,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import data from CSV or XLSX files.
    #[command(subcommand)]
    Import(transfer::ImportCommand),
    /// Export data to CSV or XLSX files.
    #[command(subcommand)]
    Export(transfer::ExportCommand),
    /// Benchmarks that compare siyu with a peer on this machine.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Print or check configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administration: tenants, users, passwords.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Session archive (会话存档): ingest archived messages from a file.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration with every key.
    Default,
    /// Load and validate the effective configuration.
    Check,
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut s = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        s.database.url = url.clone();
    }
    if let Some(f) = &cli.log_format {
        s.log.format = f.clone();
    }
    s.check()?;
    Ok(s)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Config(ConfigCommand::Default) = cli.command {
        print!("{}", siyu_app::settings::DEFAULT_TOML);
        return Ok(());
    }
    let settings = settings(&cli)?;
    siyu_app::telemetry::init(&settings.log.format, &settings.log.filter);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve { listen, no_migrate, no_worker } => {
                let mut settings = settings;
                if let Some(l) = listen {
                    settings.server.listen = l;
                }
                let migrate = settings.database.migrate_on_start && !no_migrate;
                server::serve(settings, migrate, !no_worker).await
            }
            Command::Worker => server::worker(settings).await,
            Command::Demo { file, customers, listen, no_serve } => {
                demo::run(settings, &file, customers, &listen, no_serve).await
            }
            Command::Migrate => {
                let app = siyu_app::App::connect(settings, true).await?;
                println!("migrations applied ({:?})", app.store.kind());
                Ok(())
            }
            Command::Import(cmd) => transfer::import(settings, cmd).await,
            Command::Export(cmd) => transfer::export(settings, cmd).await,
            Command::Bench(cmd) => bench::run(settings, cmd).await,
            Command::Config(ConfigCommand::Check) => {
                println!("configuration ok: database {}", redact(&settings.database.url));
                Ok(())
            }
            Command::Config(ConfigCommand::Default) => Ok(()),
            Command::Admin(cmd) => admin::run(settings, cmd).await,
            Command::Archive(cmd) => archive::run(settings, cmd).await,
        }
    })
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
