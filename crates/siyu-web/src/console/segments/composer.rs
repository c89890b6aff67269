//! What the condition composer (`static/segment_builder.js`) offers: the kinds of condition, the fields by
//! group (profile, order summary, customer value, custom fields) with their comparisons and options, tags,
//! customer groups (客户群), staff, segments, identity kinds and consent values, with every label translated.
//! It is rendered as JSON into the form; the script turns a choice into the text form, the references
//! written the way the parser resolves them (tags by unique name or `group/name`, customer groups by unique
//! name or id, staff by username, segments by name).

use serde_json::{Value, json};
use siyu_app::AppError;
use siyu_app::wecom::GroupQuery;
use siyu_domain::id::SegmentId;
use siyu_domain::identity::IdentityKind;
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::rfm::{RfmClass, RfmLayer};
use siyu_domain::segment::{Builtin, Catalog, FieldType, Op};

use crate::auth::ConsoleActor;
use crate::console::customers::view::label;
use crate::i18n::Tr;
use crate::state::AppState;

/// The kinds of condition, in the composer's order.
pub const KINDS: [&str; 9] = ["field", "tag", "group", "identity", "follow", "event", "bought", "consent", "segment"];

/// Most customer groups the picker lists (the busiest first); others are written by hand in the text.
const MAX_GROUPS: usize = 1000;

/// How the customer was added (the WeCom `add_way` values the console labels).
const ADD_WAYS: [&str; 5] = ["qr_code", "phone_search", "card_share", "group", "manual"];

/// The composer's own words (`segments.ui.<word>`).
const WORDS: [&str; 31] = [
    "field",
    "op",
    "value",
    "days",
    "days_unit",
    "list_hint",
    "yuan",
    "tags",
    "tag_mode",
    "groups",
    "group_mode",
    "group_filter",
    "no_groups",
    "pick",
    "staff",
    "any_staff",
    "add_way",
    "any",
    "state",
    "within",
    "event_name",
    "count",
    "product",
    "purpose",
    "status",
    "segment",
    "identity_kind",
    "missing",
    "no_tags",
    "no_segments",
    "date",
];

/// How an event count compares: (text form, label key).
const COUNT_OPS: [(&str, &str); 3] = [(">=", "ge"), ("=", "eq"), ("<=", "le")];

const PROFILE: [Builtin; 8] = [
    Builtin::Name,
    Builtin::Gender,
    Builtin::Remark,
    Builtin::Source,
    Builtin::CreatedAt,
    Builtin::LastActiveAt,
    Builtin::FirstSeenAt,
    Builtin::EventCount,
];

const ORDERS: [Builtin; 9] = [
    Builtin::OrderCount,
    Builtin::OrderDays,
    Builtin::PaidFen,
    Builtin::RefundFen,
    Builtin::AvgPaidFen,
    Builtin::FirstOrderAt,
    Builtin::LastOrderAt,
    Builtin::ProductCount,
    Builtin::Platforms,
];

const TYPES: [FieldType; 6] =
    [FieldType::Number, FieldType::Text, FieldType::Choice, FieldType::Time, FieldType::Date, FieldType::List];

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Number => "number",
        FieldType::Text => "text",
        FieldType::Choice => "choice",
        FieldType::Time => "time",
        FieldType::Date => "date",
        FieldType::List => "list",
    }
}

fn pairs(items: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Array(items.into_iter().map(|(v, l)| json!([v, l])).collect())
}

/// How the console names one of a built-in field's options.
fn option_label(tr: Tr, b: Builtin, o: &str) -> String {
    let pick = |zh: &str, en: &str| if tr.is_en() { en.to_string() } else { zh.to_string() };
    match b {
        Builtin::Platforms => label(tr, "order.platform", o),
        Builtin::Gender => label(tr, "gender", o),
        Builtin::RfmClass => RfmClass::parse(o).map_or_else(|| o.to_string(), |c| pick(c.label_zh(), c.label_en())),
        Builtin::RfmLayer => RfmLayer::parse(o).map_or_else(|| o.to_string(), |l| pick(l.label_zh(), l.label_en())),
        _ => o.to_string(),
    }
}

fn builtin(tr: Tr, b: Builtin) -> Value {
    let options = b.options().iter().map(|o| (o.to_string(), option_label(tr, b, o)));
    json!({
        "key": b.key(),
        "label": label(tr, "segments.field", b.key()),
        "type": type_name(b.field_type()),
        "options": pairs(options),
        "money": b.is_money(),
    })
}

/// The kinds of condition for the composer's first select: (value, label).
pub fn kinds(tr: Tr) -> Vec<(&'static str, String)> {
    KINDS.iter().map(|k| (*k, label(tr, "segments.cond", k))).collect()
}

/// The composer's catalog as JSON, safe to place inside `<script type="application/json">`.
pub async fn catalog_json(
    state: &AppState,
    ca: &ConsoleActor,
    tr: Tr,
    editing: Option<SegmentId>,
) -> Result<String, AppError> {
    let (app, a) = (&state.app, &ca.actor);
    let catalog = app.segment_catalog(a.tenant, editing).await?;
    let custom: Vec<Value> = catalog
        .fields
        .iter()
        .map(|f| {
            let options = f.options.iter().map(|o| (o.clone(), o.clone()));
            json!({
                "key": format!("custom.{}", f.key),
                "label": f.label,
                "type": type_name(FieldType::of_custom(f.kind)),
                "options": pairs(options),
                "money": false,
            })
        })
        .collect();
    let fields = |list: &[Builtin]| list.iter().map(|b| builtin(tr, *b)).collect::<Vec<_>>();
    let values: Vec<Builtin> =
        Builtin::ALL.into_iter().filter(|b| !PROFILE.contains(b) && !ORDERS.contains(b)).collect();
    let mut groups = vec![
        json!({"label": tr.t("segments.group.profile"), "fields": fields(&PROFILE)}),
        json!({"label": tr.t("segments.group.orders"), "fields": fields(&ORDERS)}),
    ];
    if !values.is_empty() {
        groups.push(json!({"label": tr.t("segments.group.values"), "fields": fields(&values)}));
    }
    if !custom.is_empty() {
        groups.push(json!({"label": tr.t("segments.group.custom"), "fields": custom}));
    }
    let ops: serde_json::Map<String, Value> = TYPES
        .iter()
        .map(|t| {
            let ops = t.ops().iter().map(|o: &Op| (o.as_str().to_string(), label(tr, "segments.op", o.as_str())));
            (type_name(*t).to_string(), pairs(ops))
        })
        .collect();
    // Only the tags the member sees (their own personal tags, not colleagues'), referenced the way the
    // parser resolves them against the whole catalog.
    let visible = app.tag_groups(a).await?;
    let reference = |id, name: &str| {
        let unique = catalog.tags.iter().filter(|(_, _, n)| n == name).count() == 1;
        let group = catalog.tags.iter().find(|(t, _, _)| *t == id).map(|(_, g, _)| g.as_str()).unwrap_or("");
        if unique { name.to_string() } else { format!("{group}/{name}") }
    };
    let tags: Vec<Value> = visible
        .iter()
        .filter(|g| !g.tags.is_empty())
        .map(|g| {
            let tags = g.tags.iter().map(|t| (reference(t.tag.id, &t.tag.name), t.tag.name.clone()));
            json!({"group": g.group.name, "tags": pairs(tags)})
        })
        .collect();
    let customer_groups = customer_groups(state, ca, &catalog).await?;
    let staff =
        catalog.staff.iter().map(|(_, username, display)| (username.clone(), format!("{display} ({username})")));
    let segments: Vec<&str> =
        catalog.segments.iter().filter(|s| Some(s.id) != editing).map(|s| s.name.as_str()).collect();
    let t: serde_json::Map<String, Value> =
        WORDS.iter().map(|w| (w.to_string(), Value::String(label(tr, "segments.ui", w)))).collect();
    let json = json!({
        "groups": groups,
        "ops": ops,
        "tags": tags,
        "customer_groups": pairs(customer_groups),
        "staff": pairs(staff),
        "segments": segments,
        "identities": pairs(IdentityKind::ALL.iter().map(|k| (k.as_str().to_string(), label(tr, "identity", k.as_str())))),
        "add_ways": pairs(ADD_WAYS.iter().map(|w| (w.to_string(), label(tr, "add_way", w)))),
        "purposes": pairs(ConsentPurpose::ALL.iter().map(|p| (p.as_str().to_string(), label(tr, "privacy.purpose", p.as_str())))),
        "statuses": pairs(ConsentStatus::ALL.iter().map(|s| (s.as_str().to_string(), label(tr, "privacy.status", s.as_str())))),
        "tag_modes": pairs(["any", "all", "none"].iter().map(|m| (m.to_string(), label(tr, "segments.tag_mode", m)))),
        "group_modes": pairs(["any", "all", "none"].iter().map(|m| (m.to_string(), label(tr, "segments.group_mode", m)))),
        "count_ops": pairs(COUNT_OPS.iter().map(|(o, k)| (o.to_string(), label(tr, "segments.count_op", k)))),
        "t": t,
    });
    Ok(script_safe(&json.to_string()))
}

/// The customer groups the member sees (every group with an all scope, else the ones they own; dismissed
/// ones left out), busiest first, as (reference, label): referenced the way the parser resolves them
/// against the whole catalog, by name when no other group has it, else by id (the label then adds the
/// chat id's end to tell them apart). A member who may not read customers gets none.
async fn customer_groups(
    state: &AppState,
    ca: &ConsoleActor,
    catalog: &Catalog,
) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    let mut q = GroupQuery { limit: 200, ..GroupQuery::default() };
    while out.len() < MAX_GROUPS {
        let (page, total) = match state.app.customer_groups(&ca.actor, q.clone()).await {
            Ok(found) => found,
            Err(AppError::Forbidden) => break,
            Err(e) => return Err(e),
        };
        let n = page.len() as i64;
        for g in page {
            if catalog.groups.iter().filter(|(_, name)| *name == g.name).count() == 1 {
                out.push((g.name.clone(), g.name));
            } else {
                let end = g.chat_id.char_indices().rev().nth(5).map_or(g.chat_id.as_str(), |(i, _)| &g.chat_id[i..]);
                out.push((g.id.to_string(), format!("{} · {end}", g.name)));
            }
        }
        q.offset += n;
        if n == 0 || q.offset >= total {
            break;
        }
    }
    out.truncate(MAX_GROUPS);
    Ok(out)
}

/// JSON that cannot close the `<script>` element it sits in nor open a comment.
pub fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_label_the_composer_uses_is_translated() {
        let tr = Tr(Lang::Zh);
        let mut keys: Vec<String> = KINDS.iter().map(|k| format!("segments.cond.{k}")).collect();
        keys.extend(Builtin::ALL.iter().map(|b| format!("segments.field.{}", b.key())));
        keys.extend(Op::ALL.iter().map(|o| format!("segments.op.{}", o.as_str())));
        keys.extend(ADD_WAYS.iter().map(|w| format!("add_way.{w}")));
        keys.extend(["any", "all", "none"].iter().map(|m| format!("segments.tag_mode.{m}")));
        keys.extend(["any", "all", "none"].iter().map(|m| format!("segments.group_mode.{m}")));
        keys.extend(COUNT_OPS.iter().map(|(_, k)| format!("segments.count_op.{k}")));
        keys.extend(WORDS.iter().map(|w| format!("segments.ui.{w}")));
        keys.extend(["profile", "orders", "values", "custom"].iter().map(|g| format!("segments.group.{g}")));
        let missing: Vec<&String> = keys.iter().filter(|k| tr.t(k) == k.as_str()).collect();
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }

    #[test]
    fn json_in_a_script_cannot_end_it() {
        assert_eq!(script_safe(r#"{"a":"</script><!--&"}"#), r#"{"a":"\u003c/script\u003e\u003c!--\u0026"}"#);
    }
}
