//! Privacy services: who may erase, what an erasure records, and the write paths an erased customer closes
//! (bulk tagging skips it). The HTTP side, the access export and the raw-bytes check are in siyu-web's tests.

use serde_json::Value;
use siyu_app::customers::NewCustomerInput;
use siyu_app::tags::{BulkTagRequest, BulkTarget, FilterSpec, NewTagGroup};
use siyu_app::{AppError, ErrorCode};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::audit::AuditEntry;
use siyu_domain::id::CustomerId;
use siyu_domain::privacy::{ConsentPurpose, ConsentSource, ConsentStatus, PrivacyRequestKind};
use siyu_store::audit::AuditQuery;

use crate::Ctx;

crate::on_both_backends!(
    only_owners_and_admins_may_erase_and_the_erasure_is_recorded_and_audited_with_its_counts,
    bulk_tagging_by_filter_skips_an_erased_customer,
    a_consent_set_without_a_source_takes_the_callers_and_is_refused_after_erasure,
);

async fn customer(ctx: &Ctx, name: &str, phone: Option<&str>) -> CustomerId {
    let input = NewCustomerInput { name: name.into(), phone: phone.map(str::to_string), ..Default::default() };
    ctx.app.create_customer(&ctx.owner, input).await.unwrap().id
}

async fn audit(ctx: &Ctx, action: &str) -> Vec<AuditEntry> {
    let q = AuditQuery { action_prefix: Some(action.into()), limit: 50, ..Default::default() };
    ctx.app.audit_log(&ctx.owner, q).await.unwrap().items
}

async fn only_owners_and_admins_may_erase_and_the_erasure_is_recorded_and_audited_with_its_counts(ctx: Ctx) {
    let app = &ctx.app;
    let id = customer(&ctx, "陈静", Some("13955550000")).await;
    let operator = ctx.member("operator", Role::Operator, DataScope::All).await;
    let refused = app.erase_customer(&operator, id).await;
    assert!(matches!(refused, Err(AppError::Forbidden)), "{refused:?}");
    let admin = ctx.member("admin", Role::Admin, DataScope::All).await;
    let report = app.erase_customer(&admin, id).await.unwrap();
    assert!(!report.already_erased);
    assert_eq!((report.request.kind, report.request.actor_id), (PrivacyRequestKind::Erasure, Some(admin.user)));
    assert_eq!(report.request.detail["counts"]["identities"], 1);
    assert_eq!(app.privacy_requests(&ctx.owner, id).await.unwrap(), vec![report.request.clone()]);
    let entries = audit(&ctx, "customer.erase").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].object_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(entries[0].detail["counts"]["customer"], 1);
    let text = serde_json::to_string(&entries[0].detail).unwrap();
    assert!(!text.contains("陈静") && !text.contains("13955550000"), "the audit entry names no one");
    let detail = app.get_customer(&ctx.owner, id).await.unwrap();
    assert_eq!(detail.customer.name, siyu_domain::privacy::ERASED_NAME);
    assert!(app.erased_at(&ctx.owner, id).await.unwrap().is_some());
}

async fn bulk_tagging_by_filter_skips_an_erased_customer(ctx: Ctx) {
    let app = &ctx.app;
    let (kept, erased) = (customer(&ctx, "留下的", None).await, customer(&ctx, "注销的", None).await);
    app.erase_customer(&ctx.owner, erased).await.unwrap();
    let group = NewTagGroup {
        name: "活动".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["双十一".into()],
    };
    let tag = app.create_tag_group(&ctx.owner, group).await.unwrap().tags[0].tag.id;
    let req = BulkTagRequest { target: BulkTarget::Filter(FilterSpec::default()), add: vec![tag], remove: vec![] };
    app.bulk_tag(&ctx.owner, req).await.unwrap();
    assert!(app.run_due_work().await.unwrap() >= 1);
    let held = app.tag_refs(&ctx.owner, &[kept, erased]).await.unwrap();
    assert_eq!(held.get(&kept).map(Vec::len), Some(1));
    assert!(!held.contains_key(&erased), "an erased customer takes no tags");
    let refused = app.tag_customer(&ctx.owner, erased, &[tag], &[]).await;
    assert!(matches!(&refused, Err(e) if e.code() == ErrorCode::CustomerErased), "{refused:?}");
}

async fn a_consent_set_without_a_source_takes_the_callers_and_is_refused_after_erasure(ctx: Ctx) {
    let app = &ctx.app;
    let id = customer(&ctx, "林琳", None).await;
    let staff = ctx.member("staff", Role::Staff, DataScope::SelfOnly).await;
    let hidden = app.set_consent(&staff, id, ConsentPurpose::Marketing, ConsentStatus::Granted, None).await;
    assert!(matches!(hidden, Err(AppError::NotFound)), "outside the scope: {hidden:?}");
    let c = app.set_consent(&ctx.owner, id, ConsentPurpose::Marketing, ConsentStatus::Granted, None).await.unwrap();
    assert_eq!(c.source, Some(ConsentSource::Import), "the CLI and jobs record as an import");
    let entries = audit(&ctx, "consent.change").await;
    assert_eq!(entries[0].detail["to"], Value::from("granted"));
    app.erase_customer(&ctx.owner, id).await.unwrap();
    let view = app.consents(&ctx.owner, id).await.unwrap();
    assert_eq!(view.consents[0].status, ConsentStatus::Withdrawn);
    assert_eq!(view.history[0].reason, "erasure");
    let again = app.set_consent(&ctx.owner, id, ConsentPurpose::Marketing, ConsentStatus::Granted, None).await;
    assert!(matches!(again, Err(AppError::CustomerErased)), "{again:?}");
}
