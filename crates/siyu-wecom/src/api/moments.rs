//! Moments (客户朋友圈, reference/wecom.md §4.7): an asynchronous job; its result comes from polling the job id
//! (valid 24 h) until `status` is 3.

use serde::{Deserialize, Serialize};

use super::common::{Text, check_chars, check_present};
use super::welcome::{Attachment, MAX_ATTACHMENTS, check_attachments};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The longest moment text, in characters.
pub const MOMENT_TEXT_MAX_CHARS: usize = 2_000;

/// Which staff post the moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderList {
    /// Staff userids.
    pub user_list: Vec<String>,
    /// Department ids.
    pub department_list: Vec<i64>,
}

/// Which customers see the moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalContactRange {
    /// Corp tag ids.
    pub tag_list: Vec<String>,
}

/// Who posts and who sees; everything the corp may when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisibleRange {
    /// The posting staff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_list: Option<SenderList>,
    /// The customers who see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_contact_list: Option<ExternalContactRange>,
}

/// The body of `add_moment_task`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentTask {
    /// The text, ≤2,000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// Up to nine images, or one video, or one link.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Who posts and who sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_range: Option<VisibleRange>,
}

impl MomentTask {
    /// Checks the text length and the attachment mix (≤9 images, or 1 video, or 1 link).
    pub fn validate(&self) -> Result<(), WecomError> {
        let text = self.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
        check_chars("text.content", text, MOMENT_TEXT_MAX_CHARS)?;
        check_present("text or attachments", !text.is_empty() || !self.attachments.is_empty())?;
        check_attachments(&self.attachments)?;
        let images = self.attachments.iter().filter(|a| matches!(a, Attachment::Image { .. })).count();
        let single = matches!(self.attachments.as_slice(), [Attachment::Video { .. } | Attachment::Link { .. }]);
        if (images == self.attachments.len() && images <= MAX_ATTACHMENTS) || single {
            Ok(())
        } else {
            Err(WecomError::Invalid("attachments: a moment takes up to 9 images, or 1 video, or 1 link".into()))
        }
    }
}

/// Staff and departments that could not post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvalidSenderList {
    /// Staff userids.
    pub user_list: Vec<String>,
    /// Department ids.
    pub department_list: Vec<i64>,
}

/// The outcome of a finished moment job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentResult {
    /// The job's own errcode (0 = the moment was created).
    pub errcode: i64,
    /// The job's own errmsg.
    pub errmsg: String,
    /// The new moment's id.
    pub moment_id: String,
    /// Senders that could not post.
    pub invalid_sender_list: InvalidSenderList,
    /// Tags that were not valid.
    pub invalid_external_contact_list: ExternalContactRange,
}

/// The reply of `get_moment_task_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentTaskResult {
    /// 1 started, 2 running, 3 done.
    pub status: i64,
    /// Always `add_moment_task`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The outcome, once `status` is 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<MomentResult>,
}

#[derive(Deserialize)]
struct JobId {
    #[serde(default)]
    jobid: String,
}

impl Client {
    /// `externalcontact/add_moment_task`: the job id to poll with [`Client::get_moment_task_result`].
    pub async fn add_moment_task(&self, creds: &CorpCredentials, task: &MomentTask) -> Result<String, WecomError> {
        task.validate()?;
        let reply: JobId = self.post(creds, "externalcontact/add_moment_task", task).await?;
        Ok(reply.jobid)
    }

    /// GET `externalcontact/get_moment_task_result`.
    pub async fn get_moment_task_result(
        &self,
        creds: &CorpCredentials,
        jobid: &str,
    ) -> Result<MomentTaskResult, WecomError> {
        self.get(creds, "externalcontact/get_moment_task_result", &[("jobid", jobid.to_owned())]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use crate::api::welcome::MediaAttachment;
    use serde_json::json;

    fn contract_task() -> MomentTask {
        MomentTask {
            text: Some(Text::new("新品上市")),
            attachments: vec![Attachment::image("M")],
            visible_range: Some(VisibleRange {
                sender_list: Some(SenderList::default()),
                external_contact_list: Some(ExternalContactRange::default()),
            }),
        }
    }

    #[test]
    fn an_add_moment_task_request_is_the_contract_example() {
        assert_eq!(
            serde_json::to_value(contract_task()).unwrap(),
            json!({"text":{"content":"新品上市"},"attachments":[{"msgtype":"image","image":{"media_id":"M"}}],
                   "visible_range":{"sender_list":{"user_list":[],"department_list":[]},
                                    "external_contact_list":{"tag_list":[]}}})
        );
    }

    #[test]
    fn a_moment_takes_nine_images_or_one_video_or_one_link() {
        let nine =
            MomentTask { attachments: (0..9).map(|i| Attachment::image(format!("M{i}"))).collect(), ..contract_task() };
        assert!(nine.validate().is_ok());
        let ten = MomentTask {
            attachments: (0..10).map(|i| Attachment::image(format!("M{i}"))).collect(),
            ..contract_task()
        };
        assert!(matches!(ten.validate(), Err(WecomError::Invalid(_))));
        let video = Attachment::Video { video: MediaAttachment { media_id: "V".into() } };
        let one_video = MomentTask { attachments: vec![video.clone()], ..contract_task() };
        assert!(one_video.validate().is_ok());
        let mixed = MomentTask { attachments: vec![video, Attachment::image("M")], ..contract_task() };
        assert!(matches!(mixed.validate(), Err(WecomError::Invalid(_))));
        let two_links =
            MomentTask { attachments: vec![Attachment::link("a", "u"), Attachment::link("b", "u")], ..contract_task() };
        assert!(matches!(two_links.validate(), Err(WecomError::Invalid(_))));
        let file = Attachment::File { file: MediaAttachment { media_id: "F".into() } };
        assert!(matches!(
            MomentTask { attachments: vec![file], ..contract_task() }.validate(),
            Err(WecomError::Invalid(_))
        ));
    }

    #[test]
    fn a_moment_text_over_two_thousand_characters_is_refused() {
        let long = MomentTask { text: Some(Text::new("字".repeat(2_001))), ..contract_task() };
        assert!(matches!(long.validate(), Err(WecomError::Invalid(_))));
        let at_cap = MomentTask { text: Some(Text::new("字".repeat(2_000))), ..contract_task() };
        assert!(at_cap.validate().is_ok());
    }

    #[test]
    fn a_finished_moment_job_is_read() {
        let reply: MomentTaskResult = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "status": 3,
            "type": "add_moment_task", "result": {"errcode": 0, "errmsg": "ok", "moment_id": "momA",
            "invalid_sender_list": {"user_list": ["lisi"], "department_list": [2]},
            "invalid_external_contact_list": {"tag_list": ["etX9"]}}}))
        .unwrap();
        assert_eq!((reply.status, reply.kind.as_str()), (3, "add_moment_task"));
        let result = reply.result.unwrap();
        assert_eq!(result.moment_id, "momA");
        assert_eq!(result.invalid_sender_list.user_list, vec!["lisi"]);
        assert_eq!(result.invalid_external_contact_list.tag_list, vec!["etX9"]);
    }

    #[test]
    fn a_running_moment_job_has_no_result() {
        let reply: MomentTaskResult = serde_json::from_value(json!({"status": 2, "type": "add_moment_task"})).unwrap();
        assert!(reply.result.is_none());
    }

    #[tokio::test]
    async fn an_invalid_moment_is_refused_before_sending() {
        let ten = MomentTask {
            attachments: (0..10).map(|i| Attachment::image(format!("M{i}"))).collect(),
            ..contract_task()
        };
        let err = offline_client().add_moment_task(&creds(), &ten).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
    }
}
