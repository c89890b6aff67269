use chrono::{DateTime, FixedOffset, Utc};
use proptest::prelude::*;

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn order(platform: Platform, status: OrderStatus, placed: &str, paid: i64, refunded: i64) -> OrderFact {
    OrderFact { id: OrderId::new(), platform, status, placed_at: at(placed), paid_fen: paid, refunded_fen: refunded }
}

fn line(order: &OrderFact, sku: Option<&str>, title: &str, quantity: i64, refund: RefundState) -> LineFact {
    LineFact {
        order: order.id,
        sku_id: sku.map(str::to_string),
        product_id: None,
        title: Some(title.to_string()),
        quantity,
        refund,
    }
}

fn facts(orders: Vec<OrderFact>, lines: Vec<LineFact>, events: Vec<EventFact>) -> Facts {
    Facts { customer: CustomerId::new(), created_at: at("2025-01-01T00:00:00Z"), orders, lines, events }
}

#[test]
fn orders_on_one_shanghai_day_are_one_order_day_even_across_utc_midnight() {
    use OrderStatus::*;
    // 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai: all three orders are on 2 March there.
    let orders = vec![
        order(Platform::Jd, Paid, "2025-03-01T17:00:00Z", 10_000, 0),
        order(Platform::Jd, Received, "2025-03-02T03:00:00Z", 5_000, 0),
        order(Platform::Taobao, Shipped, "2025-03-02T10:00:00Z", 2_000, 0),
    ];
    let a = compute(&facts(orders.clone(), vec![], vec![]), shanghai(), Utc::now());
    assert_eq!((a.order_count, a.order_days), (3, 1));
    let in_utc = compute(&facts(orders, vec![], vec![]), Utc.fix(), Utc::now());
    assert_eq!(in_utc.order_days, 2, "in UTC the first order falls on 1 March");
}

#[test]
fn refunds_net_out_and_closed_refunded_and_unpaid_orders_do_not_count() {
    use OrderStatus::*;
    let orders = vec![
        order(Platform::Youzan, Received, "2025-03-01T02:00:00Z", 10_000, 0),
        order(Platform::Youzan, PartiallyRefunded, "2025-03-05T02:00:00Z", 8_000, 3_000),
        order(Platform::Youzan, Refunded, "2025-03-06T02:00:00Z", 4_000, 0),
        order(Platform::Youzan, Closed, "2025-03-07T02:00:00Z", 9_900, 0),
        order(Platform::Taobao, PendingPayment, "2025-03-08T02:00:00Z", 1_000, 0),
    ];
    let a = compute(&facts(orders, vec![], vec![]), shanghai(), Utc::now());
    assert_eq!((a.order_count, a.paid_fen, a.refund_fen, a.avg_paid_fen), (2, 15_000, 7_000, 7_500));
    assert_eq!(a.first_order_at, Some(at("2025-03-01T02:00:00Z")));
    assert_eq!(a.last_order_at, Some(at("2025-03-05T02:00:00Z")), "the closed and refunded ones are not purchases");
    assert_eq!(a.platforms, vec![Platform::Taobao, Platform::Youzan], "every platform ordered on");
    assert_eq!(a.last_active_at, Some(at("2025-03-08T02:00:00Z")));
}

#[test]
fn products_are_counted_by_sku_without_lines_refunded_in_full_most_bought_first() {
    use OrderStatus::*;
    let first = order(Platform::OwnMall, Received, "2025-03-01T02:00:00Z", 30_000, 0);
    let second = order(Platform::OwnMall, Paid, "2025-04-01T02:00:00Z", 20_000, 0);
    let closed = order(Platform::OwnMall, Closed, "2025-04-02T02:00:00Z", 9_000, 0);
    let lines = vec![
        line(&first, Some("CREAM-50"), "面霜 50ml", 1, RefundState::None),
        line(&first, None, "化妆棉", 3, RefundState::None),
        line(&second, Some("CREAM-50"), "面霜 50ml（新包装）", 1, RefundState::None),
        line(&second, Some("MASK-10"), "面膜", 5, RefundState::Full),
        line(&closed, Some("SERUM"), "精华", 9, RefundState::None),
    ];
    let a = compute(&facts(vec![first, second, closed], lines, vec![]), shanghai(), Utc::now());
    let got: Vec<(Option<&str>, Option<&str>, i64, i64)> =
        a.products.iter().map(|p| (p.sku_id.as_deref(), p.title.as_deref(), p.quantity, p.orders)).collect();
    assert_eq!(got, vec![(None, Some("化妆棉"), 3, 1), (Some("CREAM-50"), Some("面霜 50ml（新包装）"), 2, 2)]);
    assert_eq!(a.product_count, 2);
}

#[test]
fn channels_show_the_last_event_per_source_kind_and_the_last_order_per_platform_latest_first() {
    use OrderStatus::*;
    let orders = vec![
        order(Platform::Jd, Closed, "2025-02-01T00:00:00Z", 100, 0),
        order(Platform::Jd, Paid, "2025-03-01T00:00:00Z", 100, 0),
    ];
    let events = vec![
        EventFact {
            kind: SourceKind::MiniProgram,
            first_at: at("2024-12-01T00:00:00Z"),
            last_at: at("2025-04-01T00:00:00Z"),
            count: 7,
        },
        EventFact {
            kind: SourceKind::Web,
            first_at: at("2025-01-01T00:00:00Z"),
            last_at: at("2025-01-02T00:00:00Z"),
            count: 2,
        },
    ];
    let a = compute(&facts(orders, vec![], events), shanghai(), Utc::now());
    let got: Vec<(Via, &str, i64)> = a.channels.iter().map(|c| (c.via, c.source.as_str(), c.count)).collect();
    assert_eq!(got, vec![(Via::Events, "mini_program", 7), (Via::Orders, "jd", 2), (Via::Events, "web", 2)]);
    assert_eq!(a.event_count, 9);
    assert_eq!(a.first_seen_at, at("2024-12-01T00:00:00Z"), "seen before the customer record was made");
    assert_eq!(a.last_active_at, Some(at("2025-04-01T00:00:00Z")));
}

#[test]
fn a_customer_without_orders_or_events_has_zeros_and_was_first_seen_when_created() {
    let created = at("2025-01-01T00:00:00Z");
    let a = CustomerAggregates::empty(CustomerId::new(), created, Utc::now());
    assert_eq!((a.order_count, a.order_days, a.paid_fen, a.avg_paid_fen, a.event_count), (0, 0, 0, 0, 0));
    assert_eq!((a.first_seen_at, a.last_active_at, a.first_order_at), (created, None, None));
    assert!(a.products.is_empty() && a.channels.is_empty() && a.platforms.is_empty());
}

fn any_status() -> impl Strategy<Value = OrderStatus> {
    prop::sample::select(OrderStatus::ALL.to_vec())
}

proptest! {
    #[test]
    fn paid_never_goes_negative_and_order_days_never_exceed_orders(
        raw in prop::collection::vec((any_status(), 0i64..1_000_000, 0i64..1_000_000, 0i64..400 * 86_400), 0..40)
    ) {
        let orders: Vec<OrderFact> = raw
            .into_iter()
            .map(|(status, paid, refund, secs)| OrderFact {
                id: OrderId::new(),
                platform: Platform::OwnMall,
                status,
                placed_at: at("2025-01-01T00:00:00Z") + chrono::Duration::seconds(secs),
                paid_fen: paid,
                refunded_fen: refund.min(paid),
            })
            .collect();
        let paid_total: i64 = orders.iter().map(|o| o.paid_fen).sum();
        let a = compute(&facts(orders, vec![], vec![]), shanghai(), Utc::now());
        prop_assert!(a.paid_fen >= 0 && a.paid_fen + a.refund_fen <= paid_total);
        prop_assert!(a.order_days <= a.order_count);
        prop_assert!(a.avg_paid_fen * a.order_count <= a.paid_fen);
        prop_assert_eq!(a.order_count == 0, a.first_order_at.is_none());
    }
}
