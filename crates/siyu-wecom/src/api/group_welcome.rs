//! Group welcome templates (入群欢迎语素材, doc 92366): `externalcontact/group_welcome_template/{add,edit,get,del}`.
//! A template is text (≤3000 bytes, `%NICKNAME%` filled with the joiner's nickname) and at most one attachment:
//! image, link, mini-program, file or video, each under its own key rather than in an `attachments` list. Group
//! owners pick a template in the WeCom client (`notify` tells them a new one exists); there is no API that puts
//! one on a group.

use serde::{Deserialize, Serialize};

use super::common::{Empty, Text, check_bytes, check_present};
use super::welcome::{Attachment, ImageAttachment, LinkAttachment, MediaAttachment, MiniprogramAttachment};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The longest template text, in bytes.
pub const GROUP_WELCOME_TEXT_MAX_BYTES: usize = 3000;

/// A group welcome template as `add`/`edit` take it and `get` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupWelcomeTemplate {
    /// The text (`%NICKNAME%` is the joiner's nickname).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// A picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageAttachment>,
    /// A link card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkAttachment>,
    /// A mini-program card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniprogramAttachment>,
    /// A file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<MediaAttachment>,
    /// A video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<MediaAttachment>,
}

impl GroupWelcomeTemplate {
    /// A template of `text` (empty: none) and at most one attachment.
    pub fn new(text: &str, attachment: Option<&Attachment>) -> Self {
        let mut t = GroupWelcomeTemplate {
            text: (!text.is_empty()).then(|| Text::new(text)),
            ..GroupWelcomeTemplate::default()
        };
        match attachment.cloned() {
            Some(Attachment::Image { image }) => t.image = Some(image),
            Some(Attachment::Link { link }) => t.link = Some(link),
            Some(Attachment::Miniprogram { miniprogram }) => t.miniprogram = Some(miniprogram),
            Some(Attachment::File { file }) => t.file = Some(file),
            Some(Attachment::Video { video }) => t.video = Some(video),
            Some(Attachment::Unknown) | None => {}
        }
        t
    }

    /// The attachment, by WeCom's precedence (image > link > miniprogram > file > video).
    pub fn attachment(&self) -> Option<Attachment> {
        if let Some(image) = &self.image {
            return Some(Attachment::Image { image: image.clone() });
        }
        if let Some(link) = &self.link {
            return Some(Attachment::Link { link: link.clone() });
        }
        if let Some(miniprogram) = &self.miniprogram {
            return Some(Attachment::Miniprogram { miniprogram: miniprogram.clone() });
        }
        if let Some(file) = &self.file {
            return Some(Attachment::File { file: file.clone() });
        }
        self.video.as_ref().map(|video| Attachment::Video { video: video.clone() })
    }

    /// Something to say, text within 3000 bytes.
    pub fn validate(&self) -> Result<(), WecomError> {
        let text = self.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
        check_present("text or an attachment", !text.is_empty() || self.attachment().is_some())?;
        check_bytes("text", text, GROUP_WELCOME_TEXT_MAX_BYTES)
    }
}

#[derive(Serialize)]
struct AddRequest<'a> {
    #[serde(flatten)]
    template: &'a GroupWelcomeTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    agentid: Option<i64>,
    notify: u8,
}

#[derive(Serialize)]
struct EditRequest<'a> {
    template_id: &'a str,
    #[serde(flatten)]
    template: &'a GroupWelcomeTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    agentid: Option<i64>,
}

#[derive(Serialize)]
struct TemplateId<'a> {
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agentid: Option<i64>,
}

#[derive(Deserialize)]
struct Added {
    #[serde(default)]
    template_id: String,
}

impl Client {
    /// `externalcontact/group_welcome_template/add`: the new template's id; `notify` tells the corp's members.
    pub async fn add_group_welcome_template(
        &self,
        creds: &CorpCredentials,
        template: &GroupWelcomeTemplate,
        notify: bool,
    ) -> Result<String, WecomError> {
        template.validate()?;
        let body = AddRequest { template, agentid: None, notify: u8::from(notify) };
        let added: Added = self.post(creds, "externalcontact/group_welcome_template/add", &body).await?;
        Ok(added.template_id)
    }

    /// `externalcontact/group_welcome_template/edit`: replaces the template's text and attachment.
    pub async fn edit_group_welcome_template(
        &self,
        creds: &CorpCredentials,
        template_id: &str,
        template: &GroupWelcomeTemplate,
    ) -> Result<(), WecomError> {
        check_present("template_id", !template_id.is_empty())?;
        template.validate()?;
        let body = EditRequest { template_id, template, agentid: None };
        let _: Empty = self.post(creds, "externalcontact/group_welcome_template/edit", &body).await?;
        Ok(())
    }

    /// `externalcontact/group_welcome_template/get`.
    pub async fn get_group_welcome_template(
        &self,
        creds: &CorpCredentials,
        template_id: &str,
    ) -> Result<GroupWelcomeTemplate, WecomError> {
        let body = TemplateId { template_id, agentid: None };
        self.post(creds, "externalcontact/group_welcome_template/get", &body).await
    }

    /// `externalcontact/group_welcome_template/del`.
    pub async fn del_group_welcome_template(
        &self,
        creds: &CorpCredentials,
        template_id: &str,
    ) -> Result<(), WecomError> {
        let body = TemplateId { template_id, agentid: None };
        let _: Empty = self.post(creds, "externalcontact/group_welcome_template/del", &body).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    #[test]
    fn an_add_request_puts_the_attachment_under_its_own_key() {
        let link = Attachment::link("会员日", "https://u");
        let template = GroupWelcomeTemplate::new("欢迎%NICKNAME%入群", Some(&link));
        let body = AddRequest { template: &template, agentid: None, notify: 1 };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"text": {"content": "欢迎%NICKNAME%入群"}, "link": {"title": "会员日", "url": "https://u"}, "notify": 1})
        );
    }

    #[test]
    fn an_edit_request_carries_the_template_id() {
        let template = GroupWelcomeTemplate::new("你好", None);
        let body = EditRequest { template_id: "msgXXX", template: &template, agentid: None };
        assert_eq!(serde_json::to_value(&body).unwrap(), json!({"template_id": "msgXXX", "text": {"content": "你好"}}));
    }

    #[test]
    fn a_get_reply_is_read_back_to_its_attachment() {
        let reply: GroupWelcomeTemplate = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok",
            "text": {"content": "亲爱的%NICKNAME%用户，你好"}, "image": {"pic_url": "http://p.qpic.cn/pic_wework/x/0"},
            "link": {"title": "消息标题", "picurl": "https://example.pic.com/path", "desc": "消息描述",
                     "url": "https://example.link.com/path"}}))
        .unwrap();
        assert_eq!(reply.text.as_ref().unwrap().content, "亲爱的%NICKNAME%用户，你好");
        // WeCom takes the image first when several are given.
        assert!(matches!(reply.attachment(), Some(Attachment::Image { .. })));
        let mini = Attachment::Miniprogram {
            miniprogram: MiniprogramAttachment {
                title: "t".into(),
                pic_media_id: "P".into(),
                appid: "wx1".into(),
                page: "/p".into(),
            },
        };
        assert_eq!(GroupWelcomeTemplate::new("", Some(&mini)).attachment(), Some(mini));
    }

    #[tokio::test]
    async fn an_empty_or_overlong_template_is_refused_before_sending() {
        let client = offline_client();
        let empty = GroupWelcomeTemplate::default();
        assert!(matches!(client.add_group_welcome_template(&creds(), &empty, true).await, Err(WecomError::Invalid(_))));
        let long = GroupWelcomeTemplate::new(&"字".repeat(1001), None);
        assert!(matches!(client.edit_group_welcome_template(&creds(), "m", &long).await, Err(WecomError::Invalid(_))));
        assert!(GroupWelcomeTemplate::new(&"字".repeat(1000), None).validate().is_ok());
    }
}
