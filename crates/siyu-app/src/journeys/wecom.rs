//! The `wecom` channel (reference/journeys.md §3, wecom.md §4.6): a journey's send becomes one
//! `add_msg_template` for the customer alone (`chat_type` single), from the staff member who owns the
//! customer (their earliest follow by an active member of a connected corp who has the customer's
//! external_userid). WeCom holds it until that member confirms it in their client; its result is polled
//! (`get_groupmsg_send_result`) and comes back to the customer's timeline as `message_delivered`, or
//! `message_failed` when the customer is no longer a friend, reached WeCom's monthly limit, or the member
//! did not confirm it within [`POLL_WINDOW`]. The daily cap counts this channel with mass sends (both write
//! `wecom` outbox rows).
//!
//! Exactly once (§5.4: a channel without an idempotency key queries before retrying): the row is claimed,
//! then a note of the call (corp, sender, customer, text, time) is written on it before the call goes out.
//! A dispatcher that finds the note on a row it claims — its predecessor died during the call, or the call
//! got no answer — first looks in WeCom for a template by the same sender, with the same text, created since
//! the note, whose only recipient is the customer, and adopts it; only when WeCom has none is it sent again.
//! WeCom's answers that say nothing was created (rate limits, busy) retry without the note. Throttling by
//! our own limiter and by WeCom never drops a send: it waits for the window.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use siyu_domain::id::{CorpId, CustomerId, TenantId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::timeline::kinds;
use siyu_store::journeys::{NewPoll, OutboxItem, SendPoll};
use siyu_wecom::api::{ChatType, GroupMsgListRequest, MsgTemplate, Text};
use siyu_wecom::{ErrorClass, WecomError};

use super::BATCH;
use super::attachments::Carried;
use super::deliveries::{delivery_event, message_event};
use crate::App;
use crate::error::AppResult;
use crate::wecom::CorpHandle;

/// The channel's name in a send node.
pub const CHANNEL: &str = "wecom";
/// How soon a template's result is first asked for (and the shortest wait between two asks).
pub const POLL_EVERY: Duration = Duration::minutes(10);
/// How long the owner has to confirm a send before it counts as not sent.
pub const POLL_WINDOW: Duration = Duration::days(3);
/// How long a claimed row stays out of other dispatchers' reach.
const CLAIM: Duration = Duration::minutes(2);
/// Clock skew allowed when looking for a template in WeCom.
const LOOKBACK: Duration = Duration::minutes(10);
/// Failed attempts WeCom answered (busy, -1) before a send is dead-lettered.
const MAX_ATTEMPTS: i64 = super::webhook::MAX_ATTEMPTS;

/// Who sends to whom: the owner (their member id and their userid in a corp) and the customer's
/// external_userid there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WecomRoute {
    pub corp: CorpId,
    pub staff: UserId,
    pub sender: String,
    pub external_userid: String,
}

/// The note a call leaves on its outbox row before it goes out (`result.calling`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Calling {
    corp: CorpId,
    sender: String,
    external_userid: String,
    text: String,
    at: DateTime<Utc>,
}

/// What the rest of an attempt comes to.
enum Next {
    /// WeCom holds the template (the call and its msgid).
    Sent(Calling, String),
    /// Nothing to send to: fail the row with this error.
    Fail(Value),
    /// The row is finished already (the customer was merged away or erased).
    Done,
    /// The call (or the lookup after it) got no answer: WeCom may hold the template; the note stays, so the
    /// next attempt looks first.
    Unanswered(Calling, String),
    /// Try again at the time, leaving this result on the row; `counts` when it is a failed attempt.
    Later { at: DateTime<Utc>, result: Value, counts: bool },
}

impl App {
    /// Delivers one `wecom` send (see the module documentation).
    pub(crate) async fn deliver_wecom(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        template: &str,
        attachments: &[String],
    ) -> AppResult<()> {
        let journeys = self.store.journeys();
        let now = self.now();
        let Some(attempts) = journeys.claim_outbox(tenant, item.id, now, now + CLAIM).await? else {
            return Ok(());
        };
        let (_, _, noted) = journeys.outbox_status(tenant, item.id).await?;
        let calling: Option<Calling> = noted.as_ref().and_then(|r| serde_json::from_value(r["calling"].clone()).ok());
        let unanswered = noted.as_ref().and_then(|r| r["unanswered"].as_i64()).unwrap_or(0);
        let next = match calling {
            Some(call) => match self.find_wecom_send(tenant, &call).await? {
                Ok(Some(msgid)) => Next::Sent(call, msgid),
                Ok(None) => self.send_wecom(tenant, item, (template, attachments)).await?,
                Err(e @ WecomError::Transport { .. }) => Next::Unanswered(call, e.to_string()),
                Err(e) => {
                    let result = json!({"calling": call, "error": e.to_string(), "unanswered": unanswered});
                    Next::Later { at: now + wait_after(&e), result, counts: false }
                }
            },
            None => self.send_wecom(tenant, item, (template, attachments)).await?,
        };
        let tried = attempts + 1;
        match next {
            Next::Sent(call, msgid) => {
                let at = self.now();
                let result = json!({"msgid": msgid, "corp": call.corp, "sender": call.sender, "attempts": tried});
                let mut event = delivery_event(item, CHANNEL, None, at);
                event.payload["msgid"] = json!(msgid);
                let poll = NewPoll {
                    corp: call.corp,
                    msgid: &msgid,
                    sender: &call.sender,
                    external_userid: &call.external_userid,
                    next: at + POLL_EVERY,
                };
                Ok(journeys.finish_wecom_send(tenant, item.id, &result, &event, &poll, at).await?)
            }
            Next::Done => Ok(()),
            Next::Fail(mut result) => {
                result["attempts"] = json!(tried);
                self.finish_delivery(tenant, item, "failed", &result, self.now()).await
            }
            Next::Unanswered(call, error) => {
                // Not a failed attempt (WeCom may hold the template), but waited on longer each time.
                let n = unanswered + 1;
                let result = json!({"calling": call, "error": error, "unanswered": n});
                Ok(journeys.defer_outbox(tenant, item.id, now + unanswered_wait(n), &result).await?)
            }
            Next::Later { at, result, counts: false } => {
                Ok(journeys.defer_outbox(tenant, item.id, at, &result).await?)
            }
            Next::Later { at, mut result, .. } if tried < MAX_ATTEMPTS => {
                result["attempts"] = json!(tried);
                Ok(journeys.retry_outbox(tenant, item.id, at, &result).await?)
            }
            Next::Later { mut result, .. } => {
                result["attempts"] = json!(tried);
                result["dead_letter"] = json!(true);
                self.finish_delivery(tenant, item, "failed", &result, self.now()).await
            }
        }
    }

    /// Renders the message and sends it; what came of it.
    async fn send_wecom(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        (template, attachments): (&str, &[String]),
    ) -> AppResult<Next> {
        let Some(c) = self.delivery_customer(tenant, item).await? else { return Ok(Next::Done) };
        let Some(route) = self.wecom_route(tenant, item.customer_id).await? else {
            return Ok(Next::Fail(json!({"error": "no_wecom_contact"})));
        };
        let mut text = match super::channels::render_message(template, &c) {
            Ok(text) => text,
            Err(e) => return Ok(Next::Fail(json!({"error": e}))),
        };
        let mut cards = Vec::new();
        for carried in self.wecom_carried(tenant, attachments, route.staff, item.customer_id).await? {
            match carried {
                Carried::Text(words) => text = format!("{}\n\n{words}", text.trim_end()).trim().to_string(),
                Carried::Card(card) => cards.push(card),
            }
        }
        if text.trim().is_empty() && cards.is_empty() {
            return Ok(Next::Fail(json!({"error": "empty_message"})));
        }
        let handle = match self.corp_handle(tenant, route.corp).await {
            Ok(h) => h,
            Err(e) => return Ok(Next::Fail(json!({"error": "wecom_not_connected", "message": e.to_string()}))),
        };
        let now = self.now();
        let call =
            Calling { corp: route.corp, sender: route.sender, external_userid: route.external_userid, text, at: now };
        let note = json!({ "calling": call });
        self.store.journeys().note_outbox(tenant, item.id, &note).await?;
        let request = MsgTemplate {
            chat_type: ChatType::Single,
            external_userid: vec![call.external_userid.clone()],
            sender: Some(call.sender.clone()),
            text: (!call.text.trim().is_empty()).then(|| Text { content: call.text.clone() }),
            attachments: cards,
            ..MsgTemplate::default()
        };
        let next = match handle.client.add_msg_template(&handle.contact, &request).await {
            Ok(r) if r.fail_list.contains(&call.external_userid) => {
                Next::Fail(json!({"error": "not_reachable", "msgid": r.msgid}))
            }
            Ok(r) => Next::Sent(call, r.msgid),
            // No answer: WeCom may hold the template. The note stays, so the next attempt looks first.
            Err(e @ WecomError::Transport { .. }) => Next::Unanswered(call, e.to_string()),
            Err(e) => match e.class() {
                // Nothing was created: our budget or WeCom's window is spent, or WeCom was busy.
                ErrorClass::RateLimited => {
                    Next::Later { at: now + wait_after(&e), result: error_of(&e), counts: false }
                }
                ErrorClass::Retryable | ErrorClass::Auth => {
                    Next::Later { at: now + wait_after(&e), result: error_of(&e), counts: true }
                }
                _ => {
                    let mut result = error_of(&e);
                    result["dead_letter"] = json!(true);
                    Next::Fail(result)
                }
            },
        };
        Ok(next)
    }

    /// The template WeCom holds for a noted call, if it went through: by the same sender, with the same
    /// text, created since the note, whose only recipient is the customer, and not another send's. The
    /// outer error is ours (the database); the inner one WeCom's.
    async fn find_wecom_send(&self, tenant: TenantId, call: &Calling) -> AppResult<Result<Option<String>, WecomError>> {
        let Ok(handle) = self.corp_handle(tenant, call.corp).await else {
            // The corp is gone (or its secrets are): nothing can be looked up or sent there any more.
            return Ok(Ok(None));
        };
        let mut cursor = String::new();
        loop {
            let request = GroupMsgListRequest {
                chat_type: ChatType::Single,
                start_time: (call.at - LOOKBACK).timestamp(),
                end_time: (self.now() + LOOKBACK).timestamp(),
                creator: Some(call.sender.clone()),
                filter_type: Some(0),
                cursor: cursor.clone(),
                limit: 100,
            };
            let page = match handle.client.get_groupmsg_list_v2(&handle.contact, &request).await {
                Ok(page) => page,
                Err(e) => return Ok(Err(e)),
            };
            for msg in page.group_msg_list {
                let text = msg.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
                if text != call.text {
                    continue;
                }
                if self.store.journeys().is_known_send(tenant, &msg.msgid).await? {
                    continue;
                }
                let sent = match handle
                    .client
                    .get_groupmsg_send_result(&handle.contact, &msg.msgid, &call.sender, "", 2)
                    .await
                {
                    Ok(sent) => sent,
                    Err(e) => return Ok(Err(e)),
                };
                if let [only] = sent.send_list.as_slice()
                    && only.external_userid == call.external_userid
                {
                    return Ok(Ok(Some(msg.msgid)));
                }
            }
            if page.next_cursor.is_empty() {
                return Ok(Ok(None));
            }
            cursor = page.next_cursor;
        }
    }

    /// Who would send a `wecom` message to the customer: the earliest follow by an active member of an
    /// active corp where the customer has an external_userid.
    pub async fn wecom_route(&self, tenant: TenantId, customer: CustomerId) -> AppResult<Option<WecomRoute>> {
        let identities =
            self.store.identities().of_customers(tenant, IdentityKind::ExternalUserid, &[customer]).await?;
        if identities.is_empty() {
            return Ok(None);
        }
        for follow in self.store.follows().of_customer(tenant, customer).await? {
            let Some(staff) = self.store.wecom().staff_of_user(tenant, follow.user_id).await? else { continue };
            if staff.status != 1 {
                continue;
            }
            let corp = match self.store.wecom().corp(tenant, staff.corp).await {
                Ok(corp) if corp.active => corp,
                Ok(_) | Err(siyu_store::StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(ext) = identities.iter().find(|i| i.identity.namespace == corp.corp_id) {
                return Ok(Some(WecomRoute {
                    corp: staff.corp,
                    staff: staff.user_id,
                    sender: staff.userid,
                    external_userid: ext.lookup.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// Asks WeCom for the results of the `wecom` sends that are due a poll, a batch per tenant; returns how
    /// many were asked about. A spent rate budget or a busy WeCom leaves the rest of the tenant's for later.
    pub async fn poll_wecom_sends(&self) -> AppResult<u64> {
        let mut asked = 0;
        let journeys = self.store.journeys();
        for tenant in journeys.tenants_with_send_polls(self.now(), 100).await? {
            let mut handles: Vec<(CorpId, CorpHandle)> = Vec::new();
            for poll in journeys.due_send_polls(tenant, self.now(), BATCH).await? {
                if !handles.iter().any(|(c, _)| *c == poll.corp) {
                    match self.corp_handle(tenant, poll.corp).await {
                        Ok(h) => handles.push((poll.corp, h)),
                        Err(e) => {
                            // The corp is gone or its secrets are: nothing more will come back.
                            tracing::warn!(error = %e, msgid = poll.msgid, "wecom send result not available");
                            self.settle_poll(tenant, &poll, "unknown", Some("wecom_not_connected")).await?;
                            continue;
                        }
                    }
                }
                let Some((_, handle)) = handles.iter().find(|(c, _)| *c == poll.corp) else { continue };
                let page = handle.client.get_groupmsg_send_result(&handle.contact, &poll.msgid, &poll.sender, "", 1000);
                asked += 1;
                match page.await {
                    Ok(page) => {
                        let status = page.send_list.iter().find(|r| r.external_userid == poll.external_userid);
                        let outcome = match status.map(|r| r.status) {
                            Some(1) => Some(("delivered", None)),
                            Some(2) => Some(("not_friend", Some("not_friend"))),
                            Some(3) => Some(("receive_limit", Some("receive_limit"))),
                            _ if self.now() - poll.sent_at >= POLL_WINDOW => {
                                Some(("not_confirmed", Some("not_confirmed")))
                            }
                            _ => None,
                        };
                        match outcome {
                            Some((outcome, error)) => self.settle_poll(tenant, &poll, outcome, error).await?,
                            None => {
                                journeys
                                    .repoll_send(tenant, poll.outbox_id, next_poll(poll.sent_at, self.now()))
                                    .await?
                            }
                        }
                    }
                    Err(e) if matches!(e.class(), ErrorClass::RateLimited | ErrorClass::Retryable) => break,
                    Err(e) => {
                        // The template is gone (cancelled in WeCom) or unreadable: nothing more will come back.
                        tracing::warn!(error = %e, msgid = poll.msgid, "wecom send result refused");
                        self.settle_poll(tenant, &poll, "unknown", Some("result_unavailable")).await?;
                    }
                }
            }
        }
        Ok(asked)
    }

    /// Ends a poll: the outcome on the outbox row and, for a delivery or a failure, the timeline event.
    async fn settle_poll(&self, tenant: TenantId, p: &SendPoll, outcome: &str, error: Option<&str>) -> AppResult<()> {
        let mut result = match &p.result {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => json!({}),
        };
        result["outcome"] = json!(outcome);
        let mut payload = json!({"journey_id": p.journey_id, "node": p.node, "channel": CHANNEL,
            "dedupe_key": p.dedupe_key, "msgid": p.msgid});
        if let Some(e) = error {
            payload["error"] = json!(e);
        }
        let kind = if error.is_some() { kinds::MESSAGE_FAILED } else { kinds::MESSAGE_DELIVERED };
        let event = message_event(p.customer_id, kind, payload, self.now());
        let event = (outcome != "unknown").then_some(&event);
        self.store.journeys().settle_send_poll(tenant, p.outbox_id, &result, event).await?;
        Ok(())
    }
}

/// When to ask about a template again: soon after it was sent (most are confirmed within the hour), then
/// less often as it ages (a quarter of its age, at most every 6 hours), so a day's sends do not spend the
/// corp's API budget on polls.
fn next_poll(sent_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    now + ((now - sent_at) / 4).clamp(POLL_EVERY, Duration::hours(6))
}

/// The wait after the `n`th call or lookup in a row that got no answer: 10 s, doubling, at most 30 minutes
/// (an unreachable WeCom is not asked every 10 s for ever).
fn unanswered_wait(n: i64) -> Duration {
    (Duration::seconds(10) * 2_i32.pow(n.clamp(1, 12) as u32 - 1)).min(Duration::minutes(30))
}

/// The wait before trying again after `e`.
fn wait_after(e: &WecomError) -> Duration {
    match e {
        WecomError::Throttled { wait, .. } => {
            Duration::from_std(*wait).unwrap_or(Duration::seconds(60)).max(Duration::seconds(1))
        }
        e if e.class() == ErrorClass::RateLimited => Duration::seconds(60),
        _ => Duration::seconds(10),
    }
}

fn error_of(e: &WecomError) -> Value {
    let mut v = json!({"error": e.code(), "message": e.to_string()});
    if let Some(code) = e.errcode() {
        v["errcode"] = json!(code);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_start_every_ten_minutes_and_thin_out_to_every_six_hours() {
        let sent = Utc::now();
        let wait = |age: Duration| next_poll(sent, sent + age) - (sent + age);
        assert_eq!(wait(Duration::minutes(10)), POLL_EVERY);
        assert_eq!(wait(Duration::hours(2)), Duration::minutes(30));
        assert_eq!(wait(Duration::days(2)), Duration::hours(6));
        // Over the three-day window that is a few dozen asks, not 432.
        let (mut at, mut asks) = (sent + POLL_EVERY, 0);
        while at - sent < POLL_WINDOW {
            at = next_poll(sent, at);
            asks += 1;
        }
        assert!(asks < 40, "{asks}");
    }

    #[test]
    fn an_unanswered_call_is_tried_again_after_10_s_doubling_up_to_30_minutes() {
        assert_eq!([1, 2, 3, 9, 40].map(|n| unanswered_wait(n).num_seconds()), [10, 20, 40, 1_800, 1_800]);
    }
}
