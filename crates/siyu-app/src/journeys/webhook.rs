//! The `webhook` channel (reference/journeys.md §3): a journey's webhook node POSTs JSON about the customer's
//! step to the node's URL, signed with the tenant's secret, with the step's dedupe key as the
//! `Idempotency-Key`, so a receiver that saw a delivery before can tell a retry from a new call.
//!
//! The body is `{journey, node, customer: {id, gender, source, created_at}, dedupe_key, at}` (no names or
//! phone numbers). `X-Siyu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
//! tenant's webhook secret (created on first use, shown to admins, rotated by them).
//!
//! Outcomes: 2xx is delivered (`sent`); a 3xx or a 4xx other than 408 and 429 will not get better and is
//! dead-lettered at once (`failed`, `dead_letter: true`); a 5xx, 408, 429, a timeout or a network error is
//! retried with exponential backoff (the outbox row stays pending with its attempts counted and its next
//! attempt moved on) until `MAX_ATTEMPTS`, then dead-lettered. A dead letter goes back in the queue only
//! by hand. The row is claimed before the call (its next attempt moved past the call's timeout), so two
//! dispatchers never post it at once, and a crash after the receiver answered only repeats the same
//! idempotency key.

use std::sync::OnceLock;

use chrono::Duration;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;
use siyu_domain::access::Permission;
use siyu_domain::id::TenantId;
use siyu_store::journeys::OutboxItem;

use super::egress;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Attempts before a row is dead-lettered.
pub const MAX_ATTEMPTS: i64 = 6;
/// The wait after the first failed attempt; each further one doubles it (1, 2, 4, 8, 16 minutes).
pub const FIRST_BACKOFF: Duration = Duration::minutes(1);
/// How long one call may take.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a claimed row stays out of other dispatchers' reach (well past the call's timeout).
const CLAIM: Duration = Duration::minutes(2);
pub const SIGNATURE_HEADER: &str = "X-Siyu-Signature";

/// The signature header's value for a body sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before the next attempt after `failed` failed attempts (1, 2, 4, ... times the first backoff).
pub fn backoff(failed: i64) -> Duration {
    FIRST_BACKOFF * 2_i32.pow(failed.clamp(1, 11) as u32 - 1)
}

/// Whether a webhook node may call `url`: an absolute `http` or `https` URL with a host. The problem, if not.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("scheme {} (http or https only)", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(())
}

/// What one call came to.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Delivered(u16),
    /// Will not get better by retrying.
    Permanent(String),
    /// May: try again later.
    Transient(String),
}

fn classify(r: Result<reqwest::Response, reqwest::Error>) -> Outcome {
    match r {
        Ok(res) => {
            let code = res.status().as_u16();
            match code {
                200..=299 => Outcome::Delivered(code),
                408 | 429 | 500..=599 => Outcome::Transient(format!("http {code}")),
                _ => Outcome::Permanent(format!("http {code}")),
            }
        }
        Err(e) if e.is_timeout() => Outcome::Transient("timeout".into()),
        Err(e) if e.is_builder() => Outcome::Permanent(format!("bad request: {e}")),
        // The egress guard refused every address of the host: retrying will not change where it points.
        Err(e) if error_chain(&e).contains(egress::BLOCKED) => Outcome::Permanent(error_chain(&e)),
        Err(e) => Outcome::Transient(format!("network: {e}")),
    }
}

/// An error with its causes, `: `-joined (reqwest's own message leaves the resolver's reason out).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

static PUBLIC_CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
static OPEN_CLIENT: OnceLock<reqwest::Client> = OnceLock::new();

/// The webhook client: one that only connects to public addresses ([`egress`]), or, with
/// `allow_private_networks`, one that connects anywhere.
fn client(allow_private: bool) -> AppResult<&'static reqwest::Client> {
    let cell = if allow_private { &OPEN_CLIENT } else { &PUBLIC_CLIENT };
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("siyu-webhook/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(std::sync::Arc::new(egress::PublicOnly));
    }
    let c = builder.build().map_err(AppError::internal)?;
    Ok(cell.get_or_init(|| c))
}

/// Why `url` may not be called under the egress guard, if it may not (an internal address written out).
fn refused(url: &str, allow_private: bool) -> Option<String> {
    let ip = egress::literal_ip(&reqwest::Url::parse(url).ok()?)?;
    (!allow_private && egress::is_blocked(ip)).then(|| format!("{}: {ip}", egress::BLOCKED))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

impl App {
    /// Delivers one webhook row (see the module documentation).
    pub(crate) async fn deliver_webhook(&self, tenant: TenantId, item: &OutboxItem, url: &str) -> AppResult<()> {
        let journeys = self.store.journeys();
        let now = self.now();
        let Some(attempts) = journeys.claim_outbox(tenant, item.id, now, now + CLAIM).await? else {
            return Ok(());
        };
        let Some(c) = self.delivery_customer(tenant, item).await? else { return Ok(()) };
        let body = json!({
            "journey": item.journey_id,
            "node": item.node,
            "customer": {"id": c.id, "gender": c.gender.as_str(), "source": c.source, "created_at": c.created_at},
            "dedupe_key": item.dedupe_key,
            "at": now,
        });
        let body = serde_json::to_vec(&body).map_err(AppError::internal)?;
        let secret = self.tenant_webhook_secret(tenant).await?;
        let allow_private = self.settings.webhooks.allow_private_networks;
        let outcome = match check_url(url).map(|()| refused(url, allow_private)) {
            Err(e) => Outcome::Permanent(format!("bad url: {e}")),
            Ok(Some(why)) => Outcome::Permanent(why),
            Ok(None) => {
                let req = client(allow_private)?
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &item.dedupe_key)
                    .header(SIGNATURE_HEADER, signature(&secret, now.timestamp(), &body))
                    .body(body);
                classify(req.send().await)
            }
        };
        let tried = attempts + 1;
        let done = self.now();
        match outcome {
            Outcome::Delivered(code) => {
                let result = json!({"http_status": code, "attempts": tried});
                self.finish_delivery(tenant, item, "sent", &result, done).await
            }
            Outcome::Transient(error) if tried < MAX_ATTEMPTS => {
                let next = done + backoff(tried);
                tracing::info!(outbox = %item.id, attempts = tried, %error, "webhook failed, retrying later");
                let result = json!({"error": error, "attempts": tried, "next_attempt_at": next});
                Ok(journeys.retry_outbox(tenant, item.id, next, &result).await?)
            }
            Outcome::Transient(error) | Outcome::Permanent(error) => {
                tracing::warn!(outbox = %item.id, attempts = tried, %error, "webhook dead-lettered");
                let result = json!({"error": error, "attempts": tried, "dead_letter": true});
                self.finish_delivery(tenant, item, "failed", &result, done).await
            }
        }
    }

    /// The tenant's webhook signing secret, created on first use.
    pub(crate) async fn tenant_webhook_secret(&self, tenant: TenantId) -> AppResult<String> {
        let keys = self.vault.keys(&self.store, tenant).await?;
        let journeys = self.store.journeys();
        if let Some(enc) = journeys.webhook_secret(tenant).await? {
            return keys.decrypt(&enc);
        }
        let secret = new_secret();
        if journeys.init_webhook_secret(tenant, &keys.encrypt(&secret)?, self.now()).await? {
            return Ok(secret);
        }
        // Another node created one first: use theirs.
        let enc = journeys.webhook_secret(tenant).await?.ok_or(AppError::NotFound)?;
        keys.decrypt(&enc)
    }

    /// The secret journey webhooks are signed with (admins: `tokens_manage`).
    pub async fn webhook_secret(&self, actor: &Actor) -> AppResult<String> {
        actor.require(Permission::TokensManage)?;
        self.tenant_webhook_secret(actor.tenant).await
    }

    /// Replaces the webhook secret (admins); calls from then on are signed with the new one. Audited.
    pub async fn rotate_webhook_secret(&self, actor: &Actor) -> AppResult<String> {
        actor.require(Permission::TokensManage)?;
        let keys = self.vault.keys(&self.store, actor.tenant).await?;
        let secret = new_secret();
        self.store.journeys().set_webhook_secret(actor.tenant, &keys.encrypt(&secret)?, self.now()).await?;
        let ev = crate::audit::AuditEvent {
            action: "webhook_secret.rotate",
            object_type: "tenant",
            object_id: Some(actor.tenant.to_string()),
            detail: Value::Null,
        };
        self.audit(actor, ev).await;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_the_timestamp_and_the_body() {
        let s = signature("whsec_test", 1_700_000_000, b"{\"a\":1}");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"whsec_test").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(s, format!("t=1700000000,v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(s, signature("whsec_other", 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn the_backoff_doubles_from_one_minute() {
        let waits: Vec<i64> = (1..=5).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn only_absolute_http_urls_with_a_host_may_be_called() {
        assert!(check_url("https://hooks.example.com/siyu?x=1").is_ok());
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        for bad in ["ftp://example.com/", "file:///etc/passwd", "/relative", "https://", "not a url"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
