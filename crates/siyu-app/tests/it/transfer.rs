//! Importing customers from files: good rows in, bad rows reported, no duplicates on re-import.

mod export;

use siyu_app::customers::{IdentityInput, NewCustomerInput};
use siyu_app::fields::NewField;
use siyu_app::transfer::{ColumnMapping, ImportReport, RowAction, Table};
use siyu_app::{Actor, App, ErrorCode};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::customer::{CustomerFilter, Gender};
use siyu_domain::field::FieldKind;
use siyu_domain::id::CustomerId;
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;

use crate::Ctx;

crate::on_both_backends!(
    a_file_with_bad_rows_imports_the_good_rows_and_reports_each_bad_one,
    nothing_is_half_imported_within_a_row,
    re_importing_the_same_file_creates_no_duplicates_and_merges_changes,
    the_preview_reports_exactly_what_the_import_does_without_writing,
    a_phone_repeated_in_a_file_fails_the_later_row,
    xlsx_and_gbk_files_import_like_utf8_csv,
    rows_naming_customers_outside_the_data_scope_are_refused,
    a_tag_catalogue_imports_once,
    openids_are_imported_within_the_appid_the_mapping_names,
);

pub fn csv(text: &str) -> Table {
    Table::read("customers.csv", text.as_bytes()).unwrap()
}

pub async fn import(app: &App, actor: &Actor, table: &Table) -> ImportReport {
    let mapping = ColumnMapping::suggest(&table.headers, &app.fields(actor).await.unwrap());
    app.import_customers(actor, table, &mapping, &mut |_| {}).await.unwrap()
}

async fn count(app: &App, actor: &Actor) -> i64 {
    app.count_customers(actor, &CustomerFilter::default()).await.unwrap()
}

/// The customer found by an exact phone search.
async fn by_phone(app: &App, actor: &Actor, phone: &str) -> Option<CustomerId> {
    let f = CustomerFilter { q: Some(phone.into()), ..Default::default() };
    let page = app.list_customers(actor, &f, PageRequest::first(10)).await.unwrap();
    assert!(page.items.len() <= 1);
    page.items.first().map(|c| c.customer.id)
}

const MIXED: &str = "姓名,手机号,性别,邮箱,标签,备注\n\
    张三,13812345678,男,zs@example.com,\"会员:金卡、高意向\",老客户\n\
    李四,1381234567,女,,,\n\
    王五,13912345678,外星,not-an-email,,\n\
    ,13712345678,,,,没有名字\n\
    赵六,+86 136-1234-5678,female,,高意向,\n";

async fn a_file_with_bad_rows_imports_the_good_rows_and_reports_each_bad_one(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let report = import(app, owner, &csv(MIXED)).await;
    assert_eq!((report.total_rows, report.created, report.skipped), (5, 2, 3), "{report:?}");
    let rows: Vec<(u32, Option<&str>, &str)> =
        report.errors.iter().map(|e| (e.row, e.column.as_deref(), e.code.as_str())).collect();
    assert_eq!(
        rows,
        vec![
            (3, Some("手机号"), "invalid_input"),
            (4, Some("性别"), "invalid_input"),
            (4, Some("邮箱"), "invalid_input"),
            (5, Some("姓名"), "invalid_input"),
        ]
    );
    assert!(report.errors.iter().all(|e| !e.message.contains("1381234567")));
    assert_eq!(count(app, owner).await, 2);
    let zs = by_phone(app, owner, "13812345678").await.unwrap();
    let detail = app.get_customer(owner, zs).await.unwrap();
    assert_eq!((detail.customer.gender, detail.customer.source.as_str()), (Gender::Male, "import"));
    let mut tags: Vec<String> = detail.tags.iter().map(|t| format!("{}:{}", t.group, t.name)).collect();
    tags.sort();
    assert_eq!(tags, vec!["会员:金卡", "导入标签:高意向"]);
    assert_eq!(report.new_tags.len(), 2, "高意向 is created once and reused by row 6");
    assert!(by_phone(app, owner, "13612345678").await.is_some());
}

async fn nothing_is_half_imported_within_a_row(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let field =
        NewField { key: "birthday".into(), label: "生日".into(), kind: FieldKind::Date, options: vec![], sort: 0 };
    app.create_field(owner, field).await.unwrap();
    let group = siyu_app::tags::NewTagGroup {
        name: "等级".into(),
        exclusive: true,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["金卡".into(), "银卡".into()],
    };
    app.create_tag_group(owner, group).await.unwrap();
    let file = "姓名,手机号,生日,标签\n\
        甲,13812345678,不是日期,\n\
        乙,13912345678,,\"等级:金卡,等级:银卡\"\n";
    let report = import(app, owner, &csv(file)).await;
    assert_eq!((report.created, report.skipped), (0, 2), "{report:?}");
    assert_eq!(count(app, owner).await, 0);
    assert!(by_phone(app, owner, "13812345678").await.is_none());
    assert!(by_phone(app, owner, "13912345678").await.is_none());

    // An update is one transaction too: a taken identity leaves the profile as it was.
    let a = app.create_customer(owner, NewCustomerInput { name: "甲".into(), ..Default::default() }).await.unwrap();
    let b = NewCustomerInput { name: "乙".into(), phone: Some("13712345678".into()), ..Default::default() };
    app.create_customer(owner, b).await.unwrap();
    let mut changed = app.store.customers().get(owner.tenant, a.id).await.unwrap();
    changed.name = "甲改".into();
    let id = IdentityInput { kind: IdentityKind::Phone, namespace: None, value: "13712345678".into() };
    let rec = app.identity_record(owner, a.id, &id, "import").await.unwrap();
    let ctx_ =
        siyu_store::tags::ChangeContext { actor: Some(owner.user), source: "import", reason: "import", at: app.now() };
    let merge = siyu_store::customers::CustomerMerge {
        customer: &changed,
        profile_changed: true,
        identities: std::slice::from_ref(&rec),
        tags: &[],
        ctx: &ctx_,
        timeline: &[],
    };
    assert!(app.store.customers().merge(owner.tenant, &merge).await.is_err());
    assert_eq!(app.store.customers().get(owner.tenant, a.id).await.unwrap().name, "甲");
}

async fn re_importing_the_same_file_creates_no_duplicates_and_merges_changes(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let first = import(app, owner, &csv(MIXED)).await;
    let again = import(app, owner, &csv(MIXED)).await;
    assert_eq!((again.created, again.updated, again.unchanged, again.skipped), (0, 0, 2, 3), "{again:?}");
    assert!(again.new_tags.is_empty());
    assert_eq!(count(app, owner).await, i64::try_from(first.created).unwrap());

    // Changed cells overwrite, empty cells keep, tags and identities are added.
    let file = "手机号,姓名,备注,邮箱,标签,unionid\n13812345678,张三丰,,zs2@example.com,VIP,oUnion1\n";
    let merged = import(app, owner, &csv(file)).await;
    assert_eq!((merged.created, merged.updated), (0, 1), "{merged:?}");
    let id = by_phone(app, owner, "13812345678").await.unwrap();
    let d = app.get_customer(owner, id).await.unwrap();
    assert_eq!((d.customer.name.as_str(), d.customer.remark.as_deref()), ("张三丰", Some("老客户")));
    assert_eq!(d.tags.len(), 3);
    let kinds: Vec<IdentityKind> = d.identities.iter().map(|i| i.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == IdentityKind::Email).count(), 2);
    assert!(kinds.contains(&IdentityKind::Unionid));
    // Found by unionid alone next time.
    let by_union = import(app, owner, &csv("unionid,备注\noUnion1,通过 unionid 找到\n")).await;
    assert_eq!((by_union.created, by_union.updated), (0, 1));
    assert_eq!(count(app, owner).await, 2);
}

async fn the_preview_reports_exactly_what_the_import_does_without_writing(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    app.create_customer(
        owner,
        NewCustomerInput { name: "旧".into(), phone: Some("13612345678".into()), ..Default::default() },
    )
    .await
    .unwrap();
    let table = csv(MIXED);
    let mapping = ColumnMapping::suggest(&table.headers, &[]);
    let preview = app.preview_import(owner, &table, &mapping).await.unwrap();
    assert_eq!((preview.total_rows, preview.valid_rows, preview.to_create, preview.to_update), (5, 2, 1, 1));
    assert_eq!(preview.new_tags, vec!["会员:金卡", "导入标签:高意向"]);
    assert_eq!(preview.sample.len(), 5);
    assert_eq!(preview.sample[0].phone.as_deref(), Some("138****5678"));
    assert_eq!(preview.sample[1].action, RowAction::Error);
    assert_eq!(preview.sample[4].action, RowAction::Update);
    assert_eq!(count(app, owner).await, 1, "a preview writes nothing");
    assert!(app.tag_groups(owner).await.unwrap().is_empty());
    let report = app.import_customers(owner, &table, &mapping, &mut |_| {}).await.unwrap();
    assert_eq!(report.errors, preview.errors);
    assert_eq!((report.created, report.updated), (preview.to_create, preview.to_update));
}

async fn a_phone_repeated_in_a_file_fails_the_later_row(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let file = "姓名,手机号\n甲,13812345678\n乙,13912345678\n丙,138-1234-5678\n";
    let report = import(app, owner, &csv(file)).await;
    assert_eq!((report.created, report.skipped), (2, 1));
    let e = &report.errors[0];
    assert_eq!((e.row, e.code.as_str(), e.column.as_deref()), (4, "duplicate_identity", Some("手机号")));
    assert!(e.message.contains("row 2"), "{}", e.message);
}

async fn xlsx_and_gbk_files_import_like_utf8_csv(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["客户姓名", "手机号码", "性别"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "表格客户").unwrap();
    ws.write_number(1, 1, 13812345678.0).unwrap();
    ws.write_number(1, 2, 2.0).unwrap();
    let table = Table::read("客户.xlsx", &book.save_to_buffer().unwrap()).unwrap();
    assert_eq!(import(app, owner, &table).await.created, 1);
    let id = by_phone(app, owner, "13812345678").await.unwrap();
    assert_eq!(app.get_customer(owner, id).await.unwrap().customer.gender, Gender::Female);

    let (gbk, _, _) = encoding_rs::GB18030.encode("姓名,手机\n老王,13912345678\n");
    let report = import(app, owner, &Table::read("gbk.csv", &gbk).unwrap()).await;
    assert_eq!(report.created, 1);
    let id = by_phone(app, owner, "13912345678").await.unwrap();
    assert_eq!(app.get_customer(owner, id).await.unwrap().customer.name, "老王");
}

async fn rows_naming_customers_outside_the_data_scope_are_refused(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    import(app, owner, &csv("姓名,手机号\n甲,13812345678\n")).await;
    let scoped = ctx.member("scoped", Role::Operator, DataScope::SelfOnly).await;
    let report = import(app, &scoped, &csv("姓名,手机号\n甲二,13812345678\n乙,13912345678\n")).await;
    assert_eq!((report.created, report.updated, report.skipped), (1, 0, 1), "{report:?}");
    assert_eq!(report.errors[0].code, "duplicate_identity");
    assert_eq!(count(app, &scoped).await, 1, "the new customer follows the importer");
    let staff = ctx.member("staff", Role::Staff, DataScope::SelfOnly).await;
    let table = csv("姓名\n甲\n");
    let err = app.preview_import(&staff, &table, &ColumnMapping::suggest(&table.headers, &[])).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
}

async fn a_tag_catalogue_imports_once(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let file = "标签组,标签,单选\n会员等级,\"金卡,银卡\",是\n兴趣,美妆,否\n兴趣,护肤,\n,孤儿,\n";
    let dry = app.import_tags(owner, &csv(file), true).await.unwrap();
    assert_eq!((dry.groups_created, dry.tags_created, dry.errors.len()), (2, 4, 1));
    assert!(app.tag_groups(owner).await.unwrap().is_empty());
    let real = app.import_tags(owner, &csv(file), false).await.unwrap();
    assert_eq!(real, dry);
    assert_eq!(real.errors[0].row, 5);
    let groups = app.tag_groups(owner).await.unwrap();
    let level = groups.iter().find(|g| g.group.name == "会员等级").unwrap();
    assert!(level.group.exclusive);
    assert_eq!(level.tags.len(), 2);
    let again = app.import_tags(owner, &csv(file), false).await.unwrap();
    assert_eq!((again.groups_created, again.tags_created, again.existing), (0, 0, 4));
}

async fn openids_are_imported_within_the_appid_the_mapping_names(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let table = csv("昵称,openid\n小程序用户,o6_bmjrPTlm6_2sgVt7hMZOPfL2M\n");
    let mut mapping = ColumnMapping::suggest(&table.headers, &[]);
    let err = app.preview_import(owner, &table, &mapping).await.unwrap_err();
    assert!(err.to_string().contains("openid_needs_an_appid"), "{err}");
    mapping.appid = Some("wx1234567890".into());
    let report = app.import_customers(owner, &table, &mapping, &mut |_| {}).await.unwrap();
    assert_eq!(report.created, 1);
    let again = app.import_customers(owner, &table, &mapping, &mut |_| {}).await.unwrap();
    assert_eq!(again.unchanged, 1, "the same openid in the same appid is the same customer");
    mapping.appid = Some("wx_other_app".into());
    let other_app = app.import_customers(owner, &table, &mapping, &mut |_| {}).await.unwrap();
    assert_eq!(other_app.created, 1, "an openid is only unique within its appid");
    let page = app.list_customers(owner, &CustomerFilter::default(), PageRequest::first(10)).await.unwrap();
    let d = app.get_customer(owner, page.items[0].customer.id).await.unwrap();
    assert_eq!((d.identities[0].kind, d.identities[0].namespace.as_str()), (IdentityKind::Openid, "wx_other_app"));
}
