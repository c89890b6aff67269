//! Whole requests as the official clients send them, and property tests over any input.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

const TRACK: Endpoint = Endpoint::Single(MessageType::Track);

fn parse(endpoint: Endpoint, body: &Value) -> ParsedRequest {
    parse_request(endpoint, body.to_string().as_bytes()).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap()
}

/// `analytics-python` 2.x: `client.identify(...)`, `client.track(...)`, `client.page(...)` flushed as one
/// batch by `request.post`. Items keep `None` values as `null`; timestamps are `isoformat()` with `+00:00`.
fn python_batch() -> Value {
    json!({
        "batch": [
            {
                "integrations": {}, "anonymousId": null, "timestamp": "2026-11-23T10:00:00.123+00:00",
                "context": {"library": {"name": "analytics-python", "version": "2.3.4"}},
                "type": "identify", "userId": "u_1001",
                "traits": {"name": "李雷", "phone": "138 1234 5678", "email": "Li.Lei@Example.com", "vip": null},
                "messageId": "6f1c8a56-2b0e-4f7b-9a53-3b1d2c4e5f60"
            },
            {
                "integrations": {}, "anonymousId": null, "properties": {"order_id": "SO-88", "revenue": 199.0},
                "timestamp": "2026-11-23T10:00:01.000+00:00",
                "context": {"library": {"name": "analytics-python", "version": "2.3.4"}},
                "userId": "u_1001", "type": "track", "event": "Order Completed",
                "messageId": "0c3e1e0a-7a8e-4d0e-8f3c-2b9a1d5e7c11"
            },
            {
                "integrations": {}, "anonymousId": null, "properties": {"path": "/vip"},
                "timestamp": "2026-11-23T10:00:02.500+00:00", "category": "会员", "context": {"library":
                {"name": "analytics-python", "version": "2.3.4"}}, "userId": "u_1001", "type": "page",
                "name": "VIP", "messageId": "9d7f5b3a-1c2e-4a6b-8d0f-4e5a6b7c8d9e"
            }
        ],
        "sentAt": "2026-11-23T10:00:05.123456+00:00",
        "writeKey": "wk_python_source"
    })
}

/// `analytics-node` 6.x: `_metadata` per item, a batch-level `timestamp`, Basic auth only (no writeKey).
fn node_batch() -> Value {
    json!({
        "batch": [{
            "userId": "u_2002", "event": "Coupon Claimed", "properties": {"coupon": "NEW50"},
            "type": "track",
            "context": {"library": {"name": "analytics-node", "version": "6.2.0"}, "ip": "203.0.113.9"},
            "_metadata": {"nodeVersion": "18.19.0"},
            "timestamp": "2026-11-23T02:00:00.120Z",
            "messageId": "node-2f1b5c9e0a7d4c3b8e6f1a2b3c4d5e6f-7d3c1e2a-5b4f-4c6d-9e8a-0f1b2c3d4e5f"
        }],
        "timestamp": "2026-11-23T02:00:00.456Z",
        "sentAt": "2026-11-23T02:00:00.456Z"
    })
}

#[test]
fn an_analytics_python_batch_parses_whole_with_its_write_key() {
    let p = parse(Endpoint::Batch, &python_batch());
    assert_eq!(p.write_key.as_deref(), Some("wk_python_source"));
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let kinds: Vec<_> = p.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageType::Identify, MessageType::Track, MessageType::Page]);
    let track = &p.messages[1];
    assert_eq!(track.event.as_deref(), Some("Order Completed"));
    assert_eq!(track.anonymous_id, None, "null is absent");
    assert_eq!(track.message_id.as_deref(), Some("0c3e1e0a-7a8e-4d0e-8f3c-2b9a1d5e7c11"));
    assert_eq!(track.properties["revenue"], json!(199.0));
    assert_eq!(track.library(), Some("analytics-python"));
    assert_eq!(track.sent_at, Some(at("2026-11-23T10:00:05.123456Z")), "batch sentAt applies");
    let page = &p.messages[2];
    assert_eq!((page.name.as_deref(), page.category.as_deref()), (Some("VIP"), Some("会员")));
    assert_eq!(p.messages[0].traits["vip"], Value::Null, "a null trait is kept: it removes the trait");
}

#[test]
fn the_corrected_event_time_lays_the_clients_send_delay_onto_our_clock() {
    let p = parse(Endpoint::Batch, &python_batch());
    let received_at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 59, 0).unwrap();
    let track = &p.messages[1];
    assert_eq!(track.event_time(received_at), received_at - chrono::TimeDelta::microseconds(4_123_456));
}

#[test]
fn an_analytics_node_batch_with_metadata_parses_and_drops_what_is_not_ours() {
    let p = parse(Endpoint::Batch, &node_batch());
    assert_eq!(p.write_key, None, "node sends the key as the Basic user name");
    assert_eq!(p.messages.len(), 1);
    let m = &p.messages[0];
    assert_eq!(m.original_timestamp, Some(at("2026-11-23T02:00:00.120Z")));
    assert_eq!(m.sent_at, Some(at("2026-11-23T02:00:00.456Z")));
    let stored = serde_json::to_value(m).unwrap();
    assert!(stored.get("_metadata").is_none() && stored.get("writeKey").is_none(), "{stored}");
    assert_eq!(stored["context"]["ip"], "203.0.113.9");
}

#[test]
fn a_batch_with_one_bad_item_keeps_the_others() {
    let mut body = python_batch();
    body["batch"][1]["event"] = json!("");
    let p = parse(Endpoint::Batch, &body);
    assert_eq!(p.messages.len(), 2);
    assert_eq!(p.errors.len(), 1);
    let e = &p.errors[0];
    assert_eq!((e.index, e.code.as_str()), (1, "missing_event"));
    assert_eq!(e.item["messageId"], "0c3e1e0a-7a8e-4d0e-8f3c-2b9a1d5e7c11", "the item is kept for quarantine");
    assert_eq!(e.item["sentAt"], "2026-11-23T10:00:05.123456+00:00", "with the batch values merged in");
}

#[test]
fn batch_context_and_integrations_merge_into_each_item_with_item_keys_winning() {
    let body = json!({
        "context": {"library": {"name": "batch-lib"}, "locale": "zh-CN", "ip": "198.51.100.1"},
        "integrations": {"All": false, "WeCom": true},
        "batch": [
            {"type": "track", "userId": "u", "event": "e", "context": {"ip": "203.0.113.7"}, "integrations": {"All": true}},
            {"type": "track", "userId": "u", "event": "e", "context": null},
        ]
    });
    let p = parse(Endpoint::Batch, &body);
    let (a, b) = (&p.messages[0], &p.messages[1]);
    assert_eq!(a.context["ip"], "203.0.113.7");
    assert_eq!(a.context["locale"], "zh-CN");
    assert_eq!(a.integrations, json!({"All": true, "WeCom": true}).as_object().cloned().unwrap());
    assert_eq!(b.context["ip"], "198.51.100.1");
    assert_eq!(b.library(), Some("batch-lib"));
}

#[test]
fn batch_sent_at_fills_in_only_for_items_without_their_own() {
    let body = json!({
        "sentAt": "2026-11-23T10:00:09Z",
        "batch": [
            {"type": "identify", "userId": "u", "sentAt": "2026-11-23T10:00:01Z"},
            {"type": "identify", "userId": "u"},
        ]
    });
    let p = parse(Endpoint::Batch, &body);
    assert_eq!(p.messages[0].sent_at, Some(at("2026-11-23T10:00:01Z")));
    assert_eq!(p.messages[1].sent_at, Some(at("2026-11-23T10:00:09Z")));
}

#[test]
fn a_bad_batch_sent_at_rejects_only_the_items_that_rely_on_it() {
    let body = json!({
        "sentAt": "soon",
        "batch": [
            {"type": "identify", "userId": "u", "sentAt": "2026-11-23T10:00:01Z"},
            {"type": "identify", "userId": "u"},
        ]
    });
    let p = parse(Endpoint::Batch, &body);
    assert_eq!(p.messages.len(), 1);
    assert_eq!((p.errors[0].index, p.errors[0].code), (1, ItemErrorCode::InvalidTimestamp));
}

#[test]
fn single_endpoints_take_their_type_from_the_path_and_ignore_a_body_type() {
    let body = json!({"type": "identify", "userId": "u", "event": "Signed Up", "writeKey": "wk"});
    let p = parse(TRACK, &body);
    assert_eq!(p.write_key.as_deref(), Some("wk"));
    assert_eq!(p.messages[0].kind, MessageType::Track);
    assert_eq!(p.messages[0].event.as_deref(), Some("Signed Up"));
    let p = parse(Endpoint::Single(MessageType::Alias), &json!({"userId": "u", "previousId": "anon-1"}));
    assert_eq!(p.messages[0].previous_id.as_deref(), Some("anon-1"));
}

#[test]
fn a_single_message_with_a_problem_is_an_item_error_at_index_zero() {
    let p = parse(Endpoint::Single(MessageType::Group), &json!({"userId": "u", "traits": {"name": "Acme"}}));
    assert!(p.messages.is_empty());
    assert_eq!((p.errors[0].index, p.errors[0].code.as_str()), (0, "missing_group_id"));
    assert_eq!(p.errors[0].to_string(), "item 0: group needs groupId");
}

#[test]
fn unknown_top_level_fields_stay_out_of_the_message() {
    let body = json!({
        "userId": "u", "event": "e", "version": 2, "channel": "server", "_metadata": {"bundled": []},
        "receivedAt": "2020-01-01T00:00:00Z", "originalTimestamp": "2020-01-01T00:00:00Z"
    });
    let m = &parse(TRACK, &body).messages[0];
    let mut want = Message::new(MessageType::Track);
    want.user_id = Some("u".into());
    want.event = Some("e".into());
    assert_eq!(m, &want, "a receivedAt from the client is not trusted");
}

#[test]
fn endpoints_parse_from_their_names_and_the_analytics_js_short_paths() {
    for e in Endpoint::ALL {
        assert_eq!(Endpoint::parse(e.as_str()), Some(e));
    }
    assert_eq!(Endpoint::parse("t"), Some(TRACK));
    assert_eq!(Endpoint::parse("b"), Some(Endpoint::Batch));
    assert_eq!(Endpoint::parse("import"), Some(Endpoint::Batch));
    assert_eq!(Endpoint::parse("Track"), None);
    assert_eq!(Endpoint::Batch.max_body_bytes(), 512_000);
    assert_eq!(TRACK.max_body_bytes(), 32_768);
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        "\\PC{0,20}".prop_map(Value::String),
        prop::sample::select(
            &["track", "identify", "alias", "openid", "mobile", "2026-11-23T10:00:00Z", "u1", "138****1234"][..]
        )
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = "type userId anonymousId previousId groupId event name category messageId \
        properties traits context integrations timestamp sentAt writeKey batch externalIds id appid verified_by \
        encoding collection phone email"
        .split_whitespace()
        .collect();
    prop_oneof![prop::sample::select(known).prop_map(String::from), "[a-z_]{1,8}"]
}

fn id_text() -> impl Strategy<Value = String> {
    "[a-z0-9][\\PC]{0,30}"
}

/// JSON that survives a text round trip: serde_json (without `float_roundtrip`) may be off by one ulp on
/// arbitrary floats, so floats here are cents.
fn stable_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|c| Value::from(f64::from(c) / 100.0)),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn small_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z]{1,6}", stable_json(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn any_time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop::option::of(
        (0i64..4_102_444_800, 0u32..1_000_000_000).prop_filter_map("in range", |(s, n)| DateTime::from_timestamp(s, n)),
    )
}

prop_compose! {
    fn valid_message()(
        kind in prop::sample::select(&MessageType::ALL[..]),
        message_id in prop::option::of(id_text()),
        anonymous_id in prop::option::of(id_text()),
        user_id in id_text(),
        other_id in id_text(),
        name in prop::option::of(id_text()),
        category in prop::option::of(id_text()),
        fields in small_map(),
        context in small_map(),
        integrations in small_map(),
        original_timestamp in any_time(),
        sent_at in any_time(),
    ) -> Message {
        let mut m = Message::new(kind);
        m.message_id = message_id;
        m.anonymous_id = anonymous_id;
        m.user_id = Some(user_id);
        m.context = context;
        m.integrations = integrations;
        m.original_timestamp = original_timestamp;
        m.sent_at = sent_at;
        match kind {
            MessageType::Track => { m.event = Some(other_id); m.properties = fields; }
            MessageType::Page | MessageType::Screen => { m.name = name; m.category = category; m.properties = fields; }
            MessageType::Identify => m.traits = fields,
            MessageType::Group => { m.group_id = Some(other_id); m.traits = fields; }
            MessageType::Alias => m.previous_id = Some(other_id),
        }
        m
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..512), e in 0usize..7) {
        let _ = parse_request(Endpoint::ALL[e], &bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_the_parser_or_the_identifier_scan(v in any_json(), e in 0usize..7) {
        let body = match v {
            Value::Object(mut obj) if e == 6 && !obj.contains_key("batch") => {
                obj.insert("batch".into(), json!([{"type": "identify", "userId": "u"}]));
                Value::Object(obj)
            }
            other => other,
        };
        if let Ok(p) = parse_request(Endpoint::ALL[e], body.to_string().as_bytes()) {
            for m in &p.messages {
                let _ = m.identifiers();
                let _ = m.event_time(Utc::now());
            }
        }
    }

    #[test]
    fn a_valid_message_serialised_and_parsed_again_round_trips(m in valid_message()) {
        let body = serde_json::to_vec(&m).unwrap();
        let p = parse_request(Endpoint::Single(m.kind), &body).unwrap();
        prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
        prop_assert_eq!(&p.messages[0], &m);
        let batch = format!("{{\"batch\":[{}]}}", String::from_utf8_lossy(&body));
        let p = parse_request(Endpoint::Batch, batch.as_bytes()).unwrap();
        prop_assert_eq!(&p.messages, &vec![m]);
    }

    #[test]
    fn messages_with_external_ids_never_panic_the_identifier_scan(ids in prop::collection::vec(any_json(), 0..6)) {
        let mut m = Message::new(MessageType::Identify);
        m.context.insert("externalIds".into(), Value::Array(ids));
        let found = m.identifiers();
        prop_assert!(found.carried.iter().all(|c| !crate::identity::is_blocked_value(&c.identity.value)));
    }
}
