use serde_json::Map;
use siyu_domain::customer::{Customer, Gender};
use siyu_domain::id::{CustomerId, TagGroupId, TagId, UserId};
use siyu_domain::page::PageRequest;
use siyu_domain::tag::{Tag, TagGroup, TagKind};
use siyu_store::Store;
use siyu_store::tags::{ChangeContext, TagChange};

use crate::{now, tenant};

async fn tag_changes_are_atomic_idempotent_and_recorded_on_history_and_timeline(store: Store) {
    let t = tenant(&store).await;
    let c = Customer {
        id: CustomerId::new(),
        name: "客户".into(),
        gender: Gender::Unknown,
        avatar_url: None,
        remark: None,
        source: "test".into(),
        custom: Map::new(),
        created_at: now(),
        updated_at: now(),
        last_active_at: None,
    };
    store.customers().insert(t, &c).await.unwrap();
    let g = TagGroup {
        id: TagGroupId::new(),
        name: "等级".into(),
        kind: TagKind::Enterprise,
        owner_id: None,
        exclusive: true,
        sort: 0,
    };
    store.tags().insert_group(t, &g, now()).await.unwrap();
    let vip = Tag { id: TagId::new(), group_id: g.id, name: "VIP".into(), sort: 0 };
    store.tags().insert_tag(t, &vip, now()).await.unwrap();
    let dup = Tag { id: TagId::new(), ..vip.clone() };
    assert!(
        store.tags().insert_tag(t, &dup, now()).await.unwrap_err().is_conflict_on("name"),
        "tag names are unique in a group"
    );

    let ctx = ChangeContext { actor: Some(UserId::new()), source: "test", reason: "manual", at: now() };
    let add = TagChange { tag: vip.id, tag_name: vip.name.clone(), add: true };
    assert_eq!(store.tags().change(t, c.id, std::slice::from_ref(&add), &ctx).await.unwrap().len(), 1);
    assert!(store.tags().change(t, c.id, &[add], &ctx).await.unwrap().is_empty(), "adding twice changes nothing");
    assert_eq!(store.tags().held(t, &[c.id]).await.unwrap(), vec![(c.id, vip.id)]);
    let remove = TagChange { tag: vip.id, tag_name: vip.name.clone(), add: false };
    assert_eq!(store.tags().change(t, c.id, &[remove], &ctx).await.unwrap().len(), 1);

    let timeline = store.timeline().of_customer(t, c.id, PageRequest::first(10)).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"tag_added") && kinds.contains(&"tag_removed"));
    assert_eq!(store.tags().usage(t).await.unwrap(), vec![]);
}

async fn deleting_a_group_removes_its_tags_and_assignments(store: Store) {
    let t = tenant(&store).await;
    let g = TagGroup {
        id: TagGroupId::new(),
        name: "兴趣".into(),
        kind: TagKind::Personal,
        owner_id: Some(UserId::new()),
        exclusive: false,
        sort: 1,
    };
    store.tags().insert_group(t, &g, now()).await.unwrap();
    let tag = Tag { id: TagId::new(), group_id: g.id, name: "跑步".into(), sort: 0 };
    store.tags().insert_tag(t, &tag, now()).await.unwrap();
    assert_eq!(store.tags().group(t, g.id).await.unwrap(), g);
    store.tags().delete_group(t, g.id).await.unwrap();
    assert!(store.tags().all_tags(t).await.unwrap().is_empty());
}

crate::conformance!(
    tag_changes_are_atomic_idempotent_and_recorded_on_history_and_timeline,
    deleting_a_group_removes_its_tags_and_assignments,
);
