//! Group live codes (群活码): defining a code creates a WeCom join way (scene 2 QR) holding the code's groups
//! and `state`; siyu then rolls full groups out and reserve groups in (`group_rollover.rs`). A code's page
//! shows each of its groups with its fill and the joins through the code, and the code's funnel.

use std::collections::HashSet;

use chrono::TimeZone;
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, GroupCodeId, GroupId, TenantId};
use siyu_domain::wecom::group_code::{self, Fill, GroupCode, GroupCodeSettings};
use siyu_store::wecom::{GroupCodeStats, GroupFill};
use siyu_wecom::api::JoinWay;

use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The group code form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GroupCodeInput {
    pub corp: CorpId,
    pub name: String,
    /// The channel label attribution reports use (门店海报, 包裹卡, …).
    #[serde(default)]
    pub channel: String,
    /// The groups the join way holds at once (chat ids of synced groups, 1 to 5).
    pub groups: Vec<String>,
    /// Groups that take a full group's place, in order (≤50).
    #[serde(default)]
    pub reserve: Vec<String>,
    #[serde(flatten)]
    pub settings: GroupCodeSettings,
}

/// One group of a code: where it stands in the code, its fill and the joins through the code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CodeGroupView {
    pub chat_id: String,
    pub group_id: Option<GroupId>,
    pub name: String,
    pub members: i64,
    /// `active` (in the join way), `reserve` (waiting) or `filled` (rolled out).
    pub role: String,
    pub dismissed: bool,
    /// Members who joined through the code, and how many of them left again.
    pub joins: i64,
    pub leaves: i64,
}

/// A group code with its groups and funnel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupCodeView {
    #[serde(flatten)]
    pub code: GroupCode,
    #[schema(value_type = Object)]
    pub stats: GroupCodeStats,
    pub groups: Vec<CodeGroupView>,
}

/// Every chat id a code knows, in display order: the join way's, the reserve, the rolled-out.
pub(crate) fn all_chats(code: &GroupCode) -> Vec<String> {
    let mut out: Vec<String> = code.chat_ids.clone();
    out.extend(code.reserve.iter().cloned());
    out.extend(code.filled.iter().cloned());
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out
}

/// A stored group's fill; a group siyu has not synced counts as gone.
pub(crate) fn fill_of(fill: Option<&GroupFill>) -> Fill {
    fill.map_or(Fill { members: 0, gone: true }, |f| Fill { members: f.members, gone: f.dismissed })
}

/// The join way WeCom holds for a code.
pub(crate) fn join_way_of(code: &GroupCode) -> JoinWay {
    let s = &code.settings;
    JoinWay {
        config_id: code.config_id.clone().unwrap_or_default(),
        scene: 2,
        remark: Some(code.name.chars().take(30).collect()),
        auto_create_room: Some(i64::from(s.auto_create_room)),
        room_base_name: s.room_base_name.clone().filter(|n| !n.is_empty() && s.auto_create_room),
        room_base_id: s.room_base_id.filter(|_| s.auto_create_room),
        chat_id_list: code.chat_ids.clone(),
        state: Some(code.state.clone()),
        qr_code: String::new(),
    }
}

impl App {
    pub async fn group_codes(&self, actor: &Actor, include_archived: bool) -> AppResult<Vec<GroupCodeView>> {
        actor.require(Permission::CustomersRead)?;
        let mut out = Vec::new();
        for code in self.store.wecom().group_codes(actor.tenant, include_archived).await? {
            out.push(self.group_code_view(actor.tenant, code).await?);
        }
        Ok(out)
    }

    pub async fn group_code(&self, actor: &Actor, id: GroupCodeId) -> AppResult<GroupCodeView> {
        actor.require(Permission::CustomersRead)?;
        let code = self.store.wecom().group_code(actor.tenant, id).await?;
        self.group_code_view(actor.tenant, code).await
    }

    async fn group_code_view(&self, tenant: TenantId, code: GroupCode) -> AppResult<GroupCodeView> {
        let local = self.local_now(tenant).await?;
        let offset = self.tenant_offset(tenant).await?;
        let midnight = local.date().and_hms_opt(0, 0, 0).unwrap_or(local);
        let today = offset.from_local_datetime(&midnight).single().map_or_else(|| self.now(), |t| t.to_utc());
        let wecom = self.store.wecom();
        let stats = wecom.group_code_stats(tenant, code.id, today).await?;
        let chats = all_chats(&code);
        let fills = wecom.group_fills(tenant, code.corp, &chats).await?;
        let per_group = wecom.group_code_group_stats(tenant, code.id).await?;
        let groups = chats
            .iter()
            .map(|chat| {
                let fill = fills.get(chat);
                let role = if code.chat_ids.contains(chat) {
                    "active"
                } else if code.reserve.contains(chat) {
                    "reserve"
                } else {
                    "filled"
                };
                let (joins, leaves) = fill.and_then(|f| per_group.get(&f.group)).copied().unwrap_or((0, 0));
                CodeGroupView {
                    chat_id: chat.clone(),
                    group_id: fill.map(|f| f.group),
                    name: fill.map_or_else(|| chat.clone(), |f| f.name.clone()),
                    members: fill.map_or(0, |f| f.members),
                    role: role.into(),
                    dismissed: fill.is_some_and(|f| f.dismissed),
                    joins,
                    leaves,
                }
            })
            .collect();
        Ok(GroupCodeView { code, stats, groups })
    }

    /// Creates a code and its WeCom join way (full groups chosen are rolled out at once).
    pub async fn create_group_code(&self, actor: &Actor, input: &GroupCodeInput) -> AppResult<GroupCodeView> {
        actor.require(Permission::CustomersWrite)?;
        let handle = self.corp_handle(actor.tenant, input.corp).await?;
        self.check_group_code(actor.tenant, &handle, input).await?;
        let id = GroupCodeId::new();
        let mut code = GroupCode {
            id,
            corp: input.corp,
            name: input.name.trim().to_owned(),
            channel: input.channel.trim().to_owned(),
            state: group_code::state_for(id),
            settings: input.settings.clone(),
            chat_ids: input.groups.clone(),
            slots: input.groups.len() as i64,
            reserve: input.reserve.clone(),
            filled: Vec::new(),
            needs_groups: false,
            config_id: None,
            qr_code: None,
            active: true,
            created_at: self.now(),
            version: 0,
        };
        self.apply_roll(actor.tenant, &mut code).await?;
        let config_id = handle.client.add_join_way(&handle.contact, &join_way_of(&code)).await.map_err(wecom_error)?;
        let way = handle.client.get_join_way(&handle.contact, &config_id).await.map_err(wecom_error)?;
        code.config_id = Some(config_id);
        code.qr_code = (!way.qr_code.is_empty()).then_some(way.qr_code);
        self.store.wecom().insert_group_code(actor.tenant, &code).await?;
        self.group_code(actor, id).await
    }

    /// Changes a code: its groups and reserve are the ones given (rolled over at once); its join way follows.
    pub async fn update_group_code(
        &self,
        actor: &Actor,
        id: GroupCodeId,
        input: &GroupCodeInput,
    ) -> AppResult<GroupCodeView> {
        actor.require(Permission::CustomersWrite)?;
        let mut code = self.store.wecom().group_code(actor.tenant, id).await?;
        if input.corp != code.corp {
            return Err(AppError::invalid("corp", "a code's corp cannot change"));
        }
        let handle = self.corp_handle(actor.tenant, code.corp).await?;
        self.check_group_code(actor.tenant, &handle, input).await?;
        code.name = input.name.trim().to_owned();
        code.channel = input.channel.trim().to_owned();
        code.settings = input.settings.clone();
        code.chat_ids = input.groups.clone();
        code.slots = input.groups.len() as i64;
        code.reserve = input.reserve.clone();
        code.filled.retain(|c| !input.groups.contains(c) && !input.reserve.contains(c));
        self.apply_roll(actor.tenant, &mut code).await?;
        handle.client.update_join_way(&handle.contact, &join_way_of(&code)).await.map_err(wecom_error)?;
        if !self.store.wecom().save_group_code(actor.tenant, &code, self.now()).await? {
            return Err(AppError::Conflict("the code changed meanwhile; reload and try again".into()));
        }
        self.group_code(actor, id).await
    }

    /// Retires a code: its join way is deleted in WeCom (the 500,000 quota), its history stays.
    pub async fn archive_group_code(&self, actor: &Actor, id: GroupCodeId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        let mut code = self.store.wecom().group_code(actor.tenant, id).await?;
        if let Some(config_id) = &code.config_id {
            let handle = self.corp_handle(actor.tenant, code.corp).await?;
            match handle.client.del_join_way(&handle.contact, config_id).await {
                Ok(()) => {}
                // Already gone in WeCom: nothing to delete.
                Err(e) if e.class() == siyu_wecom::ErrorClass::InvalidInput => {}
                Err(e) => return Err(wecom_error(e)),
            }
        }
        code.active = false;
        if !self.store.wecom().save_group_code(actor.tenant, &code, self.now()).await? {
            return Err(AppError::Conflict("the code changed meanwhile; try again".into()));
        }
        Ok(())
    }

    /// Rolls a code being saved over with the stored fills; refuses a code left without any group.
    async fn apply_roll(&self, tenant: TenantId, code: &mut GroupCode) -> AppResult<()> {
        let fills = self.store.wecom().group_fills(tenant, code.corp, &all_chats(code)).await?;
        let plan = group_code::roll(code, |c| fill_of(fills.get(c)));
        if plan.chat_ids.is_empty() {
            return Err(AppError::invalid("groups", "every group chosen is full or dismissed"));
        }
        code.chat_ids = plan.chat_ids;
        code.reserve = plan.reserve;
        code.filled = plan.filled;
        code.needs_groups = plan.needs_groups;
        Ok(())
    }

    async fn check_group_code(&self, tenant: TenantId, handle: &CorpHandle, input: &GroupCodeInput) -> AppResult<()> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::invalid("name", "1 to 60 characters"));
        }
        if input.channel.chars().count() > 30 {
            return Err(AppError::invalid("channel", "at most 30 characters"));
        }
        group_code::validate(&input.groups, &input.reserve, &input.settings)
            .map_err(|(f, m)| AppError::invalid(f, m))?;
        let chats: Vec<String> = input.groups.iter().chain(input.reserve.iter()).cloned().collect();
        let fills = self.store.wecom().group_fills(tenant, handle.corp, &chats).await?;
        for (field, list) in [("groups", &input.groups), ("reserve", &input.reserve)] {
            if let Some(c) = list.iter().find(|c| fills.get(*c).is_none_or(|f| f.dismissed)) {
                return Err(AppError::invalid(field, format!("{c} is not a synced group of this corp")));
            }
        }
        if let Some(w) = input.settings.welcome_template {
            let found = self.store.wecom().group_welcome(tenant, w).await.ok();
            if found.is_none_or(|t| t.corp != handle.corp) {
                return Err(AppError::invalid("welcome_template", "unknown group welcome template"));
            }
        }
        Ok(())
    }
}
