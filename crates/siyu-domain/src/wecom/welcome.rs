//! Welcome messages (欢迎语): what a new customer gets within WeCom's 20-second welcome-code window.
//!
//! A message is text with variables (`{客户昵称}` / `{nickname}`, `{员工姓名}` / `{staff_name}`) and up to nine
//! attachments in WeCom's wire form (`{"msgtype":"image","image":{…}}`; the app checks them against the client's
//! types). Time-sliced variants replace the default in their weekday × time windows (e.g. a night-time
//! "we'll reply tomorrow"). Which message applies: the live code's, else the staff member's, else the tenant's
//! default. A customer whose nickname matches the block list gets none (ad accounts and resellers).

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// At most nine attachments (WeCom's limit).
pub const MAX_ATTACHMENTS: usize = 9;
/// WeCom's text limit for a welcome message, in bytes.
pub const MAX_TEXT_BYTES: usize = 4000;

/// A welcome message with its time-sliced variants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WelcomeMessage {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
    #[serde(default)]
    pub variants: Vec<WelcomeVariant>,
}

/// A variant used on some weekdays between two local times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WelcomeVariant {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u8>,
    #[schema(value_type = String, example = "22:00")]
    pub start: NaiveTime,
    /// May be before `start`: the window then spans midnight.
    #[schema(value_type = String, example = "08:00")]
    pub end: NaiveTime,
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

impl WelcomeVariant {
    fn covers(&self, weekday: u8, t: NaiveTime) -> bool {
        let in_time =
            if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end };
        self.weekdays.contains(&weekday) && in_time
    }
}

impl WelcomeMessage {
    /// Empty text and no attachments: nothing to send.
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.attachments.is_empty() && self.variants.is_empty()
    }

    /// The text and attachments for local `weekday` (1–7) and `time`: the first covering variant, else the default.
    pub fn pick(&self, weekday: u8, time: NaiveTime) -> (&str, &[serde_json::Value]) {
        match self.variants.iter().find(|v| v.covers(weekday, time)) {
            Some(v) => (&v.text, &v.attachments),
            None => (&self.text, &self.attachments),
        }
    }

    /// Problems, each naming its field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let check = |text: &str, attachments: &[serde_json::Value], at: &str| {
            if text.len() > MAX_TEXT_BYTES {
                return Err(("text", format!("{at}text is over {MAX_TEXT_BYTES} bytes")));
            }
            if attachments.len() > MAX_ATTACHMENTS {
                return Err(("attachments", format!("{at}at most {MAX_ATTACHMENTS} attachments")));
            }
            if text.trim().is_empty() && attachments.is_empty() {
                return Err(("text", format!("{at}text or an attachment is needed")));
            }
            Ok(())
        };
        check(&self.text, &self.attachments, "")?;
        for (i, v) in self.variants.iter().enumerate() {
            if v.weekdays.is_empty() || v.weekdays.iter().any(|d| !(1..=7).contains(d)) || v.start == v.end {
                return Err(("variants", format!("variant {}: weekdays 1–7 and a non-empty window", i + 1)));
            }
            check(&v.text, &v.attachments, &format!("variant {}: ", i + 1))?;
        }
        Ok(())
    }
}

/// Fills the variables of a welcome text.
pub fn render(text: &str, nickname: &str, staff_name: &str) -> String {
    text.replace("{客户昵称}", nickname)
        .replace("{nickname}", nickname)
        .replace("{员工姓名}", staff_name)
        .replace("{staff_name}", staff_name)
}

/// Whether a nickname matches the block list (case-insensitive substrings; blank entries ignored).
pub fn nickname_blocked(nickname: &str, block_list: &[String]) -> bool {
    let name = nickname.to_lowercase();
    block_list.iter().map(|b| b.trim().to_lowercase()).any(|b| !b.is_empty() && name.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(h: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, 0, 0).unwrap()
    }

    fn message() -> WelcomeMessage {
        WelcomeMessage {
            text: "{客户昵称}您好，我是{员工姓名}".into(),
            attachments: vec![json!({"msgtype": "link", "link": {"title": "会员福利", "url": "https://example.com"}})],
            variants: vec![WelcomeVariant {
                weekdays: (1..=7).collect(),
                start: t(22),
                end: t(8),
                text: "已下班，明早回复您".into(),
                attachments: vec![],
            }],
        }
    }

    #[test]
    fn a_night_variant_replaces_the_default_across_midnight() {
        let m = message();
        assert_eq!(m.pick(3, t(23)).0, "已下班，明早回复您");
        assert_eq!(m.pick(3, t(2)).0, "已下班，明早回复您");
        assert_eq!(m.pick(3, t(9)).0, "{客户昵称}您好，我是{员工姓名}");
        assert_eq!(m.pick(3, t(9)).1.len(), 1);
    }

    #[test]
    fn variables_are_filled_in_chinese_and_english_spellings() {
        assert_eq!(render("{客户昵称}您好，我是{员工姓名}", "小王", "张三"), "小王您好，我是张三");
        assert_eq!(render("Hi {nickname}, {staff_name} here", "Wang", "Zhang"), "Hi Wang, Zhang here");
    }

    #[test]
    fn a_nickname_on_the_block_list_gets_no_welcome() {
        let list = vec!["代理".to_string(), " AD ".to_string(), "".to_string()];
        assert!(nickname_blocked("专业代理-微商", &list));
        assert!(nickname_blocked("Ad-Agency", &list));
        assert!(!nickname_blocked("王女士", &list));
    }

    #[test]
    fn too_many_attachments_an_empty_message_or_a_bad_variant_are_refused() {
        let mut m = message();
        assert!(m.validate().is_ok());
        m.attachments = vec![json!({}); 10];
        assert_eq!(m.validate().unwrap_err().0, "attachments");
        let mut m = message();
        m.text.clear();
        m.attachments.clear();
        assert_eq!(m.validate().unwrap_err().0, "text");
        let mut m = message();
        m.variants[0].weekdays = vec![0];
        assert_eq!(m.validate().unwrap_err().0, "variants");
    }
}
