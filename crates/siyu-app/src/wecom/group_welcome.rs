//! Group welcome templates (入群欢迎语素材): text and one attachment (image, link or mini-program), kept here
//! and in WeCom (`group_welcome_template/add|edit|del`) under WeCom's template id. Group owners choose a
//! template in the WeCom client; a group code names the one its groups should use.

use serde::Deserialize;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, GroupWelcomeId};
use siyu_domain::wecom::group_code::{GroupWelcome, validate_welcome};
use siyu_wecom::api::{Attachment, GroupWelcomeTemplate};

use super::wecom_error;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The group welcome template form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GroupWelcomeInput {
    pub corp: CorpId,
    pub name: String,
    /// The text; `%NICKNAME%` is the joiner's nickname.
    #[serde(default)]
    pub text: String,
    /// One attachment as WeCom takes it: `{"msgtype":"image","image":{"media_id"|"pic_url"}}`, `link` or
    /// `miniprogram`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attachment: Option<serde_json::Value>,
    /// Tell the corp's members about the new template (WeCom's `notify`).
    #[serde(default = "yes")]
    pub notify: bool,
}

fn yes() -> bool {
    true
}

/// The template as WeCom takes it, after the local rules.
fn template_of(input: &GroupWelcomeInput) -> AppResult<GroupWelcomeTemplate> {
    validate_welcome(&input.name, &input.text, input.attachment.as_ref()).map_err(|(f, m)| AppError::invalid(f, m))?;
    let attachment = match &input.attachment {
        None => None,
        Some(raw) => match serde_json::from_value::<Attachment>(raw.clone()) {
            Ok(a @ (Attachment::Image { .. } | Attachment::Link { .. } | Attachment::Miniprogram { .. })) => Some(a),
            _ => return Err(AppError::invalid("attachment", "an image, link or miniprogram as WeCom takes them")),
        },
    };
    Ok(GroupWelcomeTemplate::new(input.text.trim(), attachment.as_ref()))
}

impl App {
    pub async fn group_welcomes(&self, actor: &Actor) -> AppResult<Vec<GroupWelcome>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.wecom().group_welcomes(actor.tenant).await?)
    }

    pub async fn group_welcome(&self, actor: &Actor, id: GroupWelcomeId) -> AppResult<GroupWelcome> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.wecom().group_welcome(actor.tenant, id).await?)
    }

    /// Creates a template here and in WeCom.
    pub async fn create_group_welcome(&self, actor: &Actor, input: &GroupWelcomeInput) -> AppResult<GroupWelcome> {
        actor.require(Permission::CustomersWrite)?;
        let template = template_of(input)?;
        let handle = self.corp_handle(actor.tenant, input.corp).await?;
        let template_id = handle
            .client
            .add_group_welcome_template(&handle.contact, &template, input.notify)
            .await
            .map_err(wecom_error)?;
        let now = self.now();
        let welcome = GroupWelcome {
            id: GroupWelcomeId::new(),
            corp: input.corp,
            name: input.name.trim().to_owned(),
            text: input.text.trim().to_owned(),
            attachment: input.attachment.clone(),
            template_id: Some(template_id),
            notify: input.notify,
            created_at: now,
            updated_at: now,
        };
        self.store.wecom().insert_group_welcome(actor.tenant, &welcome).await?;
        Ok(welcome)
    }

    /// Changes a template here and in WeCom (its corp is fixed).
    pub async fn update_group_welcome(
        &self,
        actor: &Actor,
        id: GroupWelcomeId,
        input: &GroupWelcomeInput,
    ) -> AppResult<GroupWelcome> {
        actor.require(Permission::CustomersWrite)?;
        let mut welcome = self.store.wecom().group_welcome(actor.tenant, id).await?;
        if input.corp != welcome.corp {
            return Err(AppError::invalid("corp", "a template's corp cannot change"));
        }
        let template = template_of(input)?;
        let handle = self.corp_handle(actor.tenant, welcome.corp).await?;
        match &welcome.template_id {
            Some(tid) => {
                handle.client.edit_group_welcome_template(&handle.contact, tid, &template).await.map_err(wecom_error)?
            }
            None => {
                let tid = handle
                    .client
                    .add_group_welcome_template(&handle.contact, &template, input.notify)
                    .await
                    .map_err(wecom_error)?;
                welcome.template_id = Some(tid);
            }
        }
        welcome.name = input.name.trim().to_owned();
        welcome.text = input.text.trim().to_owned();
        welcome.attachment = input.attachment.clone();
        welcome.updated_at = self.now();
        self.store.wecom().update_group_welcome(actor.tenant, &welcome).await?;
        Ok(welcome)
    }

    /// Deletes a template in WeCom and here; codes naming it then name none.
    pub async fn delete_group_welcome(&self, actor: &Actor, id: GroupWelcomeId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        let welcome = self.store.wecom().group_welcome(actor.tenant, id).await?;
        if let Some(tid) = &welcome.template_id {
            let handle = self.corp_handle(actor.tenant, welcome.corp).await?;
            match handle.client.del_group_welcome_template(&handle.contact, tid).await {
                Ok(()) => {}
                // Already gone in WeCom: nothing to delete.
                Err(e) if e.class() == siyu_wecom::ErrorClass::InvalidInput => {}
                Err(e) => return Err(wecom_error(e)),
            }
        }
        Ok(self.store.wecom().delete_group_welcome(actor.tenant, id).await?)
    }
}
