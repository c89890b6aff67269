//! The welcome message (reference/wecom.md §4.4) and the attachment union it shares with mass sends and moments
//! (§4.6, §4.7). A `welcome_code` is valid 20 s and single use; there is no group welcome template in the contract.

use serde::{Deserialize, Serialize};

use super::common::{Empty, Text, check_count, check_present};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The most attachments of a welcome message, a mass send or a moment.
pub const MAX_ATTACHMENTS: usize = 9;

/// An attachment, on the wire `{"msgtype":"image","image":{…}}`: the tag names the variant and the key of its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum Attachment {
    /// A picture.
    Image {
        /// Its body.
        image: ImageAttachment,
    },
    /// A link card.
    Link {
        /// Its body.
        link: LinkAttachment,
    },
    /// A mini-program card.
    Miniprogram {
        /// Its body.
        miniprogram: MiniprogramAttachment,
    },
    /// A video.
    Video {
        /// Its body.
        video: MediaAttachment,
    },
    /// A file.
    File {
        /// Its body.
        file: MediaAttachment,
    },
    /// A kind this client does not know (read from replies only; never sent).
    #[serde(other)]
    Unknown,
}

impl Attachment {
    /// A picture already uploaded as `media_id`.
    pub fn image(media_id: impl Into<String>) -> Self {
        Attachment::Image { image: ImageAttachment { media_id: Some(media_id.into()), pic_url: None } }
    }

    /// A link card.
    pub fn link(title: impl Into<String>, url: impl Into<String>) -> Self {
        Attachment::Link { link: LinkAttachment { title: title.into(), url: url.into(), ..LinkAttachment::default() } }
    }

    /// The wire tag of this attachment.
    pub fn msgtype(&self) -> &'static str {
        match self {
            Attachment::Image { .. } => "image",
            Attachment::Link { .. } => "link",
            Attachment::Miniprogram { .. } => "miniprogram",
            Attachment::Video { .. } => "video",
            Attachment::File { .. } => "file",
            Attachment::Unknown => "unknown",
        }
    }
}

/// The body of an image attachment: an uploaded `media_id` or a `pic_url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageAttachment {
    /// An uploaded temporary media id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// A picture URL (from an image upload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pic_url: Option<String>,
}

/// The body of a link attachment (moments use `media_id` for the cover instead of `picurl`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkAttachment {
    /// The title.
    pub title: String,
    /// The cover picture URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picurl: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// The target URL.
    pub url: String,
    /// The cover as an uploaded media id (moments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
}

/// The body of a mini-program attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiniprogramAttachment {
    /// The card title.
    pub title: String,
    /// The cover as an uploaded media id.
    pub pic_media_id: String,
    /// The mini-program's appid (bound to the corp).
    pub appid: String,
    /// The page path.
    pub page: String,
}

/// The body of a video or file attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaAttachment {
    /// The uploaded media id.
    pub media_id: String,
}

/// Checks a list of attachments to send: at most nine, none of an unknown kind.
pub(crate) fn check_attachments(attachments: &[Attachment]) -> Result<(), WecomError> {
    check_count("attachments", attachments.len(), MAX_ATTACHMENTS)?;
    if attachments.iter().any(|a| matches!(a, Attachment::Unknown)) {
        return Err(WecomError::Invalid("attachments: an unknown kind cannot be sent".into()));
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct WelcomeMsg<'a> {
    welcome_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Text>,
    #[serde(skip_serializing_if = "<[Attachment]>::is_empty")]
    attachments: &'a [Attachment],
}

impl<'a> WelcomeMsg<'a> {
    fn new(welcome_code: &'a str, text: Option<&str>, attachments: &'a [Attachment]) -> Result<Self, WecomError> {
        check_present("welcome_code", !welcome_code.is_empty())?;
        let text = text.filter(|t| !t.is_empty()).map(Text::new);
        check_present("text or attachments", text.is_some() || !attachments.is_empty())?;
        check_attachments(attachments)?;
        Ok(WelcomeMsg { welcome_code, text, attachments })
    }
}

impl Client {
    /// `externalcontact/send_welcome_msg`: within 20 s of the add event carrying `welcome_code`, once. 41051
    /// means it was already delivered; 41096 that another app is sending it.
    pub async fn send_welcome_msg(
        &self,
        creds: &CorpCredentials,
        welcome_code: &str,
        text: Option<&str>,
        attachments: &[Attachment],
    ) -> Result<(), WecomError> {
        let body = WelcomeMsg::new(welcome_code, text, attachments)?;
        let _: Empty = self.post(creds, "externalcontact/send_welcome_msg", &body).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    #[test]
    fn a_welcome_message_is_the_contract_example() {
        let attachments = [Attachment::image("M")];
        let body = WelcomeMsg::new("WELCOMECODE", Some("你好"), &attachments).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"welcome_code":"WELCOMECODE","text":{"content":"你好"},
                   "attachments":[{"msgtype":"image","image":{"media_id":"M"}}]})
        );
    }

    #[test]
    fn every_attachment_kind_serializes_under_its_own_key() {
        let all = vec![
            Attachment::Image { image: ImageAttachment { media_id: None, pic_url: Some("https://p".into()) } },
            Attachment::Link {
                link: LinkAttachment {
                    title: "t".into(),
                    picurl: Some("https://p".into()),
                    desc: Some("d".into()),
                    url: "https://u".into(),
                    media_id: None,
                },
            },
            Attachment::Miniprogram {
                miniprogram: MiniprogramAttachment {
                    title: "t".into(),
                    pic_media_id: "P".into(),
                    appid: "wx1".into(),
                    page: "/index".into(),
                },
            },
            Attachment::Video { video: MediaAttachment { media_id: "V".into() } },
            Attachment::File { file: MediaAttachment { media_id: "F".into() } },
        ];
        let want = json!([
            {"msgtype":"image","image":{"pic_url":"https://p"}},
            {"msgtype":"link","link":{"title":"t","picurl":"https://p","desc":"d","url":"https://u"}},
            {"msgtype":"miniprogram","miniprogram":{"title":"t","pic_media_id":"P","appid":"wx1","page":"/index"}},
            {"msgtype":"video","video":{"media_id":"V"}},
            {"msgtype":"file","file":{"media_id":"F"}}
        ]);
        assert_eq!(serde_json::to_value(&all).unwrap(), want);
        let back: Vec<Attachment> = serde_json::from_value(want).unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn an_attachment_of_an_unknown_kind_is_read_but_not_sent() {
        let read: Attachment = serde_json::from_value(json!({"msgtype": "voice", "voice": {"media_id": "X"}})).unwrap();
        assert_eq!(read, Attachment::Unknown);
        assert!(check_attachments(&[read]).is_err());
    }

    #[test]
    fn a_welcome_message_with_only_attachments_has_no_text() {
        let attachments = [Attachment::link("会员日", "https://u")];
        let body = WelcomeMsg::new("W", None, &attachments).unwrap();
        let value = serde_json::to_value(&body).unwrap();
        assert!(value.get("text").is_none());
        assert_eq!(value["attachments"][0]["link"]["url"], "https://u");
    }

    #[test]
    fn a_welcome_message_needs_something_to_say() {
        assert!(matches!(WelcomeMsg::new("W", Some(""), &[]), Err(WecomError::Invalid(_))));
        assert!(matches!(WelcomeMsg::new("", Some("你好"), &[]), Err(WecomError::Invalid(_))));
    }

    #[tokio::test]
    async fn ten_attachments_are_refused_before_sending() {
        let ten: Vec<Attachment> = (0..10).map(|i| Attachment::image(format!("M{i}"))).collect();
        let err = offline_client().send_welcome_msg(&creds(), "W", Some("你好"), &ten).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
        assert!(WelcomeMsg::new("W", None, &ten[..9]).is_ok());
    }
}
