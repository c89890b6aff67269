//! Staff live codes (员工活码): defining a code creates a WeCom contact way (type 2, QR) with the code's
//! `state`; siyu keeps its `user` list on the staff due the next add (`siyu_domain::wecom::live_code::choose`),
//! moving it after each add and when the schedule turns ([`App::rotate_live_codes`]).

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, LiveCodeId, TenantId};
use siyu_domain::wecom::live_code::{self, LiveCode, LiveCodeDef, RotationState, choose};
use siyu_store::wecom::CodeStats;
use siyu_wecom::api::{Attachment, ContactWay, UpdateContactWayRequest};

use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The live code form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LiveCodeInput {
    pub corp: CorpId,
    pub name: String,
    /// The channel label attribution reports use (门店海报, 包裹卡, 短信, …).
    #[serde(default)]
    pub channel: String,
    #[serde(flatten)]
    pub def: LiveCodeDef,
}

/// A live code with its figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveCodeView {
    #[serde(flatten)]
    pub code: LiveCode,
    #[schema(value_type = Object)]
    pub stats: CodeStats,
    /// Adds per local day over the last 30 days.
    #[schema(value_type = Vec<Object>)]
    pub daily: Vec<(NaiveDate, i64)>,
}

impl App {
    /// The tenant's local date and ISO weekday and time now.
    pub(crate) async fn local_now(&self, tenant: TenantId) -> AppResult<chrono::NaiveDateTime> {
        let offset = self.tenant_offset(tenant).await?;
        Ok(self.now().with_timezone(&offset).naive_local())
    }

    pub async fn live_codes(&self, actor: &Actor, include_archived: bool) -> AppResult<Vec<LiveCodeView>> {
        actor.require(Permission::CustomersRead)?;
        let mut out = Vec::new();
        for code in self.store.wecom().live_codes(actor.tenant, include_archived).await? {
            out.push(self.live_code_view(actor.tenant, code, false).await?);
        }
        Ok(out)
    }

    pub async fn live_code(&self, actor: &Actor, id: LiveCodeId) -> AppResult<LiveCodeView> {
        actor.require(Permission::CustomersRead)?;
        let code = self.store.wecom().live_code(actor.tenant, id).await?;
        self.live_code_view(actor.tenant, code, true).await
    }

    async fn live_code_view(&self, tenant: TenantId, code: LiveCode, daily: bool) -> AppResult<LiveCodeView> {
        let today = self.local_now(tenant).await?.date();
        let stats = self.store.wecom().code_stats(tenant, &code, today).await?;
        let daily = if daily {
            self.store.wecom().code_daily_adds(tenant, code.id, today - Duration::days(29)).await?
        } else {
            Vec::new()
        };
        Ok(LiveCodeView { code, stats, daily })
    }

    /// Creates a code and its WeCom contact way.
    pub async fn create_live_code(&self, actor: &Actor, input: &LiveCodeInput) -> AppResult<LiveCodeView> {
        actor.require(Permission::CustomersWrite)?;
        let handle = self.corp_handle(actor.tenant, input.corp).await?;
        self.check_live_code(actor.tenant, &handle, input).await?;
        let id = LiveCodeId::new();
        let mut code = LiveCode {
            id,
            corp: input.corp,
            name: input.name.trim().to_owned(),
            channel: input.channel.trim().to_owned(),
            state: live_code::state_for(id),
            def: input.def.clone(),
            config_id: None,
            qr_code: None,
            current: Vec::new(),
            rotation: RotationState::default(),
            active: true,
            created_at: self.now(),
        };
        code.current = self.due_staff(actor.tenant, &code).await?;
        let way = ContactWay {
            kind: 2,
            scene: 2,
            remark: Some(code.name.chars().take(30).collect()),
            skip_verify: Some(code.def.skip_verify),
            state: Some(code.state.clone()),
            user: code.current.clone(),
            is_exclusive: Some(code.def.exclusive),
            ..ContactWay::default()
        };
        let created = handle.client.add_contact_way(&handle.contact, &way).await.map_err(wecom_error)?;
        code.config_id = Some(created.config_id);
        code.qr_code = (!created.qr_code.is_empty()).then_some(created.qr_code);
        self.store.wecom().insert_live_code(actor.tenant, &code).await?;
        self.live_code(actor, id).await
    }

    /// Changes a code; its contact way follows.
    pub async fn update_live_code(
        &self,
        actor: &Actor,
        id: LiveCodeId,
        input: &LiveCodeInput,
    ) -> AppResult<LiveCodeView> {
        actor.require(Permission::CustomersWrite)?;
        let mut code = self.store.wecom().live_code(actor.tenant, id).await?;
        if input.corp != code.corp {
            return Err(AppError::invalid("corp", "a code's corp cannot change"));
        }
        let handle = self.corp_handle(actor.tenant, code.corp).await?;
        self.check_live_code(actor.tenant, &handle, input).await?;
        code.name = input.name.trim().to_owned();
        code.channel = input.channel.trim().to_owned();
        code.def = input.def.clone();
        code.current = self.due_staff(actor.tenant, &code).await?;
        self.push_contact_way(&handle, &code).await?;
        self.store.wecom().update_live_code(actor.tenant, &code, self.now()).await?;
        self.live_code(actor, id).await
    }

    /// Retires a code: its contact way is deleted in WeCom (the 500,000 quota), its history stays.
    pub async fn archive_live_code(&self, actor: &Actor, id: LiveCodeId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        let mut code = self.store.wecom().live_code(actor.tenant, id).await?;
        if let Some(config_id) = &code.config_id {
            let handle = self.corp_handle(actor.tenant, code.corp).await?;
            match handle.client.del_contact_way(&handle.contact, config_id).await {
                Ok(()) => {}
                // Already gone in WeCom: nothing to delete.
                Err(e) if e.class() == siyu_wecom::ErrorClass::InvalidInput => {}
                Err(e) => return Err(wecom_error(e)),
            }
        }
        code.active = false;
        Ok(self.store.wecom().update_live_code(actor.tenant, &code, self.now()).await?)
    }

    async fn check_live_code(&self, tenant: TenantId, handle: &CorpHandle, input: &LiveCodeInput) -> AppResult<()> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::invalid("name", "1 to 60 characters"));
        }
        if input.channel.chars().count() > 30 {
            return Err(AppError::invalid("channel", "at most 30 characters"));
        }
        live_code::validate(&input.def.routing).map_err(|(f, m)| AppError::invalid(f, m))?;
        let staff: HashSet<String> = self
            .store
            .wecom()
            .staff(tenant, handle.corp)
            .await?
            .into_iter()
            .filter(|s| s.contact_enabled && s.status == 1)
            .map(|s| s.userid)
            .collect();
        let routing = &input.def.routing;
        let all = routing.staff.iter().map(|s| &s.userid).chain(routing.backup.iter());
        if let Some(u) = all.into_iter().find(|u| !staff.contains(*u)) {
            return Err(AppError::invalid(
                "staff",
                format!("{u} is not active staff with the customer-contact permission"),
            ));
        }
        for tag in &input.def.tag_ids {
            self.store
                .tags()
                .tag(tenant, *tag)
                .await
                .map_err(|_| AppError::invalid("tag_ids", format!("unknown tag {tag}")))?;
        }
        if let Some(t) = &input.def.remark_template
            && t.chars().count() > 20
        {
            return Err(AppError::invalid("remark_template", "at most 20 characters"));
        }
        if let Some(w) = &input.def.welcome {
            check_welcome(w)?;
        }
        Ok(())
    }

    /// Who the code should point at now (today's adds counted in the tenant's zone).
    pub(crate) async fn due_staff(&self, tenant: TenantId, code: &LiveCode) -> AppResult<Vec<String>> {
        let local = self.local_now(tenant).await?;
        let counts = self.store.wecom().code_adds_on(tenant, code.id, local.date()).await?;
        let choice = choose(&code.def.routing, &code.rotation, live_code::weekday_of(&local), local.time(), |u| {
            counts.get(u).copied().unwrap_or(0)
        });
        Ok(choice.userids)
    }

    async fn push_contact_way(&self, handle: &CorpHandle, code: &LiveCode) -> AppResult<()> {
        let Some(config_id) = &code.config_id else { return Ok(()) };
        let update = UpdateContactWayRequest {
            config_id: config_id.clone(),
            remark: Some(code.name.chars().take(30).collect()),
            skip_verify: Some(code.def.skip_verify),
            state: Some(code.state.clone()),
            user: Some(code.current.clone()),
            is_exclusive: Some(code.def.exclusive),
            ..UpdateContactWayRequest::default()
        };
        handle.client.update_contact_way(&handle.contact, &update).await.map_err(wecom_error)
    }

    /// After an add to `userid`: the rotation moves on and the contact way follows if the due staff changed.
    pub(crate) async fn advance_live_code(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        code: &LiveCode,
        userid: &str,
    ) -> AppResult<()> {
        for _ in 0..3 {
            let fresh = self.store.wecom().live_code(tenant, code.id).await?;
            let mut next = fresh.clone();
            next.rotation = live_code::after_add(&fresh.def.routing, &fresh.rotation, userid);
            next.current = self.due_staff(tenant, &next).await?;
            if self
                .store
                .wecom()
                .advance_rotation(tenant, code.id, &fresh.rotation, &next.rotation, &next.current)
                .await?
            {
                if next.current != fresh.current {
                    self.push_contact_way(handle, &next).await?;
                }
                return Ok(());
            }
        }
        Err(AppError::Unavailable)
    }

    /// Points every active code at the staff due now (the schedule turned, a new day reset the caps);
    /// returns how many contact ways changed.
    pub async fn rotate_live_codes(&self) -> AppResult<usize> {
        let mut changed = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            for mut code in self.store.wecom().live_codes(tenant, false).await? {
                let due = self.due_staff(tenant, &code).await?;
                if due == code.current {
                    continue;
                }
                let handle = self.corp_handle(tenant, code.corp).await?;
                code.current = due;
                self.push_contact_way(&handle, &code).await?;
                self.store.wecom().update_live_code(tenant, &code, self.now()).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// A welcome message's own rules, and its attachments as WeCom takes them.
pub(crate) fn check_welcome(w: &siyu_domain::wecom::welcome::WelcomeMessage) -> AppResult<()> {
    w.validate().map_err(|(f, m)| AppError::invalid(f, m))?;
    check_attachments(w.attachments.iter().chain(w.variants.iter().flat_map(|v| v.attachments.iter())))
}

/// Attachments in WeCom's wire form that the client can send (welcome messages, mass sends).
pub(crate) fn check_attachments<'a>(all: impl IntoIterator<Item = &'a serde_json::Value>) -> AppResult<()> {
    for a in all {
        if !matches!(serde_json::from_value::<Attachment>(a.clone()), Ok(x) if x != Attachment::Unknown) {
            return Err(AppError::invalid(
                "attachments",
                "image, link, miniprogram, video or file, as WeCom takes them",
            ));
        }
    }
    Ok(())
}
