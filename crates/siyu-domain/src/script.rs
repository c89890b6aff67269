//! Quick-reply scripts (话术): what staff send again and again, kept in groups, with variables filled in for
//! the customer at hand and up to nine WeCom attachments (the welcome-message attachment shape).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::id::{ScriptGroupId, ScriptId};

pub const MAX_TITLE_CHARS: usize = 60;
pub const MAX_BODY_CHARS: usize = 2000;
pub const MAX_ATTACHMENTS: usize = 9;
/// Variables a script may use; the English names are aliases.
pub const VARIABLES: [&str; 4] = ["{客户昵称}", "{nickname}", "{员工姓名}", "{staff_name}"];

/// Whose a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScriptScope {
    /// The team's: everyone sees it, content managers keep it.
    Team,
    /// One member's own.
    Personal,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScriptGroup {
    pub id: ScriptGroupId,
    pub name: String,
    pub scope: ScriptScope,
    pub position: i64,
    pub scripts: Vec<Script>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Script {
    pub id: ScriptId,
    pub group_id: ScriptGroupId,
    pub title: String,
    pub body: String,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
    pub position: i64,
    pub uses: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A script as written, before it is stored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct ScriptInput {
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

impl ScriptInput {
    /// Trims and checks a script: a title, text or an attachment, sizes, known variables only.
    pub fn check(mut self) -> Result<Self, Invalid> {
        self.title = self.title.trim().to_string();
        self.body = self.body.trim().to_string();
        if self.title.is_empty() || self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(Invalid::new("title", "length"));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(Invalid::new("body", "too_long"));
        }
        if self.body.is_empty() && self.attachments.is_empty() {
            return Err(Invalid::new("body", "text_or_attachment_needed"));
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(Invalid::new("attachments", "too_many"));
        }
        if self.attachments.iter().any(|a| a.get("msgtype").and_then(|t| t.as_str()).is_none()) {
            return Err(Invalid::new("attachments", "msgtype_missing"));
        }
        if let Some(unknown) = unknown_variable(&self.body) {
            return Err(Invalid::new("body", format!("unknown_variable:{unknown}")));
        }
        Ok(self)
    }
}

/// The first `{…}` in `text` that is not a known variable.
pub fn unknown_variable(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let close = after.find('}')?;
        let var = &after[..=close];
        if !VARIABLES.contains(&var) {
            return Some(var.to_string());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Fills a script's variables for one customer and staff member.
pub fn render(body: &str, nickname: &str, staff_name: &str) -> String {
    crate::wecom::welcome::render(body, nickname, staff_name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_script_needs_a_title_and_text_or_an_attachment() {
        let bare = ScriptInput { title: " 发货 ".into(), ..ScriptInput::default() };
        assert_eq!(bare.clone().check().unwrap_err().field, "body");
        let text = ScriptInput { body: "{客户昵称}您好，已发货".into(), ..bare.clone() };
        assert_eq!(text.check().unwrap().title, "发货");
        let card =
            ScriptInput { attachments: vec![json!({"msgtype": "link", "link": {"title": "t", "url": "u"}})], ..bare };
        assert!(card.check().is_ok());
    }

    #[test]
    fn unknown_variables_and_malformed_attachments_are_refused() {
        let s = ScriptInput { title: "t".into(), body: "{客户名字}你好".into(), ..ScriptInput::default() };
        assert_eq!(s.check().unwrap_err().reason, "unknown_variable:{客户名字}");
        let s = ScriptInput { title: "t".into(), attachments: vec![json!({"link": {}})], ..ScriptInput::default() };
        assert_eq!(s.check().unwrap_err().field, "attachments");
        assert_eq!(unknown_variable("价格{99元"), None);
    }

    #[test]
    fn variables_are_filled_for_the_customer_and_staff_member() {
        assert_eq!(render("{客户昵称}您好，我是{staff_name}", "王女士", "张三"), "王女士您好，我是张三");
    }
}
