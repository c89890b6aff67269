//! What other features call: the usage ledger (sends from the sidebar, opens of tracked links), a
//! material's statistics, and its public content for a landing page.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::id::{CustomerId, MaterialId, TenantId, UserId};
use siyu_domain::material::{CONVERSION_DAYS, MaterialContent, MaterialKind, UsageAction};
use siyu_store::materials::usage::{NewUsage, UsageCounts};
use uuid::Uuid;

use super::MaterialFile;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// One use of a material, recorded once per `dedupe_key`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MaterialUsage {
    pub material_id: MaterialId,
    pub action: UsageAction,
    /// The staff member who sent it (or whose tracked link was opened).
    pub user_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    /// Makes retries harmless: the same key is counted once, e.g. `send:<msgid>` or `open:<link id>:<visit>`.
    /// Put no personal data in it (erasure clears the customer link, not the key).
    pub dedupe_key: String,
    /// When it happened (default: now).
    pub at: Option<DateTime<Utc>>,
}

/// Counts of a material (or of one staff member's part of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageCountsOut {
    pub user_id: Option<UserId>,
    /// The staff member's name when known.
    pub name: Option<String>,
    pub sent: i64,
    pub opened: i64,
    pub unique_openers: i64,
    /// Customers who ordered within 7 days after their first open (or a recorded conversion).
    pub conversions: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialStats {
    pub total: UsageCountsOut,
    pub by_staff: Vec<UsageCountsOut>,
}

/// What a public landing page shows of a material (no visibility check: the link was handed out).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialLanding {
    pub id: MaterialId,
    pub kind: MaterialKind,
    pub title: String,
    /// Text, or the description.
    pub body: String,
    pub content: MaterialContent,
    /// The file's type and name when the material has one (serve it with [`App::material_landing_file`]).
    pub mime: Option<String>,
    pub file_name: Option<String>,
    pub has_file: bool,
    pub has_thumbnail: bool,
}

fn counts(c: UsageCounts) -> UsageCountsOut {
    UsageCountsOut {
        user_id: c.user_id.map(UserId),
        name: None,
        sent: c.sent,
        opened: c.opened,
        unique_openers: c.unique_openers,
        conversions: c.conversions,
    }
}

impl App {
    /// Records a send, open or conversion of a material in `tenant`'s ledger. Returns `false` when the
    /// `dedupe_key` was recorded before (a retry: nothing is counted twice). Called by the sidebar's send
    /// and by tracked-link opens; the material must exist in the tenant.
    pub async fn record_material_usage(&self, tenant: TenantId, usage: &MaterialUsage) -> AppResult<bool> {
        let key = usage.dedupe_key.trim();
        if key.is_empty() || key.len() > 200 {
            return Err(AppError::invalid("dedupe_key", "length"));
        }
        self.store.materials().get(tenant, usage.material_id).await?;
        let at = usage.at.unwrap_or_else(|| self.now());
        let entry = NewUsage {
            id: Uuid::now_v7(),
            material_id: usage.material_id.0,
            action: usage.action.as_str(),
            user_id: usage.user_id.map(|u| u.0),
            customer_id: usage.customer_id.map(|c| c.0),
            dedupe_key: key.to_string(),
            at,
            convert_until: at + Duration::days(CONVERSION_DAYS),
        };
        Ok(self.store.material_usage().record(tenant, &entry).await?)
    }

    /// Records a send by the actor (the sidebar's send button), once per `dedupe_key`.
    pub async fn record_material_send(
        &self,
        actor: &Actor,
        id: MaterialId,
        customer: Option<CustomerId>,
        dedupe_key: &str,
    ) -> AppResult<bool> {
        self.get_material(actor, id).await?;
        if let Some(c) = customer {
            self.ensure_visible(actor, c).await?;
        }
        let usage = MaterialUsage {
            material_id: id,
            action: UsageAction::Sent,
            user_id: Some(actor.user),
            customer_id: customer,
            dedupe_key: format!("send:{}:{dedupe_key}", actor.user.0),
            at: None,
        };
        self.record_material_usage(actor.tenant, &usage).await
    }

    /// Sent, opened, unique openers and conversions of a material, overall and per staff member.
    pub async fn material_stats(&self, actor: &Actor, id: MaterialId) -> AppResult<MaterialStats> {
        self.get_material(actor, id).await?;
        let (total, rows) = self.store.material_usage().stats(actor.tenant, id).await?;
        let members = self.store.members().list(actor.tenant).await?;
        let by_staff = rows
            .into_iter()
            .map(|r| {
                let mut c = counts(r);
                c.name =
                    c.user_id.and_then(|u| members.iter().find(|m| m.user_id == u).map(|m| m.display_name.clone()));
                c
            })
            .collect();
        Ok(MaterialStats { total: counts(total), by_staff })
    }

    /// A material's public content for a landing page (tracked links): title, text or description,
    /// the kind's fields and whether there is a file. No actor: whoever holds the link sees it.
    pub async fn material_for_landing(&self, tenant: TenantId, id: MaterialId) -> AppResult<MaterialLanding> {
        let row = self.store.materials().get(tenant, id).await?;
        let v = self.store.materials().version(tenant, id, row.version).await?;
        Ok(MaterialLanding {
            id,
            kind: MaterialKind::parse(&row.kind).unwrap_or(MaterialKind::File),
            title: v.title,
            body: v.body,
            content: serde_json::from_str(&v.content).unwrap_or_default(),
            mime: v.mime,
            file_name: v.file_name,
            has_file: v.blob_key.is_some(),
            has_thumbnail: v.thumb_key.is_some(),
        })
    }

    /// The file (or thumbnail) of a material's current version for a landing page.
    pub async fn material_landing_file(
        &self,
        tenant: TenantId,
        id: MaterialId,
        thumbnail: bool,
    ) -> AppResult<MaterialFile> {
        let row = self.store.materials().get(tenant, id).await?;
        let v = self.store.materials().version(tenant, id, row.version).await?;
        self.file_of(tenant, &v, thumbnail).await
    }
}
