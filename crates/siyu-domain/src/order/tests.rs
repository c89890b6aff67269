//! End-to-end tests of the order normaliser on one sample export per platform (the same content as
//! `crates/siyu-app/tests/fixtures/orders/`), on a generic mapping, and on arbitrary cells.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::samples::{self, table};
use super::*;
use crate::identity::IdentityKind;

fn run_with(text: &str, options: &NormaliseOptions) -> Normalised {
    let (headers, rows) = table(text);
    let mapping = Mapping::detect(&headers).unwrap();
    let rows: Vec<Row<'_>> = rows.iter().map(|(line, cells)| Row { line: *line, cells }).collect();
    normalise(&mapping, &headers, &rows, options)
}

fn run(text: &str) -> Normalised {
    run_with(text, &NormaliseOptions::default())
}

fn order<'a>(n: &'a Normalised, id: &str) -> &'a Order {
    n.orders.iter().find(|o| o.order_id == id).unwrap()
}

fn ids(n: &Normalised) -> Vec<&str> {
    n.orders.iter().map(|o| o.order_id.as_str()).collect()
}

fn errors(n: &Normalised) -> Vec<(u32, &'static str)> {
    n.errors.iter().map(|e| (e.line, e.reason.as_str())).collect()
}

fn keys(o: &Order) -> Vec<(IdentityKind, &str, &str)> {
    o.buyer.keys.iter().map(|k| (k.kind, k.namespace.as_str(), k.value.as_str())).collect()
}

#[test]
fn a_taobao_order_report_with_item_columns_becomes_orders_with_lines() {
    let n = run(samples::TAOBAO);
    assert_eq!(n.platform, Platform::Taobao);
    assert_eq!(ids(&n), ["3901234567890123", "3901234567890124", "3901234567890125", "3901234567890126"]);
    assert_eq!(n.line_count(), 6);
    assert_eq!(n.duplicate_lines, [4]);
    assert_eq!(errors(&n), [(9, "too_many_decimals"), (10, "order_has_bad_row"), (11, "missing_order_id")]);
    assert_eq!(n.errors[0].column.as_deref(), Some("价格"));
    assert_eq!(n.skipped.len(), 1);
    assert_eq!((n.skipped[0].order_id.as_str(), n.skipped[0].lines.as_slice()), ("3901234567890127", &[9, 10][..]));

    let done = order(&n, "3901234567890123");
    assert_eq!(done.status, OrderStatus::Received);
    assert_eq!((done.total_fen, done.discount_fen, done.shipping_fen, done.paid_fen), (25_700, 0, 0, 25_700));
    assert_eq!(done.lines.iter().map(|l| l.paid_fen).collect::<Vec<_>>(), [19_900, 5_800]);
    assert_eq!(done.lines[1].quantity, 2);
    assert_eq!(done.lines[0].sku_id.as_deref(), Some("SKU-ESS-30"));
    assert_eq!(keys(done), [(IdentityKind::PlatformBuyer, "taobao", "tb_lilei")]);
    assert_eq!(done.hints, [MatchHint::ReceiverMobile]);
    assert_eq!(done.receiver.phone.as_ref().and_then(|p| p.e164.as_deref()), Some("+8613812345678"));
    assert_eq!(done.shop, "示例美妆旗舰店");
    assert_eq!(done.created_at.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T02:00:00+00:00"));
    assert_eq!(done.source_lines, [2, 3]);
}

#[test]
fn taobao_refunds_settle_partial_full_and_closed_orders() {
    let n = run(samples::TAOBAO);
    let partial = order(&n, "3901234567890124");
    assert_eq!(partial.status, OrderStatus::PartiallyRefunded);
    assert_eq!((partial.total_fen, partial.shipping_fen, partial.paid_fen), (15_800, 1_000, 15_000));
    assert_eq!((partial.discount_fen, partial.refunded_fen), (1_800, 5_900));
    assert_eq!(partial.lines[1].refund, RefundState::Full);
    assert_eq!(partial.lines_paid_with_shipping(), partial.paid_fen);
    assert!(matches!(&partial.hints[..], [MatchHint::MaskedPhone { role: PhoneRole::Receiver, .. }]));

    let refunded = order(&n, "3901234567890125");
    assert_eq!((refunded.status, refunded.refunded_fen), (OrderStatus::Refunded, 8_900));
    let closed = order(&n, "3901234567890126");
    assert_eq!((closed.status, closed.paid_fen, closed.discount_fen), (OrderStatus::Closed, 0, 0));
}

#[test]
fn a_jd_export_groups_sku_rows_and_keeps_privacy_numbers_out_of_identities() {
    let n = run(samples::JD);
    assert_eq!(n.platform, Platform::Jd);
    assert_eq!(ids(&n), ["290001234567", "290001234568", "290001234569", "290001234570"]);
    assert_eq!(n.line_count(), 5);
    assert_eq!(n.duplicate_lines, [4]);
    assert_eq!(errors(&n), [(8, "too_many_decimals"), (9, "order_has_bad_row"), (10, "order_id_mangled")]);

    let done = order(&n, "290001234567");
    assert_eq!(done.status, OrderStatus::Received);
    assert_eq!((done.total_fen, done.discount_fen, done.paid_fen), (39_700, 1_000, 38_700));
    assert_eq!(done.lines.iter().map(|l| l.paid_fen).collect::<Vec<_>>(), [29_147, 9_553]);
    assert_eq!(keys(done), [(IdentityKind::PlatformBuyer, "jd", "jd_user_abc")]);
    assert!(matches!(&done.hints[..], [MatchHint::VirtualPhone { role: PhoneRole::Receiver, .. }]));

    let shipped = order(&n, "290001234568");
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert!(shipped.buyer.keys.is_empty());
    assert!(shipped.hints.contains(&MatchHint::MaskedBuyerId { value: "j***8".into() }));
    assert_eq!((order(&n, "290001234569").status, order(&n, "290001234569").paid_fen), (OrderStatus::Closed, 0));
    assert_eq!(order(&n, "290001234570").status, OrderStatus::Paid);
}

#[test]
fn a_pinduoduo_export_sums_discounts_and_reads_after_sale_states() {
    let n = run(samples::PINDUODUO);
    assert_eq!(n.platform, Platform::Pinduoduo);
    assert_eq!(n.orders.len(), 4);
    assert_eq!(n.duplicate_lines, [4]);
    assert_eq!(errors(&n), [(7, "too_many_decimals"), (8, "missing_order_id")]);
    let received = order(&n, "240601-123456789012345");
    assert_eq!(received.status, OrderStatus::Received);
    assert_eq!((received.total_fen, received.discount_fen, received.paid_fen), (3_980, 700, 3_280));
    assert_eq!((received.lines[0].quantity, received.lines[0].paid_fen), (2, 3_280));
    assert!(received.buyer.keys.is_empty());
    assert!(matches!(&received.hints[..], [MatchHint::MaskedPhone { .. }]));
    assert_eq!(order(&n, "240602-123456789012346").status, OrderStatus::Shipped);
    let refunded = order(&n, "240603-123456789012347");
    assert_eq!((refunded.status, refunded.refunded_fen), (OrderStatus::Refunded, 2_500));
    assert_eq!(order(&n, "240604-123456789012348").status, OrderStatus::Closed);
}

#[test]
fn a_youzan_export_emits_full_buyer_mobiles_but_not_virtual_ones() {
    let n = run(samples::YOUZAN);
    assert_eq!(n.platform, Platform::Youzan);
    assert_eq!(n.orders.len(), 4);
    assert_eq!(n.line_count(), 6);
    assert_eq!(n.duplicate_lines, [4]);
    assert_eq!(errors(&n), [(9, "too_many_decimals"), (10, "order_has_bad_row")]);
    let done = order(&n, "E20240701100000000001");
    assert_eq!(keys(done), [(IdentityKind::Phone, "", "+8613712345678")]);
    assert_eq!(done.buyer.nick.as_deref(), Some("小王同学"));
    assert_eq!((done.total_fen, done.discount_fen, done.paid_fen), (14_700, 800, 13_900));
    let partial = order(&n, "E20240702100000000002");
    assert_eq!((partial.status, partial.refunded_fen), (OrderStatus::PartiallyRefunded, 6_800));
    assert!(partial.buyer.keys.is_empty());
    assert!(partial.hints.iter().any(|h| matches!(h, MatchHint::VirtualPhone { role: PhoneRole::Buyer, .. })));
    assert_eq!(partial.lines_paid_with_shipping(), partial.paid_fen);
    assert_eq!(order(&n, "E20240703100000000003").status, OrderStatus::Refunded);
    let closed = order(&n, "E20240704100000000004");
    assert_eq!((closed.status, closed.paid_fen), (OrderStatus::Closed, 0));
}

#[test]
fn a_douyin_export_groups_sub_orders_and_strips_tab_suffixes() {
    let n = run(samples::DOUYIN);
    assert_eq!(n.platform, Platform::Douyin);
    assert_eq!(ids(&n), ["6920000000000000001", "6920000000000000002", "6920000000000000003", "6920000000000000004"]);
    assert_eq!(n.line_count(), 6);
    assert_eq!(n.duplicate_lines, [4]);
    assert_eq!(errors(&n), [(9, "too_many_decimals"), (10, "order_has_bad_row")]);
    let done = order(&n, "6920000000000000001");
    assert_eq!((done.status, done.paid_fen), (OrderStatus::Received, 21_800));
    assert_eq!(done.lines[0].line_id.as_deref(), Some("6920000000000000101"));
    assert_eq!(done.lines.iter().map(|l| l.paid_fen).collect::<Vec<_>>(), [11_900, 9_900]);
    let partial = order(&n, "6920000000000000002");
    assert_eq!(
        (partial.status, partial.paid_fen, partial.refunded_fen),
        (OrderStatus::PartiallyRefunded, 12_800, 6_900)
    );
    assert_eq!(partial.lines[1].refund, RefundState::Full);
    assert_eq!(order(&n, "6920000000000000003").status, OrderStatus::Refunded);
    let unpaid = order(&n, "6920000000000000004");
    assert_eq!((unpaid.status, unpaid.paid_fen), (OrderStatus::Closed, 0));
}

#[test]
fn importing_the_same_export_twice_or_reordered_gives_the_same_fingerprints() {
    let a = run(samples::YOUZAN);
    let (headers, rows) = table(samples::YOUZAN);
    let mut reversed: Vec<Row<'_>> = rows.iter().map(|(line, cells)| Row { line: *line, cells }).collect();
    reversed.reverse();
    let b = normalise(&Mapping::detect(&headers).unwrap(), &headers, &reversed, &NormaliseOptions::default());
    let prints =
        |n: &Normalised| n.orders.iter().map(|o| (o.order_id.clone(), o.fingerprint())).collect::<BTreeMap<_, _>>();
    assert_eq!(prints(&a), prints(&run(samples::YOUZAN)));
    assert_eq!(prints(&a), prints(&b));
    assert_eq!(
        order(&a, "E20240701100000000001").status_change(OrderStatus::Paid),
        StatusChange::Moved { from: OrderStatus::Paid, to: OrderStatus::Received }
    );
}

#[test]
fn a_generic_mapping_for_the_own_mall_emits_unionid_openid_and_mobile() {
    let text = "单号,unionid,openid,手机号,状态,实付,商品,数量\n\
                M1,oUn_abc123,o6_xyz789,13512345678,paid,30.00,杯子,1\n\
                M1,oUn_abc123,o6_xyz789,13512345678,paid,30.00,杯盖,2\n";
    let (headers, rows) = table(text);
    let columns = BTreeMap::from([
        (Field::OrderId, 0),
        (Field::Unionid, 1),
        (Field::Openid, 2),
        (Field::BuyerPhone, 3),
        (Field::Status, 4),
        (Field::PaidAmount, 5),
        (Field::Title, 6),
        (Field::Quantity, 7),
    ]);
    let mapping = Mapping::custom(Platform::OwnMall, columns, OrderTotals::Repeated).unwrap();
    let rows: Vec<Row<'_>> = rows.iter().map(|(line, cells)| Row { line: *line, cells }).collect();
    let options = NormaliseOptions { appid: Some("wx123".into()), shop: Some("mall".into()), ..Default::default() };
    let n = normalise(&mapping, &headers, &rows, &options);
    let o = order(&n, "M1");
    assert_eq!(
        keys(o),
        [
            (IdentityKind::Unionid, "", "oUn_abc123"),
            (IdentityKind::Openid, "wx123", "o6_xyz789"),
            (IdentityKind::Phone, "", "+8613512345678")
        ]
    );
    assert_eq!((o.status, o.shop.as_str(), o.lines.len()), (OrderStatus::Paid, "mall", 2));
    assert_eq!(o.lines.iter().map(|l| l.paid_fen).sum::<i64>(), 3_000);
    let without_appid = normalise(&mapping, &headers, &rows, &NormaliseOptions::default());
    assert_eq!(without_appid.orders[0].buyer.keys.len(), 2);
}

#[test]
fn rows_of_one_order_that_disagree_on_the_buyer_or_a_total_skip_the_order() {
    let text = "订单号,下单帐号,应付金额,订单状态,京东价,商品名称\n\
                1,pin_a,10.00,完成,10.00,A\n\
                1,pin_b,10.00,完成,10.00,B\n\
                2,pin_c,10.00,完成,10.00,A\n\
                2,pin_c,12.00,完成,10.00,B\n\
                3,pin_d,10.00,完成,10.00,A\n";
    let n = run(text);
    assert_eq!(ids(&n), ["3"]);
    assert_eq!(
        errors(&n),
        [
            (2, "order_has_bad_row"),
            (3, "conflicting_order_value"),
            (4, "order_has_bad_row"),
            (5, "conflicting_order_value")
        ]
    );
    assert!(n.skipped.iter().all(|s| s.reasons == [Reason::ConflictingOrderValue]));
}

fn tricky_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[0-9]{1,6}(\\.[0-9]{0,4})?",
        Just(String::new()),
        Just("-".to_string()),
        Just("=\"123\"".to_string()),
        Just("交易成功".to_string()),
        Just("退款成功".to_string()),
        Just("138****1234".to_string()),
        Just("2024-05-01 10:00:00".to_string()),
        Just("99999999999999.99".to_string()),
        Just("1".to_string()),
        Just("2".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_normaliser_never_panics_and_accounts_for_every_row(
        platform in prop::sample::select(vec![Platform::Taobao, Platform::Jd, Platform::Pinduoduo, Platform::Youzan, Platform::Douyin]),
        rows in prop::collection::vec(prop::collection::vec(tricky_cell(), 0..30), 0..12),
        order_ids in prop::collection::vec(prop::sample::select(vec!["A", "B", "C", ""]), 12),
    ) {
        let format = catalogue::format_of(platform).unwrap();
        let headers: Vec<String> = format.columns.iter().map(|(_, a)| a[0].to_string()).collect();
        let mapping = Mapping::for_platform(platform, &headers).unwrap();
        let id_col = mapping.column(Field::OrderId).unwrap();
        let mut rows = rows;
        for (row, id) in rows.iter_mut().zip(&order_ids) {
            if row.len() > id_col {
                row[id_col] = id.to_string();
            }
        }
        let rows: Vec<Row<'_>> = rows.iter().enumerate().map(|(i, cells)| Row { line: i as u32 + 2, cells }).collect();
        let n = normalise(&mapping, &headers, &rows, &NormaliseOptions::default());
        let mut seen = BTreeSet::new();
        for o in &n.orders {
            seen.extend(o.source_lines.iter().copied());
            prop_assert!(o.refunded_fen <= o.paid_fen);
            prop_assert!(o.lines.iter().all(|l| l.paid_fen >= 0 && l.quantity >= 1));
        }
        seen.extend(n.duplicate_lines.iter().copied());
        seen.extend(n.ignored_lines.iter().copied());
        seen.extend(n.errors.iter().map(|e| e.line));
        prop_assert_eq!(seen, rows.iter().map(|r| r.line).collect::<BTreeSet<_>>());
    }

    #[test]
    fn detection_never_panics_on_arbitrary_headers(headers in prop::collection::vec("\\PC{0,10}", 0..40)) {
        let _ = detect(&headers).best();
        let _ = Mapping::suggest(&headers);
    }
}
