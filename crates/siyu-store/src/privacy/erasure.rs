//! Erasing a customer (PIPL Art. 47) in one transaction.
//!
//! The customer row stays as an anonymous shell (placeholder name, no remark, avatar or custom values,
//! `erased_at` set) so that its orders, their amounts and every aggregate still add up. Everything else that
//! is about the person is deleted or anonymised by [`ERASURE_STEPS`], one statement per table, all in this
//! file so that no table is forgotten. Granted consents are withdrawn (the history is kept as the proof:
//! it holds no identifier beyond the customer id). A privacy request row records what each step touched.
//!
//! Every statement skips rows that are already anonymised, so erasing twice changes nothing the second time
//! and counts zero. On SQLite the store runs with `secure_delete` (freed space is zeroed) and the erasure
//! ends with a WAL checkpoint, so the old bytes leave the files too; on PostgreSQL the old row versions go
//! with the next (auto)vacuum.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, TenantId, UserId};
use siyu_domain::privacy::{
    Consent, ConsentPurpose, ConsentSource, ConsentStatus, ERASED_NAME, PrivacyRequest, PrivacyRequestKind,
};
use siyu_domain::timeline::TimelineEntry;

use super::{Privacy, insert_change, insert_request};
use crate::error::OptionExt;
use crate::statements::insert_timeline;
use crate::{Backend, StoreError, in_write_tx};

/// One statement of the erasure. Only `$1` (the tenant) and `$2` (the customer) are bound. It must skip rows
/// it already anonymised, so that a repeated erasure affects no row.
#[derive(Debug, Clone, Copy)]
pub struct ErasureStep {
    /// The name its row count has in the privacy request (`identities`, `events`, ...).
    pub key: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

const fn both(key: &'static str, sql: &'static str) -> ErasureStep {
    ErasureStep { key, sqlite: sql, postgres: sql }
}

/// What erasure does to every table besides `customers` and `consents`, in order.
///
/// A table added later that holds anything about a customer appends its statement here, and the erasure test
/// in `crates/siyu-web/tests/it/privacy.rs` greps the whole database for the person afterwards.
pub const ERASURE_STEPS: &[ErasureStep] = &[
    // The identity graph first, while the person's identities still say which edges are theirs: the links
    // observed between their identifiers (with the retractions of those links), the merge log (its snapshot
    // holds the absorbed customer's profile, so a merge of an erased person cannot be undone) and the merge
    // suggestions about them (their evidence shows masked identifiers).
    both(
        "identity_edge_retractions",
        "DELETE FROM identity_edge_retractions WHERE tenant_id = $1 AND edge_id IN (SELECT e.id FROM identity_edges e \
         JOIN identities i ON i.tenant_id = e.tenant_id AND (i.id = e.a_id OR i.id = e.b_id) \
         WHERE e.tenant_id = $1 AND i.customer_id = $2)",
    ),
    both(
        "identity_edges",
        "DELETE FROM identity_edges WHERE tenant_id = $1 AND (a_id IN (SELECT id FROM identities WHERE tenant_id = $1 \
         AND customer_id = $2) OR b_id IN (SELECT id FROM identities WHERE tenant_id = $1 AND customer_id = $2))",
    ),
    both(
        "identity_unmerges",
        "DELETE FROM identity_unmerges WHERE tenant_id = $1 AND merge_id IN (SELECT id FROM identity_merges \
         WHERE tenant_id = $1 AND (survivor_id = $2 OR absorbed_id = $2))",
    ),
    both(
        "identity_merges",
        "DELETE FROM identity_merges WHERE tenant_id = $1 AND (survivor_id = $2 OR absorbed_id = $2)",
    ),
    both(
        "merge_suggestions",
        "DELETE FROM merge_suggestions WHERE tenant_id = $1 AND (customer_a = $2 OR customer_b = $2)",
    ),
    // Their rows in WeCom customer groups (name, nickname, unionid), found by their external_userids.
    both(
        "group_members",
        "DELETE FROM group_members WHERE tenant_id = $1 AND member_type = 2 AND member_key IN \
         (SELECT lookup FROM identities WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'external_userid')",
    ),
    // The session archive: their 1:1 chats with every message, their own messages in groups, the
    // excerpts and findings of alerts about them, and the group joins and leaves the callbacks reported.
    both(
        "archive_messages",
        "DELETE FROM archive_messages WHERE tenant_id = $1 AND (conversation_id IN (SELECT id FROM \
         archive_conversations WHERE tenant_id = $1 AND customer_id = $2) OR sender IN (SELECT lookup FROM \
         identities WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'external_userid'))",
    ),
    both(
        "archive_alerts",
        "UPDATE archive_alerts SET excerpt = '', detail = '' WHERE tenant_id = $1 AND (customer_id = $2 OR \
         conversation_id IN (SELECT id FROM archive_conversations WHERE tenant_id = $1 AND customer_id = $2))",
    ),
    both("archive_conversations", "DELETE FROM archive_conversations WHERE tenant_id = $1 AND customer_id = $2"),
    both(
        "group_join_leaves",
        "DELETE FROM group_join_leaves WHERE tenant_id = $1 AND member_key IN \
         (SELECT lookup FROM identities WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'external_userid')",
    ),
    // Identifiers (unionid, openid, phone, ...): gone, so nothing can find or re-link the person.
    both("identities", "DELETE FROM identities WHERE tenant_id = $1 AND customer_id = $2"),
    // Tags are profile data (inferences about the person), and so is their history.
    both("customer_tags", "DELETE FROM customer_tags WHERE tenant_id = $1 AND customer_id = $2"),
    both("tag_history", "DELETE FROM tag_history WHERE tenant_id = $1 AND customer_id = $2"),
    both("notes", "DELETE FROM notes WHERE tenant_id = $1 AND customer_id = $2"),
    // The staff relation with its remark, description and channel state.
    both("follows", "DELETE FROM follows WHERE tenant_id = $1 AND customer_id = $2"),
    // Joins through group live codes name the member by external_userid.
    both("group_code_joins", "DELETE FROM group_code_joins WHERE tenant_id = $1 AND customer_id = $2"),
    // Ended relations, live-code adds, mass-send and transfer rows, tag changes waiting for WeCom: all
    // about the person's WeCom relations.
    both("follow_removals", "DELETE FROM follow_removals WHERE tenant_id = $1 AND customer_id = $2"),
    both("live_code_adds", "DELETE FROM live_code_adds WHERE tenant_id = $1 AND customer_id = $2"),
    both("mass_send_recipients", "DELETE FROM mass_send_recipients WHERE tenant_id = $1 AND customer_id = $2"),
    both("transfer_items", "DELETE FROM transfer_items WHERE tenant_id = $1 AND customer_id = $2"),
    both("wecom_tag_pushes", "DELETE FROM wecom_tag_pushes WHERE tenant_id = $1 AND customer_id = $2"),
    // Moments they could see, commented on or liked.
    both("moment_visible", "DELETE FROM moment_visible WHERE tenant_id = $1 AND customer_id = $2"),
    both("moment_interactions", "DELETE FROM moment_interactions WHERE tenant_id = $1 AND customer_id = $2"),
    // What staff sent them from the sidebar.
    both("sidebar_sends", "DELETE FROM sidebar_sends WHERE tenant_id = $1 AND customer_id = $2"),
    // Material sends and opens keep counting (sent, opened) but no longer say who the customer was.
    both("material_usage", "UPDATE material_usage SET customer_id = NULL WHERE tenant_id = $1 AND customer_id = $2"),
    // Entries keep their kind, time, source and actor; payloads (names, tags, masked ids) go.
    both(
        "timeline",
        "UPDATE timeline SET payload = '{}' WHERE tenant_id = $1 AND customer_id = $2 AND payload <> '{}'",
    ),
    // Events keep type, name and times (the rows still count); properties, traits, context, sealed PII and the
    // client's user and anonymous ids go. Stored payloads always carry `messageId`; anonymised ones never do.
    ErasureStep {
        key: "events",
        sqlite: "UPDATE events SET anonymous_id = NULL, user_id = NULL, payload = CASE \
                 WHEN type = 'track' THEN json_object('type', type, 'event', name) \
                 WHEN type IN ('page', 'screen') THEN json_object('type', type, 'name', name) \
                 ELSE json_object('type', type) END \
                 WHERE tenant_id = $1 AND customer_id = $2 \
                 AND (anonymous_id IS NOT NULL OR user_id IS NOT NULL OR json_extract(payload, '$.messageId') IS NOT NULL)",
        postgres: "UPDATE events SET anonymous_id = NULL, user_id = NULL, payload = CASE \
                   WHEN type = 'track' THEN jsonb_build_object('type', type, 'event', name) \
                   WHEN type IN ('page', 'screen') THEN jsonb_build_object('type', type, 'name', name) \
                   ELSE jsonb_build_object('type', type) END \
                   WHERE tenant_id = $1 AND customer_id = $2 \
                   AND (anonymous_id IS NOT NULL OR user_id IS NOT NULL OR payload -> 'messageId' IS NOT NULL)",
    },
    // Orders keep amounts, status, dates, lines and history for finance; the buyer and receiver go.
    both(
        "orders",
        "UPDATE orders SET buyer_nick = NULL, buyer_keys = '[]', hints = '[]', receiver_name_enc = NULL, \
         receiver_phone_enc = NULL, receiver_phone_kind = NULL, receiver_phone_display = NULL, \
         receiver_phone_lookup = NULL, receiver_address_enc = NULL \
         WHERE tenant_id = $1 AND customer_id = $2 AND (buyer_nick IS NOT NULL OR buyer_keys <> '[]' \
         OR hints <> '[]' OR receiver_name_enc IS NOT NULL OR receiver_phone_enc IS NOT NULL \
         OR receiver_phone_display IS NOT NULL OR receiver_phone_lookup IS NOT NULL OR receiver_address_enc IS NOT NULL)",
    ),
    // Derived audiences and scores: out of every segment (with its enter/exit log, so no consumer follows
    // the person any more; member counts catch up at the next refresh), and no RFM or CLV row.
    both("segment_members", "DELETE FROM segment_members WHERE tenant_id = $1 AND customer_id = $2"),
    both("segment_changes", "DELETE FROM segment_changes WHERE tenant_id = $1 AND customer_id = $2"),
    both("customer_rfm", "DELETE FROM customer_rfm WHERE tenant_id = $1 AND customer_id = $2"),
    both("customer_clv", "DELETE FROM customer_clv WHERE tenant_id = $1 AND customer_id = $2"),
    both("segment_dirty", "DELETE FROM segment_dirty WHERE tenant_id = $1 AND customer_id = $2"),
    // Tracked links sent to them and every open of those (user agents, IP hashes, reading times).
    both(
        "link_opens",
        "DELETE FROM link_opens WHERE tenant_id = $1 AND (customer_id = $2 OR link_id IN \
         (SELECT id FROM links WHERE tenant_id = $1 AND customer_id = $2))",
    ),
    both("links", "DELETE FROM links WHERE tenant_id = $1 AND customer_id = $2"),
    // Journeys: the person's runs stop and leave no trace of what they were sent.
    both("journey_instances", "DELETE FROM journey_instances WHERE tenant_id = $1 AND customer_id = $2"),
    both("journey_steps", "DELETE FROM journey_steps WHERE tenant_id = $1 AND customer_id = $2"),
    both(
        "wecom_send_polls",
        "DELETE FROM wecom_send_polls WHERE tenant_id = $1 AND outbox_id IN \
         (SELECT id FROM outbox WHERE tenant_id = $1 AND customer_id = $2)",
    ),
    both("outbox", "DELETE FROM outbox WHERE tenant_id = $1 AND customer_id = $2"),
    both("sandbox_messages", "DELETE FROM sandbox_messages WHERE tenant_id = $1 AND customer_id = $2"),
    // App messages about their tasks (they name the person), then the tasks (titles may say what was
    // promised to them).
    both(
        "staff_notices",
        "DELETE FROM staff_notices WHERE tenant_id = $1 AND task_id IN \
         (SELECT id FROM staff_tasks WHERE tenant_id = $1 AND customer_id = $2)",
    ),
    both("staff_tasks", "DELETE FROM staff_tasks WHERE tenant_id = $1 AND customer_id = $2"),
    // Lifecycle stage and its history; queued signals (event payloads) go last, after anything above that
    // queued one.
    both("customer_stages", "DELETE FROM customer_stages WHERE tenant_id = $1 AND customer_id = $2"),
    both("stage_history", "DELETE FROM stage_history WHERE tenant_id = $1 AND customer_id = $2"),
    both("journey_signals", "DELETE FROM journey_signals WHERE tenant_id = $1 AND customer_id = $2"),
];

/// The profile columns of the customer row, emptied; `$3` is the time of the erasure.
const ANONYMISE_CUSTOMER: &str = "UPDATE customers SET name = $4, gender = 'unknown', avatar_url = NULL, remark = NULL, \
     custom = '{}', erased_at = COALESCE(erased_at, $3), updated_at = $3 WHERE tenant_id = $1 AND id = $2 \
     AND (erased_at IS NULL OR name <> $4 OR gender <> 'unknown' OR avatar_url IS NOT NULL OR remark IS NOT NULL \
     OR custom <> '{}')";

/// Orders of anyone shipped to the person's phone (a gift, an unmatched order): the receiver goes.
const ANONYMISE_RECEIVER: &str = "UPDATE orders SET receiver_name_enc = NULL, receiver_phone_enc = NULL, \
     receiver_phone_kind = NULL, receiver_phone_display = NULL, receiver_phone_lookup = NULL, receiver_address_enc = NULL \
     WHERE tenant_id = $1 AND receiver_phone_lookup = $2";

/// One erasure as the app asks for it.
#[derive(Debug, Clone)]
pub struct Erasure<'a> {
    pub customer: CustomerId,
    pub at: DateTime<Utc>,
    /// Who erases, and through what: written on the consents the erasure withdraws.
    pub actor: Option<UserId>,
    pub source: ConsentSource,
    /// The request to record; the store adds `counts` (rows per step) to its detail.
    pub request: &'a PrivacyRequest,
    /// The timeline entry telling that the customer was erased (written after the payloads are scrubbed).
    pub timeline: &'a TimelineEntry,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq)]
pub struct ErasureOutcome {
    /// When the customer was first erased, if it already was before this run.
    pub already_erased: Option<DateTime<Utc>>,
    /// Rows deleted or anonymised, per step (`customer`, `identities`, ..., `consents`).
    pub counts: BTreeMap<&'static str, u64>,
    /// The request recorded; `None` when this run found nothing left to erase.
    pub recorded: Option<PrivacyRequest>,
}

impl Privacy<'_> {
    /// Erases one customer in one transaction (see the module documentation). `NotFound` for a missing one.
    pub async fn erase(&self, tenant: TenantId, e: &Erasure<'_>) -> Result<ErasureOutcome, StoreError> {
        let (c, kind) = (e.customer, self.0.kind());
        let mut counts = BTreeMap::new();
        let lock = match kind {
            crate::BackendKind::Sqlite => "SELECT erased_at FROM customers WHERE tenant_id = $1 AND id = $2",
            crate::BackendKind::Postgres => {
                "SELECT erased_at FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
            }
        };
        let outcome = in_write_tx!(self.0, tx => {
            let row: Option<(Option<DateTime<Utc>>,)> =
                sqlx::query_as(lock).bind(tenant.0).bind(c.0).fetch_optional(&mut *tx).await?;
            let already_erased = row.found()?.0;
            let phones: Vec<(String,)> = sqlx::query_as(
                "SELECT lookup FROM identities WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'phone'")
                .bind(tenant.0).bind(c.0).fetch_all(&mut *tx).await?;
            let done = sqlx::query(ANONYMISE_CUSTOMER).bind(tenant.0).bind(c.0).bind(e.at).bind(ERASED_NAME)
                .execute(&mut *tx).await?.rows_affected();
            counts.insert("customer", done);
            for step in ERASURE_STEPS {
                let sql = match kind {
                    crate::BackendKind::Sqlite => step.sqlite,
                    crate::BackendKind::Postgres => step.postgres,
                };
                let done = sqlx::query(sql).bind(tenant.0).bind(c.0).execute(&mut *tx).await?.rows_affected();
                counts.insert(step.key, done);
            }
            let mut receivers = 0;
            for (lookup,) in &phones {
                receivers += sqlx::query(ANONYMISE_RECEIVER).bind(tenant.0).bind(lookup.clone())
                    .execute(&mut *tx).await?.rows_affected();
            }
            counts.insert("orders_shipped_to_phone", receivers);
            let granted: Vec<(String,)> = sqlx::query_as(
                "SELECT purpose FROM consents WHERE tenant_id = $1 AND customer_id = $2 AND status = 'granted' ORDER BY purpose")
                .bind(tenant.0).bind(c.0).fetch_all(&mut *tx).await?;
            for (purpose,) in &granted {
                let Some(purpose) = ConsentPurpose::parse(purpose) else { continue };
                let consent = Consent { status: ConsentStatus::Granted, ..Consent::unknown(purpose) };
                let Some(change) = consent.change(ConsentStatus::Withdrawn, e.source, e.actor, "erasure", e.at) else {
                    continue;
                };
                insert_change!(tenant, c, &change).execute(&mut *tx).await?;
                sqlx::query(
                    "UPDATE consents SET status = 'withdrawn', source = $4, changed_by = $5, changed_at = $6 \
                     WHERE tenant_id = $1 AND customer_id = $2 AND purpose = $3")
                    .bind(tenant.0).bind(c.0).bind(purpose.as_str()).bind(e.source.as_str())
                    .bind(e.actor.map(|a| a.0)).bind(e.at)
                    .execute(&mut *tx).await?;
            }
            counts.insert("consents_withdrawn", granted.len() as u64);
            let recorded = if counts.values().any(|n| *n > 0) {
                insert_timeline!(tenant, e.timeline).execute(&mut *tx).await?;
                let mut request = e.request.clone();
                request.kind = PrivacyRequestKind::Erasure;
                request.customer_id = c;
                if let Some(detail) = request.detail.as_object_mut() {
                    detail.insert("counts".into(), json!(counts));
                    detail.insert("already_erased".into(), json!(already_erased.is_some()));
                }
                insert_request!(tenant, &request).execute(&mut *tx).await?;
                Some(request)
            } else {
                None
            };
            ErasureOutcome { already_erased, counts, recorded }
        });
        self.checkpoint().await;
        Ok(outcome)
    }

    /// On SQLite, moves the WAL into the database file and truncates it, so pages written before the
    /// erasure (still holding the person) leave the WAL file. Best effort: a busy checkpoint is retried by
    /// the next one.
    async fn checkpoint(&self) {
        if let Backend::Sqlite(p) = &self.0.backend
            && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await
        {
            tracing::warn!(error = %e, "wal checkpoint after erasure failed");
        }
    }
}
