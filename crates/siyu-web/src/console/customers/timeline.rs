//! The customer timeline as the console shows it: newest first, in pages, each entry described in words.

use std::collections::HashMap;

use serde_json::Value;
use siyu_domain::id::UserId;
use siyu_domain::timeline::{TimelineEntry, kinds};

use super::view::{fmt_time, label, sep, yuan};
use crate::i18n::Tr;

pub const PAGE: u32 = 20;

/// One timeline entry ready to show.
pub struct TimelineRow {
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub actor: String,
    pub source: String,
    pub when: String,
}

/// The "more" link under a page of entries.
pub struct More {
    /// Full-page fallback (`/console/customers/{id}?timeline_cursor=..#timeline`).
    pub href: String,
    /// The fragment htmx loads in place of the link.
    pub hx: String,
    pub label: String,
}

impl More {
    pub fn new(tr: Tr, customer: &str, cursor: &str) -> Self {
        let c = crate::auth::urlencode(cursor);
        Self {
            href: format!("/console/customers/{customer}?timeline_cursor={c}#timeline"),
            hx: format!("/console/customers/{customer}/timeline?cursor={c}"),
            label: tr.t("timeline.more").to_string(),
        }
    }
}

fn s<'a>(p: &'a Value, key: &str) -> &'a str {
    p.get(key).and_then(Value::as_str).unwrap_or("")
}

fn quoted(v: &str) -> String {
    if v.is_empty() { String::new() } else { format!("「{v}」") }
}

fn user_name(names: &HashMap<UserId, String>, p: &Value, key: &str) -> String {
    s(p, key).parse::<UserId>().ok().and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "—".into())
}

fn profile_field(tr: Tr, f: &str) -> String {
    match f {
        "name" => tr.t("customer.name").to_string(),
        "gender" => tr.t("customer.gender").to_string(),
        "remark" => tr.t("customer.remark").to_string(),
        "avatar_url" => tr.t("customer.avatar").to_string(),
        "custom" => tr.t("customer.custom").to_string(),
        other => other.to_string(),
    }
}

fn tag_detail(tr: Tr, p: &Value) -> String {
    let reason = match s(p, "reason") {
        "bulk" => format!(" · {}", tr.t("timeline.reason_bulk")),
        "import" => format!(" · {}", tr.t("timeline.reason_import")),
        _ => String::new(),
    };
    format!("{}{reason}", quoted(s(p, "tag")))
}

/// An imported order: `京东 290001234567 · 已收货 · ¥387.00`; a status change: `… · 已发货 → 已收货`.
fn order_detail(tr: Tr, kind: &str, p: &Value) -> String {
    let status = |key: &str| label(tr, "order.status", s(p, key));
    let mut parts = vec![format!("{} {}", label(tr, "order.platform", s(p, "platform")), s(p, "platform_order_id"))];
    if kind == kinds::ORDER_STATUS_CHANGED {
        let from = if s(p, "from").is_empty() { "—".to_string() } else { status("from") };
        parts.push(format!("{from} → {}", status("to")));
    } else {
        parts.push(status("status"));
        parts.extend(p.get("paid_fen").and_then(Value::as_i64).map(yuan));
    }
    parts.join(" · ")
}

/// A human description (title, detail) of an entry.
pub fn describe(tr: Tr, e: &TimelineEntry, names: &HashMap<UserId, String>) -> (String, String) {
    let p = &e.payload;
    let title = label(tr, "timeline.kind", &e.kind);
    let detail = match e.kind.as_str() {
        kinds::CUSTOMER_CREATED => quoted(s(p, "name")),
        kinds::PROFILE_UPDATED => p
            .get("fields")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter().filter_map(Value::as_str).map(|f| profile_field(tr, f)).collect::<Vec<_>>().join(sep(tr))
            })
            .unwrap_or_default(),
        kinds::TAG_ADDED | kinds::TAG_REMOVED => tag_detail(tr, p),
        kinds::NOTE_ADDED => s(p, "preview").to_string(),
        kinds::IDENTITY_ADDED | kinds::IDENTITY_REMOVED => {
            format!("{} {}", label(tr, "identity", s(p, "kind")), s(p, "display"))
        }
        kinds::FOLLOW_ADDED | kinds::FOLLOW_REMOVED => user_name(names, p, "user_id"),
        kinds::ORDER_IMPORTED | kinds::ORDER_STATUS_CHANGED => order_detail(tr, &e.kind, p),
        "customers_merged" => {
            let evidence = s(p, "evidence").split(':').next().unwrap_or_default();
            let rule = label(tr, "merges.rule", s(p, "rule"));
            let parts = [quoted(s(p, "absorbed_name")), rule, label(tr, "merges.evidence", evidence)];
            parts.into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" · ")
        }
        "merge_undone" => s(p, "reason").to_string(),
        kinds::STAGE_CHANGED => {
            let from = if s(p, "from").is_empty() { "—" } else { s(p, "from") };
            let reason = s(p, "reason").split(':').next().unwrap_or_default();
            format!("{from} → {} · {}", s(p, "to"), label(tr, "stages.reason", reason))
        }
        kinds::MESSAGE_SENT | kinds::MESSAGE_DELIVERED | kinds::MESSAGE_FAILED => {
            let mut parts = vec![s(p, "channel").to_string(), s(p, "node").to_string()];
            parts.extend(p.get("error").map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string)));
            parts.into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" · ")
        }
        kinds::TASK_CREATED | kinds::TASK_COMPLETED => quoted(s(p, "title")),
        siyu_domain::link::LINK_OPENED => quoted(s(p, "title")),
        "customer_transferred" | "transfer_failed" => {
            let who = |name: &str, userid: &str| if s(p, name).is_empty() { s(p, userid) } else { s(p, name) };
            let mut parts = vec![format!("{} → {}", who("from_name", "from"), who("to_name", "to"))];
            if !s(p, "reason").is_empty() {
                parts.push(label(tr, "transfers.reason", s(p, "reason")));
            }
            parts.join(" · ")
        }
        kinds::IMPORTED => ["file", "file_name", "row"]
            .iter()
            .filter_map(|k| p.get(*k))
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(" · "),
        _ => {
            let mut text = if p.is_null() { String::new() } else { p.to_string() };
            if text.chars().count() > 120 {
                text = text.chars().take(120).collect::<String>() + "…";
            }
            text
        }
    };
    (title, detail)
}

pub fn rows(tr: Tr, entries: &[TimelineEntry], names: &HashMap<UserId, String>) -> Vec<TimelineRow> {
    entries
        .iter()
        .map(|e| {
            let (title, detail) = describe(tr, e, names);
            TimelineRow {
                kind: e.kind.clone(),
                title,
                detail,
                actor: e
                    .actor_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| tr.t("timeline.system").to_string()),
                source: label(tr, "source", &e.source),
                when: fmt_time(&e.occurred_at),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use serde_json::json;
    use siyu_domain::id::{CustomerId, TimelineId};

    fn entry(kind: &str, payload: Value) -> TimelineEntry {
        TimelineEntry {
            id: TimelineId::new(),
            customer_id: CustomerId::new(),
            occurred_at: chrono::Utc::now(),
            source: "console".into(),
            kind: kind.into(),
            actor_id: None,
            payload,
        }
    }

    #[test]
    fn entries_are_described_in_chinese_with_their_payload() {
        let tr = Tr(Lang::Zh);
        let names = HashMap::new();
        let (t, d) = describe(tr, &entry(kinds::TAG_ADDED, json!({"tag": "高意向", "reason": "bulk"})), &names);
        assert_eq!(t, "添加标签");
        assert!(d.contains("「高意向」") && d.contains("批量"), "{d}");
        let (_, d) = describe(tr, &entry(kinds::PROFILE_UPDATED, json!({"fields": ["name", "remark"]})), &names);
        assert_eq!(d, "姓名、备注");
        let order =
            json!({"platform": "jd", "platform_order_id": "290001234567", "status": "received", "paid_fen": 38700});
        let (_, d) = describe(tr, &entry(kinds::ORDER_IMPORTED, order), &names);
        assert_eq!(d, "京东 290001234567 · 已收货 · ¥387.00");
        let moved = json!({"platform": "taobao", "platform_order_id": "39", "from": "paid", "to": "shipped"});
        let (_, d) = describe(tr, &entry(kinds::ORDER_STATUS_CHANGED, moved), &names);
        assert_eq!(d, "淘宝/天猫 39 · 待发货 → 已发货");
        let (t, _) = describe(tr, &entry("coupon_sent", json!({"x": 1})), &names);
        assert_eq!(t, "coupon_sent");
    }
}
