//! Resolving stored events: the identifiers an event carries (its sealed phones and emails included) and
//! the worker step that resolves a tenant's pending events in arrival order under a lease.

use std::collections::HashMap;

use base64::Engine;
use serde_json::Value;
use siyu_domain::event::{Message, Strength};
use siyu_domain::graph::Key;
use siyu_domain::id::{CustomerId, IdentityId, TenantId};
use siyu_domain::identity::{IdentityKind, NewIdentity};
use siyu_store::graph::PendingEvent;

use super::batch::Batch;
use super::{Observation, Observed};
use crate::App;
use crate::crypto::TenantKeys;
use crate::error::AppResult;
use crate::ingest::pii::SEALED;

/// Events resolved per lease.
const BATCH: i64 = 500;

impl App {
    /// Resolves the pending events of every tenant that has some, a batch per tenant; returns how many
    /// events were handled. The worker calls it between jobs; tests step it explicitly.
    pub async fn resolve_pending_events(&self) -> AppResult<usize> {
        let mut done = 0;
        for tenant in self.store.graph().tenants_with_pending_events(100).await? {
            done += self.resolve_tenant_events(tenant).await?;
        }
        Ok(done)
    }

    /// Resolves up to one batch of a tenant's pending events; 0 when another node holds its lease.
    ///
    /// Most events come from people already known (every identifier they carry is held by one customer) or
    /// from new people (none is held by anyone): those are decided in memory and written together (see
    /// `graph/batch.rs`). Any other event goes through [`App::observe`], after which what is held is read
    /// again.
    pub async fn resolve_tenant_events(&self, tenant: TenantId) -> AppResult<usize> {
        let holder = uuid::Uuid::now_v7().to_string();
        let graph = self.store.graph();
        if !self.take_resolver_lease(tenant, &holder).await? {
            return Ok(0);
        }
        let result = async {
            let keys = self.vault.keys(&self.store, tenant).await?;
            let pending = graph.pending_events(tenant, BATCH).await?;
            let observations: Vec<Observation> = pending.iter().map(|e| observation(&keys, e)).collect();
            let mut held = self.held(tenant, &observations).await?;
            let mut batch = Batch::default();
            let mut touched = Vec::new();
            for (i, obs) in observations.iter().enumerate() {
                if let Some(customer) = batch.known(obs, &held).or_else(|| batch.new_person(obs, &mut held, self.now()))
                {
                    touched.push(customer);
                    continue;
                }
                batch.flush(self, tenant).await?;
                if let Some(c) = self.observe(tenant, obs).await?.customer {
                    touched.push(c);
                }
                held = self.held(tenant, &observations[i + 1..]).await?;
            }
            batch.flush(self, tenant).await?;
            // Aggregates once per batch: last activity per channel, first seen, and after merges the orders.
            touched.sort();
            touched.dedup();
            let exist = self.store.customers().by_ids(tenant, &touched).await?;
            let ids: Vec<_> = exist.iter().map(|c| c.id).collect();
            self.refresh_aggregates(tenant, &ids).await?;
            AppResult::Ok(pending.len())
        }
        .await;
        graph.release(tenant, &holder).await?;
        result
    }

    /// Who holds each identifier the observations carry.
    async fn held(
        &self,
        tenant: TenantId,
        observations: &[Observation],
    ) -> AppResult<HashMap<Key, (IdentityId, CustomerId)>> {
        let mut keys: Vec<Key> =
            observations.iter().flat_map(|o| o.identifiers.iter().map(|i| i.key.clone())).collect();
        keys.sort_by(|a, b| {
            (a.kind.as_str(), &a.namespace, &a.lookup).cmp(&(b.kind.as_str(), &b.namespace, &b.lookup))
        });
        keys.dedup();
        let held = self.store.graph().holders(tenant, &keys).await?;
        Ok(held.into_iter().map(|h| (h.key, (h.identity, h.customer))).collect())
    }
}

/// The observation of a stored event. Phones and emails were sealed on arrival: they are taken from the
/// sealed list (blind index + ciphertext), never from the masked text left in the payload.
pub(crate) fn observation(keys: &TenantKeys, e: &PendingEvent) -> Observation {
    let mut identifiers = Vec::new();
    let mut masked_phones = Vec::new();
    let message: Option<Message> = serde_json::from_value(e.payload.clone()).ok();
    if let Some(m) = &message {
        let found = m.identifiers();
        for c in found.carried.iter().filter(|c| !c.identity.kind.is_pii()) {
            let i = &c.identity;
            identifiers.push(Observed {
                key: Key::new(i.kind, &i.namespace, &i.value),
                strength: c.strength,
                display: i.value.clone(),
                value_enc: None,
            });
        }
        // Masked as the client sent them; values sealed on arrival are masked by us and handled below.
        let sealed_paths: Vec<&str> = sealed_list(&e.payload).filter_map(|s| s.get("path")?.as_str()).collect();
        for d in found.dropped.iter().filter(|d| d.reason == "masked_phone") {
            let at = value_at(&e.payload, &d.path);
            let text = at.and_then(|v| v.as_str().or_else(|| v.get("id").and_then(Value::as_str)));
            if let Some(v) = text.and_then(masked_phone)
                && !sealed_paths.iter().any(|p| same_path(p, &d.path))
            {
                masked_phones.push(v);
            }
        }
    }
    for s in sealed_list(&e.payload) {
        if let Some(masked) = sealed_masked_phone(keys, s) {
            masked_phones.push(masked);
        } else if let Some(o) = unseal(keys, &e.payload, message.as_ref(), s)
            && !identifiers.iter().any(|i| i.key == o.key)
        {
            identifiers.push(o);
        }
    }
    let name = message.as_ref().and_then(|m| {
        ["name", "nickname", "nickName"]
            .iter()
            .find_map(|k| m.traits.get(*k).and_then(Value::as_str).map(str::to_string))
    });
    Observation {
        identifiers,
        masked_phones,
        source: "sdk".into(),
        evidence: format!("event:{}", e.id),
        event: Some(e.id),
        name,
        actor: None,
        at: e.event_time,
    }
}

/// A sealed phone or email as an identifier, if it sits where identifiers are read (an identify's
/// `traits`, or `context.externalIds`): strong when an externalIds entry says it was verified.
fn unseal(keys: &TenantKeys, payload: &Value, m: Option<&Message>, s: &Value) -> Option<Observed> {
    let path = s.get("path")?.as_str()?;
    let kind = IdentityKind::parse(s.get("kind")?.as_str()?)?;
    let lookup = s.get("lookup")?.as_str()?;
    let strength = if let Some(rest) = path.strip_prefix("context.externalIds.") {
        let index = rest.split('.').next()?;
        let entry = payload.pointer(&format!("/context/externalIds/{index}"))?;
        let verified = entry.get("verified_by").and_then(Value::as_str).is_some_and(|v| !v.trim().is_empty());
        if verified { Strength::Strong } else { Strength::Weak }
    } else if path.starts_with("traits.") && m.is_some_and(|m| m.kind == siyu_domain::event::MessageType::Identify) {
        Strength::Weak
    } else {
        return None;
    };
    let raw = keys.decrypt(&base64::engine::general_purpose::STANDARD.decode(s.get("enc")?.as_str()?).ok()?).ok()?;
    let id = NewIdentity::parse(kind, None, &raw).ok()?;
    Some(Observed {
        key: Key::new(kind, "", lookup),
        strength,
        display: id.masked(),
        value_enc: keys.encrypt(&id.value).ok(),
    })
}

/// A sealed value that was a masked phone (`138****1234`, sealed as `***` with no blind index).
fn sealed_masked_phone(keys: &TenantKeys, s: &Value) -> Option<String> {
    if !s.get("lookup").is_some_and(Value::is_null) || s.get("kind")?.as_str()? != "phone" {
        return None;
    }
    let raw = keys.decrypt(&base64::engine::general_purpose::STANDARD.decode(s.get("enc")?.as_str()?).ok()?).ok()?;
    masked_phone(&raw)
}

/// `138****1234` (also with full-width asterisks, spaces or dashes) in canonical form.
fn masked_phone(raw: &str) -> Option<String> {
    let v: String = raw.trim().replace('＊', "*").chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    (v.is_ascii() && v.len() == 11 && v.starts_with('1') && v[3..7] == *"****" && digits == 7).then_some(v)
}

fn sealed_list(payload: &Value) -> impl Iterator<Item = &Value> {
    payload.pointer(&format!("/context/{SEALED}")).and_then(Value::as_array).into_iter().flatten()
}

/// Whether a sealed path (`context.externalIds.2.id`, `traits.phone`) and an identifier path
/// (`context.externalIds[2]`, `traits.phone`) name the same place.
fn same_path(sealed: &str, path: &str) -> bool {
    let norm = |p: &str| p.replace('[', ".").replace(']', "").trim_end_matches(".id").to_string();
    norm(sealed) == norm(path)
}

/// The JSON value at a dotted path such as `traits.phone` or `context.externalIds[2]`.
fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let pointer: String = path.replace('[', ".").replace(']', "").split('.').map(|p| format!("/{p}")).collect();
    v.pointer(&pointer)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use siyu_domain::id::{EventId, SourceId};
    use siyu_domain::source::SourceKind;

    use super::*;
    use crate::ingest::pii::seal_value;

    fn pending(payload: Value) -> PendingEvent {
        let event_time = chrono::Utc::now();
        PendingEvent {
            id: EventId::new(),
            source_id: SourceId::new(),
            source_kind: SourceKind::Web,
            event_time,
            payload,
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z0-9*＊ +\\-\\[\\]\\.]{0,14}".prop_map(Value::String),
            Just(json!("138****1234")),
            Just(json!("13812345678")),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_string()),
                        Just("id".to_string()),
                        Just("phone".to_string()),
                        Just("appid".to_string()),
                        Just("verified_by".to_string()),
                        Just("externalIds".to_string()),
                        Just("siyu_sealed".to_string()),
                        Just("path".to_string()),
                        Just("lookup".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn a_verified_mobile_is_strong_a_typed_phone_weak_and_a_masked_one_only_a_hint() {
        let keys = TenantKeys::for_tests();
        let mut payload = json!({"type": "identify", "anonymousId": "a1", "messageId": "m",
            "traits": {"phone": "138****1234"},
            "context": {"externalIds": [{"type": "mobile", "id": "13912345678", "verified_by": "sms"},
                                        {"type": "email", "id": "Li@Example.com"}]}});
        seal_value(&keys, &mut payload).unwrap();
        let obs = observation(&keys, &pending(payload));
        let strength = |kind: IdentityKind| obs.identifiers.iter().find(|o| o.key.kind == kind).map(|o| o.strength);
        assert_eq!(strength(IdentityKind::Phone), Some(Strength::Strong));
        assert_eq!(strength(IdentityKind::Email), Some(Strength::Weak));
        assert_eq!(strength(IdentityKind::AnonymousId), Some(Strength::Strong));
        assert_eq!(obs.masked_phones, ["138****1234"]);
        let phone = obs.identifiers.iter().find(|o| o.key.kind == IdentityKind::Phone).unwrap();
        assert_eq!(phone.display, "139****5678");
        assert_eq!(keys.decrypt(phone.value_enc.as_deref().unwrap()).unwrap(), "+8613912345678");
    }

    proptest! {
        #[test]
        fn any_stored_payload_gives_an_observation_without_panicking(mut payload in json_value(), seal in any::<bool>()) {
            let keys = TenantKeys::for_tests();
            if seal {
                let _ = seal_value(&keys, &mut payload);
            }
            let obs = observation(&keys, &pending(payload));
            prop_assert!(obs.masked_phones.iter().all(|m| m.len() == 11 && m.contains("****")));
        }
    }
}
