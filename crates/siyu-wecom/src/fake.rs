//! A faithful fake WeCom server for tests and `siyu admin fake-wecom`: real HTTP under `/cgi-bin/`, the
//! official JSON shapes and errcodes (built with `json!`, independent of the client's types), access tokens
//! expiring on an injectable clock, per-(corp, path) frequency limits (45009), stable opaque cursors,
//! single-use 20 s welcome codes, and console-side hooks that push encrypted, signed callbacks to the corp's
//! callback URL with WeCom's three attempts. The contract is `shared/reference/wecom.md` (its §9 is the
//! checklist this module follows).
//!
//! ```ignore
//! let fake = FakeWecom::start(FakeConfig::default()).await?;
//! fake.add_corp(CorpSetup { corp_id: "ww1".into(), secrets: vec!["s".into()], ..Default::default() });
//! let client_base = fake.base_url(); // http://127.0.0.1:PORT/cgi-bin/
//! ```

mod archive;
mod clock;
mod config;
mod contacts;
mod group_welcome;
mod groups;
mod join_ways;
mod limits;
mod mass;
mod media;
mod messages;
mod moments;
mod oauth;
mod push;
mod request;
mod router;
mod staff;
mod state;
mod tags;
mod tokens;
mod transfers;
mod ways;
mod welcome;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::sync::watch;

pub use archive::{ARCHIVE_PAGE, ArchiveSetup};
pub use clock::FakeClock;
pub use config::FakeConfig;
pub use contacts::{Added, CustomerEdit, CustomerSetup, ImportedFollow};
pub use groups::CreatedGroup;
pub use join_ways::Joined;
pub use media::StoredMedia;
pub use messages::AppMessage;
pub use push::{Delivery, PushRecord};
pub use state::CorpSetup;
pub use tags::ConsoleTag;
pub use tokens::{IssuedTicket, TicketKind};
pub use ways::Scanned;
pub use welcome::DeliveredWelcome;

use state::{Corp, Env, State};

/// What a hook of the fake could not do.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    #[error("the fake knows no corp {0}")]
    UnknownCorp(String),
    #[error("the fake knows no {kind} {id}")]
    Unknown { kind: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot bind the fake: {0}")]
    Bind(#[from] std::io::Error),
    #[error("callback crypto: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("corp {0} has no callback url")]
    NoCallbackUrl(String),
    #[error("the callback URL check failed: HTTP {status}, body {body:?}, expected {expected:?}")]
    UrlCheck { status: u16, body: String, expected: String },
}

impl FakeError {
    pub(crate) fn unknown(kind: &'static str, id: &str) -> Self {
        Self::Unknown { kind, id: id.to_owned() }
    }
}

/// One API call the fake answered.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// The corp the token (or `corpid`) resolved to, if any.
    pub corp_id: Option<String>,
    /// The API path without `/cgi-bin/`, e.g. `externalcontact/get`.
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body (`{}` for GETs, `null` when unparsable).
    pub body: Value,
    pub errcode: i64,
    /// Fake time of the call.
    pub at: i64,
}

pub(crate) struct Inner {
    config: FakeConfig,
    clock: FakeClock,
    state: Mutex<State>,
    http: reqwest::Client,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts fake WeCom servers.
pub struct FakeWecom;

impl FakeWecom {
    /// Binds `config.bind` (127.0.0.1:0 by default) and serves until `FakeHandle::shutdown` or the end of
    /// the runtime.
    pub async fn start(config: FakeConfig) -> Result<FakeHandle, FakeError> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder().no_proxy().timeout(config.push_timeout).build()?;
        let (shutdown, mut stop) = watch::channel(false);
        let inner = Arc::new(Inner {
            clock: FakeClock::new(config.start_time),
            config,
            state: Mutex::new(State::default()),
            http,
            addr,
            shutdown,
        });
        let app = axum::Router::new()
            .route("/cgi-bin/{*path}", axum::routing::any(router::dispatch))
            .layer(axum::extract::DefaultBodyLimit::max(media::MAX_BODY_BYTES))
            .with_state(Arc::clone(&inner));
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let stopped = async move {
                while !*stop.borrow_and_update() {
                    if stop.changed().await.is_err() {
                        // Every handle is gone: keep serving until the runtime ends.
                        std::future::pending::<()>().await;
                    }
                }
            };
            if let Err(error) = axum::serve(listener, service).with_graceful_shutdown(stopped).await {
                tracing::warn!(%error, "fake wecom server stopped");
            }
        });
        Ok(FakeHandle { inner })
    }
}

/// A running fake WeCom: its address, clock, test hooks and logs. Cheap to clone.
#[derive(Clone)]
pub struct FakeHandle {
    inner: Arc<Inner>,
}

impl FakeHandle {
    /// The API base, e.g. `http://127.0.0.1:PORT/cgi-bin/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/cgi-bin/", self.inner.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The fake's clock; `clock().advance(7200)` expires the tokens.
    pub fn clock(&self) -> &FakeClock {
        &self.inner.clock
    }

    /// The settings the fake runs with.
    pub fn config(&self) -> &FakeConfig {
        &self.inner.config
    }

    /// Stops serving (pending requests finish).
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Adds (or replaces) a corp. The root department 1 exists from the start.
    pub fn add_corp(&self, setup: CorpSetup) {
        let corp_id = setup.corp_id.clone();
        self.lock().corps.insert(corp_id, Corp::new(setup));
    }

    /// Points `corp`'s callbacks at `url` (`None`: push nowhere, still recorded).
    pub fn set_callback_url(&self, corp: &str, url: Option<String>) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            c.setup.callback_url = url;
            Ok(())
        })
    }

    /// Every API call so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// How many calls `path` (`user/list` or `/cgi-bin/user/list`) received.
    pub fn calls(&self, path: &str) -> usize {
        let path = router::normalize(path);
        self.lock().log.iter().filter(|r| r.path == path).count()
    }

    /// Forces `errcode` (-1, 45033, 40014, ...) as the answer to the next `times` calls of `path`, before
    /// any other check.
    pub fn inject(&self, path: &str, errcode: i64, times: u32) {
        let path = router::normalize(path).to_owned();
        self.lock().injections.insert(path, limits::Injection { errcode, remaining: times });
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Runs `f` on `corp`'s data under the lock, after settling what the clock decided.
    pub(crate) fn with_corp<R>(
        &self,
        corp: &str,
        f: impl FnOnce(&mut Corp, Env<'_>) -> Result<R, FakeError>,
    ) -> Result<R, FakeError> {
        let env = Env { now: self.now(), config: &self.inner.config };
        let mut state = self.lock();
        let data = state.corps.get_mut(corp).ok_or_else(|| FakeError::UnknownCorp(corp.to_owned()))?;
        data.settle(env);
        f(data, env)
    }
}
