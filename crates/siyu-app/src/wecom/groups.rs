//! Customer groups (客户群): read from WeCom whole (`groupchat/get`) whenever a callback says one changed or a
//! sync visits it, so a missed or out-of-order callback is repaired by the next read; external members become
//! customers of the pool (they are the brand's audience even before they add a staff member).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, GroupId, TenantId};
use siyu_domain::wecom::{CustomerGroup, GroupKind, GroupMember};
use siyu_store::wecom::{GroupQuery, GroupSync, GroupTrendDay};
use siyu_wecom::api::ExternalContact;

use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A group with its members, for its page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    pub group: CustomerGroup,
    pub members: Vec<GroupMember>,
    pub trend: Vec<GroupTrendDayView>,
}

/// Joins and leaves of one day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupTrendDayView {
    pub day: String,
    pub joins: i64,
    pub leaves: i64,
}

impl From<GroupTrendDay> for GroupTrendDayView {
    fn from(d: GroupTrendDay) -> Self {
        GroupTrendDayView { day: d.day, joins: d.joins, leaves: d.leaves }
    }
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    (secs > 0).then(|| DateTime::from_timestamp(secs, 0)).flatten()
}

impl App {
    /// Reads one group from WeCom and stores it with its members; returns (joined, left).
    pub(crate) async fn refresh_group(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        chat_id: &str,
        status: i64,
    ) -> AppResult<(usize, usize)> {
        let chat = handle.client.groupchat_get(&handle.contact, chat_id, true).await.map_err(wecom_error)?;
        let staff = self.staff_users(tenant, handle).await?;
        let mut members = Vec::with_capacity(chat.member_list.len());
        for m in &chat.member_list {
            if m.kind == 2 {
                let contact = ExternalContact {
                    external_userid: m.userid.clone(),
                    name: m.name.clone(),
                    unionid: m.unionid.clone(),
                    ..ExternalContact::default()
                };
                self.resolve_contact(tenant, &handle.corp_id, &contact, &format!("wecom_group:{chat_id}")).await?;
            }
            members.push(GroupMember {
                member_key: m.userid.clone(),
                member_type: m.kind,
                unionid: (!m.unionid.is_empty()).then(|| m.unionid.clone()),
                name: (!m.name.is_empty()).then(|| m.name.clone()),
                group_nickname: (!m.group_nickname.is_empty()).then(|| m.group_nickname.clone()),
                join_time: at(m.join_time),
                join_scene: Some(m.join_scene),
                invitor: m.invitor.as_ref().map(|i| i.userid.clone()).filter(|s| !s.is_empty()),
                state: (!m.state.is_empty()).then(|| m.state.clone()),
            });
        }
        let sync = GroupSync {
            chat_id: chat.chat_id.clone(),
            name: if chat.name.is_empty() { "群聊".into() } else { chat.name.clone() },
            owner_userid: chat.owner.clone(),
            owner_id: staff.get(&chat.owner).copied(),
            notice: (!chat.notice.is_empty()).then(|| chat.notice.clone()),
            status,
            member_version: (!chat.member_version.is_empty()).then(|| chat.member_version.clone()),
            wecom_created_at: at(chat.create_time),
            members,
            at: self.now(),
        };
        let (group, joined, left) = self.store.wecom().sync_group(tenant, handle.corp, &sync).await?;
        self.after_group_change(tenant, group, sync.at).await;
        // Joins through group codes, and the roll-over of the codes holding the group.
        self.after_group_code_sync(tenant, handle, group, &sync).await?;
        Ok((joined, left))
    }

    /// The groups the actor may see (all for customer readers with an all scope; their own otherwise).
    pub async fn customer_groups(&self, actor: &Actor, mut q: GroupQuery) -> AppResult<(Vec<CustomerGroup>, i64)> {
        actor.require(Permission::CustomersRead)?;
        if actor.scope != siyu_domain::access::DataScope::All {
            q.owner = Some(actor.user);
        }
        q.limit = q.limit.clamp(1, 200);
        q.offset = q.offset.max(0);
        Ok(self.store.wecom().groups(actor.tenant, &q).await?)
    }

    /// A group with its members and its last 30 days of joins and leaves.
    pub async fn customer_group(&self, actor: &Actor, id: GroupId) -> AppResult<GroupDetail> {
        actor.require(Permission::CustomersRead)?;
        let group = self.store.wecom().group(actor.tenant, id).await?;
        if actor.scope != siyu_domain::access::DataScope::All && group.owner_id != Some(actor.user) {
            return Err(AppError::NotFound);
        }
        let members = self.store.wecom().group_members(actor.tenant, id).await?;
        let since = self.now() - Duration::days(30);
        let trend = self.store.wecom().group_trend(actor.tenant, Some(id), None, since).await?;
        Ok(GroupDetail { group, members, trend: trend.into_iter().map(Into::into).collect() })
    }

    /// Daily joins and leaves across the groups the actor sees (their own outside an all scope) over the
    /// last `days` days.
    pub async fn group_trend(&self, actor: &Actor, days: i64) -> AppResult<Vec<GroupTrendDayView>> {
        actor.require(Permission::CustomersRead)?;
        let since = self.now() - Duration::days(days.clamp(1, 180));
        let owner = (actor.scope != siyu_domain::access::DataScope::All).then_some(actor.user);
        let trend = self.store.wecom().group_trend(actor.tenant, None, owner, since).await?;
        Ok(trend.into_iter().map(Into::into).collect())
    }

    /// Marks a group a daily-sales or a flash-sale group (the latter with open and close dates).
    pub async fn set_group_kind(
        &self,
        actor: &Actor,
        id: GroupId,
        kind: GroupKind,
        opens_on: Option<NaiveDate>,
        closes_on: Option<NaiveDate>,
    ) -> AppResult<CustomerGroup> {
        actor.require(Permission::CustomersWrite)?;
        self.customer_group(actor, id).await?;
        let (opens_on, closes_on) = match kind {
            GroupKind::Daily => (None, None),
            GroupKind::Flash => {
                let (Some(open), Some(close)) = (opens_on, closes_on) else {
                    return Err(AppError::invalid("closes_on", "a flash-sale group needs open and close dates"));
                };
                if !siyu_domain::wecom::sop::check_flash_dates(open, close) {
                    return Err(AppError::invalid("closes_on", "closes 3 to 7 days after it opens"));
                }
                (Some(open), Some(close))
            }
        };
        self.store.wecom().set_group_kind(actor.tenant, id, kind, opens_on, closes_on).await?;
        Ok(self.store.wecom().group(actor.tenant, id).await?)
    }

    /// Every group of a corp from WeCom (the sync's last phase); returns how many.
    pub(crate) async fn sync_groups(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        cursor: &mut String,
    ) -> AppResult<usize> {
        let page = handle.client.groupchat_list(&handle.contact, 0, &[], cursor, 1000).await.map_err(wecom_error)?;
        for g in &page.group_chat_list {
            self.refresh_group(tenant, handle, &g.chat_id, g.status).await?;
        }
        *cursor = page.next_cursor;
        Ok(page.group_chat_list.len())
    }

    /// A group was dismissed: it stays listed, its members leave it (trends and segments follow).
    pub(crate) async fn dismiss_group(&self, tenant: TenantId, corp: CorpId, chat_id: &str) -> AppResult<()> {
        let at = self.now();
        if let Some(group) = self.store.wecom().dismiss_group(tenant, corp, chat_id, at).await? {
            self.after_group_change(tenant, group, at).await;
        }
        Ok(())
    }
}
