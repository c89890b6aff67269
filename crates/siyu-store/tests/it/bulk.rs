use chrono::Duration;
use serde_json::{Map, json};
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Gender, Note};
use siyu_domain::id::{CustomerId, IdentityId, NoteId, TagGroupId, TagId, TenantId, TimelineId, UserId};
use siyu_domain::identity::{Identity, IdentityKind};
use siyu_domain::page::PageRequest;
use siyu_domain::tag::{Tag, TagGroup, TagKind};
use siyu_domain::timeline::TimelineEntry;
use siyu_store::bulk::{BulkCustomer, BulkTag, MAX_PARAMS};
use siyu_store::customers::CustomerQuery;
use siyu_store::identities::IdentityRecord;
use siyu_store::{Store, StoreError};

use crate::{now, tenant};

fn identity(c: CustomerId, kind: IdentityKind, namespace: &str, value: &str) -> IdentityRecord {
    IdentityRecord {
        identity: Identity {
            id: IdentityId::new(),
            customer_id: c,
            kind,
            namespace: namespace.into(),
            display: value.into(),
            source: "bulk".into(),
            created_at: now(),
        },
        lookup: value.into(),
        value_enc: (kind == IdentityKind::Phone).then(|| vec![1, 2, 3, 4]),
    }
}

/// A customer with two identities, one follow, `tags`, one note and three timeline entries.
fn item(i: usize, staff: UserId, tags: &[TagId]) -> BulkCustomer {
    let at = now() - Duration::minutes(i as i64);
    let id = CustomerId::new();
    let mut custom = Map::new();
    custom.insert("vip_no".into(), json!(format!("HY{i:06}")));
    let customer = Customer {
        id,
        name: format!("顾客{i}"),
        gender: if i.is_multiple_of(2) { Gender::Female } else { Gender::Unknown },
        avatar_url: None,
        remark: i.is_multiple_of(3).then(|| "老客".to_string()),
        source: "bulk".into(),
        custom,
        created_at: at,
        updated_at: at,
        last_active_at: (!i.is_multiple_of(4)).then_some(at + Duration::days(1)),
    };
    let timeline = ["customer_created", "follow_added", "note_added"]
        .into_iter()
        .map(|kind| TimelineEntry {
            id: TimelineId::new(),
            customer_id: id,
            occurred_at: at,
            source: "bulk".into(),
            kind: kind.into(),
            actor_id: Some(staff),
            payload: json!({"n": i}),
        })
        .collect();
    BulkCustomer {
        customer,
        identities: vec![
            identity(id, IdentityKind::Phone, "", &format!("lookup-{i}")),
            identity(id, IdentityKind::Openid, "wx_app", &format!("o_{i}")),
        ],
        follows: vec![Follow {
            customer_id: id,
            user_id: staff,
            remark: Some(format!("顾客{i}")),
            description: None,
            add_way: "qr_code".into(),
            state: Some("store_sh_001".into()),
            added_at: at,
        }],
        tags: tags
            .iter()
            .map(|t| BulkTag { tag: *t, tag_name: "标签".into(), actor: Some(staff), reason: "created".into(), at })
            .collect(),
        notes: vec![Note {
            id: NoteId::new(),
            customer_id: id,
            author_id: staff,
            body: "想试用修护精华".into(),
            created_at: at,
        }],
        timeline,
    }
}

async fn two_tags(store: &Store, t: TenantId) -> Vec<TagId> {
    let g = TagGroup {
        id: TagGroupId::new(),
        name: "兴趣".into(),
        kind: TagKind::Enterprise,
        owner_id: None,
        exclusive: false,
        sort: 0,
    };
    store.tags().insert_group(t, &g, now()).await.unwrap();
    let mut ids = Vec::new();
    for name in ["护肤", "彩妆"] {
        let tag = Tag { id: TagId::new(), group_id: g.id, name: name.into(), sort: 0 };
        store.tags().insert_tag(t, &tag, now()).await.unwrap();
        ids.push(tag.id);
    }
    ids
}

async fn a_bulk_insert_writes_every_row_even_across_many_statements(store: Store) {
    let t = tenant(&store).await;
    let staff = UserId::new();
    let tags = two_tags(&store, t).await;
    // 1 500 customers × 3 timeline rows × 7 values exceed one statement's bind limit.
    let n = 1500;
    assert!(n * 3 * 7 > MAX_PARAMS);
    let items: Vec<BulkCustomer> = (0..n).map(|i| item(i, staff, &tags)).collect();
    let first = items[0].clone();
    let counts = store.bulk().insert_customers(t, items).await.unwrap();
    assert_eq!(
        (counts.customers, counts.identities, counts.follows, counts.tags, counts.notes, counts.timeline),
        (1500, 3000, 1500, 3000, 1500, 4500)
    );
    let id = first.customer.id;
    assert_eq!(store.customers().get(t, id).await.unwrap(), first.customer);
    let ids = store.identities().of_customer(t, id).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&first.identities[0]) && ids.contains(&first.identities[1]));
    assert_eq!(store.follows().of_customer(t, id).await.unwrap(), first.follows);
    assert_eq!(store.notes().of_customer(t, id).await.unwrap(), first.notes);
    assert_eq!(store.tags().held(t, &[id]).await.unwrap().len(), 2);
    let timeline = store.timeline().of_customer(t, id, PageRequest::first(10)).await.unwrap();
    assert_eq!(timeline.len(), 3);
    let filter = CustomerFilter { staff: Some(staff), tags_all: tags.clone(), ..Default::default() };
    let q = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: vec![] };
    assert_eq!(store.customers().count(t, &q).await.unwrap(), 1500);
    let other = tenant(&store).await;
    assert!(matches!(store.customers().get(other, id).await, Err(StoreError::NotFound)));
}

async fn a_taken_identity_rolls_back_the_whole_bulk_insert(store: Store) {
    let t = tenant(&store).await;
    let staff = UserId::new();
    store.bulk().insert_customers(t, vec![item(0, staff, &[])]).await.unwrap();
    let fresh = item(1, staff, &[]);
    let mut clash = item(2, staff, &[]);
    clash.identities[0].lookup = "lookup-0".into();
    let err = store.bulk().insert_customers(t, vec![fresh.clone(), clash]).await.unwrap_err();
    assert!(err.is_conflict_on("identities_lookup"), "{err:?}");
    assert!(matches!(store.customers().get(t, fresh.customer.id).await, Err(StoreError::NotFound)));
    let filter = CustomerFilter::default();
    let q = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: vec![] };
    assert_eq!(store.customers().count(t, &q).await.unwrap(), 1);
}

async fn duplicate_follows_and_tags_in_one_item_are_written_once(store: Store) {
    let t = tenant(&store).await;
    let staff = UserId::new();
    let tags = two_tags(&store, t).await;
    let mut it = item(0, staff, &[tags[0], tags[0]]);
    it.follows.push(it.follows[0].clone());
    let id = it.customer.id;
    let counts = store.bulk().insert_customers(t, vec![it]).await.unwrap();
    assert_eq!((counts.follows, counts.tags), (1, 1));
    assert_eq!(store.follows().of_customer(t, id).await.unwrap().len(), 1);
    assert_eq!(store.bulk().insert_customers(t, vec![]).await.unwrap(), Default::default());
}

crate::conformance!(
    a_bulk_insert_writes_every_row_even_across_many_statements,
    a_taken_identity_rolls_back_the_whole_bulk_insert,
    duplicate_follows_and_tags_in_one_item_are_written_once,
);
