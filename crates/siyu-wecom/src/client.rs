//! The HTTP client: one access token per (corp, secret) with single-flight refresh, the shared rate limiter
//! before every call, and the errcode policy of reference/wecom.md §1 and §3.
//!
//! What the client retries by itself: an invalid or expired token (refresh, then retry once) and a busy
//! WeCom (-1, 45033; up to three attempts with a short jittered backoff). What it hands back to the caller:
//! 45009 (after blocking the path in the limiter for WeCom's window), permission and input errors, and a
//! limiter wait longer than [`ClientConfig::max_inline_wait`]: jobs persist their cursor and come back later
//! rather than hold a worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ErrorClass, WecomError};
use crate::limiter::RateLimiter;

/// Where and how to call WeCom.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://qyapi.weixin.qq.com/cgi-bin/` in production; the fake's URL in tests. Ends with `/`.
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The longest the client waits in line for rate budget before handing back `Throttled`.
    pub max_inline_wait: Duration,
    /// How long before its expiry a token is refreshed.
    pub refresh_early: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: "https://qyapi.weixin.qq.com/cgi-bin/".into(),
            timeout: Duration::from_secs(10),
            max_inline_wait: Duration::from_secs(2),
            refresh_early: Duration::from_secs(300),
        }
    }
}

/// One secret of one corp: each app and special secret (客户联系, 通讯录同步) has its own token.
#[derive(Clone, PartialEq, Eq)]
pub struct CorpCredentials {
    pub corp_id: String,
    pub secret: String,
    /// The self-built app's agent id, for app messages and tag edits.
    pub agent_id: Option<i64>,
}

impl std::fmt::Debug for CorpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorpCredentials")
            .field("corp_id", &self.corp_id)
            .field("secret", &"***")
            .field("agent_id", &self.agent_id)
            .finish()
    }
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    refresh_at: Instant,
}

type TokenKey = (String, String);

/// A request body with its content type.
struct Payload {
    bytes: Vec<u8>,
    content_type: String,
}

/// The WeCom API client. Cheap to clone; clones share the token cache and the limiter.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    tokens: Arc<Mutex<HashMap<TokenKey, CachedToken>>>,
    refreshing: Arc<Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>>,
    limiter: Arc<dyn RateLimiter>,
    tickets: Arc<crate::jsapi::TicketCache>,
}

impl Client {
    /// A client over `limiter` (in process, or the store-backed one shared by every node).
    pub fn new(config: ClientConfig, limiter: Arc<dyn RateLimiter>) -> Result<Self, WecomError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| WecomError::Transport { path: String::new(), message: e.to_string() })?;
        Ok(Client {
            http,
            config: Arc::new(config),
            tokens: Arc::default(),
            refreshing: Arc::default(),
            limiter,
            tickets: Arc::default(),
        })
    }

    /// The JS-SDK tickets this client (and its clones) hold.
    pub(crate) fn tickets(&self) -> &crate::jsapi::TicketCache {
        &self.tickets
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// A GET on `path` (relative to the base URL) with `query`, the token added.
    pub async fn get<T: DeserializeOwned>(
        &self,
        creds: &CorpCredentials,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, WecomError> {
        self.call(creds, path, query, None).await
    }

    /// A POST of `body` as JSON on `path`, the token added.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        creds: &CorpCredentials,
        path: &str,
        body: &B,
    ) -> Result<T, WecomError> {
        let body = serde_json::to_vec(body).map_err(|e| WecomError::Invalid(e.to_string()))?;
        let payload = Payload { bytes: body, content_type: "application/json; charset=utf-8".into() };
        self.call(creds, path, &[], Some(payload)).await
    }

    /// A POST of a `multipart/form-data` body (built by the caller, boundary in `content_type`) on `path`
    /// with `query`, the token added (`media/upload`).
    pub async fn post_multipart<T: DeserializeOwned>(
        &self,
        creds: &CorpCredentials,
        path: &str,
        query: &[(&str, String)],
        content_type: String,
        body: Vec<u8>,
    ) -> Result<T, WecomError> {
        self.call(creds, path, query, Some(Payload { bytes: body, content_type })).await
    }

    /// Checks the credentials: fetches a fresh token (the console's "test connection").
    pub async fn check(&self, creds: &CorpCredentials) -> Result<(), WecomError> {
        self.forget_token(creds, None);
        self.token(creds).await.map(|_| ())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        creds: &CorpCredentials,
        path: &str,
        query: &[(&str, String)],
        body: Option<Payload>,
    ) -> Result<T, WecomError> {
        let mut auth_retried = false;
        let mut busy_attempts = 0u32;
        loop {
            self.wait_for_budget(&creds.corp_id, path).await?;
            let token = self.token(creds).await?;
            let reply = self.send(path, &token, query, body.as_ref()).await?;
            let errcode = reply.get("errcode").and_then(Value::as_i64).unwrap_or(0);
            if errcode == 0 {
                return serde_json::from_value(reply)
                    .map_err(|e| WecomError::Decode { path: path.into(), message: e.to_string() });
            }
            let error = api_error(path, errcode, &reply);
            match error.class() {
                ErrorClass::Auth if !auth_retried => {
                    auth_retried = true;
                    self.forget_token(creds, Some(&token));
                }
                ErrorClass::Retryable if busy_attempts < 2 => {
                    busy_attempts += 1;
                    tokio::time::sleep(backoff(busy_attempts)).await;
                }
                ErrorClass::RateLimited if errcode == 45033 && busy_attempts < 2 => {
                    busy_attempts += 1;
                    tokio::time::sleep(backoff(busy_attempts)).await;
                }
                ErrorClass::RateLimited => {
                    metrics::counter!("siyu_wecom_rate_limited_total").increment(1);
                    self.limiter.block(&creds.corp_id, path, Duration::from_secs(60)).await;
                    return Err(error);
                }
                _ => return Err(error),
            }
        }
    }

    async fn wait_for_budget(&self, corp: &str, path: &str) -> Result<(), WecomError> {
        let deadline = Instant::now() + self.config.max_inline_wait;
        loop {
            match self.limiter.acquire(corp, path).await {
                Ok(()) => return Ok(()),
                Err(wait) if Instant::now() + wait <= deadline => tokio::time::sleep(wait).await,
                Err(wait) => {
                    return Err(WecomError::Throttled { path: path.into(), wait });
                }
            }
        }
    }

    async fn send(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, String)],
        body: Option<&Payload>,
    ) -> Result<Value, WecomError> {
        let url = format!("{}{}", self.config.base_url, path);
        let mut params: Vec<(&str, &str)> = Vec::with_capacity(query.len() + 1);
        params.push(("access_token", token));
        params.extend(query.iter().map(|(k, v)| (*k, v.as_str())));
        let request = match body {
            Some(body) => self.http.post(&url).header("content-type", &body.content_type).body(body.bytes.clone()),
            None => self.http.get(&url),
        };
        read_reply(path, request.query(&params)).await
    }

    /// The cached token of `creds`, or a fresh one (one refresh at a time per secret).
    async fn token(&self, creds: &CorpCredentials) -> Result<String, WecomError> {
        let key = (creds.corp_id.clone(), creds.secret.clone());
        if let Some(token) = self.cached(&key) {
            return Ok(token);
        }
        let gate = {
            let mut refreshing = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
            refreshing.entry(key.clone()).or_default().clone()
        };
        let _turn = gate.lock().await;
        if let Some(token) = self.cached(&key) {
            return Ok(token);
        }
        let path = "gettoken";
        let request = self
            .http
            .get(format!("{}{path}", self.config.base_url))
            .query(&[("corpid", creds.corp_id.as_str()), ("corpsecret", creds.secret.as_str())]);
        let reply = read_reply(path, request).await?;
        let errcode = reply.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        if errcode != 0 {
            return Err(api_error(path, errcode, &reply));
        }
        let token = reply
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WecomError::Decode { path: path.into(), message: "no access_token".into() })?
            .to_owned();
        let expires_in = reply.get("expires_in").and_then(Value::as_u64).unwrap_or(7200);
        let lifetime = Duration::from_secs(expires_in).saturating_sub(self.config.refresh_early);
        metrics::counter!("siyu_wecom_token_refreshes_total").increment(1);
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.insert(key, CachedToken { token: token.clone(), refresh_at: Instant::now() + lifetime });
        Ok(token)
    }

    fn cached(&self, key: &TokenKey) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(key).filter(|t| t.refresh_at > Instant::now()).map(|t| t.token.clone())
    }

    /// Drops the cached token of `creds` if it is still `used` (another caller may have refreshed it).
    fn forget_token(&self, creds: &CorpCredentials, used: Option<&str>) {
        let key = (creds.corp_id.clone(), creds.secret.clone());
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if used.is_none() || tokens.get(&key).map(|t| t.token.as_str()) == used {
            tokens.remove(&key);
        }
    }
}

async fn read_reply(path: &str, request: reqwest::RequestBuilder) -> Result<Value, WecomError> {
    let transport = |e: reqwest::Error| WecomError::Transport { path: path.into(), message: e.to_string() };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(WecomError::Transport { path: path.into(), message: format!("HTTP {status}") });
    }
    let bytes = response.bytes().await.map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| WecomError::Decode { path: path.into(), message: e.to_string() })
}

fn api_error(path: &str, errcode: i64, reply: &Value) -> WecomError {
    WecomError::Api {
        path: path.into(),
        errcode,
        errmsg: reply.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned(),
    }
}

/// 100 ms, 200 ms, ... with up to 50 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(5);
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base + jitter)
}
