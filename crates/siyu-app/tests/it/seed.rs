use chrono::{Duration, Utc};
use serde_json::{Map, json};
use siyu_app::AppError;
use siyu_app::customers::IdentityInput;
use siyu_app::fields::NewField;
use siyu_app::seed::{NewCustomerBulk, TagInput};
use siyu_app::tags::NewTagGroup;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Gender, Note};
use siyu_domain::field::FieldKind;
use siyu_domain::id::{CustomerId, NoteId, TagId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;
use siyu_domain::tag::TagKind;

use crate::Ctx;

/// An exclusive level group (普通会员, 金卡) and its tag ids.
async fn levels(ctx: &Ctx) -> Vec<TagId> {
    let g = NewTagGroup {
        name: "客户等级".into(),
        exclusive: true,
        kind: TagKind::Enterprise,
        sort: 0,
        tags: vec!["普通会员".into(), "金卡".into()],
    };
    ctx.app.create_tag_group(&ctx.owner, g).await.unwrap().tags.into_iter().map(|t| t.tag.id).collect()
}

fn item(ctx: &Ctx, name: &str, phone: &str, tags: &[TagId]) -> NewCustomerBulk {
    let at = Utc::now() - Duration::days(30);
    let at = chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap();
    let staff = ctx.owner.user;
    let mut custom = Map::new();
    custom.insert("birthday".into(), json!("1995-03-08"));
    NewCustomerBulk {
        customer: Customer {
            id: CustomerId::new(),
            name: name.into(),
            gender: Gender::Female,
            avatar_url: None,
            remark: None,
            source: "wecom".into(),
            custom,
            created_at: at,
            updated_at: at,
            last_active_at: Some(at + Duration::days(2)),
        },
        created_by: None,
        identities: vec![
            IdentityInput { kind: IdentityKind::Phone, namespace: None, value: phone.into() },
            IdentityInput { kind: IdentityKind::Unionid, namespace: None, value: format!("o6_{name}") },
        ],
        follows: vec![Follow {
            customer_id: CustomerId::new(),
            user_id: staff,
            remark: None,
            description: None,
            add_way: "qr_code".into(),
            state: Some("store_sh_001".into()),
            added_at: at,
        }],
        tags: tags.iter().map(|t| TagInput { tag: *t, actor: Some(staff), at: at + Duration::hours(1) }).collect(),
        notes: vec![Note {
            id: NoteId::new(),
            customer_id: CustomerId::new(),
            author_id: staff,
            body: "咨询了敏感肌修护套装，下周到店试用".into(),
            created_at: at + Duration::days(1),
        }],
    }
}

async fn bulk_loaded_customers_are_found_by_phone_and_carry_their_history(ctx: Ctx) {
    let tags = levels(&ctx).await;
    let field =
        NewField { key: "birthday".into(), label: "生日".into(), kind: FieldKind::Date, options: vec![], sort: 0 };
    ctx.app.create_field(&ctx.owner, field).await.unwrap();
    let a = item(&ctx, "王婷", "138 1234 5678", &tags[1..]);
    let b = item(&ctx, "李梦瑶", "13912345678", &tags[..1]);
    let id = a.customer.id;
    let counts = ctx.app.bulk_insert_customers(&ctx.owner, vec![a, b]).await.unwrap();
    assert_eq!((counts.customers, counts.identities, counts.tags, counts.notes), (2, 4, 2, 2));
    // created, follow, tag, note
    assert_eq!(counts.timeline, 8);

    let filter = CustomerFilter { q: Some("13812345678".into()), ..Default::default() };
    let page = ctx.app.list_customers(&ctx.owner, &filter, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].phone.as_deref(), Some("138****5678"));
    assert_eq!(page.items[0].tags[0].name, "金卡");

    let detail = ctx.app.get_customer(&ctx.owner, id).await.unwrap();
    assert_eq!(detail.customer.custom["birthday"], json!("1995-03-08"));
    assert_eq!(detail.follows[0].user_name, "店主");
    assert_eq!(detail.notes[0].author_name, "店主");
    let kinds: Vec<String> = ctx
        .app
        .timeline(&ctx.owner, id, PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.kind)
        .collect();
    // Entries at the same moment come newest id first.
    assert_eq!(kinds, ["note_added", "tag_added", "follow_added", "customer_created"].map(String::from));
}

async fn a_bulk_load_breaking_a_rule_writes_nothing(ctx: Ctx) {
    let tags = levels(&ctx).await;
    let without_custom = |mut i: NewCustomerBulk| {
        i.customer.custom.clear();
        i
    };
    let ok = without_custom(item(&ctx, "王婷", "13812345678", &tags[..1]));
    let two_levels = without_custom(item(&ctx, "李梦瑶", "13912345678", &tags));
    let err = ctx.app.bulk_insert_customers(&ctx.owner, vec![ok.clone(), two_levels]).await.unwrap_err();
    assert!(matches!(&err, AppError::Invalid(inv) if inv.field == "items[1].tags"), "{err:?}");
    let masked = without_custom(item(&ctx, "张雅琪", "139****5678", &[]));
    let err = ctx.app.bulk_insert_customers(&ctx.owner, vec![ok.clone(), masked]).await.unwrap_err();
    assert!(matches!(err, AppError::MaskedPhone), "{err:?}");
    let unknown_field = item(&ctx, "刘欣然", "13712345678", &[]);
    let err = ctx.app.bulk_insert_customers(&ctx.owner, vec![ok, unknown_field]).await.unwrap_err();
    assert!(matches!(&err, AppError::Invalid(inv) if inv.field == "items[1].custom.birthday"), "{err:?}");
    let count = ctx.app.count_customers(&ctx.owner, &CustomerFilter::default()).await.unwrap();
    assert_eq!(count, 0);
}

async fn staff_may_not_bulk_load(ctx: Ctx) {
    let staff = ctx.member("li.mengyao", Role::Staff, DataScope::SelfOnly).await;
    let err = ctx.app.bulk_insert_customers(&staff, vec![item(&ctx, "王婷", "13812345678", &[])]).await.unwrap_err();
    assert!(matches!(err, AppError::Forbidden));
}

crate::on_both_backends!(
    bulk_loaded_customers_are_found_by_phone_and_carry_their_history,
    a_bulk_load_breaking_a_rule_writes_nothing,
    staff_may_not_bulk_load,
);
