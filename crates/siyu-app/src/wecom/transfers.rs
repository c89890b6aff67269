//! Customer inheritance (在职/离职继承): a batch hands one staff member's customers and groups to another.
//!
//! The preview says which customers and groups would go and which would not, and why: the 2-per-90-days
//! guard (`limited`, with the date it lifts), already being transferred (`in_progress`), not the handover's
//! (`not_followed`, `not_unassigned`, `not_owner`). Creating a batch (idempotent on its `key`) stores every
//! selected item with that verdict and queues a job (`transfers/run.rs`) that sends the open ones to WeCom in
//! calls of 100 and polls `transfer_result` until each is taken over, refused or failed; `transfer_fail` and
//! `DELETE_BY_TRANSFER` callbacks settle items at once (`transfers/poll.rs`).

mod poll;
mod run;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, CustomerId, TransferId};
use siyu_domain::job::Job;
use siyu_domain::wecom::WecomStaff;
use siyu_domain::wecom::transfer::{
    self, BatchStatus, ItemKind, TransferBatch, TransferCounts, TransferItem, TransferKind, item,
};
use siyu_store::wecom::{GroupQuery, NewTransferItem};

pub use run::TRANSFER_JOB;

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A transfer as requested: who hands over to whom, which customers and groups, the notice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TransferInput {
    pub corp: CorpId,
    pub kind: TransferKind,
    pub handover_userid: String,
    pub takeover_userid: String,
    /// Customers by external_userid (ignored with `all_customers`).
    #[serde(default)]
    pub external_userids: Vec<String>,
    /// Every customer of the handover (on-job: those they follow; resigned: their unassigned ones).
    #[serde(default)]
    pub all_customers: bool,
    /// Groups by chat_id (ignored with `all_groups`).
    #[serde(default)]
    pub chat_ids: Vec<String>,
    /// Every group the handover owns.
    #[serde(default)]
    pub all_groups: bool,
    /// The notice the customers see (on-job only, ≤200 characters; WeCom's default when absent).
    #[serde(default)]
    pub message: Option<String>,
    /// Creating twice with one key makes one batch.
    #[serde(default)]
    pub key: Option<String>,
}

/// One customer or group of a preview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewItem {
    pub kind: ItemKind,
    pub target: String,
    pub customer_id: Option<CustomerId>,
    pub name: String,
    /// Why it would not be transferred (`limited`, `in_progress`, `not_followed`, `not_unassigned`,
    /// `not_owner`); absent when it would.
    pub blocked: Option<String>,
    /// For `limited`: when WeCom's 90-day window lets it be transferred again.
    pub allowed_from: Option<DateTime<Utc>>,
}

/// What a transfer would do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferPreview {
    pub customers: Vec<PreviewItem>,
    pub groups: Vec<PreviewItem>,
    /// Items that would go to WeCom.
    pub ready: usize,
    pub blocked: usize,
}

/// A batch with its counts (and, on its own page, items).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferView {
    #[serde(flatten)]
    pub batch: TransferBatch,
    pub counts: TransferCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<TransferItem>>,
}

/// A customer of a staff member who left, waiting for a new one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnassignedView {
    pub handover_userid: String,
    pub handover_name: String,
    pub external_userid: String,
    pub customer_id: Option<CustomerId>,
    pub customer_name: String,
    pub dimission_time: Option<DateTime<Utc>>,
}

/// The handover and takeover staff, checked.
struct Parties {
    handover: WecomStaff,
}

impl App {
    async fn check_parties(&self, actor: &Actor, input: &TransferInput) -> AppResult<Parties> {
        actor.require(Permission::UsersManage)?;
        let wecom = self.store.wecom();
        wecom.corp(actor.tenant, input.corp).await.map_err(|_| AppError::invalid("corp", "unknown corp"))?;
        let handover = wecom.staff_by_userid(actor.tenant, input.corp, &input.handover_userid).await?;
        let handover = handover.ok_or_else(|| AppError::invalid("handover_userid", "unknown staff"))?;
        let takeover = wecom.staff_by_userid(actor.tenant, input.corp, &input.takeover_userid).await?;
        let takeover = takeover.ok_or_else(|| AppError::invalid("takeover_userid", "unknown staff"))?;
        if handover.userid == takeover.userid {
            return Err(AppError::invalid("takeover_userid", "the same staff member as the handover"));
        }
        if takeover.status != 1 || !takeover.contact_enabled {
            return Err(AppError::invalid("takeover_userid", "not active staff with the customer-contact permission"));
        }
        match (input.kind, handover.status == 5) {
            (TransferKind::OnJob, true) => {
                return Err(AppError::invalid("handover_userid", "has left: use a resigned transfer"));
            }
            (TransferKind::Resigned, false) => {
                return Err(AppError::invalid("handover_userid", "has not left: use an on-job transfer"));
            }
            _ => {}
        }
        let message = input.message.as_deref().map(str::trim).unwrap_or_default();
        if input.kind == TransferKind::Resigned && !message.is_empty() {
            return Err(AppError::invalid("message", "resigned transfers carry no notice"));
        }
        if message.chars().count() > transfer::MESSAGE_MAX_CHARS {
            return Err(AppError::invalid("message", "at most 200 characters"));
        }
        let nothing = !input.all_customers && !input.all_groups;
        if nothing && input.external_userids.is_empty() && input.chat_ids.is_empty() {
            return Err(AppError::invalid("external_userids", "choose customers or groups"));
        }
        Ok(Parties { handover })
    }

    /// What a transfer would do, without doing it.
    pub async fn preview_transfer(&self, actor: &Actor, input: &TransferInput) -> AppResult<TransferPreview> {
        let parties = self.check_parties(actor, input).await?;
        let customers = self.preview_customers(actor, input, &parties).await?;
        let groups = self.preview_groups(actor, input, &parties).await?;
        let ready = customers.iter().chain(&groups).filter(|i| i.blocked.is_none()).count();
        let blocked = customers.len() + groups.len() - ready;
        Ok(TransferPreview { customers, groups, ready, blocked })
    }

    async fn preview_customers(
        &self,
        actor: &Actor,
        input: &TransferInput,
        parties: &Parties,
    ) -> AppResult<Vec<PreviewItem>> {
        let tenant = actor.tenant;
        let wecom = self.store.wecom();
        let corp_id = wecom.corp(tenant, input.corp).await?.corp_id;
        // The handover's customers: those they follow (on-job) or WeCom's unassigned list (resigned).
        let theirs: Vec<String> = match input.kind {
            TransferKind::OnJob => wecom
                .followed_contacts(tenant, &corp_id, parties.handover.user_id)
                .await?
                .into_iter()
                .map(|c| c.0)
                .collect(),
            TransferKind::Resigned => self
                .unassigned_customers(actor, input.corp)
                .await?
                .into_iter()
                .filter(|u| u.handover_userid == input.handover_userid)
                .map(|u| u.external_userid)
                .collect(),
        };
        let selected: Vec<String> = if input.all_customers {
            theirs.clone()
        } else {
            let mut seen = HashSet::new();
            input
                .external_userids
                .iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty() && seen.insert(e.clone()))
                .collect()
        };
        if selected.is_empty() {
            return Ok(Vec::new());
        }
        let theirs: HashSet<String> = theirs.into_iter().collect();
        let known = wecom.contacts_by_external(tenant, &corp_id, &selected).await?;
        let open = wecom.open_transfer_targets(tenant, input.corp, ItemKind::Customer, &selected).await?;
        let now = self.now();
        let ledger = if input.kind == TransferKind::OnJob {
            let since = now - Duration::days(transfer::WINDOW_DAYS);
            wecom.transfer_ledger(tenant, input.corp, &selected, since).await?
        } else {
            HashMap::new()
        };
        let not_theirs = if input.kind == TransferKind::OnJob { "not_followed" } else { "not_unassigned" };
        Ok(selected
            .into_iter()
            .map(|ext| {
                let allowed_from = ledger.get(&ext).and_then(|times| transfer::next_allowed(times, now));
                let blocked = if !theirs.contains(&ext) {
                    Some(not_theirs)
                } else if open.contains(&ext) {
                    Some("in_progress")
                } else if allowed_from.is_some() {
                    Some(item::LIMITED)
                } else {
                    None
                };
                let (customer_id, name) = known.get(&ext).map(|(c, n)| (Some(*c), n.clone())).unwrap_or_default();
                PreviewItem {
                    kind: ItemKind::Customer,
                    target: ext,
                    customer_id,
                    name,
                    blocked: blocked.map(str::to_owned),
                    allowed_from,
                }
            })
            .collect())
    }

    async fn preview_groups(
        &self,
        actor: &Actor,
        input: &TransferInput,
        parties: &Parties,
    ) -> AppResult<Vec<PreviewItem>> {
        if !input.all_groups && input.chat_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = GroupQuery { corp: Some(input.corp), limit: 10_000, ..GroupQuery::default() };
        let (groups, _) = self.store.wecom().groups(actor.tenant, &q).await?;
        let names: HashMap<&str, (&str, bool)> = groups
            .iter()
            .map(|g| (g.chat_id.as_str(), (g.name.as_str(), g.owner_userid == parties.handover.userid)))
            .collect();
        let selected: Vec<String> = if input.all_groups {
            groups.iter().filter(|g| g.owner_userid == parties.handover.userid).map(|g| g.chat_id.clone()).collect()
        } else {
            let mut seen = HashSet::new();
            input
                .chat_ids
                .iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty() && seen.insert(c.clone()))
                .collect()
        };
        let open =
            self.store.wecom().open_transfer_targets(actor.tenant, input.corp, ItemKind::Group, &selected).await?;
        Ok(selected
            .into_iter()
            .map(|chat_id| {
                let (name, owned) = names.get(chat_id.as_str()).copied().unwrap_or(("", false));
                let blocked = if !owned {
                    Some("not_owner")
                } else if open.contains(&chat_id) {
                    Some("in_progress")
                } else {
                    None
                };
                PreviewItem {
                    kind: ItemKind::Group,
                    name: name.to_owned(),
                    target: chat_id,
                    customer_id: None,
                    blocked: blocked.map(str::to_owned),
                    allowed_from: None,
                }
            })
            .collect())
    }

    /// Creates a batch (the preview's verdict on each item stored) and queues its job. With a `key` used
    /// before, the earlier batch is returned and nothing new is sent.
    pub async fn create_transfer(&self, actor: &Actor, input: &TransferInput) -> AppResult<TransferView> {
        let preview = self.preview_transfer(actor, input).await?;
        if preview.customers.is_empty() && preview.groups.is_empty() {
            return Err(AppError::invalid("external_userids", "the handover has no such customers or groups"));
        }
        let key = input.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
        if key.is_some_and(|k| k.len() > 100) {
            return Err(AppError::invalid("key", "at most 100 characters"));
        }
        let now = self.now();
        let message = input.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
        let batch = TransferBatch {
            id: TransferId::new(),
            corp: input.corp,
            kind: input.kind,
            handover_userid: input.handover_userid.clone(),
            takeover_userid: input.takeover_userid.clone(),
            message,
            status: BatchStatus::Sending,
            error: None,
            created_by: Some(actor.user),
            created_at: now,
            finished_at: None,
        };
        let items: Vec<NewTransferItem> = preview
            .customers
            .iter()
            .chain(&preview.groups)
            .map(|p| NewTransferItem {
                kind: p.kind,
                target: p.target.clone(),
                customer_id: p.customer_id,
                status: match p.blocked.as_deref() {
                    None => item::PENDING,
                    Some(item::LIMITED) => item::LIMITED,
                    Some(_) => item::SKIPPED,
                },
                reason: p.blocked.clone(),
            })
            .collect();
        let id = self.store.wecom().insert_transfer(actor.tenant, &batch, key, &items).await?;
        if id == batch.id {
            let payload = serde_json::json!({ "batch": id });
            let job = Job::queued(TRANSFER_JOB, payload, items.len() as i64, actor.user, now);
            self.store.jobs().enqueue(actor.tenant, &job).await?;
            self.store.wecom().set_transfer_job(actor.tenant, id, job.id).await?;
            metrics::counter!("siyu_wecom_transfers_total", "kind" => input.kind.as_str()).increment(1);
        }
        self.transfer(actor, id).await
    }

    /// One batch with its items.
    pub async fn transfer(&self, actor: &Actor, id: TransferId) -> AppResult<TransferView> {
        actor.require(Permission::UsersManage)?;
        let batch = self.store.wecom().transfer(actor.tenant, id).await?;
        let counts = self.store.wecom().transfer_counts(actor.tenant, id).await?;
        let items = self.store.wecom().transfer_items(actor.tenant, id).await?;
        Ok(TransferView { batch, counts, items: Some(items) })
    }

    /// The newest 100 batches with their counts.
    pub async fn transfers(&self, actor: &Actor) -> AppResult<Vec<TransferView>> {
        actor.require(Permission::UsersManage)?;
        let mut out = Vec::new();
        for batch in self.store.wecom().transfers(actor.tenant, 100).await? {
            let counts = self.store.wecom().transfer_counts(actor.tenant, batch.id).await?;
            out.push(TransferView { batch, counts, items: None });
        }
        Ok(out)
    }

    /// The customers of staff who left that WeCom has not reassigned (`get_unassigned_list`, every page).
    pub async fn unassigned_customers(&self, actor: &Actor, corp: CorpId) -> AppResult<Vec<UnassignedView>> {
        actor.require(Permission::UsersManage)?;
        let handle = self.corp_handle(actor.tenant, corp).await?;
        let mut rows = Vec::new();
        let mut cursor = String::new();
        for _ in 0..100 {
            let page =
                handle.client.get_unassigned_list(&handle.contact, &cursor, 1000).await.map_err(super::wecom_error)?;
            rows.extend(page.info);
            if page.is_last || page.next_cursor.is_empty() {
                break;
            }
            cursor = page.next_cursor;
        }
        let staff: HashMap<String, String> =
            self.store.wecom().staff(actor.tenant, corp).await?.into_iter().map(|s| (s.userid, s.name)).collect();
        let exts: Vec<String> = rows.iter().map(|r| r.external_userid.clone()).collect();
        let known = self.store.wecom().contacts_by_external(actor.tenant, &handle.corp_id, &exts).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (customer_id, customer_name) =
                    known.get(&r.external_userid).map(|(c, n)| (Some(*c), n.clone())).unwrap_or_default();
                UnassignedView {
                    handover_name: staff.get(&r.handover_userid).cloned().unwrap_or_else(|| r.handover_userid.clone()),
                    handover_userid: r.handover_userid,
                    external_userid: r.external_userid,
                    customer_id,
                    customer_name,
                    dimission_time: (r.dimission_time > 0)
                        .then(|| DateTime::from_timestamp(r.dimission_time, 0))
                        .flatten(),
                }
            })
            .collect())
    }
}
