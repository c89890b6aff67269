use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, JobId, OrderId, TenantId, TimelineId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::{MatchHint, OrderLine, OrderStatus, PhoneKind, PhoneRole, Platform, RefundState};
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::orders::{
    ORDERS_CHANGED, OrderBatch, OrderRecord, OrderWrite, SealedKey, SealedReceiver, StatusEvent, StoredOrder,
};
use siyu_store::{Store, StoreError};
use uuid::Uuid;

use crate::{now, tenant};

fn line(title: &str, paid: i64, row: u32) -> OrderLine {
    OrderLine {
        line_id: None,
        sku_id: Some(format!("SKU-{row}")),
        product_id: None,
        title: Some(title.into()),
        spec: Some("规格:30ml".into()),
        quantity: 2,
        unit_price_fen: Some(paid / 2),
        paid_fen: paid,
        refund: RefundState::None,
        refunded_fen: 0,
        source_line: row,
    }
}

fn order(platform_id: &str, status: OrderStatus, at: DateTime<Utc>) -> StoredOrder {
    StoredOrder {
        order: OrderRecord {
            id: OrderId::new(),
            platform: Platform::Taobao,
            shop: "示例旗舰店".into(),
            platform_order_id: platform_id.into(),
            customer_id: None,
            match_method: None,
            status,
            placed_at: at,
            ordered_at: Some(at),
            paid_at: Some(at + Duration::seconds(30)),
            shipped_at: None,
            finished_at: None,
            total_fen: 25_700,
            discount_fen: 0,
            shipping_fen: 0,
            paid_fen: 25_700,
            refunded_fen: 0,
            fingerprint: format!("fp-{}", status.as_str()),
            buyer_nick: Some("tb_lilei".into()),
            buyer_keys: vec![SealedKey {
                kind: IdentityKind::PlatformBuyer,
                namespace: "taobao".into(),
                lookup: "tb_lilei".into(),
            }],
            hints: vec![MatchHint::MaskedPhone { role: PhoneRole::Receiver, masked: "138****5678".into() }],
            receiver: SealedReceiver {
                name_enc: Some(vec![1, 2, 3]),
                phone_enc: Some(vec![4, 5, 6]),
                phone_kind: Some(PhoneKind::Masked),
                phone_display: Some("138****5678".into()),
                phone_lookup: None,
                address_enc: Some(vec![0, 255]),
            },
            import_id: Some(JobId::new()),
            created_at: now(),
            updated_at: now(),
        },
        lines: vec![line("保湿精华液", 19_900, 2), line("洁面乳", 5_800, 3)],
    }
}

fn first_status(o: &StoredOrder) -> StatusEvent {
    StatusEvent {
        id: Uuid::now_v7(),
        order_id: o.order.id,
        from: None,
        to: o.order.status,
        at: now(),
        import_id: o.order.import_id,
    }
}

async fn insert(store: &Store, t: TenantId, o: &StoredOrder) {
    let batch = OrderBatch {
        writes: vec![OrderWrite::Insert(o.clone())],
        history: vec![first_status(o)],
        ..Default::default()
    };
    store.orders().write(t, &batch).await.unwrap();
}

fn changed(e: StoreError) -> bool {
    matches!(&e, StoreError::Conflict(c) if c == ORDERS_CHANGED)
}

async fn an_order_round_trips_with_its_lines_receiver_and_first_status(store: Store) {
    let t = tenant(&store).await;
    let o = order("3901234567890123", OrderStatus::Paid, now());
    insert(&store, t, &o).await;
    assert_eq!(store.orders().get(t, o.order.id).await.unwrap(), o);
    let by_key = store.orders().by_key(t, Platform::Taobao, "示例旗舰店", "3901234567890123").await.unwrap();
    assert_eq!(by_key, o);
    let history = store.orders().history(t, o.order.id).await.unwrap();
    assert_eq!(history.iter().map(|h| (h.from, h.to)).collect::<Vec<_>>(), vec![(None, OrderStatus::Paid)]);
    let ids = ["3901234567890123".to_string(), "x".to_string()];
    let found = store.orders().find_many(t, Platform::Taobao, "示例旗舰店", &ids).await.unwrap();
    assert_eq!(found, vec![o.order.clone()]);
    assert!(
        store.orders().find_many(t, Platform::Jd, "示例旗舰店", &["3901234567890123".into()]).await.unwrap().is_empty()
    );
    assert!(store.orders().find_many(t, Platform::Taobao, "", &["3901234567890123".into()]).await.unwrap().is_empty());
}

async fn re_importing_the_same_order_is_a_no_op_and_a_second_insert_writes_nothing(store: Store) {
    let t = tenant(&store).await;
    let o = order("3901234567890123", OrderStatus::Paid, now());
    insert(&store, t, &o).await;
    // The same snapshot again: the app finds the fingerprint equal and writes an empty batch.
    store.orders().write(t, &OrderBatch::default()).await.unwrap();
    // Two imports racing on one new order: the second insert is refused with everything in its batch.
    let mut twin = order("3901234567890123", OrderStatus::Paid, now());
    twin.order.fingerprint = "fp-other".into();
    let bystander = order("3901234567890999", OrderStatus::Paid, now());
    let batch = OrderBatch {
        writes: vec![OrderWrite::Insert(bystander.clone()), OrderWrite::Insert(twin.clone())],
        history: vec![first_status(&bystander), first_status(&twin)],
        ..Default::default()
    };
    assert!(changed(store.orders().write(t, &batch).await.unwrap_err()));
    assert_eq!(store.orders().count(t, None).await.unwrap(), 1);
    assert_eq!(store.orders().get(t, o.order.id).await.unwrap(), o);
    assert_eq!(store.orders().history(t, o.order.id).await.unwrap().len(), 1);
    assert!(matches!(store.orders().get(t, bystander.order.id).await, Err(StoreError::NotFound)));
}

async fn a_changed_status_replaces_the_snapshot_and_appends_history(store: Store) {
    let t = tenant(&store).await;
    let c = CustomerId::new();
    let mut o = order("3901234567890123", OrderStatus::Paid, now());
    (o.order.customer_id, o.order.match_method) = (Some(c), Some("platform_buyer".into()));
    insert(&store, t, &o).await;

    let mut shipped = o.clone();
    shipped.order.status = OrderStatus::Shipped;
    shipped.order.shipped_at = Some(now());
    shipped.order.fingerprint = "fp-shipped".into();
    // A later file knows no customer for it: the stored match stays.
    (shipped.order.customer_id, shipped.order.match_method) = (None, None);
    shipped.lines = vec![line("保湿精华液", 25_700, 7)];
    let moved = StatusEvent { from: Some(OrderStatus::Paid), ..first_status(&shipped) };
    let entry = TimelineEntry {
        id: TimelineId::new(),
        customer_id: c,
        occurred_at: now(),
        source: "import".into(),
        kind: kinds::ORDER_STATUS_CHANGED.into(),
        actor_id: None,
        payload: json!({"from": "paid", "to": "shipped"}),
    };
    let replace = |expected: &str| OrderWrite::Replace {
        order: shipped.clone(),
        expected_fingerprint: expected.into(),
        expected_status: OrderStatus::Paid,
    };
    // A stale expectation (another import got there first) changes nothing.
    let stale = OrderBatch {
        writes: vec![replace("fp-stale")],
        history: vec![moved.clone()],
        timeline: vec![entry.clone()],
        ..Default::default()
    };
    assert!(changed(store.orders().write(t, &stale).await.unwrap_err()));
    assert_eq!(store.orders().get(t, o.order.id).await.unwrap(), o);

    let batch = OrderBatch {
        writes: vec![replace("fp-paid")],
        history: vec![moved],
        timeline: vec![entry.clone()],
        ..Default::default()
    };
    store.orders().write(t, &batch).await.unwrap();
    let stored = store.orders().get(t, o.order.id).await.unwrap();
    assert_eq!((stored.order.status, stored.order.fingerprint.as_str()), (OrderStatus::Shipped, "fp-shipped"));
    assert_eq!((stored.order.customer_id, stored.order.match_method.as_deref()), (Some(c), Some("platform_buyer")));
    assert_eq!(stored.order.created_at, o.order.created_at);
    assert_eq!(stored.lines, shipped.lines, "the lines are replaced");
    let history: Vec<_> = store.orders().history(t, o.order.id).await.unwrap().iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(history, vec![(None, OrderStatus::Paid), (Some(OrderStatus::Paid), OrderStatus::Shipped)]);
    let timeline = store.timeline().of_customer(t, c, PageRequest::first(10)).await.unwrap();
    assert_eq!(timeline, vec![entry]);
}

async fn a_customer_is_attached_once_and_lists_its_orders_newest_first(store: Store) {
    let t = tenant(&store).await;
    let (c, base) = (CustomerId::new(), now());
    let mut made = Vec::new();
    for i in 0..5 {
        let o = order(&format!("39000000000{i}"), OrderStatus::Received, base - Duration::hours(i));
        insert(&store, t, &o).await;
        let attach = OrderWrite::Attach { id: o.order.id, customer: c, method: "phone".into() };
        store.orders().write(t, &OrderBatch { writes: vec![attach.clone()], ..Default::default() }).await.unwrap();
        let again = store.orders().write(t, &OrderBatch { writes: vec![attach], ..Default::default() }).await;
        assert!(changed(again.unwrap_err()), "an order with a customer is not attached again");
        made.push(o.order.id);
    }
    insert(&store, t, &order("unmatched", OrderStatus::Paid, base)).await;
    assert_eq!((store.orders().count(t, None).await.unwrap(), store.orders().count(t, Some(c)).await.unwrap()), (6, 5));
    let first = store.orders().of_customer(t, c, PageRequest::first(3)).await.unwrap();
    assert_eq!(first.len(), 4, "one extra row signals a next page");
    let last = &first[2];
    let after = Cursor { at: last.placed_at, id: last.id.0 };
    let rest = store.orders().of_customer(t, c, PageRequest { after: Some(after), limit: 3 }).await.unwrap();
    let ids: Vec<OrderId> = first.iter().take(3).chain(rest.iter()).map(|o| o.id).collect();
    assert_eq!(ids, made);
    assert!(first.iter().all(|o| o.match_method.as_deref() == Some("phone")));
}

async fn orders_never_cross_tenants(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let c = CustomerId::new();
    let mut o = order("3901234567890123", OrderStatus::Paid, now());
    o.order.customer_id = Some(c);
    insert(&store, t, &o).await;
    // The same platform order in another brand is another order.
    let theirs = order("3901234567890123", OrderStatus::Received, now());
    insert(&store, other, &theirs).await;
    assert!(matches!(store.orders().get(other, o.order.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.orders().by_key(other, Platform::Taobao, "示例旗舰店", "3901234567890123").await.unwrap(), theirs);
    assert!(store.orders().of_customer(other, c, PageRequest::first(10)).await.unwrap().is_empty());
    assert_eq!(store.orders().count(other, Some(c)).await.unwrap(), 0);
    assert!(store.orders().history(other, o.order.id).await.unwrap().is_empty());
    let mut shipped = o.clone();
    shipped.order.status = OrderStatus::Shipped;
    let replace = OrderWrite::Replace {
        order: shipped,
        expected_fingerprint: "fp-paid".into(),
        expected_status: OrderStatus::Paid,
    };
    let unmatched = order("3901234567890124", OrderStatus::Paid, now());
    insert(&store, t, &unmatched).await;
    let attach = OrderWrite::Attach { id: unmatched.order.id, customer: c, method: "phone".into() };
    for w in [replace, attach] {
        let e = store.orders().write(other, &OrderBatch { writes: vec![w], ..Default::default() }).await.unwrap_err();
        assert!(changed(e), "another tenant's order cannot be written");
    }
    assert_eq!(store.orders().get(t, o.order.id).await.unwrap(), o);
    assert_eq!(store.orders().get(t, unmatched.order.id).await.unwrap(), unmatched);
    assert_eq!(store.orders().get(other, theirs.order.id).await.unwrap(), theirs);
}

async fn deleting_a_customer_unmatches_its_orders(store: Store) {
    let t = tenant(&store).await;
    let c = siyu_domain::customer::Customer {
        id: CustomerId::new(),
        name: "老顾客".into(),
        gender: siyu_domain::customer::Gender::Unknown,
        avatar_url: None,
        remark: None,
        source: "test".into(),
        custom: serde_json::Map::new(),
        created_at: now(),
        updated_at: now(),
        last_active_at: None,
    };
    store.customers().insert(t, &c).await.unwrap();
    let mut o = order("3901234567890123", OrderStatus::Paid, now());
    (o.order.customer_id, o.order.match_method) = (Some(c.id), Some("phone".into()));
    insert(&store, t, &o).await;
    store.customers().delete(t, c.id).await.unwrap();
    let stored = store.orders().get(t, o.order.id).await.unwrap();
    assert_eq!((stored.order.customer_id, stored.order.match_method), (None, None));
    assert_eq!(store.orders().count(t, Some(c.id)).await.unwrap(), 0);
}

crate::conformance!(
    deleting_a_customer_unmatches_its_orders,
    an_order_round_trips_with_its_lines_receiver_and_first_status,
    re_importing_the_same_order_is_a_no_op_and_a_second_insert_writes_nothing,
    a_changed_status_replaces_the_snapshot_and_appends_history,
    a_customer_is_attached_once_and_lists_its_orders_newest_first,
    orders_never_cross_tenants,
);
