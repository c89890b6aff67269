//! Settings: embedded `config/default.toml` → optional file → `SIYU_SECTION__KEY` environment variables.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The embedded defaults; `siyu config default` prints them.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub worker: WorkerSettings,
    pub ingest: IngestSettings,
    pub wecom: WecomSettings,
    pub search: SearchSettings,
    pub storage: StorageSettings,
    pub materials: MaterialSettings,
    pub sidebar: SidebarSettings,
    pub webhooks: WebhookSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub metrics_listen: String,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub master_key: SecretString,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub login_max_failures: i64,
    pub login_window_minutes: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub idempotency_hours: i64,
    /// Seconds a node keeps what a bearer token resolved to (0: resolve on every request).
    pub token_cache_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub poll_ms: u64,
    pub lease_secs: i64,
    pub batch_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    pub commit_window_ms: u64,
    pub commit_max_events: usize,
    pub queue_requests: usize,
    pub events_per_minute_per_source: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomSettings {
    pub api_base: String,
    pub public_url: String,
    pub quota_per_minute: u32,
    pub quota_per_hour: u32,
    pub shared_limiter: bool,
    pub max_inline_wait_ms: u64,
    pub timeout_secs: u64,
    /// Hours between full syncs of a corp (the reconciliation that repairs drift); 0: never by itself.
    pub reconcile_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Where the tenants' full-text indexes live, one directory per tenant. Empty: next to a SQLite
    /// database file (`<file>.search`), in memory otherwise (rebuilt from the database when a process starts).
    pub dir: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let journey webhooks call loopback, private and link-local addresses (off: only the public internet).
    pub allow_private_networks: bool,
}

/// Where uploaded files (material files and thumbnails) are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// `local` (a directory) or `s3` (any S3-compatible object store).
    pub backend: String,
    /// `local`: the directory. Empty: beside the SQLite database file (`<file>.blobs`), else `./siyu-blobs`.
    pub dir: String,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// e.g. `https://s3.cn-north-1.amazonaws.com.cn` or `http://127.0.0.1:9000` (path-style requests).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: SecretString,
    pub timeout_secs: u64,
}

/// The material library's upload limits, in bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialSettings {
    pub image_max_bytes: u64,
    pub video_max_bytes: u64,
    pub file_max_bytes: u64,
}

impl MaterialSettings {
    pub fn limits(&self) -> siyu_domain::material::Limits {
        siyu_domain::material::Limits {
            image_bytes: self.image_max_bytes,
            video_bytes: self.video_max_bytes,
            file_bytes: self.file_max_bytes,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidebarSettings {
    /// Let anyone open the staff sidebar in a normal browser as a staff member they pick (`/sidebar?dev=1`).
    /// Off in `serve`; `siyu demo` turns it on. Signed-in console users may use it either way.
    pub dev_identity: bool,
    /// How long a sidebar sign-in lasts, in hours.
    pub session_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: String,
    pub filter: String,
}

impl Settings {
    /// Loads the layers; `file` is the optional `--config` path.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut b =
            config::Config::builder().add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("SIYU_CONFIG").map(Into::into));
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).required(true));
        }
        // Only `SIYU_SECTION__KEY` variables are settings; others (`SIYU_CONFIG`, the test suite's
        // `SIYU_TEST_DATABASE_URL`) are not, and would be refused as unknown fields.
        let vars: config::Map<String, String> =
            std::env::vars().filter(|(k, _)| k.strip_prefix("SIYU_").is_some_and(|rest| rest.contains("__"))).collect();
        b = b.add_source(
            config::Environment::with_prefix("SIYU")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let s: Settings = b.build()?.try_deserialize()?;
        s.check()?;
        Ok(s)
    }

    /// The defaults alone (tests and tools).
    pub fn defaults() -> anyhow::Result<Self> {
        let s: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        Ok(s)
    }

    /// Validates values that types alone cannot (`siyu config check` runs this).
    pub fn check(&self) -> anyhow::Result<()> {
        let key = self.master_key()?;
        anyhow::ensure!(key.len() == 32, "security.master_key must be 64 hex characters");
        anyhow::ensure!(
            self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"),
            "database.url must start with sqlite: or postgres://"
        );
        anyhow::ensure!(self.security.session_idle_minutes > 0, "security.session_idle_minutes must be positive");
        anyhow::ensure!(
            (0..=300).contains(&self.security.token_cache_secs),
            "security.token_cache_secs must be between 0 and 300"
        );
        anyhow::ensure!(self.security.session_absolute_hours > 0, "security.session_absolute_hours must be positive");
        anyhow::ensure!(self.security.login_max_failures > 0, "security.login_max_failures must be positive");
        anyhow::ensure!(self.worker.batch_size > 0, "worker.batch_size must be positive");
        anyhow::ensure!(self.sidebar.session_hours > 0, "sidebar.session_hours must be positive");
        anyhow::ensure!(
            matches!(self.storage.backend.as_str(), "local" | "s3"),
            "storage.backend must be \"local\" or \"s3\""
        );
        if self.storage.backend == "s3" {
            let s3 = &self.storage.s3;
            anyhow::ensure!(
                s3.endpoint.starts_with("http://") || s3.endpoint.starts_with("https://"),
                "storage.s3.endpoint must be an http(s) URL"
            );
            anyhow::ensure!(!s3.bucket.is_empty() && !s3.access_key.is_empty(), "storage.s3 needs a bucket and keys");
        }
        anyhow::ensure!(
            self.materials.image_max_bytes > 0
                && self.materials.video_max_bytes > 0
                && self.materials.file_max_bytes > 0,
            "materials.*_max_bytes must be positive"
        );
        anyhow::ensure!(self.wecom.api_base.ends_with('/'), "wecom.api_base must end with /");
        anyhow::ensure!(
            self.wecom.quota_per_minute > 0 && self.wecom.quota_per_hour > 0,
            "wecom quotas must be positive"
        );
        anyhow::ensure!(self.ingest.commit_window_ms <= 1000, "ingest.commit_window_ms must be at most 1000");
        anyhow::ensure!(self.ingest.commit_max_events > 0, "ingest.commit_max_events must be positive");
        anyhow::ensure!(self.ingest.queue_requests > 0, "ingest.queue_requests must be positive");
        anyhow::ensure!(
            self.ingest.events_per_minute_per_source > 0,
            "ingest.events_per_minute_per_source must be positive"
        );
        anyhow::ensure!(matches!(self.log.format.as_str(), "pretty" | "json"), "log.format must be pretty or json");
        self.server.listen.parse::<std::net::SocketAddr>().map_err(|e| anyhow::anyhow!("server.listen: {e}"))?;
        self.server
            .metrics_listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("server.metrics_listen: {e}"))?;
        Ok(())
    }

    pub fn master_key(&self) -> anyhow::Result<Vec<u8>> {
        Ok(hex::decode(self.security.master_key.expose_secret().trim())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_valid() {
        let s = Settings::defaults().unwrap();
        s.check().unwrap();
        assert_eq!(s.database.url, "sqlite://siyu.db");
    }
}
