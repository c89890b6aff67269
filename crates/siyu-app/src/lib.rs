//! siyu's services (use cases), jobs and settings.
//!
//! [`App`] is the one handle the web layer and the CLI hold. Its methods are the use cases, grouped in
//! modules by domain noun (`customers`, `tags`, `auth`, ...). Every method that touches tenant data takes
//! an authenticated [`Actor`] and checks its permission and data scope itself: handlers never decide
//! access and never touch a pool.

pub mod activity;
pub mod actor;
pub mod aggregates;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod crypto;
pub mod customers;
pub mod error;
pub mod fields;
pub mod graph;
pub mod idempotency;
pub mod ingest;
pub mod jobs;
pub mod journeys;
pub mod links;
pub mod materials;
pub mod orders;
pub mod privacy;
pub mod radar;
pub mod scripts;
pub mod search;
pub mod seed;
pub mod segments;
pub mod settings;
pub mod sidebar;
pub mod stages;
pub mod tags;
pub mod tasks;
pub mod telemetry;
pub mod tenancy;
pub mod transfer;
pub mod values;
pub mod wecom;

use std::sync::Arc;

pub use actor::Actor;
pub use error::{AppError, AppResult, ErrorCode};
pub use settings::Settings;
pub use siyu_store::{BackendKind, Store};

use clock::{Clock, SystemClock};
use crypto::Vault;

/// Shared application state: cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub vault: Arc<Vault>,
    /// The group-commit writer of event ingestion, started on first use.
    pub ingest: Arc<ingest::IngestState>,
    pub wecom: Arc<wecom::Clients>,
    /// Compiled session-archive rules per tenant.
    pub rule_sets: Arc<archive::RuleSets>,
    /// Bearer tokens resolved in the last few seconds (`security.token_cache_secs`).
    pub token_cache: Arc<auth::TokenCache>,
    /// The tenants' full-text indexes of archived chats (a cache of the database).
    pub search: Arc<search::Indexes>,
    /// Where material files and thumbnails are kept (`storage.backend`).
    pub blobs: Arc<dyn materials::blobs::BlobStore>,
}

impl App {
    /// Connects to the configured database (running migrations if `migrate` is set).
    pub async fn connect(settings: Settings, migrate: bool) -> anyhow::Result<Self> {
        let opts = siyu_store::ConnectOptions {
            max_connections: settings.database.max_connections,
            ..siyu_store::ConnectOptions::new(&settings.database.url)
        };
        let store = Store::connect(&opts).await?;
        if migrate {
            store.migrate().await?;
        }
        Self::new(store, settings, Arc::new(SystemClock))
    }

    pub fn new(store: Store, settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let vault = Vault::new(&settings.master_key()?).map_err(|e| anyhow::anyhow!("{e}"))?;
        let search = search::Indexes::new(search::Location::new(&settings, &store));
        let blobs = materials::blobs::from_settings(&settings, &store)?;
        Ok(Self {
            store,
            settings: Arc::new(settings),
            clock,
            vault: Arc::new(vault),
            ingest: Arc::default(),
            wecom: Arc::default(),
            rule_sets: Arc::default(),
            token_cache: Arc::default(),
            search: Arc::new(search),
            blobs,
        })
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
