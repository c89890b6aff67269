//! Personal data in events is sealed before it is stored (PIPL; cdp.md §1 "Move PII out first").
//!
//! Phone numbers and emails sent as `traits`, `context.traits` or `properties` fields (`phone`, `mobile`,
//! `email`, ...) and as `context.externalIds` of type `mobile`/`phone`/`email` are replaced by their masked
//! form (`138****5678`, `l***@example.com`). The value itself is kept only encrypted with the tenant's key,
//! with its blind index, under `context.siyu_sealed`: `[{path, kind, lookup, enc}]`, so identity resolution
//! can still match it and an audited reveal can still read it, but no clear value reaches the database.

use base64::Engine;
use serde_json::{Map, Value, json};
use siyu_domain::event::Message;
use siyu_domain::identity::{IdentityKind, NewIdentity, mask_value};

use crate::crypto::TenantKeys;
use crate::error::{AppError, AppResult};

/// Where sealed values are listed inside `context`.
pub const SEALED: &str = "siyu_sealed";

/// Field names (compared lower-case, without `_`) that hold a phone number or an email.
fn kind_of_field(name: &str) -> Option<IdentityKind> {
    let n: String = name.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_lowercase();
    match n.as_str() {
        "phone" | "mobile" | "phonenumber" | "mobilephone" | "tel" | "telephone" | "cellphone" => {
            Some(IdentityKind::Phone)
        }
        "email" | "emailaddress" | "mail" => Some(IdentityKind::Email),
        _ => None,
    }
}

fn has_pii_fields(map: &Map<String, Value>) -> bool {
    map.iter().any(|(k, v)| v.is_string() && kind_of_field(k).is_some())
}

fn external_kind(entry: &Value) -> Option<IdentityKind> {
    entry.get("type").and_then(Value::as_str).and_then(kind_of_field)
}

/// Whether a message holds any value [`seal`] would replace.
pub fn carries_pii(m: &Message) -> bool {
    let context_traits = m.context.get("traits").and_then(Value::as_object);
    let external = m.context.get("externalIds").and_then(Value::as_array);
    has_pii_fields(&m.traits)
        || has_pii_fields(&m.properties)
        || context_traits.is_some_and(has_pii_fields)
        || external.is_some_and(|ids| ids.iter().any(|e| external_kind(e).is_some()))
}

/// Seals the personal data of a validated message.
pub fn seal(keys: &TenantKeys, m: &mut Message) -> AppResult<()> {
    let mut v = serde_json::to_value(&*m).map_err(AppError::internal)?;
    seal_value(keys, &mut v)?;
    *m = serde_json::from_value(v).map_err(AppError::internal)?;
    Ok(())
}

/// Seals the personal data of a message-shaped JSON value (also a quarantined item, whatever its shape).
pub fn seal_value(keys: &TenantKeys, item: &mut Value) -> AppResult<()> {
    let Some(root) = item.as_object_mut() else { return Ok(()) };
    let mut sealed = Vec::new();
    for field in ["traits", "properties"] {
        if let Some(map) = root.get_mut(field).and_then(Value::as_object_mut) {
            seal_fields(keys, map, field, &mut sealed)?;
        }
    }
    if let Some(context) = root.get_mut("context").and_then(Value::as_object_mut) {
        if let Some(map) = context.get_mut("traits").and_then(Value::as_object_mut) {
            seal_fields(keys, map, "context.traits", &mut sealed)?;
        }
        if let Some(ids) = context.get_mut("externalIds").and_then(Value::as_array_mut) {
            for (i, entry) in ids.iter_mut().enumerate() {
                let Some(kind) = external_kind(entry) else { continue };
                if let Some(id) = entry.get_mut("id") {
                    seal_one(keys, kind, id, &format!("context.externalIds.{i}.id"), &mut sealed)?;
                }
            }
        }
    }
    if sealed.is_empty() {
        return Ok(());
    }
    let context = root.entry("context").or_insert_with(|| Value::Object(Map::new()));
    if let Some(context) = context.as_object_mut() {
        context.insert(SEALED.into(), Value::Array(sealed));
    }
    Ok(())
}

/// Seals every string anywhere in `value` that reads as a phone number (quarantined items are raw client
/// input: a phone may sit under any key, or in an item that is not even an object).
pub fn seal_loose_phones(keys: &TenantKeys, value: &mut Value) -> AppResult<()> {
    let mut sealed = Vec::new();
    walk_strings(keys, value, "$", &mut sealed)?;
    if !sealed.is_empty()
        && let Some(root) = value.as_object_mut()
    {
        let context = root.entry("context").or_insert_with(|| Value::Object(Map::new()));
        if let Some(context) = context.as_object_mut() {
            let list = context.entry(SEALED).or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = list.as_array_mut() {
                list.extend(sealed);
            }
        }
    }
    Ok(())
}

fn walk_strings(keys: &TenantKeys, value: &mut Value, path: &str, out: &mut Vec<Value>) -> AppResult<()> {
    match value {
        Value::String(s) if looks_like_phone(s) => seal_one(keys, IdentityKind::Phone, value, path, out),
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                walk_strings(keys, v, &format!("{path}.{i}"), out)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut().filter(|(k, _)| k.as_str() != SEALED) {
                walk_strings(keys, v, &format!("{path}.{k}"), out)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn looks_like_phone(s: &str) -> bool {
    s.chars().filter(char::is_ascii_digit).count() >= 11 && siyu_domain::phone::Phone::parse(s).is_ok()
}

fn seal_fields(keys: &TenantKeys, map: &mut Map<String, Value>, path: &str, out: &mut Vec<Value>) -> AppResult<()> {
    for (name, value) in map.iter_mut() {
        if let Some(kind) = kind_of_field(name) {
            seal_one(keys, kind, value, &format!("{path}.{name}"), out)?;
        }
    }
    Ok(())
}

fn seal_one(
    keys: &TenantKeys,
    kind: IdentityKind,
    value: &mut Value,
    path: &str,
    out: &mut Vec<Value>,
) -> AppResult<()> {
    let Some(text) = value.as_str().filter(|t| !t.trim().is_empty()) else { return Ok(()) };
    let canonical = NewIdentity::parse(kind, None, text).ok().map(|id| id.value);
    let masked = match &canonical {
        Some(c) => mask_value(kind, c),
        None => "***".to_string(),
    };
    let enc = base64::engine::general_purpose::STANDARD.encode(keys.encrypt(text)?);
    let lookup = canonical.as_deref().map(|c| keys.blind_index(kind, c));
    out.push(json!({"path": path, "kind": kind.as_str(), "lookup": lookup, "enc": enc}));
    *value = Value::String(masked);
    Ok(())
}

#[cfg(test)]
mod tests;
