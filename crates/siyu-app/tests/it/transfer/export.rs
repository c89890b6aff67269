//! Exporting customers: masked PII unless revealed, data scope, audit, and files Excel opens.

use siyu_app::fields::NewField;
use siyu_app::transfer::{ExportFormat, ExportRequest, Table};
use siyu_app::{Actor, App, ErrorCode};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::field::FieldKind;
use siyu_store::audit::AuditQuery;

use super::{csv, import};
use crate::Ctx;

crate::on_both_backends!(
    exports_mask_phones_unless_a_permitted_member_asks_and_are_audited,
    an_xlsx_export_reads_back_with_its_headers_and_rows,
    exports_stay_within_the_data_scope_and_the_filter,
);

const FILE: &str = "姓名,手机号,邮箱,性别,标签,备注\n\
    张三,13812345678,zs@example.com,男,会员:金卡,=HYPERLINK(\"x\")\n\
    李四,13912345678,,女,,\n";

async fn export(app: &App, actor: &Actor, request: ExportRequest) -> Result<String, siyu_app::AppError> {
    let (bytes, _) = app.export_customers(actor, request, Vec::new()).await?;
    Ok(String::from_utf8(bytes).unwrap())
}

async fn exports_mask_phones_unless_a_permitted_member_asks_and_are_audited(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    import(app, owner, &csv(FILE)).await;
    let text = export(app, owner, ExportRequest::default()).await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM lets Excel read UTF-8");
    assert!(text.contains("138****5678") && text.contains("z***@example.com"), "{text}");
    assert!(!text.contains("13812345678") && !text.contains("zs@example.com"));
    assert!(text.contains("会员:金卡") && text.contains("'=HYPERLINK"));
    let header = text.lines().next().unwrap();
    assert!(header.contains("id,姓名,手机号,邮箱,性别,标签,备注,来源,创建时间,最近活跃"), "{header}");

    let revealed = export(app, owner, ExportRequest { reveal_pii: true, ..Default::default() }).await.unwrap();
    assert!(revealed.contains("13812345678") && revealed.contains("zs@example.com"));

    let operator = ctx.member("operator", Role::Operator, DataScope::All).await;
    let asked = export(app, &operator, ExportRequest { reveal_pii: true, ..Default::default() }).await;
    assert_eq!(asked.unwrap_err().code(), ErrorCode::Forbidden);
    let auditor = ctx.member("auditor", Role::Auditor, DataScope::All).await;
    assert_eq!(export(app, &auditor, ExportRequest::default()).await.unwrap_err().code(), ErrorCode::Forbidden);

    let q = AuditQuery {
        action_prefix: Some("customer.export".into()),
        actor: None,
        object_id: None,
        before: None,
        limit: 10,
    };
    let log = app.audit_log(owner, q).await.unwrap().items;
    assert_eq!(log.len(), 2);
    assert!(log.iter().any(|e| e.detail["reveal_pii"] == true && e.detail["rows"] == 2));
}

async fn an_xlsx_export_reads_back_with_its_headers_and_rows(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let field =
        NewField { key: "points".into(), label: "积分".into(), kind: FieldKind::Number, options: vec![], sort: 0 };
    app.create_field(owner, field).await.unwrap();
    import(app, owner, &csv(&FILE.replace("备注\n", "备注,积分\n").replace("\"x\")\n", "\"x\"),1200\n"))).await;
    let request = ExportRequest { format: ExportFormat::Xlsx, ..Default::default() };
    let (bytes, rows) = app.export_customers(owner, request, Vec::new()).await.unwrap();
    assert_eq!(rows, 2);
    let table = Table::read("export.xlsx", &bytes).unwrap();
    assert_eq!(&table.headers[..4], ["id", "姓名", "手机号", "邮箱"]);
    let names: Vec<&str> = table.rows.iter().map(|r| r.cells[1].as_str()).collect();
    assert_eq!(names, vec!["张三", "李四"]);
    assert_eq!(table.rows[0].cells[2], "138****5678");
    assert_eq!(table.rows[0].cells[6], "=HYPERLINK(\"x\")", "a string cell, never a formula");
    assert_eq!(table.headers[8], "积分");
    assert_eq!(table.rows[0].cells[8], "1200");
}

async fn exports_stay_within_the_data_scope_and_the_filter(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    import(app, owner, &csv(FILE)).await;
    let scoped = ctx.member("scoped", Role::Operator, DataScope::SelfOnly).await;
    import(app, &scoped, &csv("姓名,手机号\n自己的,13712345678\n")).await;
    let mine = export(app, &scoped, ExportRequest::default()).await.unwrap();
    assert_eq!(mine.lines().count(), 2, "{mine}");
    assert!(mine.contains("自己的"));
    let everyone = export(app, owner, ExportRequest::default()).await.unwrap();
    assert_eq!(everyone.lines().count(), 4);
    let gold = app.tag_groups(owner).await.unwrap()[0].tags[0].tag.id;
    let filter = CustomerFilter { tags_any: vec![gold], ..Default::default() };
    let tagged = export(app, owner, ExportRequest { filter, ..Default::default() }).await.unwrap();
    assert_eq!(tagged.lines().count(), 2);
    assert!(tagged.contains("张三"));
}
