use chrono::Duration;
use serde_json::json;
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Gender};
use siyu_domain::id::{CustomerId, IdentityId, UserId};
use siyu_domain::identity::{Identity, IdentityKind};
use siyu_domain::page::{Cursor, PageRequest};
use siyu_store::customers::CustomerQuery;
use siyu_store::identities::IdentityRecord;
use siyu_store::{Store, StoreError};

use crate::{now, tenant};

fn customer(name: &str, at: chrono::DateTime<chrono::Utc>) -> Customer {
    Customer {
        id: CustomerId::new(),
        name: name.into(),
        gender: Gender::Female,
        avatar_url: None,
        remark: Some(format!("{name} 的备注")),
        source: "test".into(),
        custom: json!({"skin": "油皮"}).as_object().unwrap().clone(),
        created_at: at,
        updated_at: at,
        last_active_at: None,
    }
}

fn query<'a>(filter: &'a CustomerFilter, vis: &'a Option<Vec<UserId>>) -> CustomerQuery<'a> {
    CustomerQuery { filter, visibility: vis, pii_lookups: Vec::new() }
}

async fn a_customer_round_trips_with_its_times_and_custom_values(store: Store) {
    let t = tenant(&store).await;
    let c = customer("王小美", now());
    store.customers().insert(t, &c).await.unwrap();
    assert_eq!(store.customers().get(t, c.id).await.unwrap(), c);
    let other = tenant(&store).await;
    assert!(matches!(store.customers().get(other, c.id).await, Err(StoreError::NotFound)));
}

async fn listing_pages_newest_first_without_gaps_or_repeats(store: Store) {
    let t = tenant(&store).await;
    let base = now();
    // Mixed precision and equal timestamps exercise the text ordering of SQLite times.
    let mut made = Vec::new();
    for i in 0..7 {
        let at = base - Duration::milliseconds(if i % 3 == 0 { 1000 * i } else { 1000 * i + 7 });
        let c = customer(&format!("c{i}"), at);
        store.customers().insert(t, &c).await.unwrap();
        made.push(c);
    }
    let same = customer("same-time", made[0].created_at);
    store.customers().insert(t, &same).await.unwrap();
    made.push(same);
    let filter = CustomerFilter::default();
    let vis: Option<Vec<UserId>> = None;
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let rows = store.customers().list(t, &query(&filter, &vis), page).await.unwrap();
        let p =
            siyu_domain::page::Page::from_overfetch(rows, 3, |c: &Customer| Cursor { at: c.created_at, id: c.id.0 });
        seen.extend(p.items.iter().map(|c| (c.created_at, c.id)));
        match p.next_cursor {
            Some(next) => page = PageRequest::parse(Some(&next), Some(3)).unwrap(),
            None => break,
        }
    }
    let mut expected: Vec<_> = made.iter().map(|c| (c.created_at, c.id)).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected);
    assert_eq!(store.customers().count(t, &query(&filter, &vis)).await.unwrap(), 8);
}

async fn text_search_matches_names_and_treats_wildcards_literally(store: Store) {
    let t = tenant(&store).await;
    for name in ["张三", "李四", "100%真", "Alice"] {
        store.customers().insert(t, &customer(name, now())).await.unwrap();
    }
    let search = |q: &str| CustomerFilter { q: Some(q.into()), ..Default::default() };
    let count = |f: CustomerFilter| {
        let store = store.clone();
        async move {
            store
                .customers()
                .count(t, &CustomerQuery { filter: &f, visibility: &None, pii_lookups: vec![] })
                .await
                .unwrap()
        }
    };
    assert_eq!(count(search("张")).await, 1);
    assert_eq!(count(search("%")).await, 1);
    assert_eq!(count(search("alice")).await, 1, "search ignores ASCII case");
    assert_eq!(count(search("备注")).await, 4, "remarks are searched too");
}

async fn visibility_limits_customers_to_those_followed_by_the_given_staff(store: Store) {
    let t = tenant(&store).await;
    let (mine, theirs) = (customer("mine", now()), customer("theirs", now()));
    store.customers().insert(t, &mine).await.unwrap();
    store.customers().insert(t, &theirs).await.unwrap();
    let (me, them) = (UserId::new(), UserId::new());
    for (c, u) in [(&mine, me), (&theirs, them)] {
        let f = Follow {
            customer_id: c.id,
            user_id: u,
            remark: None,
            description: None,
            add_way: "manual".into(),
            state: None,
            added_at: now(),
        };
        store.follows().upsert(t, &f).await.unwrap();
    }
    let filter = CustomerFilter::default();
    let only_me = Some(vec![me]);
    let rows = store.customers().list(t, &query(&filter, &only_me), PageRequest::first(10)).await.unwrap();
    assert_eq!(rows.iter().map(|c| c.id).collect::<Vec<_>>(), vec![mine.id]);
    assert!(store.customers().is_visible(t, mine.id, &only_me).await.unwrap());
    assert!(!store.customers().is_visible(t, theirs.id, &only_me).await.unwrap());
    assert!(!store.customers().is_visible(t, mine.id, &Some(vec![])).await.unwrap());
    let by_staff = CustomerFilter { staff: Some(them), ..Default::default() };
    assert_eq!(store.customers().count(t, &query(&by_staff, &None)).await.unwrap(), 1);
}

async fn an_identity_value_belongs_to_one_customer_per_tenant(store: Store) {
    let t = tenant(&store).await;
    let (a, b) = (customer("a", now()), customer("b", now()));
    store.customers().insert(t, &a).await.unwrap();
    store.customers().insert(t, &b).await.unwrap();
    let record = |c: CustomerId| IdentityRecord {
        identity: Identity {
            id: IdentityId::new(),
            customer_id: c,
            kind: IdentityKind::Openid,
            namespace: "wxapp".into(),
            display: "o_abc".into(),
            source: "test".into(),
            created_at: now(),
        },
        lookup: "o_abc".into(),
        value_enc: None,
    };
    store.identities().insert(t, &record(a.id)).await.unwrap();
    let err = store.identities().insert(t, &record(b.id)).await.unwrap_err();
    assert!(err.is_conflict_on("identities_lookup"), "{err:?}");
    assert_eq!(store.identities().resolve(t, IdentityKind::Openid, "wxapp", "o_abc").await.unwrap(), Some(a.id));
    assert_eq!(store.identities().resolve(t, IdentityKind::Openid, "other", "o_abc").await.unwrap(), None);
    // Another tenant may hold the same value.
    let t2 = tenant(&store).await;
    let c = customer("c", now());
    store.customers().insert(t2, &c).await.unwrap();
    store.identities().insert(t2, &record(c.id)).await.unwrap();
}

crate::conformance!(
    a_customer_round_trips_with_its_times_and_custom_values,
    listing_pages_newest_first_without_gaps_or_repeats,
    text_search_matches_names_and_treats_wildcards_literally,
    visibility_limits_customers_to_those_followed_by_the_given_staff,
    an_identity_value_belongs_to_one_customer_per_tenant,
    new_customers_are_counted_per_china_day,
);

async fn new_customers_are_counted_per_china_day(store: Store) {
    let t = tenant(&store).await;
    // 2026-03-01 23:30 in Shanghai is 15:30 UTC; 2026-03-02 00:30 in Shanghai is 16:30 UTC on March 1st.
    let late = chrono::DateTime::parse_from_rfc3339("2026-03-01T15:30:00Z").unwrap().with_timezone(&chrono::Utc);
    let after_midnight = late + Duration::hours(1);
    for at in [late, after_midnight, after_midnight] {
        store.customers().insert(t, &customer("c", at)).await.unwrap();
    }
    let days = store.customers().created_per_day(t, late - Duration::days(1), &None).await.unwrap();
    assert_eq!(days, vec![("2026-03-01".to_string(), 1), ("2026-03-02".to_string(), 2)]);
    assert!(store.customers().created_per_day(t, late, &Some(vec![])).await.unwrap().is_empty());
}
