use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use siyu_domain::event::{ItemError, ItemErrorCode, Message, MessageType};
use siyu_domain::id::{CustomerId, SourceId, TenantId, UserId};
use siyu_domain::page::PageRequest;
use siyu_domain::source::{Source, SourceKind};
use siyu_store::Store;
use siyu_store::events::EventBatch;

use crate::{now, tenant};

async fn source(store: &Store, tenant: TenantId, key: &str) -> SourceId {
    let s = Source {
        id: SourceId::new(),
        name: "官网".into(),
        kind: SourceKind::Web,
        key_prefix: key.chars().take(8).collect(),
        created_by: UserId::new(),
        created_at: now(),
        revoked_at: None,
    };
    store.sources().create(tenant, &s, key.as_bytes()).await.unwrap();
    s.id
}

fn track(message_id: &str, event: &str) -> Message {
    let mut m = Message::new(MessageType::Track);
    m.message_id = Some(message_id.into());
    m.anonymous_id = Some("anon-1".into());
    m.event = Some(event.into());
    m.properties.insert("price".into(), json!(199));
    m
}

fn batch(tenant: TenantId, source: SourceId, at: DateTime<Utc>, messages: Vec<Message>) -> EventBatch {
    EventBatch { tenant, source, received_at: at, messages, quarantined: Vec::new() }
}

async fn a_duplicate_message_id_in_the_same_and_in_a_later_batch_is_stored_once_and_reported_as_duplicate(
    store: Store,
) {
    let t = tenant(&store).await;
    let s = source(&store, t, "key-a").await;
    let at = now();
    let first = batch(t, s, at, vec![track("m1", "Viewed"), track("m2", "Viewed"), track("m1", "Again")]);
    let out = store.events().append_batch(&[first]).await.unwrap();
    assert_eq!((out[0].inserted(), out[0].duplicates()), (2, 1));
    assert!(out[0].events[0].is_some() && out[0].events[2].is_none(), "the first of two copies wins");

    let retry = batch(t, s, at + Duration::seconds(1), vec![track("m2", "Viewed"), track("m3", "Viewed")]);
    let out = store.events().append_batch(&[retry]).await.unwrap();
    assert_eq!(out[0].events.iter().map(Option::is_some).collect::<Vec<_>>(), [false, true]);
    assert_eq!(store.events().count(t, Some(s)).await.unwrap(), 3);
    let latest = store.events().latest(t, Some(s), 10).await.unwrap();
    let m1 = latest.iter().find(|e| e.message.message_id.as_deref() == Some("m1")).unwrap();
    assert_eq!(m1.message.event.as_deref(), Some("Viewed"));
    assert_eq!(m1.message.properties["price"], json!(199));

    // A message without messageId is stored under its event id, and a replay of the stored row dedupes.
    let mut anonymous = track("ignored", "NoId");
    anonymous.message_id = None;
    let out = store.events().append_batch(&[batch(t, s, at + Duration::seconds(2), vec![anonymous])]).await.unwrap();
    let id = out[0].events[0].unwrap();
    let stored = store.events().latest(t, Some(s), 1).await.unwrap().remove(0);
    assert_eq!((stored.id, stored.message.message_id.clone()), (id, Some(id.to_string())));
    let replay = store.events().append_batch(&[batch(t, s, at, vec![stored.message])]).await.unwrap();
    assert_eq!(replay[0].duplicates(), 1);
}

async fn the_same_message_id_from_two_sources_or_two_tenants_is_two_events(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let (web, server) = (source(&store, t, "key-web").await, source(&store, t, "key-server").await);
    let elsewhere = source(&store, other, "key-web").await;
    let at = now();
    let out = store
        .events()
        .append_batch(&[
            batch(t, web, at, vec![track("same", "A")]),
            batch(t, server, at, vec![track("same", "A")]),
            batch(other, elsewhere, at, vec![track("same", "A")]),
        ])
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.inserted() == 1 && o.duplicates() == 0), "{out:?}");
    assert_eq!(store.events().count(t, None).await.unwrap(), 2);
    assert_eq!(store.events().count(t, Some(web)).await.unwrap(), 1);
    assert_eq!(store.events().count(other, None).await.unwrap(), 1);
}

async fn a_group_commit_mixing_two_tenants_keeps_each_tenant_s_events_apart(store: Store) {
    let (a, b) = (tenant(&store).await, tenant(&store).await);
    let (sa, sb) = (source(&store, a, "key-a").await, source(&store, b, "key-b").await);
    let at = now();
    let many: Vec<Message> = (0..3000).map(|i| track(&format!("a{i}"), "Bulk")).collect();
    let out = store
        .events()
        .append_batch(&[
            batch(a, sa, at, many),
            batch(b, sb, at, vec![track("b1", "B")]),
            batch(a, sa, at + Duration::milliseconds(5), vec![track("a0", "dup"), track("a-last", "A")]),
        ])
        .await
        .unwrap();
    assert_eq!(out.iter().map(|o| (o.inserted(), o.duplicates())).collect::<Vec<_>>(), [(3000, 0), (1, 0), (1, 1)]);
    assert_eq!(store.events().count(a, None).await.unwrap(), 3001);
    assert_eq!(store.events().count(b, None).await.unwrap(), 1);
    assert_eq!(store.events().count(a, Some(sb)).await.unwrap(), 0, "a tenant never sees another's source");
    let b_events = store.events().latest(b, None, 10).await.unwrap();
    assert_eq!(b_events.len(), 1);
    assert_eq!((b_events[0].source_id, b_events[0].message.event.as_deref()), (sb, Some("B")));

    // An unknown source rolls the whole commit back: nothing of it is stored.
    let bad = store
        .events()
        .append_batch(&[batch(b, sb, at, vec![track("b2", "B")]), batch(b, sa, at, vec![track("x", "X")])])
        .await;
    assert!(bad.is_err());
    assert_eq!(store.events().count(b, None).await.unwrap(), 1);
}

async fn quarantined_items_are_kept_with_their_reasons(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let s = source(&store, t, "key-q").await;
    let at = now();
    let bad = ItemError {
        index: 2,
        code: ItemErrorCode::MissingEvent,
        message: "track needs a non-empty event".into(),
        item: json!({"type": "track", "userId": "u1", "context": {"ip": "1.2.3.4"}}),
    };
    let nul =
        ItemError { index: 3, code: ItemErrorCode::NotAnObject, message: "not an object".into(), item: json!("\u{0}") };
    let mut b = batch(t, s, at, vec![track("ok", "Fine")]);
    b.quarantined = vec![bad.clone(), nul];
    let out = store.events().append_batch(&[b]).await.unwrap();
    assert_eq!((out[0].inserted(), out[0].quarantined), (1, 2));

    let kept = store.events().latest_quarantined(t, Some(s), 10).await.unwrap();
    assert_eq!(kept.len(), 2);
    let found = kept.iter().find(|q| q.error.index == 2).unwrap();
    assert_eq!((found.error.clone(), found.source_id, found.received_at), (bad, s, at));
    let scrubbed = kept.iter().find(|q| q.error.index == 3).unwrap();
    assert_eq!(scrubbed.error.item, json!("\u{FFFD}"), "NUL cannot be stored in PostgreSQL text");
    assert_eq!(store.events().latest_quarantined(t, None, 10).await.unwrap().len(), 2);
    assert!(store.events().latest_quarantined(other, None, 10).await.unwrap().is_empty());
}

async fn the_window_counter_adds_up_across_calls_and_starts_again_in_the_next_window(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let (s, s2) = (source(&store, t, "key-w").await, source(&store, other, "key-w").await);
    let w = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let events = store.events();
    assert_eq!(events.count_in_window(t, s, w, 3).await.unwrap(), 3);
    assert_eq!(events.count_in_window(t, s, w, 1).await.unwrap(), 4);
    assert_eq!(events.count_in_window(t, s, w, 10).await.unwrap(), 14);
    assert_eq!(events.count_in_window(other, s2, w, 1).await.unwrap(), 1, "each source has its own budget");
    let next = w + Duration::seconds(1);
    assert_eq!(events.count_in_window(t, s, next, 2).await.unwrap(), 2);
    assert_eq!(events.purge_windows(t, next).await.unwrap(), 1);
    assert_eq!(events.count_in_window(t, s, next, 0).await.unwrap(), 2, "the current window is kept");
    assert_eq!(events.count_in_window(other, s2, w, 0).await.unwrap(), 1, "another tenant's windows are kept");
    assert_eq!(events.count_in_window(t, s, w, 0).await.unwrap(), 0, "a purged window starts from zero");
}

async fn revoked_write_keys_no_longer_authenticate(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let s = source(&store, t, "swk_secret").await;
    let (found, tenant_active) = store.sources().authenticate(t, b"swk_secret").await.unwrap().unwrap();
    assert!(tenant_active);
    assert_eq!((found.id, found.kind, found.key_prefix.as_str()), (s, SourceKind::Web, "swk_secr"));
    assert!(store.sources().authenticate(other, b"swk_secret").await.unwrap().is_none(), "keys are per tenant");
    assert!(store.sources().authenticate(t, b"swk_other").await.unwrap().is_none());

    store.sources().rename(t, s, "小程序").await.unwrap();
    let at = now();
    store.sources().revoke(t, s, at).await.unwrap();
    store.sources().revoke(t, s, at + Duration::hours(1)).await.unwrap();
    assert!(store.sources().authenticate(t, b"swk_secret").await.unwrap().is_none());
    let kept = store.sources().get(t, s).await.unwrap();
    assert_eq!((kept.name.as_str(), kept.revoked_at, kept.is_active()), ("小程序", Some(at), false));
    assert_eq!(store.sources().list(t).await.unwrap(), vec![kept]);
    assert!(store.sources().list(other).await.unwrap().is_empty());
    assert!(store.sources().revoke(other, s, at).await.is_err(), "another tenant cannot revoke it");
    assert!(store.sources().get(other, s).await.is_err());
    let taken = Source { id: SourceId::new(), ..store.sources().get(t, s).await.unwrap() };
    let dup = store.sources().create(t, &taken, b"swk_secret").await.unwrap_err();
    assert!(dup.is_conflict_on("key_hash") || dup.is_conflict_on("event_sources_key"), "{dup:?}");
}

async fn the_latest_events_come_newest_first_and_never_cross_tenants(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let (web, app) = (source(&store, t, "key-1").await, source(&store, t, "key-2").await);
    let foreign = source(&store, other, "key-3").await;
    let at = now();
    for i in 0..5 {
        let src = if i % 2 == 0 { web } else { app };
        let b = batch(t, src, at + Duration::milliseconds(i), vec![track(&format!("m{i}"), &format!("E{i}"))]);
        let f = batch(other, foreign, at + Duration::milliseconds(i), vec![track(&format!("m{i}"), "Foreign")]);
        store.events().append_batch(&[f, b]).await.unwrap();
    }
    let names = |v: Vec<siyu_store::events::StoredEvent>| {
        v.into_iter().map(|e| e.message.event.unwrap_or_default()).collect::<Vec<_>>()
    };
    assert_eq!(names(store.events().latest(t, None, 3).await.unwrap()), ["E4", "E3", "E2"]);
    assert_eq!(names(store.events().latest(t, Some(web), 10).await.unwrap()), ["E4", "E2", "E0"]);
    assert_eq!(names(store.events().latest(t, Some(foreign), 10).await.unwrap()), Vec::<String>::new());
    assert!(names(store.events().latest(other, None, 10).await.unwrap()).iter().all(|n| n == "Foreign"));

    // Once linked to a customer, the events form its timeline, by event time and page by page.
    let customer = CustomerId::new();
    let mine: Vec<_> = store.events().latest(t, None, 10).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(store.events().assign_customer(t, &mine, customer).await.unwrap(), 5);
    assert_eq!(store.events().assign_customer(other, &mine, customer).await.unwrap(), 0);
    let page = store.events().of_customer(t, customer, PageRequest::first(2)).await.unwrap();
    assert_eq!(names(page.clone()), ["E4", "E3", "E2"], "limit + 1 rows");
    let last = &page[1];
    let cursor = siyu_domain::page::Cursor { at: last.event_time, id: last.id.0 };
    let rest = store.events().of_customer(t, customer, PageRequest { after: Some(cursor), limit: 10 }).await.unwrap();
    assert_eq!(names(rest), ["E2", "E1", "E0"]);
    assert!(store.events().of_customer(other, customer, PageRequest::first(10)).await.unwrap().is_empty());
}

crate::conformance!(
    a_duplicate_message_id_in_the_same_and_in_a_later_batch_is_stored_once_and_reported_as_duplicate,
    the_same_message_id_from_two_sources_or_two_tenants_is_two_events,
    a_group_commit_mixing_two_tenants_keeps_each_tenant_s_events_apart,
    quarantined_items_are_kept_with_their_reasons,
    the_window_counter_adds_up_across_calls_and_starts_again_in_the_next_window,
    revoked_write_keys_no_longer_authenticate,
    the_latest_events_come_newest_first_and_never_cross_tenants,
);
