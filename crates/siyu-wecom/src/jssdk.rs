//! JS-SDK config signature (doc 96909; `reference/wecom.md` §8).
//!
//! `signature = sha1_hex("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" + ts + "&url=" + url)`,
//! fixed order, raw (not URL-encoded) values, the URL without its `#fragment`. `wx.config` signs with the corp
//! ticket (`get_jsapi_ticket`), `wx.agentConfig` with the app ticket (`ticket/get?type=agent_config`).

use std::fmt::{Display, Write as _};

use rand::Rng as _;
use rand::distributions::Alphanumeric;
use serde::Serialize;
use sha1::{Digest as _, Sha1};

/// The JS-SDK signature of `url` (its `#…` fragment is stripped) for `ticket`, `noncestr` and `timestamp`
/// (seconds; an integer or its decimal string).
pub fn signature(ticket: &str, noncestr: &str, timestamp: impl Display, url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let mut hasher = Sha1::new();
    hasher.update(b"jsapi_ticket=");
    hasher.update(ticket.as_bytes());
    hasher.update(b"&noncestr=");
    hasher.update(noncestr.as_bytes());
    hasher.update(b"&timestamp=");
    let mut ts = String::with_capacity(16);
    // Writing to a String cannot fail.
    let _ = write!(ts, "{timestamp}");
    hasher.update(ts.as_bytes());
    hasher.update(b"&url=");
    hasher.update(url.as_bytes());
    hex::encode(hasher.finalize())
}

/// A fresh 16-character alphanumeric nonceStr.
pub fn random_nonce() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(16).map(char::from).collect()
}

/// What the page passes to `wx.config` (`agent_id` unset; `corp_id` is the `appId`) or `wx.agentConfig`
/// (`agent_id` set), minus `jsApiList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsConfig {
    pub corp_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub timestamp: i64,
    pub nonce_str: String,
    pub signature: String,
}

impl JsConfig {
    /// The `wx.config` parameters, signed with the corp jsapi ticket.
    pub fn corp(corp_id: &str, corp_ticket: &str, url: &str, timestamp: i64, nonce_str: &str) -> Self {
        Self {
            corp_id: corp_id.to_owned(),
            agent_id: None,
            timestamp,
            nonce_str: nonce_str.to_owned(),
            signature: signature(corp_ticket, nonce_str, timestamp, url),
        }
    }

    /// The `wx.agentConfig` parameters, signed with the app (agent_config) ticket.
    pub fn agent(corp_id: &str, agent_id: &str, app_ticket: &str, url: &str, timestamp: i64, nonce_str: &str) -> Self {
        Self { agent_id: Some(agent_id.to_owned()), ..Self::corp(corp_id, app_ticket, url, timestamp, nonce_str) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKET: &str = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
    const EXPECTED: &str = "0f9de62fce790f9a083d5c99e95740ceb90c27ed";

    #[test]
    fn official_example_signs_to_the_documented_value() {
        let sig = signature(TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value");
        assert_eq!(sig, EXPECTED);
    }

    #[test]
    fn string_timestamps_sign_like_integers() {
        let sig = signature(TICKET, "Wm3WZYTPz0wzccnW", "1414587457", "http://mp.weixin.qq.com?params=value");
        assert_eq!(sig, EXPECTED);
    }

    #[test]
    fn url_fragment_is_ignored() {
        let sig = signature(TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#/a?b#c");
        assert_eq!(sig, EXPECTED);
    }

    #[test]
    fn agent_config_carries_the_agent_id_and_the_same_signature_rule() {
        let url = "http://mp.weixin.qq.com?params=value";
        let config = JsConfig::agent("wwCORP", "1000002", TICKET, url, 1414587457, "Wm3WZYTPz0wzccnW");
        assert_eq!(config.signature, EXPECTED);
        assert_eq!(config.agent_id.as_deref(), Some("1000002"));
        let corp = JsConfig::corp("wwCORP", TICKET, url, 1414587457, "Wm3WZYTPz0wzccnW");
        assert_eq!(corp.agent_id, None);
        assert!(!serde_json::to_string(&corp).unwrap().contains("agent_id"));
    }

    #[test]
    fn random_nonces_are_sixteen_alphanumerics() {
        let nonce = random_nonce();
        assert_eq!(nonce.len(), 16);
        assert!(nonce.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(nonce, random_nonce());
    }
}
