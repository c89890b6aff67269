#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use serde_json::json;
use siyu_domain::event::{Endpoint, MessageType, parse_request};
use siyu_domain::identity::IdentityKind;

use super::{SEALED, carries_pii, seal, seal_value};
use crate::crypto::TenantKeys;

fn identify(body: serde_json::Value) -> siyu_domain::event::Message {
    let bytes = serde_json::to_vec(&body).unwrap();
    parse_request(Endpoint::Single(MessageType::Identify), &bytes).unwrap().messages.remove(0)
}

#[test]
fn phones_and_emails_in_traits_and_external_ids_are_masked_and_kept_only_encrypted() {
    let keys = TenantKeys::for_tests();
    let mut m = identify(json!({
        "userId": "u-1",
        "traits": {"name": "王小美", "phone": "138 1234 5678", "Email": "Li.Lei@Example.com"},
        "context": {"externalIds": [{"id": "13912345678", "type": "mobile", "collection": "users", "encoding": "none"}]}
    }));
    assert!(carries_pii(&m));
    seal(&keys, &mut m).unwrap();
    assert_eq!(m.traits["phone"], "138****5678");
    assert_eq!(m.traits["Email"], "l***@example.com");
    assert_eq!(m.traits["name"], "王小美");
    assert_eq!(m.context["externalIds"][0]["id"], "139****5678");
    let text = serde_json::to_string(&m).unwrap();
    for clear in ["13812345678", "1234 5678", "Li.Lei", "13912345678"] {
        assert!(!text.contains(clear), "{clear} leaked: {text}");
    }
    let sealed = m.context[SEALED].as_array().unwrap();
    assert_eq!(sealed.len(), 3);
    let phone = sealed.iter().find(|s| s["path"] == "traits.phone").unwrap();
    assert_eq!(phone["lookup"], keys.blind_index(IdentityKind::Phone, "+8613812345678"));
    let enc = base64::engine::general_purpose::STANDARD.decode(phone["enc"].as_str().unwrap()).unwrap();
    assert_eq!(keys.decrypt(&enc).unwrap(), "138 1234 5678");
}

#[test]
fn a_message_without_personal_data_is_left_alone() {
    let m = identify(json!({"userId": "u-1", "traits": {"plan": "gold", "phone": 12}}));
    assert!(!carries_pii(&m), "only text values are personal data");
}

#[test]
fn garbage_in_a_phone_field_is_still_sealed_without_a_lookup() {
    let keys = TenantKeys::for_tests();
    let mut item = json!({"type": "identify", "traits": {"mobile": "call me: 1381234"}});
    seal_value(&keys, &mut item).unwrap();
    assert_eq!(item["traits"]["mobile"], "***");
    assert!(item["context"][SEALED][0]["lookup"].is_null());
    let mut not_an_object = json!(["13812345678"]);
    seal_value(&keys, &mut not_an_object).unwrap();
}

#[test]
fn phones_anywhere_in_a_quarantined_item_are_sealed() {
    let keys = TenantKeys::for_tests();
    let mut item =
        json!({"event": 5, "properties": {"receiver": {"tel2": "+86 138-1234-5678"}}, "list": ["13912345678"]});
    super::seal_loose_phones(&keys, &mut item).unwrap();
    let text = item.to_string();
    assert!(!text.contains("1234-5678") && !text.contains("13912345678"), "{text}");
    assert_eq!(item["context"][SEALED].as_array().unwrap().len(), 2);
    let mut bare = json!("13812345678");
    super::seal_loose_phones(&keys, &mut bare).unwrap();
    assert_eq!(bare, "138****5678");
}
