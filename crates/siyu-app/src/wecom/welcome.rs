//! A customer added a staff member: the welcome message first (WeCom's welcome code lives 20 seconds), then
//! the customer and follow, then what the live code they came through asks for (tags, remark), then the code's
//! rotation. The code's side effects happen once per (code, customer, staff) add, however often WeCom
//! repeats the callback; the welcome code itself is single use, so a repeat can never welcome twice.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use siyu_domain::access::Permission;
use siyu_domain::id::{TenantId, UserId};
use siyu_domain::wecom::live_code::{self, LiveCode};
use siyu_domain::wecom::welcome::{self, WelcomeMessage};
use siyu_store::tags::{ChangeContext, TagChange};
use siyu_store::wecom::CodeAdd;
use siyu_wecom::api::{Attachment, MarkTagRequest, RemarkRequest};
use siyu_wecom::callback::ContactChange;
use siyu_wecom::{ErrorClass, WecomError};

use super::contacts::SeenFollow;
use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The tenant's default welcome message and nickname block list, or a staff member's message.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct WelcomeSettings {
    pub message: WelcomeMessage,
    /// Nicknames containing any of these get no welcome (default scope only).
    #[serde(default)]
    pub block_list: Vec<String>,
}

impl App {
    /// The welcome settings of `scope`: `None` for the tenant default, or a staff member.
    pub async fn welcome_settings(&self, actor: &Actor, staff: Option<UserId>) -> AppResult<WelcomeSettings> {
        actor.require(Permission::CustomersRead)?;
        let scope = staff.map_or_else(|| "default".to_owned(), |u| u.to_string());
        let found = self.store.wecom().welcome_template(actor.tenant, &scope).await?;
        Ok(found.map(|(message, block_list)| WelcomeSettings { message, block_list }).unwrap_or_default())
    }

    pub async fn set_welcome_settings(
        &self,
        actor: &Actor,
        staff: Option<UserId>,
        settings: &WelcomeSettings,
    ) -> AppResult<WelcomeSettings> {
        actor.require(Permission::CustomersWrite)?;
        if let Some(user) = staff {
            self.store.members().get(actor.tenant, user).await.map_err(|_| AppError::NotFound)?;
        }
        super::live_codes::check_welcome(&settings.message)?;
        let scope = staff.map_or_else(|| "default".to_owned(), |u| u.to_string());
        let block: Vec<String> = if staff.is_none() {
            settings.block_list.iter().map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect()
        } else {
            Vec::new()
        };
        self.store.wecom().set_welcome_template(actor.tenant, &scope, &settings.message, &block, self.now()).await?;
        self.welcome_settings(actor, staff).await
    }

    /// Handles `add_external_contact` / `add_half_external_contact`.
    pub(crate) async fn on_contact_added(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        c: &ContactChange,
        received_at: DateTime<Utc>,
    ) -> AppResult<()> {
        let staff = self.known_staff(tenant, handle, &c.user_id).await?;
        let detail =
            handle.client.external_contact_get(&handle.contact, &c.external_user_id, "").await.map_err(wecom_error)?;
        let code = match c.state.as_deref() {
            Some(state) if state.starts_with("lc") => self.store.wecom().live_code_by_state(tenant, state).await?,
            _ => None,
        };
        // The welcome first: its code dies 20 s after WeCom sent the event.
        let welcome = match &c.welcome_code {
            Some(welcome_code) => {
                let staff_name = staff.as_ref().map(|s| s.name.as_str()).unwrap_or_default();
                let user = staff.as_ref().map(|s| s.user_id);
                self.send_welcome(
                    tenant,
                    handle,
                    code.as_ref(),
                    user,
                    welcome_code,
                    &detail.external_contact.name,
                    staff_name,
                )
                .await?
            }
            None => "none",
        };
        let latency =
            (welcome != "none" && welcome != "blocked").then(|| (self.now() - received_at).num_milliseconds());
        let follows = SeenFollow::from_detail(&detail);
        let lookups = self.contact_lookups(tenant, handle).await?;
        let contact = &detail.external_contact;
        let customer = self.apply_contact(tenant, handle, &lookups, contact, &follows, "wecom_callback").await?;
        let Some(code) = code else { return Ok(()) };
        let day = self.local_now(tenant).await?.date();
        let add = CodeAdd {
            code: code.id,
            userid: c.user_id.clone(),
            external_userid: c.external_user_id.clone(),
            customer: Some(customer),
            day,
            at: self.now(),
        };
        let Some(add_id) = self.store.wecom().record_code_add(tenant, &add).await? else {
            return Ok(());
        };
        self.store.wecom().set_add_welcome(tenant, add_id, welcome, latency).await?;
        metrics::counter!("siyu_wecom_welcomes_total", "outcome" => welcome).increment(1);
        self.code_tags(tenant, handle, &code, customer, &c.user_id, &c.external_user_id).await?;
        if let Some(template) = code.def.remark_template.as_deref().filter(|t| !t.trim().is_empty()) {
            let remark: String =
                welcome::render(template, &detail.external_contact.name, "").chars().take(20).collect();
            let request = RemarkRequest {
                userid: c.user_id.clone(),
                external_userid: c.external_user_id.clone(),
                remark: Some(remark.clone()),
                description: code.def.description.clone(),
                ..RemarkRequest::default()
            };
            handle.client.remark(&handle.contact, &request).await.map_err(wecom_error)?;
            // API-made changes fire no callback: record the remark here.
            let user = lookups.staff.get(&c.user_id).copied();
            let follows = self.store.follows().of_customer(tenant, customer).await?;
            if let Some(mut f) = follows.into_iter().find(|f| Some(f.user_id) == user) {
                f.remark = Some(remark);
                f.description = code.def.description.clone().or(f.description);
                self.store.follows().upsert(tenant, &f).await?;
            }
        }
        self.advance_live_code(tenant, handle, &code, &c.user_id).await
    }

    /// The code's tags on the customer here, and in WeCom on the relation for tags linked to corp tags.
    async fn code_tags(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        code: &LiveCode,
        customer: siyu_domain::id::CustomerId,
        userid: &str,
        external_userid: &str,
    ) -> AppResult<()> {
        if code.def.tag_ids.is_empty() {
            return Ok(());
        }
        let mut adds = Vec::new();
        for id in &code.def.tag_ids {
            if let Ok(tag) = self.store.tags().tag(tenant, *id).await {
                adds.push(TagChange { tag: *id, tag_name: tag.name, add: true });
            }
        }
        let ctx = ChangeContext { actor: None, source: "wecom", reason: "live_code", at: self.now() };
        self.store.tags().change(tenant, customer, &adds, &ctx).await?;
        let links = self.store.wecom().tag_links(tenant, handle.corp).await?;
        let wecom_ids: Vec<String> = links
            .into_iter()
            .filter(|l| l.kind == "tag" && code.def.tag_ids.iter().any(|t| t.0 == l.local_id))
            .map(|l| l.wecom_id)
            .collect();
        if !wecom_ids.is_empty() {
            let request = MarkTagRequest {
                userid: userid.to_owned(),
                external_userid: external_userid.to_owned(),
                add_tag: wecom_ids,
                remove_tag: Vec::new(),
            };
            handle.client.mark_tag(&handle.contact, &request).await.map_err(wecom_error)?;
        }
        self.after_customer_change(tenant, customer).await;
        Ok(())
    }

    /// Sends the welcome that applies; returns the outcome (`sent`, `blocked`, `none`, `late`, `failed`).
    #[allow(clippy::too_many_arguments)]
    async fn send_welcome(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        code: Option<&LiveCode>,
        staff: Option<UserId>,
        welcome_code: &str,
        nickname: &str,
        staff_name: &str,
    ) -> AppResult<&'static str> {
        let default = self.store.wecom().welcome_template(tenant, "default").await?;
        let block_list = default.as_ref().map(|d| d.1.clone()).unwrap_or_default();
        if welcome::nickname_blocked(nickname, &block_list) {
            return Ok("blocked");
        }
        let mut message = code.and_then(|c| c.def.welcome.clone()).filter(|w| !w.is_empty());
        if message.is_none()
            && let Some(user) = staff
        {
            message = self.store.wecom().welcome_template(tenant, &user.to_string()).await?.map(|t| t.0);
        }
        let Some(message) = message.or(default.map(|d| d.0)).filter(|w| !w.is_empty()) else {
            return Ok("none");
        };
        let local = self.local_now(tenant).await?;
        let (text, attachments) = message.pick(live_code::weekday_of(&local), local.time());
        let text = welcome::render(text, nickname, staff_name);
        let attachments: Vec<Attachment> =
            attachments.iter().filter_map(|a| serde_json::from_value(a.clone()).ok()).collect();
        let text = (!text.trim().is_empty()).then_some(text.as_str());
        match handle.client.send_welcome_msg(&handle.contact, welcome_code, text, &attachments).await {
            Ok(()) => Ok("sent"),
            Err(e) if e.class() == ErrorClass::Done => Ok("sent"),
            Err(WecomError::Api { errcode, .. }) if errcode == 40058 || errcode == 41096 => Ok("late"),
            Err(e) if e.class() == ErrorClass::RateLimited || e.class() == ErrorClass::Retryable => Err(wecom_error(e)),
            Err(e) => {
                tracing::warn!(error = %e, "welcome message refused");
                Ok("failed")
            }
        }
    }
}
