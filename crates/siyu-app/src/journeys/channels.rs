//! The channels a send node may name, behind one trait. A channel says whether a brand can use it now
//! (checked at publish, the problem on the node, so a journey never goes live to fail every send) and
//! delivers one outbox row of a send: once per dedupe key, its result on the row and, for a message, on the
//! customer's timeline (`message_sent` / `message_failed`, later `message_delivered` where the channel
//! reports it). The dispatcher finds the row's channel by name and hands it the row.
//!
//! - `sandbox` records the rendered message (`sandbox_messages`), shown as the customer's chat.
//! - `wecom` sends it 1:1 from the customer's owning staff member and polls its result ([`super::wecom`]).
//!
//! A new channel (SMS, an official-account template message) is one more implementation in [`ALL`]; the
//! frequency cap counts per channel name. Webhooks, tags, stages, tasks and enrolments are node types of
//! their own, not channels.

use std::future::Future;
use std::pin::Pin;

use serde_json::json;
use siyu_domain::customer::Customer;
use siyu_domain::id::TenantId;
use siyu_store::journeys::OutboxItem;

use super::deliveries::delivery_event;
use crate::App;
use crate::error::AppResult;

/// A channel's work in progress (boxed, so channels can sit side by side in [`ALL`]).
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 'a>>;

/// What a send asks a channel to deliver: the node's template and attachments as they were published.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub template: &'a str,
    pub attachments: &'a [String],
}

pub(crate) trait Channel: Sync {
    /// The name a send node gives (`"channel": "wecom"`).
    fn name(&self) -> &'static str;

    /// Why the brand cannot use the channel now (the code of the publish problem), if it cannot.
    fn unavailable<'a>(&'a self, app: &'a App, tenant: TenantId) -> Pending<'a, Option<&'static str>>;

    /// Delivers one outbox row of a send on this channel.
    fn deliver<'a>(&'a self, app: &'a App, tenant: TenantId, item: &'a OutboxItem, m: Message<'a>) -> Pending<'a, ()>;
}

/// A send node's template rendered for the customer (what a message may say about them: `name`, `gender`).
pub(crate) fn render_message(template: &str, c: &Customer) -> Result<String, String> {
    let env = minijinja::Environment::new();
    env.render_str(template, json!({"name": c.name, "gender": c.gender.as_str()})).map_err(|e| e.to_string())
}

/// Every channel, by name.
pub(crate) static ALL: [&dyn Channel; 2] = [&Sandbox, &Wecom];

/// The channel called `name`.
pub(crate) fn find(name: &str) -> Option<&'static dyn Channel> {
    ALL.iter().copied().find(|c| c.name() == name)
}

/// Records the message instead of sending it.
pub(crate) struct Sandbox;

impl Channel for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn unavailable<'a>(&'a self, _: &'a App, _: TenantId) -> Pending<'a, Option<&'static str>> {
        Box::pin(async { Ok(None) })
    }

    fn deliver<'a>(&'a self, app: &'a App, tenant: TenantId, item: &'a OutboxItem, m: Message<'a>) -> Pending<'a, ()> {
        Box::pin(async move {
            let (journeys, now) = (app.store.journeys(), app.now());
            let Some(c) = app.delivery_customer(tenant, item).await? else { return Ok(()) };
            match render_message(m.template, &c) {
                Ok(text) => {
                    let body = app.sandbox_body(tenant, &text, m.attachments).await?;
                    let event = delivery_event(item, self.name(), None, now);
                    Ok(journeys.deliver_to_sandbox_with_event(tenant, item, self.name(), &body, &event, now).await?)
                }
                Err(e) => app.finish_delivery(tenant, item, "failed", &json!({"error": e}), now).await,
            }
        })
    }
}

/// Sends 1:1 in WeCom from the customer's owner ([`super::wecom`]).
pub(crate) struct Wecom;

impl Channel for Wecom {
    fn name(&self) -> &'static str {
        super::wecom::CHANNEL
    }

    fn unavailable<'a>(&'a self, app: &'a App, tenant: TenantId) -> Pending<'a, Option<&'static str>> {
        Box::pin(async move {
            let connected = app.store.wecom().corps(tenant).await?.iter().any(|c| c.active);
            Ok((!connected).then_some("wecom_not_connected"))
        })
    }

    fn deliver<'a>(&'a self, app: &'a App, tenant: TenantId, item: &'a OutboxItem, m: Message<'a>) -> Pending<'a, ()> {
        Box::pin(app.deliver_wecom(tenant, item, m.template, m.attachments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_channel_names_are_the_registered_channels() {
        let names: Vec<&str> = super::super::channel_names().collect();
        assert_eq!(names, ["sandbox", "wecom"]);
        assert!(find("sandbox").is_some() && find("wecom").is_some() && find("sms").is_none());
    }
}
