//! Journey sends on the `wecom` channel: a note on the outbox row before the call (so a dispatcher that dies
//! mid-call leaves word for the next one to look in WeCom before sending again), the row finished as sent
//! with its result poll queued (`wecom_send_polls`), and the polls: due ones read with what the timeline
//! event needs, moved on while WeCom has no final result, and settled (the poll gone, the outcome on the
//! outbox row, the event on the customer's timeline) in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CorpId, CustomerId, JourneyId, TenantId};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use super::Journeys;
use super::deliveries::finish_outbox_stmt;
use crate::statements::insert_timeline;
use crate::{StoreError, exec, in_write_tx, on_pool};

/// A template WeCom accepted for one customer, to poll for its result.
#[derive(Debug, Clone, PartialEq)]
pub struct SendPoll {
    pub outbox_id: Uuid,
    pub corp: CorpId,
    pub msgid: String,
    pub sender: String,
    pub external_userid: String,
    pub sent_at: DateTime<Utc>,
    /// The outbox row's journey, customer, node and dedupe key (what the timeline event names).
    pub journey_id: JourneyId,
    pub customer_id: CustomerId,
    pub node: String,
    pub dedupe_key: String,
    /// The outbox row's result as the send left it.
    pub result: Option<Value>,
}

type PollRow = (Uuid, Uuid, String, String, String, DateTime<Utc>, Uuid, Uuid, String, String, Option<Json<Value>>);

impl Journeys<'_> {
    /// Replaces a pending row's result without counting an attempt (the note a WeCom call leaves before it
    /// goes out).
    pub async fn note_outbox(&self, tenant: TenantId, id: Uuid, result: &Value) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE outbox SET result = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'pending'")
            .bind(tenant.0).bind(id).bind(Json(result)).execute(p).await)?;
        Ok(())
    }

    /// Keeps a pending row for a later attempt without counting one (a rate window, an unanswered call).
    pub async fn defer_outbox(
        &self,
        tenant: TenantId,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        result: &Value,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE outbox SET next_attempt_at = $3, result = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'pending'")
            .bind(tenant.0).bind(id).bind(next_attempt_at).bind(Json(result)).execute(p).await)?;
        Ok(())
    }

    /// Marks a WeCom send `sent` with its result, appends `event` to the customer's timeline and queues the
    /// template's result poll (first due at `poll.next`), together.
    pub async fn finish_wecom_send(
        &self,
        tenant: TenantId,
        id: Uuid,
        result: &Value,
        event: &TimelineEntry,
        poll: &NewPoll<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            finish_outbox_stmt!(tenant, id, "sent", result, at).execute(&mut *tx).await?;
            insert_timeline!(tenant, event).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO wecom_send_polls (tenant_id, outbox_id, corp_row_id, msgid, sender, external_userid, \
                 sent_at, next_poll_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, outbox_id) DO NOTHING")
                .bind(tenant.0).bind(id).bind(poll.corp.0).bind(poll.msgid).bind(poll.sender).bind(poll.external_userid)
                .bind(at).bind(poll.next).execute(&mut *tx).await?;
            Ok::<(), StoreError>(())
        })
    }

    /// A customer's outbox rows with how their delivery went, oldest first: (id, status, attempts, result).
    pub async fn deliveries_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<(Uuid, String, i64, Option<Value>)>, StoreError> {
        let rows: Vec<(Uuid, String, i64, Option<Json<Value>>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, status, attempts, result FROM outbox WHERE tenant_id = $1 AND customer_id = $2 \
             ORDER BY created_at, id")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| (r.0, r.1, r.2, r.3.map(|j| j.0))).collect())
    }

    /// Whether a template is one a journey send already holds (reconciliation skips those).
    pub async fn is_known_send(&self, tenant: TenantId, msgid: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT 1 FROM wecom_send_polls WHERE tenant_id = $1 AND msgid = $2 LIMIT 1")
            .bind(tenant.0).bind(msgid).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    /// Tenants with a result poll due (at most `limit`).
    pub async fn tenants_with_send_polls(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<TenantId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT tenant_id FROM wecom_send_polls WHERE next_poll_at <= $1 LIMIT $2")
            .bind(now).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }

    /// A tenant's due result polls, oldest due first.
    pub async fn due_send_polls(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SendPoll>, StoreError> {
        let rows: Vec<PollRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT p.outbox_id, p.corp_row_id, p.msgid, p.sender, p.external_userid, p.sent_at, o.journey_id, \
             o.customer_id, o.node, o.dedupe_key, o.result FROM wecom_send_polls p JOIN outbox o \
             ON o.tenant_id = p.tenant_id AND o.id = p.outbox_id WHERE p.tenant_id = $1 AND p.next_poll_at <= $2 \
             ORDER BY p.next_poll_at, p.outbox_id LIMIT $3")
            .bind(tenant.0).bind(now).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| SendPoll {
                outbox_id: r.0,
                corp: CorpId(r.1),
                msgid: r.2,
                sender: r.3,
                external_userid: r.4,
                sent_at: r.5,
                journey_id: JourneyId(r.6),
                customer_id: CustomerId(r.7),
                node: r.8,
                dedupe_key: r.9,
                result: r.10.map(|j| j.0),
            })
            .collect())
    }

    /// Polls the template again at `next`.
    pub async fn repoll_send(&self, tenant: TenantId, outbox_id: Uuid, next: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE wecom_send_polls SET next_poll_at = $3 WHERE tenant_id = $1 AND outbox_id = $2")
            .bind(tenant.0).bind(outbox_id).bind(next).execute(p).await)?;
        Ok(())
    }

    /// Ends a template's poll with what WeCom said: the outbox row's result becomes `result` and `event`
    /// (if any) goes on the customer's timeline, together. A poll settled already is left alone.
    pub async fn settle_send_poll(
        &self,
        tenant: TenantId,
        outbox_id: Uuid,
        result: &Value,
        event: Option<&TimelineEntry>,
    ) -> Result<bool, StoreError> {
        in_write_tx!(self.0, tx => {
            let gone = sqlx::query("DELETE FROM wecom_send_polls WHERE tenant_id = $1 AND outbox_id = $2")
                .bind(tenant.0).bind(outbox_id).execute(&mut *tx).await?.rows_affected();
            if gone > 0 {
                sqlx::query("UPDATE outbox SET result = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0).bind(outbox_id).bind(Json(result)).execute(&mut *tx).await?;
                if let Some(e) = event {
                    insert_timeline!(tenant, e).execute(&mut *tx).await?;
                }
            }
            Ok::<bool, StoreError>(gone > 0)
        })
    }
}

/// The result poll a WeCom send queues.
#[derive(Debug, Clone)]
pub struct NewPoll<'a> {
    pub corp: CorpId,
    pub msgid: &'a str,
    pub sender: &'a str,
    pub external_userid: &'a str,
    pub next: DateTime<Utc>,
}
