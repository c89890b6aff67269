use chrono::FixedOffset;

use super::{as_of, at, beijing, order};
use crate::aggregate::OrderFact;
use crate::id::{CustomerId, OrderId};
use crate::order::{OrderStatus, Platform};
use crate::rfm::*;

use OrderStatus::*;

fn build(config: &RfmConfig, orders: &[RfmOrder]) -> RfmInput {
    RfmInput::from_orders(config, CustomerId::new(), orders, as_of(), beijing())
}

fn lifetime() -> RfmConfig {
    RfmConfig { frequency_window: Window::Lifetime, monetary_window: Window::Lifetime, ..RfmConfig::default() }
}

#[test]
fn an_order_at_23_30_beijing_time_is_a_day_earlier_than_one_at_00_30() {
    let as_of = at("2025-06-30T09:00:00+08:00");
    // 29 June 23:30 and 30 June 00:30 in Beijing are 15:30 and 16:30 on 29 June in UTC.
    let late = at("2025-06-29T23:30:00+08:00");
    let early = at("2025-06-30T00:30:00+08:00");
    assert_eq!(recency_days(late, as_of, beijing()), 1);
    assert_eq!(recency_days(early, as_of, beijing()), 0);
    // In UTC both are on 29 June and the as-of time is 01:00 UTC on 30 June: one day for both.
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(recency_days(late, as_of, utc), recency_days(early, as_of, utc));

    let scored = |t| {
        let input = RfmInput { customer: CustomerId::new(), last_at: Some(t), frequency: 1, monetary_fen: 1 };
        score_all(&RfmConfig::default(), &[input], as_of, beijing())[0].recency_days
    };
    assert_eq!((scored(late), scored(early)), (1, 0));
}

#[test]
fn purchase_days_are_beijing_calendar_days_not_utc_days() {
    let config = lifetime();
    // 23:30 and 00:30 the next morning: two days in Beijing, one UTC day.
    let across_midnight =
        [order(Paid, "2025-06-01T23:30:00+08:00", 1_000, 0), order(Received, "2025-06-02T00:30:00+08:00", 1_000, 0)];
    assert_eq!(build(&config, &across_midnight).frequency, 2);
    // 00:30 and 23:30 the same Beijing day: one day, though they fall on two UTC days.
    let same_day =
        [order(Paid, "2025-06-03T00:30:00+08:00", 1_000, 0), order(Shipped, "2025-06-03T23:30:00+08:00", 1_000, 0)];
    assert_eq!(build(&config, &same_day).frequency, 1);
    let by_orders = RfmConfig { frequency: FrequencyBasis::Orders, ..config };
    assert_eq!(build(&by_orders, &same_day).frequency, 2);
}

#[test]
fn closed_pending_and_fully_refunded_orders_do_not_count() {
    let orders = [
        order(Paid, "2025-05-01T10:00:00+08:00", 10_000, 0),
        order(Closed, "2025-06-20T10:00:00+08:00", 50_000, 0),
        order(PendingPayment, "2025-06-21T10:00:00+08:00", 50_000, 0),
        order(Refunded, "2025-06-22T10:00:00+08:00", 50_000, 50_000),
        // A partial refund that gave everything back is a full one.
        order(PartiallyRefunded, "2025-06-23T10:00:00+08:00", 50_000, 50_000),
        // Nothing taken: a ¥0 order does not count either.
        order(Received, "2025-06-24T10:00:00+08:00", 0, 0),
    ];
    let input = build(&lifetime(), &orders);
    assert_eq!(input.last_at, Some(at("2025-05-01T10:00:00+08:00")));
    assert_eq!((input.frequency, input.monetary_fen), (1, 10_000));
}

#[test]
fn a_customer_with_only_closed_or_refunded_orders_gets_no_score() {
    let orders =
        [order(Closed, "2025-06-20T10:00:00+08:00", 5_000, 0), order(Refunded, "2025-06-21T10:00:00+08:00", 5_000, 0)];
    let input = build(&RfmConfig::default(), &orders);
    assert_eq!((input.last_at, input.frequency, input.monetary_fen), (None, 0, 0));
    assert!(score_all(&RfmConfig::default(), &[input], as_of(), beijing()).is_empty());
}

#[test]
fn partial_refunds_reduce_monetary() {
    let orders = [
        order(PartiallyRefunded, "2025-06-01T10:00:00+08:00", 30_000, 12_000),
        order(Received, "2025-06-02T10:00:00+08:00", 20_000, 0),
    ];
    let input = build(&RfmConfig::default(), &orders);
    assert_eq!((input.frequency, input.monetary_fen), (2, 38_000));
    let average = RfmConfig { monetary: MonetaryBasis::AveragePerOrder, ..RfmConfig::default() };
    assert_eq!(build(&average, &orders).monetary_fen, 19_000);
}

#[test]
fn the_average_per_order_is_floored_and_counts_orders_not_days() {
    let config = RfmConfig { monetary: MonetaryBasis::AveragePerOrder, ..RfmConfig::default() };
    let orders = [
        order(Paid, "2025-06-01T10:00:00+08:00", 100, 0),
        order(Paid, "2025-06-01T11:00:00+08:00", 100, 0),
        order(Paid, "2025-06-05T10:00:00+08:00", 101, 0),
    ];
    let input = build(&config, &orders);
    assert_eq!((input.frequency, input.monetary_fen), (2, 100));
}

#[test]
fn windows_bound_frequency_and_monetary_but_not_recency() {
    // 365 days before 30 June 2025 is 30 June 2024, outside Days(365); 1 July 2024 is 364 days before.
    let orders =
        [order(Paid, "2024-06-30T12:00:00+08:00", 70_000, 0), order(Paid, "2024-07-01T00:10:00+08:00", 5_000, 0)];
    let input = build(&RfmConfig::default(), &orders);
    assert_eq!((input.frequency, input.monetary_fen), (1, 5_000));
    assert_eq!(input.last_at, Some(at("2024-07-01T00:10:00+08:00")));
    let all = build(&lifetime(), &orders);
    assert_eq!((all.frequency, all.monetary_fen), (2, 75_000));

    // An old buyer still gets a score: R from the last order, F and M 0 within the year.
    let old = build(&RfmConfig::default(), &[order(Paid, "2023-01-01T12:00:00+08:00", 9_000, 0)]);
    let score = score_all(&RfmConfig::default(), &[old], as_of(), beijing())[0];
    assert_eq!((score.recency_days, score.frequency, score.monetary_fen, score.r, score.f), (911, 0, 0, 1, 1));
}

#[test]
fn orders_after_the_as_of_day_are_ignored() {
    let orders =
        [order(Paid, "2025-06-30T23:59:00+08:00", 1_000, 0), order(Paid, "2025-07-01T00:01:00+08:00", 9_000, 0)];
    let input = build(&RfmConfig::default(), &orders);
    assert_eq!(input.last_at, Some(at("2025-06-30T23:59:00+08:00")));
    assert_eq!((input.frequency, input.monetary_fen), (1, 1_000));
}

#[test]
fn interactions_give_r_and_f_while_m_still_comes_from_orders() {
    let config = RfmConfig { source: RfmSource::Interactions { spend_threshold_fen: 10_000 }, ..RfmConfig::default() };
    let chats = [at("2025-06-28T09:00:00+08:00"), at("2025-06-28T21:00:00+08:00"), at("2025-06-10T09:00:00+08:00")];
    let orders = [order(Paid, "2025-01-05T10:00:00+08:00", 12_000, 0)];
    let customer = CustomerId::new();
    let input = RfmInput::from_activity(&config, customer, &orders, &chats, as_of(), beijing());
    assert_eq!(input.last_at, Some(chats[1]));
    assert_eq!((input.frequency, input.monetary_fen), (2, 12_000));
    let score = score_all(&config, &[input], as_of(), beijing())[0];
    assert_eq!((score.recency_days, score.m, score.class), (2, 5, RfmClass::ImportantValue));
    // Orders alone do not qualify a customer without interactions.
    let silent = RfmInput::from_activity(&config, customer, &orders, &[], as_of(), beijing());
    assert_eq!(silent.last_at, None);
}

#[test]
fn aggregate_order_facts_convert_with_their_placing_time() {
    let fact = OrderFact {
        id: OrderId::new(),
        platform: Platform::Taobao,
        status: PartiallyRefunded,
        placed_at: at("2025-06-01T10:00:00+08:00"),
        paid_fen: 9_000,
        refunded_fen: 1_000,
    };
    let o = RfmOrder::from(&fact);
    assert_eq!((o.paid_at, o.net_fen(), o.counts()), (fact.placed_at, 8_000, true));
}
