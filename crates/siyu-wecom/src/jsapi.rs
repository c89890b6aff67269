//! What an H5 page inside WeCom (the chat-toolbar sidebar) needs from the server (reference/wecom.md §8):
//!
//! - the two JS-SDK tickets, cached per (corp, secret) until shortly before they expire: the corp ticket
//!   (`get_jsapi_ticket`, 400 fetches per hour per corp) signs `wx.config`, the app ticket
//!   (`ticket/get?type=agent_config`, 100 per hour per app) signs `wx.agentConfig`. One fetch at a time per
//!   ticket, so a burst of sidebar openings costs one call. The signature itself is [`crate::jssdk`];
//! - the OAuth2 identity of the member who opened the page: the authorize URL to redirect to, and
//!   `auth/getuserinfo` exchanging the one-time `code` for their `userid` (40029 when the code is bad, used or
//!   older than five minutes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// Which JS-SDK ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// `get_jsapi_ticket`: signs `wx.config`.
    Corp,
    /// `ticket/get?type=agent_config`: signs `wx.agentConfig`.
    Agent,
}

struct CachedTicket {
    ticket: String,
    refresh_at: Instant,
}

type TicketKey = (String, String, TicketKind);

/// The tickets a [`Client`] holds, shared by its clones.
#[derive(Default)]
pub struct TicketCache {
    tickets: Mutex<HashMap<TicketKey, CachedTicket>>,
    refreshing: Mutex<HashMap<TicketKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl TicketCache {
    fn cached(&self, key: &TicketKey) -> Option<String> {
        let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.get(key).filter(|t| t.refresh_at > Instant::now()).map(|t| t.ticket.clone())
    }

    fn gate(&self, key: &TicketKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut refreshing = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        refreshing.entry(key.clone()).or_default().clone()
    }

    fn store(&self, key: TicketKey, ticket: String, lifetime: Duration) {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.insert(key, CachedTicket { ticket, refresh_at: Instant::now() + lifetime });
    }
}

/// What `auth/getuserinfo` says about the visitor: a member (`userid`) or, for someone outside the corp,
/// their `openid` / `external_userid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthIdentity {
    /// The member's userid (empty for a non-member).
    pub userid: String,
    /// For fetching the member's sensitive details (scope `snsapi_privateinfo` only).
    pub user_ticket: String,
    /// A non-member's openid.
    pub openid: String,
    /// A non-member who is the corp's customer.
    pub external_userid: String,
}

/// The longest a ticket is kept: WeCom's lifetime, less the client's `refresh_early` margin.
fn ticket_lifetime(expires_in: i64, refresh_early: Duration) -> Duration {
    let secs = u64::try_from(expires_in).ok().filter(|s| *s > 0).unwrap_or(7200);
    Duration::from_secs(secs).saturating_sub(refresh_early)
}

impl Client {
    /// The `kind` ticket of `creds`' corp and app, from the cache or fetched (one fetch at a time).
    pub async fn jsapi_ticket(&self, creds: &CorpCredentials, kind: TicketKind) -> Result<String, WecomError> {
        let cache = self.tickets();
        let key = (creds.corp_id.clone(), creds.secret.clone(), kind);
        if let Some(ticket) = cache.cached(&key) {
            return Ok(ticket);
        }
        let gate = cache.gate(&key);
        let _turn = gate.lock().await;
        if let Some(ticket) = cache.cached(&key) {
            return Ok(ticket);
        }
        let fetched = match kind {
            TicketKind::Corp => self.get_jsapi_ticket(creds).await?,
            TicketKind::Agent => self.get_agent_ticket(creds).await?,
        };
        if fetched.ticket.is_empty() {
            let path = if kind == TicketKind::Corp { "get_jsapi_ticket" } else { "ticket/get" };
            return Err(WecomError::Decode { path: path.into(), message: "no ticket".into() });
        }
        metrics::counter!("siyu_wecom_ticket_fetches_total").increment(1);
        let lifetime = ticket_lifetime(fetched.expires_in, self.config().refresh_early);
        cache.store(key, fetched.ticket.clone(), lifetime);
        Ok(fetched.ticket)
    }

    /// GET `auth/getuserinfo?code=`: who opened the page (the code is single use and lives five minutes).
    pub async fn oauth_identity(&self, creds: &CorpCredentials, code: &str) -> Result<OAuthIdentity, WecomError> {
        if code.is_empty() || code.len() > 512 {
            return Err(WecomError::Invalid("code must be 1–512 bytes".into()));
        }
        self.get(creds, "auth/getuserinfo", &[("code", code.to_owned())]).await
    }
}

/// WeCom's OAuth2 authorize URL for a page of the corp's app (`snsapi_base`: the userid, silently). `state`
/// comes back with the code (≤128 bytes of letters and digits); `redirect_uri` must be under the app's
/// trusted domain.
pub fn authorize_url(corp_id: &str, redirect_uri: &str, state: &str, agent_id: Option<i64>) -> String {
    let mut url = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code\
         &scope=snsapi_base&state={}",
        encode(corp_id),
        encode(redirect_uri),
        encode(state)
    );
    if let Some(agent) = agent_id {
        url.push_str(&format!("&agentid={agent}"));
    }
    url.push_str("#wechat_redirect");
    url
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_encodes_the_redirect_and_ends_with_the_wechat_fragment() {
        let url = authorize_url("ww123", "https://crm.example.com/sidebar/oauth?x=1", "abc123", Some(1000002));
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww123\
             &redirect_uri=https%3A%2F%2Fcrm.example.com%2Fsidebar%2Foauth%3Fx%3D1&response_type=code\
             &scope=snsapi_base&state=abc123&agentid=1000002#wechat_redirect"
        );
        assert!(!authorize_url("ww123", "https://a/b", "s", None).contains("agentid"));
    }

    #[test]
    fn tickets_are_kept_until_shortly_before_they_expire() {
        assert_eq!(ticket_lifetime(7200, Duration::from_secs(300)), Duration::from_secs(6900));
        assert_eq!(ticket_lifetime(0, Duration::from_secs(300)), Duration::from_secs(6900));
        assert_eq!(ticket_lifetime(100, Duration::from_secs(300)), Duration::ZERO);
    }

    #[test]
    fn the_official_signature_example_still_holds() {
        let ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
        let sig =
            crate::jssdk::signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value");
        assert_eq!(sig, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
    }
}
