//! Callback pushing as WeCom does it: the §6 event XML, encrypted and signed with the corp's Token and
//! EncodingAESKey, POSTed to the callback URL with `?msg_signature=&timestamp=&nonce=`; an answer other than
//! HTTP 200 within the timeout is retried, three attempts in all. Also the GET URL check.

use rand::Rng;

use super::{FakeError, FakeHandle};
use crate::crypto::CallbackCrypto;

/// The outcome of pushing one hook's events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events pushed.
    pub events: u32,
    /// HTTP attempts, over all events (3 for one event whose receiver failed twice).
    pub attempts: u32,
    /// Every event got an HTTP 200 (false when no callback URL is set).
    pub delivered: bool,
}

/// One pushed event, decrypted.
#[derive(Clone, Debug)]
pub struct PushRecord {
    pub corp_id: String,
    /// The plaintext event XML.
    pub xml: String,
    pub attempts: u32,
    pub delivered: bool,
    /// Fake time of the push.
    pub at: i64,
}

/// Builds the decrypted event XML of reference/wecom.md §6.
pub(crate) struct EventXml {
    xml: String,
}

fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

impl EventXml {
    /// The header through `<Event>`: ToUserName, FromUserName `sys`, CreateTime, MsgType `event`.
    pub fn new(corp_id: &str, now: i64, event: &str) -> Self {
        let xml = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime>\
             <MsgType>{}</MsgType><Event>{}</Event>",
            cdata(corp_id),
            cdata("sys"),
            cdata("event"),
            cdata(event)
        );
        Self { xml }
    }

    /// A string field, in CDATA.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.xml.push_str(&format!("<{name}>{}</{name}>", cdata(value)));
        self
    }

    /// A numeric field, bare.
    pub fn number(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.xml.push_str(&format!("<{name}>{value}</{name}>"));
        self
    }

    /// A list field: `<Name><Item>…</Item>…</Name>`.
    pub fn items(mut self, name: &str, items: &[String]) -> Self {
        let inner: String = items.iter().map(|i| format!("<Item>{}</Item>", cdata(i))).collect();
        self.xml.push_str(&format!("<{name}>{inner}</{name}>"));
        self
    }

    pub fn finish(mut self) -> String {
        self.xml.push_str("</xml>");
        self.xml
    }
}

struct Target {
    corp_id: String,
    url: Option<String>,
    agent_id: String,
    crypto: CallbackCrypto,
}

fn nonce() -> String {
    rand::thread_rng().gen_range(100_000_000u64..10_000_000_000).to_string()
}

impl FakeHandle {
    fn target(&self, corp: &str) -> Result<Target, FakeError> {
        self.with_corp(corp, |c, _| {
            let s = &c.setup;
            let crypto = CallbackCrypto::new(&s.token, &s.encoding_aes_key, &s.corp_id)?;
            Ok(Target { corp_id: s.corp_id.clone(), url: s.callback_url.clone(), agent_id: s.agent_id.clone(), crypto })
        })
    }

    /// Pushes `events` (plaintext XML) one after the other; returns once each is delivered or has used its
    /// attempts.
    pub(crate) async fn deliver(&self, corp: &str, events: Vec<String>) -> Result<Delivery, FakeError> {
        let mut outcome = Delivery { events: 0, attempts: 0, delivered: true };
        if events.is_empty() {
            return Ok(outcome);
        }
        let target = self.target(corp)?;
        for xml in events {
            let (attempts, delivered) = self.push_one(&target, &xml).await;
            outcome.events += 1;
            outcome.attempts += attempts;
            outcome.delivered &= delivered;
            let record = PushRecord { corp_id: target.corp_id.clone(), xml, attempts, delivered, at: self.now() };
            self.lock().pushes.push(record);
        }
        Ok(outcome)
    }

    async fn push_one(&self, target: &Target, xml: &str) -> (u32, bool) {
        let Some(url) = &target.url else {
            return (0, false);
        };
        let timestamp = self.now().to_string();
        let message = target.crypto.encrypt_message(xml, &timestamp, &nonce());
        let body = message.to_xml(&target.corp_id, &target.agent_id);
        let query = [
            ("msg_signature", message.msg_signature.as_str()),
            ("timestamp", message.timestamp.as_str()),
            ("nonce", message.nonce.as_str()),
        ];
        let mut attempts = 0;
        while attempts < self.inner.config.push_attempts.max(1) {
            attempts += 1;
            let sent = self
                .inner
                .http
                .post(url)
                .query(&query)
                .header("content-type", "text/xml")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().as_u16() == 200 => return (attempts, true),
                Ok(response) => tracing::debug!(status = %response.status(), attempt = attempts, "callback refused"),
                Err(error) => tracing::debug!(%error, attempt = attempts, "callback not delivered"),
            }
        }
        (attempts, false)
    }

    /// Pushes an arbitrary decrypted event XML (duplicates, out-of-order events, unknown event types).
    pub async fn push_raw(&self, corp: &str, xml: &str) -> Result<Delivery, FakeError> {
        self.deliver(corp, vec![xml.to_owned()]).await
    }

    /// Pushes the events the passage of time produced (transfer takeovers: `del_external_contact` with
    /// `Source=DELETE_BY_TRANSFER` to the handover staff, `add_external_contact` to the takeover staff).
    pub async fn deliver_pending(&self, corp: &str) -> Result<Delivery, FakeError> {
        let events = self.with_corp(corp, |c, _| Ok(std::mem::take(&mut c.outbox)))?;
        self.deliver(corp, events).await
    }

    /// New session-archive data is ready: pushes `msgaudit_notify` (the header and `AgentID`, no payload).
    pub async fn push_msgaudit_notify(&self, corp: &str) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            Ok(EventXml::new(&c.setup.corp_id, env.now, "msgaudit_notify")
                .number("AgentID", &c.setup.agent_id)
                .finish())
        })?;
        self.deliver(corp, vec![xml]).await
    }

    /// Every pushed event so far, oldest first.
    pub fn pushes(&self) -> Vec<PushRecord> {
        self.lock().pushes.clone()
    }

    /// The GET URL check WeCom runs when the callback URL is saved: a random echostr, encrypted and signed.
    /// Returns the body when it is exactly the echostr's plaintext, else `FakeError::UrlCheck`.
    pub async fn verify_callback_url(&self, corp: &str) -> Result<String, FakeError> {
        let target = self.target(corp)?;
        let url = target.url.clone().ok_or_else(|| FakeError::NoCallbackUrl(corp.to_owned()))?;
        let expected = rand::thread_rng().gen_range(1_000_000_000_000_000_000u64..u64::MAX).to_string();
        let echostr = target.crypto.encrypt(&expected);
        let timestamp = self.now().to_string();
        let nonce = nonce();
        let signature = target.crypto.signature(&timestamp, &nonce, &echostr);
        let query = [
            ("msg_signature", signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("echostr", echostr.as_str()),
        ];
        let response = self.inner.http.get(url).query(&query).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        if status == 200 && body == expected { Ok(body) } else { Err(FakeError::UrlCheck { status, body, expected }) }
    }
}
