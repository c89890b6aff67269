use serde_json::json;

use super::*;

fn input(v: serde_json::Value) -> MallOrderInput {
    serde_json::from_value(v).unwrap()
}

fn base() -> serde_json::Value {
    json!({
        "platform_order_id": "M1001",
        "status": "paid",
        "paid_at": "2025-03-01T10:00:00+08:00",
        "shipping_fen": 1_000,
        "paid_fen": 31_000,
        "lines": [
            {"line_id": "L1", "sku_id": "CREAM-50", "title": "面霜", "quantity": 1, "unit_price_fen": 20_000},
            {"line_id": "L2", "sku_id": "MASK-10", "title": "面膜", "quantity": 2, "unit_price_fen": 5_000},
        ],
        "buyer": {"unionid": "o6_bmasdasdsad6_2sgVt7hMZOPfL", "phone": "13812345678"},
    })
}

fn reason(v: serde_json::Value) -> (String, String) {
    let e = input(v).into_order().unwrap_err();
    (e.field, e.reason)
}

#[test]
fn a_mall_order_allocates_line_amounts_by_list_price_and_keys_the_buyer_in_precedence_order() {
    let o = input(base()).into_order().unwrap();
    assert_eq!((o.platform, o.shop.as_str(), o.order_id.as_str()), (Platform::OwnMall, "", "M1001"));
    assert_eq!(o.lines.iter().map(|l| l.paid_fen).collect::<Vec<_>>(), vec![20_000, 10_000]);
    assert_eq!(o.total_fen, 30_000);
    assert_eq!(o.lines_paid_with_shipping(), o.paid_fen);
    let kinds: Vec<IdentityKind> = o.buyer.keys.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, vec![IdentityKind::Unionid, IdentityKind::Phone]);
    assert_eq!(o.buyer.keys[1].value, "+8613812345678");
    assert_eq!(o.paid_at.unwrap().to_rfc3339(), "2025-03-01T02:00:00+00:00");
}

#[test]
fn refunds_reduce_their_lines_and_a_refunded_order_without_refunds_refunded_everything() {
    let mut v = base();
    v["status"] = json!("partially_refunded");
    v["refunds"] = json!([{"amount_fen": 10_000, "line_id": "L2"}, {"amount_fen": 500}]);
    let o = input(v).into_order().unwrap();
    assert_eq!(o.refunded_fen, 10_500);
    assert_eq!((o.lines[1].refund, o.lines[1].refunded_fen), (RefundState::Full, 10_000));
    assert_eq!(o.lines[0].refund, RefundState::None);

    let mut v = base();
    v["status"] = json!("refunded");
    let o = input(v).into_order().unwrap();
    assert_eq!(o.refunded_fen, 31_000);
    assert!(o.lines.iter().all(|l| l.refund == RefundState::Full));
}

#[test]
fn masked_phones_and_buyer_ids_are_hints_never_keys() {
    let mut v = base();
    v["buyer"] = json!({"phone": "138****5678", "platform_buyer_id": "t**1"});
    v["receiver"] = json!({"name": "王小明", "phone": "13912345678"});
    let o = input(v).into_order().unwrap();
    assert!(o.buyer.keys.is_empty());
    assert_eq!(
        o.hints,
        vec![
            MatchHint::MaskedBuyerId { value: "t**1".into() },
            MatchHint::MaskedPhone { role: PhoneRole::Buyer, masked: "138****5678".into() },
            MatchHint::ReceiverMobile,
        ]
    );
}

#[test]
fn bad_bodies_name_the_field_and_a_stable_reason() {
    let cases: Vec<(serde_json::Value, (&str, &str))> = vec![
        (json!({"platform_order_id": " "}), ("platform_order_id", "required")),
        (json!({"paid_fen": -1}), ("paid_fen", "negative_amount")),
        (json!({"shipping_fen": 40_000}), ("shipping_fen", "exceeds_paid")),
        (json!({"buyer": {"openid": "oABC123456789"}}), ("buyer.appid", "required_with_openid")),
        (json!({"buyer": {"phone": "010-62345678"}}), ("buyer.phone", "invalid_phone")),
        (json!({"refunds": [{"amount_fen": 40_000}]}), ("refunds", "refund_exceeds_paid")),
        (json!({"refunds": [{"amount_fen": 1, "line_id": "L9"}]}), ("refunds[0].line_id", "unknown_line")),
        (
            json!({"refunds": [{"amount_fen": 20_001, "line_id": "L1"}]}),
            ("refunds[0].amount_fen", "refund_exceeds_paid"),
        ),
    ];
    for (patch, (field, want)) in cases {
        let mut v = base();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let (f, r) = reason(v);
        assert_eq!((f.as_str(), r.split(' ').next().unwrap()), (field, want));
    }
    let mut v = base();
    v["lines"][1]["quantity"] = json!(0);
    assert_eq!(reason(v), ("lines[1].quantity".into(), "invalid_quantity".into()));
    let mut v = base();
    v["lines"][0]["paid_fen"] = json!(20_000);
    assert_eq!(reason(v).0, "lines[1].paid_fen");
    let mut v = base();
    v["lines"][0]["paid_fen"] = json!(20_000);
    v["lines"][1]["paid_fen"] = json!(9_000);
    assert_eq!(reason(v).1.split(' ').next(), Some("paid_mismatch"));
}

#[test]
fn unknown_fields_are_refused() {
    let mut v = base();
    v["coupon"] = json!("X");
    assert!(serde_json::from_value::<MallOrderInput>(v).is_err());
}
