//! Order imports: every platform fixture through the `import_orders` job (counts from the fixtures'
//! README), idempotent re-imports, status moves with history and timeline entries, buyer matching that
//! never trusts a masked or receiver phone, and receivers stored only encrypted.

use siyu_app::orders::{OrderImportOptions, OrderImportReport};
use siyu_app::transfer::Table;
use siyu_app::{Actor, App, ErrorCode};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::job::JobStatus;
use siyu_domain::order::{MatchHint, OrderStatus, PhoneRole, Platform};
use siyu_domain::page::PageRequest;
use siyu_domain::timeline::kinds;
use siyu_store::orders::OrderRecord;

use crate::Ctx;

mod resume;

crate::on_both_backends!(
    every_fixture_imports_its_orders_lines_and_row_errors_and_importing_it_again_changes_nothing,
    an_order_that_moved_from_paid_to_shipped_is_updated_once_with_history_and_an_older_file_changes_nothing,
    a_masked_or_receiver_phone_never_matches_an_existing_customer_while_a_full_buyer_phone_does,
    receiver_names_phones_and_addresses_are_stored_only_encrypted,
    orders_are_visible_only_within_their_tenant_and_the_scope_of_their_customer,
    an_unmatched_order_waits_and_joins_the_customer_whose_identity_arrives_later,
    an_order_shipped_to_another_customers_phone_suggests_a_merge_and_never_merges,
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/orders/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) fn prospects() -> OrderImportOptions {
    OrderImportOptions { create_prospects: true, ..Default::default() }
}

/// Uploads `bytes`, queues the import, lets a worker run it and returns the job's report.
async fn import_job(
    app: &App,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
    options: &OrderImportOptions,
) -> OrderImportReport {
    let upload = app.store_upload(actor, name, bytes).await.unwrap();
    let job = app.queue_order_import(actor, upload, options).await.unwrap();
    assert_eq!(app.queue_order_import(actor, upload, options).await.unwrap().id, job.id, "queued once");
    assert_eq!(app.run_due_work().await.unwrap(), 1);
    let done = app.order_import_job(actor, job.id).await.unwrap();
    assert_eq!(done.job.status, JobStatus::Done, "{name}: {:?}", done.job.error);
    assert_eq!(
        (done.job.percent(), done.progress.done, done.progress.total),
        (100, done.progress.total, done.progress.total)
    );
    assert!(app.upload_table(actor, upload).await.is_err(), "the upload is removed once imported");
    done.report.unwrap()
}

async fn import_text(app: &App, actor: &Actor, csv: &str, options: &OrderImportOptions) -> OrderImportReport {
    let table = Table::read("orders.csv", csv.as_bytes()).unwrap();
    app.import_orders(actor, table, options, &mut |_| {}).await.unwrap()
}

/// What the fixtures' README says of each file.
struct Fixture {
    file: &'static str,
    platform: Platform,
    /// The shop the file names (Taobao has a 店铺名称 column; the others none).
    shop: &'static str,
    rows: usize,
    orders: usize,
    lines: usize,
    /// Orders whose buyer has an identifier: each becomes a prospect, once.
    matched: usize,
    errors: &'static [(u32, &'static str)],
    statuses: &'static [(&'static str, OrderStatus)],
}

const FIXTURES: [Fixture; 5] = {
    use OrderStatus::*;
    [
        Fixture {
            file: "taobao_order_report.csv",
            platform: Platform::Taobao,
            shop: "示例美妆旗舰店",
            rows: 10,
            orders: 4,
            lines: 6,
            matched: 4,
            errors: &[(9, "too_many_decimals"), (10, "order_has_bad_row"), (11, "missing_order_id")],
            statuses: &[
                ("3901234567890123", Received),
                ("3901234567890124", PartiallyRefunded),
                ("3901234567890125", Refunded),
                ("3901234567890126", Closed),
            ],
        },
        Fixture {
            file: "jd_orders.csv",
            platform: Platform::Jd,
            shop: "",
            rows: 9,
            orders: 4,
            lines: 5,
            matched: 3,
            errors: &[(8, "too_many_decimals"), (9, "order_has_bad_row"), (10, "order_id_mangled")],
            statuses: &[
                ("290001234567", Received),
                ("290001234568", Shipped),
                ("290001234569", Closed),
                ("290001234570", Paid),
            ],
        },
        Fixture {
            file: "pinduoduo_orders.csv",
            platform: Platform::Pinduoduo,
            shop: "",
            rows: 7,
            orders: 4,
            lines: 4,
            matched: 0,
            errors: &[(7, "too_many_decimals"), (8, "missing_order_id")],
            statuses: &[
                ("240601-123456789012345", Received),
                ("240602-123456789012346", Shipped),
                ("240603-123456789012347", Refunded),
                ("240604-123456789012348", Closed),
            ],
        },
        Fixture {
            file: "youzan_orders.csv",
            platform: Platform::Youzan,
            shop: "",
            rows: 9,
            orders: 4,
            lines: 6,
            matched: 3,
            errors: &[(9, "too_many_decimals"), (10, "order_has_bad_row")],
            statuses: &[
                ("E20240701100000000001", Received),
                ("E20240702100000000002", PartiallyRefunded),
                ("E20240703100000000003", Refunded),
                ("E20240704100000000004", Closed),
            ],
        },
        Fixture {
            file: "douyin_orders.csv",
            platform: Platform::Douyin,
            shop: "",
            rows: 9,
            orders: 4,
            lines: 6,
            matched: 0,
            errors: &[(9, "too_many_decimals"), (10, "order_has_bad_row")],
            statuses: &[
                ("6920000000000000001", Received),
                ("6920000000000000002", PartiallyRefunded),
                ("6920000000000000003", Refunded),
                ("6920000000000000004", Closed),
            ],
        },
    ]
};

async fn every_fixture_imports_its_orders_lines_and_row_errors_and_importing_it_again_changes_nothing(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut total = 0;
    for f in FIXTURES {
        let (file, orders, matched) = (f.file, f.orders, f.matched);
        let bytes = fixture(file);
        let r = import_job(app, owner, file, &bytes, &prospects()).await;
        assert_eq!(r.platform, Some(f.platform), "{file}");
        assert_eq!(
            (r.rows, r.orders, r.lines, r.skipped_orders, r.duplicate_rows),
            (f.rows, orders, f.lines, 1, 1),
            "{file}"
        );
        assert_eq!((r.new, r.updated, r.unchanged, r.kept_older), (orders, 0, 0, 0), "{file}");
        assert_eq!((r.matched, r.prospects, r.unmatched), (matched, matched, orders - matched), "{file}");
        let got: Vec<(u32, &str)> = r.errors.iter().map(|e| (e.row, e.code.as_str())).collect();
        assert_eq!(got, f.errors, "{file}");
        for (id, status) in f.statuses {
            let stored = app.store.orders().by_key(owner.tenant, f.platform, f.shop, id).await.unwrap();
            assert_eq!(stored.order.status, *status, "{file} {id}");
            let history = app.store.orders().history(owner.tenant, stored.order.id).await.unwrap();
            assert_eq!(history.len(), 1, "{file} {id}: the first import records the first status");
        }
        total += orders;

        let again = import_job(app, owner, file, &bytes, &prospects()).await;
        assert_eq!((again.new, again.updated, again.unchanged, again.kept_older), (0, 0, orders, 0), "{file} again");
        assert_eq!((again.matched, again.prospects, again.unmatched), (matched, 0, orders - matched), "{file} again");
        assert_eq!(again.errors, r.errors, "{file}: the same rows are reported again");
    }
    assert_eq!(app.count_orders(owner, None).await.unwrap(), total as i64);
    let customers = app.count_customers(owner, &CustomerFilter::default()).await.unwrap();
    assert_eq!(customers, 10, "one prospect per buyer with an identifier, none twice");
    let filter = CustomerFilter { q: Some("tb_lilei".into()), ..Default::default() };
    let prospect = app.list_customers(owner, &filter, PageRequest::first(5)).await.unwrap().items.remove(0).customer;
    assert_eq!(prospect.source, "order_import");
    let theirs = app.customer_orders(owner, prospect.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].paid_fen, theirs[0].match_method.as_deref()), (25_700, Some("prospect")));
    let detail = app.order(owner, theirs[0].id).await.unwrap();
    let paid: Vec<i64> = detail.lines.iter().map(|l| l.paid_fen).collect();
    assert_eq!(paid, vec![19_900, 5_800]);
    let timeline = app.store.timeline().of_customer(owner.tenant, prospect.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| e.kind == kinds::ORDER_IMPORTED).count(), 1, "imported once, not twice");
}

pub(crate) const YOUZAN_HEADER: &str = "订单号,订单状态,订单创建时间,买家付款时间,交易成功时间,粉丝昵称,买家手机号,商品名称,商品规格,\
    规格编码,商品单价,商品数量,商品实际成交金额,商品退款状态,商品已退款金额,运费,订单实付金额,订单已退款金额,订单退款状态,\
    收货人/提货人,收货人手机号/提货人手机号,详细收货地址/提货地址\n";

/// One Youzan order row: id, status, buyer phone, receiver phone.
pub(crate) fn youzan(id: &str, status: &str, buyer_phone: &str, receiver_phone: &str) -> String {
    format!(
        "{id},{status},2024-07-01 10:00:00,2024-07-01 10:00:40,,小王同学,{buyer_phone},燕麦牛奶,原味,OAT-12,59.00,1,59.00,,\
         0.00,0.00,59.00,0.00,,王小明,{receiver_phone},北京市 东城区 东直门内大街6号\n"
    )
}

async fn youzan_order(app: &App, actor: &Actor, id: &str) -> OrderRecord {
    app.store.orders().by_key(actor.tenant, Platform::Youzan, "", id).await.unwrap().order
}

async fn customer_with_phone(app: &App, actor: &Actor, phone: &str) -> siyu_domain::id::CustomerId {
    let input = siyu_app::customers::NewCustomerInput {
        name: "老顾客".into(),
        phone: Some(phone.into()),
        ..Default::default()
    };
    app.create_customer(actor, input).await.unwrap().id
}

async fn an_order_that_moved_from_paid_to_shipped_is_updated_once_with_history_and_an_older_file_changes_nothing(
    ctx: Ctx,
) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let customer = customer_with_phone(app, owner, "13712345678").await;
    let paid = format!("{YOUZAN_HEADER}{}", youzan("E1", "待发货", "13712345678", "13712345678"));
    let shipped = format!("{YOUZAN_HEADER}{}", youzan("E1", "已发货", "13712345678", "13712345678"));
    let first = import_text(app, owner, &paid, &OrderImportOptions::default()).await;
    assert_eq!((first.new, first.matched), (1, 1));

    let moved = import_text(app, owner, &shipped, &OrderImportOptions::default()).await;
    assert_eq!((moved.new, moved.updated, moved.unchanged, moved.status_changes), (0, 1, 0, 1));
    let order = app.store.orders().by_key(owner.tenant, Platform::Youzan, "", "E1").await.unwrap().order;
    assert_eq!(
        (order.status, order.customer_id, order.match_method.as_deref()),
        (OrderStatus::Shipped, Some(customer), Some("phone"))
    );
    let detail = app.order(owner, order.id).await.unwrap();
    let history: Vec<_> = detail.history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(history, vec![(None, OrderStatus::Paid), (Some(OrderStatus::Paid), OrderStatus::Shipped)]);
    let timeline = app.store.timeline().of_customer(owner.tenant, customer, PageRequest::first(20)).await.unwrap();
    let kinds_seen: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).filter(|k| k.starts_with("order_")).collect();
    assert_eq!(kinds_seen, vec![kinds::ORDER_STATUS_CHANGED, kinds::ORDER_IMPORTED]);
    let changed = timeline.iter().find(|e| e.kind == kinds::ORDER_STATUS_CHANGED).unwrap();
    assert_eq!((changed.payload["from"].as_str(), changed.payload["to"].as_str()), (Some("paid"), Some("shipped")));

    // The same shipped file again, then the older paid export: nothing moves backwards.
    let again = import_text(app, owner, &shipped, &OrderImportOptions::default()).await;
    assert_eq!((again.updated, again.unchanged, again.status_changes), (0, 1, 0));
    let older = import_text(app, owner, &paid, &OrderImportOptions::default()).await;
    assert_eq!((older.updated, older.unchanged, older.kept_older), (0, 0, 1));
    let after = app.order(owner, order.id).await.unwrap();
    assert_eq!((after.order.status, after.history.len()), (OrderStatus::Shipped, 2));
}

async fn a_masked_or_receiver_phone_never_matches_an_existing_customer_while_a_full_buyer_phone_does(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let customer = customer_with_phone(app, owner, "13712345678").await;
    let csv = format!(
        "{YOUZAN_HEADER}{}{}{}",
        youzan("MASKED", "待发货", "137****5678", "13712345678"),
        youzan("VIRTUAL", "待发货", "13712345678-1234", "137****5678"),
        youzan("FULL", "待发货", "13712345678", "186****9999"),
    );
    let r = import_text(app, owner, &csv, &prospects()).await;
    assert_eq!((r.new, r.matched, r.unmatched, r.prospects), (3, 1, 2, 0), "no keys, so no prospects either");
    let masked = youzan_order(app, owner, "MASKED").await;
    assert_eq!(masked.customer_id, None, "the receiver's full number is the customer's, but never a key");
    assert_eq!(
        masked.hints,
        vec![
            MatchHint::MaskedPhone { role: PhoneRole::Buyer, masked: "137****5678".into() },
            MatchHint::ReceiverMobile
        ]
    );
    assert!(masked.receiver.phone_lookup.is_some(), "a full receiver mobile is blind-indexed for suggestions");
    assert_eq!(youzan_order(app, owner, "VIRTUAL").await.customer_id, None);
    let full = youzan_order(app, owner, "FULL").await;
    assert_eq!((full.customer_id, full.match_method.as_deref()), (Some(customer), Some("phone")));
    let theirs = app.customer_orders(owner, customer, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(theirs.iter().map(|o| o.platform_order_id.as_str()).collect::<Vec<_>>(), vec!["FULL"]);
    assert_eq!(theirs[0].receiver_phone.as_deref(), Some("186****9999"));
}

async fn receiver_names_phones_and_addresses_are_stored_only_encrypted(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    for file in ["taobao_order_report.csv", "youzan_orders.csv"] {
        import_job(app, owner, file, &fixture(file), &prospects()).await;
    }
    let raw: Vec<u8> = match app.store.raw_dump().await.unwrap() {
        Some(text) => text.into_bytes(),
        None => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(ctx._db.dir.as_ref().unwrap().path()).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            bytes
        }
    };
    let haystack = String::from_utf8_lossy(&raw);
    assert!(haystack.contains("3901234567890123") && haystack.contains("tb_lilei"), "the dump holds the orders");
    for phone in ["13812345678", "13712345678", "13698765432"] {
        assert!(!haystack.contains(phone), "{phone} found in clear text");
        // Order numbers contain runs like 12345678, so the tail compared is ten digits long.
        assert!(!haystack.contains(&phone[1..]), "the tail of {phone} found");
    }
    for text in ["张江路88号", "东直门内大街6号", "韩梅梅", "王小明"] {
        assert!(!haystack.contains(text), "{text} found in clear text");
    }
}

async fn orders_are_visible_only_within_their_tenant_and_the_scope_of_their_customer(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let customer = customer_with_phone(app, owner, "13712345678").await;
    let csv =
        format!("{YOUZAN_HEADER}{}{}", youzan("MINE", "待发货", "13712345678", ""), youzan("NOBODY", "待发货", "", ""));
    import_text(app, owner, &csv, &OrderImportOptions::default()).await;
    let (mine, nobody) = (youzan_order(app, owner, "MINE").await.id, youzan_order(app, owner, "NOBODY").await.id);

    let staff = ctx.member("staff", siyu_domain::access::Role::Staff, siyu_domain::access::DataScope::SelfOnly).await;
    for id in [mine, nobody] {
        assert_eq!(app.order(&staff, id).await.unwrap_err().code(), ErrorCode::NotFound);
    }
    assert_eq!(
        app.customer_orders(&staff, customer, PageRequest::first(5)).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(app.count_orders(&staff, None).await.unwrap_err().code(), ErrorCode::Forbidden);
    let table = Table::read("o.csv", csv.as_bytes()).unwrap();
    let refused = app.import_orders(&staff, table, &OrderImportOptions::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Forbidden, "importing needs the import permission");

    let brand = app.create_tenant("别的品牌").await.unwrap();
    let account = app.create_account("stranger", "外人", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(brand.id, &account, siyu_domain::access::Role::Owner, None, None).await.unwrap();
    let stranger = Actor::for_member(&app.store, &member, siyu_app::actor::Via::System).await.unwrap();
    for id in [mine, nobody] {
        assert_eq!(app.order(&stranger, id).await.unwrap_err().code(), ErrorCode::NotFound);
    }
    assert_eq!(app.count_orders(&stranger, None).await.unwrap(), 0);
    // The same file in the other brand matches nobody there and is new there.
    let theirs = import_text(app, &stranger, &csv, &OrderImportOptions::default()).await;
    assert_eq!((theirs.new, theirs.matched), (2, 0));
    assert_eq!(app.count_orders(owner, Some(customer)).await.unwrap(), 1);
    assert_eq!(app.count_orders(owner, None).await.unwrap(), 2);

    let unknown = Table::read("x.csv", "姓名,手机号\n张三,13812345678\n".as_bytes()).unwrap();
    let e = app.import_orders(owner, unknown, &OrderImportOptions::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
}

async fn an_unmatched_order_waits_and_joins_the_customer_whose_identity_arrives_later(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let waiting = OrderImportOptions { create_prospects: false, ..Default::default() };
    let csv = format!("{YOUZAN_HEADER}{}", youzan("LATER", "已发货", "13811112222", "13811112222"));
    let r = import_text(app, owner, &csv, &waiting).await;
    assert_eq!((r.matched, r.unmatched, r.prospects), (0, 1, 0));
    assert_eq!(youzan_order(app, owner, "LATER").await.customer_id, None);

    // The buyer signs in to the mini-program and verifies the same mobile (getPhoneNumber).
    let key = app.create_source(owner, "小程序", siyu_domain::source::SourceKind::MiniProgram).await.unwrap().1;
    let identify = serde_json::json!({"type": "identify", "anonymousId": "mp-1", "context": {"externalIds":
        [{"type": "mobile", "id": "13811112222", "verified_by": "getPhoneNumber"}]}});
    let body = serde_json::to_vec(&identify).unwrap();
    let single = siyu_domain::event::Endpoint::Single(siyu_domain::event::MessageType::Identify);
    app.ingest(single, &body, Some(&key)).await.unwrap();
    app.run_due_work().await.unwrap();

    let order = youzan_order(app, owner, "LATER").await;
    let customer = order.customer_id.expect("linked once the identity arrived");
    assert_eq!(order.match_method.as_deref(), Some("phone"));
    let figures = app.customer_aggregates(owner, customer).await.unwrap();
    assert_eq!((figures.order_count, figures.paid_fen), (1, 5_900));
}

async fn an_order_shipped_to_another_customers_phone_suggests_a_merge_and_never_merges(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let receiver = customer_with_phone(app, owner, "13712345678").await;
    let csv = format!("{YOUZAN_HEADER}{}", youzan("GIFT", "已发货", "13900000001", "13712345678"));
    let r = import_text(app, owner, &csv, &prospects()).await;
    assert_eq!(r.prospects, 1, "the buyer is new");
    let buyer = youzan_order(app, owner, "GIFT").await.customer_id.unwrap();
    assert_ne!(buyer, receiver);
    let open = app.merge_suggestions(owner, siyu_domain::graph::SuggestionStatus::Open, None, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].reason, siyu_domain::graph::SuggestionReason::ReceiverPhone);
    let pair = [open[0].a.customer.id, open[0].b.customer.id];
    assert!(pair.contains(&buyer) && pair.contains(&receiver));
    assert_eq!(open[0].evidence["display"], "137****5678");
}
