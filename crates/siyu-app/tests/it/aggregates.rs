//! Customer aggregates kept current by order imports and mall orders, orders posted by the own mall
//! (create, re-post, status moves, matching that never trusts a masked phone, refused bodies), and the
//! merged activity list with its filters and cursor pages.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use siyu_app::activity::activity_filter;
use siyu_app::customers::{IdentityInput, NewCustomerInput};
use siyu_app::orders::{MallOrderOutcome, MallOrderResult, OrderImportOptions};
use siyu_app::transfer::Table;
use siyu_app::{Actor, App, ErrorCode};
use siyu_domain::activity::ActivityKind;
use siyu_domain::aggregate::Via;
use siyu_domain::event::Endpoint;
use siyu_domain::id::{CustomerId, EventId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::{MallOrderInput, MatchHint, OrderStatus, Platform};
use siyu_domain::page::PageRequest;
use siyu_domain::source::SourceKind;
use siyu_domain::timeline::kinds;
use siyu_store::audit::AuditQuery;

use crate::Ctx;
use crate::orders::YOUZAN_HEADER;

crate::on_both_backends!(
    an_import_counts_same_day_orders_once_nets_out_refunds_and_leaves_closed_orders_out,
    a_mall_order_posted_again_changes_nothing_and_a_newer_status_updates_it_with_history_and_aggregates,
    a_masked_phone_on_a_mall_order_never_matches_while_unionid_full_phone_and_customer_id_do,
    bad_mall_orders_are_refused_with_the_field_and_a_stable_reason,
    the_activity_list_merges_timeline_events_and_orders_newest_first_and_filters_by_kind_and_source,
    rebuilding_a_tenant_computes_every_customer_and_refresh_picks_up_linked_events,
    concurrent_mall_orders_of_one_customer_all_count_in_the_aggregates,
);

async fn customer(app: &App, actor: &Actor, name: &str, phone: Option<&str>, ids: Vec<IdentityInput>) -> CustomerId {
    let input =
        NewCustomerInput { name: name.into(), phone: phone.map(str::to_string), identities: ids, ..Default::default() };
    app.create_customer(actor, input).await.unwrap().id
}

fn unionid(v: &str) -> IdentityInput {
    IdentityInput { kind: IdentityKind::Unionid, namespace: None, value: v.into() }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

async fn post(app: &App, actor: &Actor, body: Value) -> MallOrderResult {
    let input: MallOrderInput = serde_json::from_value(body).unwrap();
    app.post_mall_order(actor, input).await.unwrap()
}

/// A mall order of one line of 面霜 bought by `buyer`.
fn mall(id: &str, status: &str, paid_fen: i64, buyer: Value) -> Value {
    json!({"platform_order_id": id, "status": status, "ordered_at": "2025-03-01T10:00:00+08:00", "paid_fen": paid_fen,
        "lines": [{"sku_id": "CREAM-50", "title": "面霜 50ml", "quantity": 1, "unit_price_fen": paid_fen}],
        "buyer": buyer})
}

/// Youzan rows of one buyer (13712345678). A1 at 07:00 Beijing (30 June in UTC) and A2 on the same Beijing
/// day; A3 the next day, its coffee beans refunded in full; A4 closed unpaid; A5 closed after a full refund.
const ROWS: [&str; 6] = [
    "A1,交易完成,2024-07-01 07:00:00,2024-07-01 07:00:40,2024-07-05 10:00:00,小王,13712345678,燕麦牛奶,原味,OAT-12,59.00,1,59.00,,0.00,0.00,59.00,0.00,,王小明,13712345678,北京市东城区\n",
    "A2,待发货,2024-07-01 21:00:00,2024-07-01 21:00:30,,小王,13712345678,燕麦牛奶,原味,OAT-12,59.00,2,118.00,,0.00,0.00,118.00,0.00,,王小明,13712345678,北京市东城区\n",
    "A3,已发货,2024-07-02 10:00:00,2024-07-02 10:01:00,,小王,13712345678,咖啡豆,中烘,BEAN-454,68.00,1,68.00,退款成功,68.00,6.00,144.00,68.00,退款成功（部分退款）,王小明,13712345678,北京市东城区\n",
    "A3,已发货,2024-07-02 10:00:00,2024-07-02 10:01:00,,小王,13712345678,挂耳咖啡,10包,DRIP-10,35.00,2,70.00,,0.00,6.00,144.00,68.00,退款成功（部分退款）,王小明,13712345678,北京市东城区\n",
    "A4,交易关闭,2024-07-03 10:00:00,,,小王,13712345678,保温杯,500ml,CUP-500,79.00,1,0.00,,0.00,0.00,0.00,0.00,,王小明,13712345678,北京市东城区\n",
    "A5,交易关闭,2024-07-04 10:00:00,2024-07-04 10:00:10,,小王,13712345678,礼品卡,100元,GIFT-100,100.00,1,100.00,退款成功,100.00,0.00,100.00,100.00,退款成功（全额退款）,王小明,13712345678,北京市东城区\n",
];

async fn import(app: &App, actor: &Actor, rows: &str) {
    let table = Table::read("有赞订单.csv", format!("{YOUZAN_HEADER}{rows}").as_bytes()).unwrap();
    let r = app.import_orders(actor, table, &OrderImportOptions::default(), &mut |_| {}).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

async fn an_import_counts_same_day_orders_once_nets_out_refunds_and_leaves_closed_orders_out(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let c = customer(app, owner, "小王", Some("13712345678"), vec![]).await;
    import(app, owner, &ROWS.concat()).await;

    let a = app.store.aggregates().get(owner.tenant, c).await.unwrap().expect("written with the import");
    assert_eq!((a.order_count, a.order_days), (3, 2), "A1 and A2 are one Beijing day");
    assert_eq!((a.paid_fen, a.refund_fen, a.avg_paid_fen), (5_900 + 11_800 + 14_400 - 6_800, 6_800 + 10_000, 8_433));
    assert_eq!(
        (a.first_order_at, a.last_order_at),
        (Some(at("2024-06-30T23:00:00Z")), Some(at("2024-07-02T02:00:00Z")))
    );
    let products: Vec<(Option<&str>, i64, i64)> =
        a.products.iter().map(|p| (p.sku_id.as_deref(), p.quantity, p.orders)).collect();
    assert_eq!(products, vec![(Some("OAT-12"), 3, 2), (Some("DRIP-10"), 2, 1)], "refunded and unpaid lines left out");
    assert_eq!(a.product_count, 2);
    assert_eq!(a.platforms, vec![Platform::Youzan]);
    let channels: Vec<(Via, &str, i64)> = a.channels.iter().map(|ch| (ch.via, ch.source.as_str(), ch.count)).collect();
    assert_eq!(channels, vec![(Via::Orders, "youzan", 5)]);
    assert_eq!(a.last_active_at, Some(at("2024-07-04T02:00:00Z")));

    // A2 is received now and a new order arrives on another day: the next import refreshes the figures.
    let a2 = ROWS[1].replace("待发货", "交易完成");
    let a6 = "A6,待发货,2024-07-05 12:00:00,2024-07-05 12:00:30,,小王,13712345678,花草茶,玫瑰,TEA-R,29.90,1,29.90,,0.00,0.00,29.90,0.00,,王小明,13712345678,北京市东城区\n";
    import(app, owner, &format!("{a2}{a6}")).await;
    let a = app.customer_aggregates(owner, c).await.unwrap();
    assert_eq!((a.order_count, a.order_days, a.paid_fen), (4, 3, 25_300 + 2_990));
    assert_eq!(a.last_order_at, Some(at("2024-07-05T04:00:00Z")));
}

async fn a_mall_order_posted_again_changes_nothing_and_a_newer_status_updates_it_with_history_and_aggregates(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let c = customer(app, owner, "小李", None, vec![unionid("U-mall-1")]).await;
    let buyer = json!({"unionid": "U-mall-1"});
    let first = post(app, owner, mall("M1", "paid", 19_900, buyer.clone())).await;
    assert_eq!(first.outcome, MallOrderOutcome::Created);
    let o = &first.detail.order;
    assert_eq!((o.platform, o.customer_id, o.match_method.as_deref()), (Platform::OwnMall, Some(c), Some("unionid")));
    let a = app.store.aggregates().get(owner.tenant, c).await.unwrap().unwrap();
    assert_eq!((a.order_count, a.paid_fen, a.platforms.clone()), (1, 19_900, vec![Platform::OwnMall]));

    let again = post(app, owner, mall("M1", "paid", 19_900, buyer.clone())).await;
    assert_eq!(
        (again.outcome, again.status_changed, again.detail.history.len()),
        (MallOrderOutcome::Unchanged, false, 1)
    );

    let mut partly = mall("M1", "partially_refunded", 19_900, buyer.clone());
    partly["refunds"] = json!([{"amount_fen": 5_000}]);
    let moved = post(app, owner, partly).await;
    assert_eq!((moved.outcome, moved.status_changed), (MallOrderOutcome::Updated, true));
    let history: Vec<_> = moved.detail.history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(history, vec![(None, OrderStatus::Paid), (Some(OrderStatus::Paid), OrderStatus::PartiallyRefunded)]);
    let a = app.customer_aggregates(owner, c).await.unwrap();
    assert_eq!((a.order_count, a.paid_fen, a.refund_fen), (1, 14_900, 5_000));

    let older = post(app, owner, mall("M1", "shipped", 19_900, buyer.clone())).await;
    assert_eq!(
        (older.outcome, older.detail.order.status),
        (MallOrderOutcome::KeptOlder, OrderStatus::PartiallyRefunded)
    );

    let refunded = post(app, owner, mall("M1", "refunded", 19_900, buyer)).await;
    assert_eq!((refunded.outcome, refunded.detail.order.refunded_fen), (MallOrderOutcome::Updated, 19_900));
    let a = app.customer_aggregates(owner, c).await.unwrap();
    assert_eq!((a.order_count, a.paid_fen, a.refund_fen, a.first_order_at), (0, 0, 19_900, None));

    let timeline = app.timeline(owner, c, PageRequest::first(20)).await.unwrap().items;
    let orders: Vec<(&str, &str)> = timeline
        .iter()
        .filter(|e| e.kind.starts_with("order_"))
        .map(|e| (e.kind.as_str(), e.source.as_str()))
        .collect();
    assert_eq!(
        orders,
        vec![
            (kinds::ORDER_STATUS_CHANGED, "api"),
            (kinds::ORDER_STATUS_CHANGED, "api"),
            (kinds::ORDER_IMPORTED, "api")
        ]
    );
    let q =
        AuditQuery { action_prefix: Some("order.post".into()), actor: None, object_id: None, before: None, limit: 20 };
    assert_eq!(app.audit_log(owner, q).await.unwrap().items.len(), 5, "every post is audited");
}

async fn a_masked_phone_on_a_mall_order_never_matches_while_unionid_full_phone_and_customer_id_do(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let c = customer(app, owner, "老顾客", Some("13712345678"), vec![]).await;
    let masked = post(app, owner, mall("P1", "paid", 100, json!({"phone": "137****5678"}))).await;
    assert_eq!((masked.detail.order.customer_id, masked.detail.order.match_method.clone()), (None, None));
    assert!(matches!(masked.detail.order.hints.as_slice(), [MatchHint::MaskedPhone { .. }]));

    let full = post(app, owner, mall("P2", "paid", 100, json!({"phone": "137 1234 5678"}))).await;
    assert_eq!((full.detail.order.customer_id, full.detail.order.match_method.as_deref()), (Some(c), Some("phone")));
    // The unionid outranks the phone; the named customer outranks both.
    let other = customer(app, owner, "另一位", None, vec![unionid("U-9")]).await;
    let both = post(app, owner, mall("P3", "paid", 100, json!({"unionid": "U-9", "phone": "13712345678"}))).await;
    assert_eq!(both.detail.order.customer_id, Some(other));
    let named = post(app, owner, mall("P4", "paid", 100, json!({"customer_id": c, "unionid": "U-9"}))).await;
    assert_eq!(
        (named.detail.order.customer_id, named.detail.order.match_method.as_deref()),
        (Some(c), Some("customer_id"))
    );

    // An unknown member id becomes a prospect once; its next order finds it.
    let new =
        post(app, owner, mall("P5", "paid", 100, json!({"platform_buyer_id": "member-77", "nick": "新会员"}))).await;
    let prospect = new.detail.order.customer_id.unwrap();
    assert_eq!(new.detail.order.match_method.as_deref(), Some("prospect"));
    assert_eq!(app.store.customers().get(owner.tenant, prospect).await.unwrap().source, "api");
    let next = post(app, owner, mall("P6", "paid", 100, json!({"platform_buyer_id": "member-77"}))).await;
    assert_eq!(next.detail.order.customer_id, Some(prospect));
    assert_eq!(app.customer_aggregates(owner, prospect).await.unwrap().order_count, 2);
    assert_eq!(app.customer_aggregates(owner, c).await.unwrap().order_count, 2, "P2 and P4, never P1");
}

async fn bad_mall_orders_are_refused_with_the_field_and_a_stable_reason(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let refused = |body: Value| async move {
        let input: MallOrderInput = serde_json::from_value(body).unwrap();
        app.post_mall_order(owner, input).await.unwrap_err()
    };
    let e = refused(mall("B1", "paid", 100, json!({"openid": "oX-1"}))).await;
    assert_eq!((e.code(), e.field()), (ErrorCode::InvalidInput, Some("buyer.appid")));
    let e = refused(mall("B2", "paid", -5, json!({}))).await;
    assert_eq!((e.code(), e.field()), (ErrorCode::InvalidInput, Some("paid_fen")));
    let e = refused(mall("B3", "paid", 100, json!({"customer_id": CustomerId::new()}))).await;
    assert_eq!((e.code(), e.field()), (ErrorCode::InvalidInput, Some("buyer.customer_id")));
    let staff = ctx.member("staff", siyu_domain::access::Role::Staff, siyu_domain::access::DataScope::SelfOnly).await;
    let input: MallOrderInput = serde_json::from_value(mall("B4", "paid", 100, json!({}))).unwrap();
    assert_eq!(app.post_mall_order(&staff, input).await.unwrap_err().code(), ErrorCode::Forbidden);
    assert_eq!(app.count_orders(owner, None).await.unwrap(), 0, "nothing was written");
}

/// Sends events from a new source of `kind` (hours ago each) and links them to `c`.
async fn events_for(app: &App, actor: &Actor, c: CustomerId, kind: SourceKind, hours_ago: &[i64]) -> Vec<EventId> {
    let (source, key) = app.create_source(actor, kind.as_str(), kind).await.unwrap();
    let batch: Vec<Value> = hours_ago
        .iter()
        .map(|h| {
            let ts = (Utc::now() - Duration::hours(*h)).to_rfc3339();
            json!({"type": "track", "event": format!("Viewed {h}"), "anonymousId": "dev-1", "timestamp": ts,
                "properties": {"sku": "CREAM-50"}})
        })
        .collect();
    let body = serde_json::to_vec(&json!({"batch": batch})).unwrap();
    app.ingest(Endpoint::Batch, &body, Some(&key)).await.unwrap();
    let ids: Vec<EventId> =
        app.store.events().latest(actor.tenant, Some(source.id), 50).await.unwrap().into_iter().map(|e| e.id).collect();
    app.store.events().assign_customer(actor.tenant, &ids, c).await.unwrap();
    ids
}

async fn the_activity_list_merges_timeline_events_and_orders_newest_first_and_filters_by_kind_and_source(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let c = customer(app, owner, "小周", None, vec![unionid("U-act")]).await;
    app.add_note(owner, c, "想要敏感肌的面霜").await.unwrap();
    let two_days_ago = (Utc::now() - Duration::days(2)).to_rfc3339();
    let mut order = mall("AC1", "paid", 9_900, json!({"unionid": "U-act"}));
    order["ordered_at"] = json!(two_days_ago);
    post(app, owner, order.clone()).await;
    order["status"] = json!("shipped");
    post(app, owner, order).await;
    events_for(app, owner, c, SourceKind::MiniProgram, &[24, 72]).await;
    events_for(app, owner, c, SourceKind::Web, &[96]).await;
    app.refresh_aggregates(owner.tenant, &[c]).await.unwrap();

    let list = |kind: Option<&'static str>, source: Option<&'static str>, limit: u32| async move {
        let filter = activity_filter(kind, source).unwrap();
        app.customer_activity(owner, c, &filter, PageRequest::first(limit)).await.unwrap()
    };
    let all = list(None, None, 50).await;
    assert!(all.next_cursor.is_none());
    assert!(all.items.windows(2).all(|w| (w[0].at, w[0].id) >= (w[1].at, w[1].id)), "newest first");
    let shape: Vec<(ActivityKind, &str)> = all.items.iter().map(|i| (i.kind, i.source.as_str())).collect();
    let tail = &shape[shape.len() - 4..];
    assert_eq!(
        tail,
        [
            (ActivityKind::Events, "mini_program"),
            (ActivityKind::Orders, "own_mall"),
            (ActivityKind::Events, "mini_program"),
            (ActivityKind::Events, "web")
        ]
    );
    let timeline_kinds: Vec<&str> =
        all.items.iter().filter_map(|i| i.timeline.as_ref()).map(|e| e.kind.as_str()).collect();
    assert!(!timeline_kinds.contains(&kinds::ORDER_IMPORTED), "the order itself stands for its import");
    assert_eq!(all.items.iter().filter(|i| i.order.is_some()).count(), 1);

    let count = |kind: Option<&'static str>, source: Option<&'static str>| async move {
        list(kind, source, 50).await.items.iter().map(|i| i.kind).collect::<Vec<_>>()
    };
    assert_eq!(count(Some("events"), None).await, vec![ActivityKind::Events; 3]);
    assert_eq!(count(Some("events"), Some("mini_program")).await.len(), 2);
    assert_eq!(count(Some("orders"), None).await, vec![ActivityKind::Orders; 2], "the status change and the order");
    assert_eq!(count(None, Some("own_mall")).await, vec![ActivityKind::Orders]);
    assert_eq!(count(Some("notes"), None).await, vec![ActivityKind::Notes]);
    assert_eq!(count(Some("identity"), None).await, Vec::<ActivityKind>::new());
    assert!(count(Some("other"), None).await.iter().all(|k| *k == ActivityKind::Other));
    assert_eq!(activity_filter(Some("chats"), None).unwrap_err().field, "kind");

    // Pages of two walk the same list.
    let (mut walked, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = PageRequest::parse(cursor.as_deref(), Some(2)).unwrap();
        let p = app.customer_activity(owner, c, &Default::default(), page).await.unwrap();
        walked.extend(p.items.iter().map(|i| i.id));
        match p.next_cursor {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(walked, all.items.iter().map(|i| i.id).collect::<Vec<_>>());

    let a = app.customer_aggregates(owner, c).await.unwrap();
    let channels: Vec<(Via, &str, i64)> = a.channels.iter().map(|ch| (ch.via, ch.source.as_str(), ch.count)).collect();
    assert_eq!(channels, vec![(Via::Events, "mini_program", 2), (Via::Orders, "own_mall", 1), (Via::Events, "web", 1)]);
    assert_eq!(a.event_count, 3);

    let brand = app.create_tenant("别的品牌").await.unwrap();
    let account = app.create_account("stranger", "外人", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(brand.id, &account, siyu_domain::access::Role::Owner, None, None).await.unwrap();
    let stranger = Actor::for_member(&app.store, &member, siyu_app::actor::Via::System).await.unwrap();
    let e = app.customer_activity(&stranger, c, &Default::default(), PageRequest::first(5)).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(app.customer_aggregates(&stranger, c).await.unwrap_err().code(), ErrorCode::NotFound);
}

async fn rebuilding_a_tenant_computes_every_customer_and_refresh_picks_up_linked_events(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(customer(app, owner, &format!("顾客{i}"), None, vec![]).await);
    }
    assert!(app.store.aggregates().get(owner.tenant, ids[0]).await.unwrap().is_none(), "no orders, no row yet");
    let mut seen = 0;
    let done = app.rebuild_aggregates(owner.tenant, &mut |n| seen = n).await.unwrap();
    assert_eq!((done, seen), (3, 3));
    for c in &ids {
        let a = app.store.aggregates().get(owner.tenant, *c).await.unwrap().unwrap();
        assert_eq!((a.order_count, a.event_count, a.last_active_at), (0, 0, None));
    }
    // Events linked later (as identity resolution does) show up after a refresh of that customer.
    events_for(app, owner, ids[1], SourceKind::Server, &[5, 1]).await;
    app.refresh_aggregates(owner.tenant, &[ids[1], CustomerId::new()]).await.unwrap();
    let a = app.store.aggregates().get(owner.tenant, ids[1]).await.unwrap().unwrap();
    assert_eq!(a.event_count, 2);
    let last = a.last_active_at.unwrap();
    assert!(last > Utc::now() - Duration::hours(2));
    let c = app.store.customers().get(owner.tenant, ids[1]).await.unwrap();
    assert!(c.last_active_at >= Some(last), "the customer list's last active follows");
}

async fn concurrent_mall_orders_of_one_customer_all_count_in_the_aggregates(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let c = customer(app, owner, "抢购达人", None, vec![unionid("U-rush")]).await;
    let posts: Vec<_> = (0..8)
        .map(|i| {
            let (app, owner) = (app.clone(), owner.clone());
            tokio::spawn(async move {
                post(&app, &owner, mall(&format!("R{i}"), "paid", 1_000 + i, json!({"unionid": "U-rush"}))).await
            })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await.unwrap().outcome, MallOrderOutcome::Created);
    }
    let a = app.store.aggregates().get(owner.tenant, c).await.unwrap().unwrap();
    assert_eq!((a.order_count, a.paid_fen), (8, (0..8).map(|i| 1_000 + i).sum::<i64>()), "no refresh lost an order");
}
