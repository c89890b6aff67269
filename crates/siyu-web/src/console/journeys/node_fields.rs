//! The node settings beside the journey editor's canvas: what would otherwise mean editing the graph's
//! JSON by hand. Every send node gets a select for its channel (`channel`: the sandbox, or WeCom 1:1) and
//! one for its frequency-cap policy (`on_cap`: skip, or defer to the customer's next local day); every
//! event trigger a text field for its key property (`key`, e.g. `order_id`: one run per value). The fields
//! are drawn from the graph on every preview; a change is written into the JSON by `journey_canvas.js`, and
//! on publish the posted fields are applied to the graph (they win over the JSON), so the page works
//! without script too. Problems show at their field: a value the form cannot take, and the publish checks
//! of a key (`bad_key`, `mixed_keys`).

use std::collections::BTreeMap;

use siyu_app::AppError;
use siyu_app::journeys::channel_names;
use siyu_domain::journey::{JourneyGraph, NodeKind, OnCap, Trigger};

use super::canvas::summary;
use super::problem_text;
use crate::i18n::Tr;

/// The channel and cap policy selects of one send node (`channel.<node>`, `on_cap.<node>`).
pub struct CapField {
    pub node: String,
    pub summary: String,
    pub channel: String,
    /// The channels to choose from: (name, label).
    pub channels: Vec<(String, String)>,
    pub channel_error: Option<String>,
    pub defer: bool,
    pub error: Option<String>,
}

/// The key property field of one event trigger (`key.<node>`).
pub struct KeyField {
    pub node: String,
    pub event: String,
    pub key: String,
    pub error: Option<String>,
}

/// The settings of a graph's nodes, with each field's problem.
#[derive(Default)]
pub struct NodeFields {
    pub caps: Vec<CapField>,
    pub keys: Vec<KeyField>,
}

impl NodeFields {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.keys.is_empty()
    }
}

/// Problems by field name (`on_cap.<node>`, `key.<node>`).
pub type FieldErrors = BTreeMap<String, String>;

/// The fields of `g`'s send nodes and event triggers, showing what the graph holds.
pub fn node_fields(tr: Tr, g: &JourneyGraph, errors: &FieldErrors) -> NodeFields {
    let mut out = NodeFields::default();
    for n in &g.nodes {
        match &n.kind {
            NodeKind::Send { on_cap, channel, .. } => out.caps.push(CapField {
                node: n.id.clone(),
                summary: summary(tr, n),
                channel: channel.clone(),
                channels: channel_choices(tr, channel),
                channel_error: errors.get(&format!("channel.{}", n.id)).cloned(),
                defer: *on_cap == OnCap::Defer,
                error: errors.get(&format!("on_cap.{}", n.id)).cloned(),
            }),
            NodeKind::Trigger { trigger: Trigger::Event { name, key, .. } } => out.keys.push(KeyField {
                node: n.id.clone(),
                event: name.clone(),
                key: key.clone().unwrap_or_default(),
                error: errors.get(&format!("key.{}", n.id)).cloned(),
            }),
            _ => {}
        }
    }
    out
}

/// The channels a send node may choose, labelled, with the node's own first if it is not one of them (so
/// the select shows what the JSON says).
fn channel_choices(tr: Tr, current: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        channel_names().map(|c| (c.to_string(), tr.t(&format!("journeys.fields.channel.{c}")).to_string())).collect();
    if !channel_names().any(|c| c == current) {
        out.insert(0, (current.to_string(), current.to_string()));
    }
    out
}

/// Applies the posted node fields to `g`: a select's `skip`/`defer`, a key's trimmed text (empty: no key).
/// A field is applied only when the operator changed it since it was drawn: each comes with a hidden
/// `shown.<field>` holding the value it was drawn with, and a field still showing that value leaves the
/// JSON as it is (so JSON typed just before publishing, within the preview's delay, is not overwritten by
/// a select drawn from the older JSON). Nodes without a posted field keep what the JSON says; a value the
/// form cannot take is left out and reported at its field.
pub fn apply(tr: Tr, g: &mut JourneyGraph, posted: &[(String, String)]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let shown = |name: &str| posted.iter().find(|(k, _)| k.strip_prefix("shown.") == Some(name)).map(|(_, v)| v.trim());
    for (name, value) in posted {
        if name.starts_with("shown.") || shown(name) == Some(value.trim()) {
            continue;
        }
        let Some((field, id)) = name.split_once('.') else { continue };
        let Some(node) = g.nodes.iter_mut().find(|n| n.id == id) else { continue };
        match (field, &mut node.kind) {
            ("on_cap", NodeKind::Send { on_cap, .. }) => match value.as_str() {
                "skip" => *on_cap = OnCap::Skip,
                "defer" => *on_cap = OnCap::Defer,
                other => {
                    errors.insert(name.clone(), format!("{}（{other}）", tr.t("journeys.fields.bad_on_cap")));
                }
            },
            ("channel", NodeKind::Send { channel, .. }) => {
                if channel_names().any(|c| c == value.trim()) {
                    *channel = value.trim().to_string();
                } else {
                    errors.insert(name.clone(), problem_text(tr, "unknown_channel", value.trim()));
                }
            }
            ("key", NodeKind::Trigger { trigger: Trigger::Event { key, .. } }) => {
                let text = value.trim();
                if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    errors.insert(name.clone(), problem_text(tr, "bad_key", text));
                } else {
                    *key = Some(text.to_string()).filter(|k| !k.is_empty());
                }
            }
            _ => {}
        }
    }
    errors
}

/// The publish problems that belong to a node field (a trigger's key, a send's channel), by field name.
pub fn field_errors(tr: Tr, g: &JourneyGraph, e: &AppError) -> FieldErrors {
    let AppError::InvalidDefinition(list) = e else { return FieldErrors::new() };
    list.iter()
        .filter_map(|d| {
            let field = match d.code.as_str() {
                "bad_key" | "mixed_keys" => "key",
                "unknown_channel" | "wecom_not_connected" => "channel",
                _ => return None,
            };
            let i = d.path.strip_prefix("/nodes/")?.split('/').next()?.parse::<usize>().ok()?;
            Some((format!("{field}.{}", g.nodes.get(i)?.id), problem_text(tr, &d.code, &d.detail)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn graph() -> JourneyGraph {
        serde_json::from_value(serde_json::json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "order_created"}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "hi"}
        ]}))
        .unwrap()
    }

    #[test]
    fn posted_fields_set_the_cap_policy_and_the_key_and_bad_values_stay_out_with_an_error() {
        let tr = Tr(Lang::Zh);
        let mut g = graph();
        let posted = |a: &str, b: &str| vec![("on_cap.s".to_string(), a.to_string()), ("key.t".into(), b.into())];
        assert!(apply(tr, &mut g, &posted("defer", " order_id ")).is_empty());
        let f = node_fields(tr, &g, &FieldErrors::new());
        assert!(f.caps[0].defer && f.keys[0].key == "order_id");
        let errors = apply(tr, &mut g, &posted("sometimes", "order id"));
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["key.t", "on_cap.s"]);
        assert_eq!(g.entry_key(), Some("order_id"), "the bad key left the graph as it was");
        assert!(apply(tr, &mut g, &posted("skip", "")).is_empty());
        assert_eq!((g.entry_key(), node_fields(tr, &g, &errors).caps[0].defer), (None, false));
    }

    #[test]
    fn a_field_still_showing_the_value_it_was_drawn_with_leaves_the_json_as_typed() {
        let tr = Tr(Lang::Zh);
        let mut g = graph();
        // Drawn from the JSON as skip / no key; the operator then typed defer and a key into the JSON and
        // published before the fields were redrawn.
        if let NodeKind::Send { on_cap, .. } = &mut g.nodes[1].kind {
            *on_cap = OnCap::Defer;
        }
        if let NodeKind::Trigger { trigger: Trigger::Event { key, .. } } = &mut g.nodes[0].kind {
            *key = Some("order_id".into());
        }
        let stale = [("on_cap.s", "skip"), ("shown.on_cap.s", "skip"), ("key.t", ""), ("shown.key.t", "")];
        let posted: Vec<(String, String)> = stale.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(apply(tr, &mut g, &posted).is_empty());
        assert_eq!((g.entry_key(), node_fields(tr, &g, &FieldErrors::new()).caps[0].defer), (Some("order_id"), true));
        // A field the operator changed since it was drawn still wins.
        let changed =
            [("on_cap.s", "skip"), ("shown.on_cap.s", "defer"), ("key.t", "sku"), ("shown.key.t", "order_id")];
        let posted: Vec<(String, String)> = changed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(apply(tr, &mut g, &posted).is_empty());
        assert_eq!((g.entry_key(), node_fields(tr, &g, &FieldErrors::new()).caps[0].defer), (Some("sku"), false));
    }
}
