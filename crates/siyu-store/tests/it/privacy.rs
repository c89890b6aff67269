//! Consents, privacy requests and erasure on both backends.

use serde_json::json;
use siyu_domain::customer::{Customer, Follow, Gender, Note};
use siyu_domain::id::{CustomerId, IdentityId, NoteId, PrivacyRequestId, TimelineId, UserId};
use siyu_domain::identity::{Identity, IdentityKind};
use siyu_domain::privacy::{
    Consent, ConsentPurpose, ConsentSource, ConsentStatus, ERASED_NAME, PrivacyRequest, PrivacyRequestKind,
};
use siyu_domain::timeline::TimelineEntry;
use siyu_store::identities::IdentityRecord;
use siyu_store::privacy::Erasure;
use siyu_store::{Store, StoreError};

use crate::{now, tenant};

fn customer() -> Customer {
    let at = now();
    Customer {
        id: CustomerId::new(),
        name: "周晓雯".into(),
        gender: Gender::Female,
        avatar_url: Some("https://img.example.com/zxw.png".into()),
        remark: Some("喜欢玫瑰香型".into()),
        source: "test".into(),
        custom: json!({"skin": "干皮"}).as_object().unwrap().clone(),
        created_at: at,
        updated_at: at,
        last_active_at: None,
    }
}

fn entry(c: CustomerId, kind: &str, payload: serde_json::Value) -> TimelineEntry {
    TimelineEntry {
        id: TimelineId::new(),
        customer_id: c,
        occurred_at: now(),
        source: "test".into(),
        kind: kind.into(),
        actor_id: None,
        payload,
    }
}

fn request(c: CustomerId) -> PrivacyRequest {
    PrivacyRequest {
        id: PrivacyRequestId::new(),
        customer_id: c,
        kind: PrivacyRequestKind::Erasure,
        actor_id: None,
        actor_name: "店长".into(),
        at: now(),
        detail: json!({}),
    }
}

async fn a_consent_change_is_kept_with_its_history_and_a_stale_change_is_refused(store: Store) {
    let t = tenant(&store).await;
    let c = customer();
    store.customers().insert(t, &c).await.unwrap();
    let unknown = Consent::unknown(ConsentPurpose::Marketing);
    let grant = unknown.change(ConsentStatus::Granted, ConsentSource::Api, None, "manual", now()).unwrap();
    let e = entry(c.id, "consent_changed", json!({"purpose": "marketing"}));
    store.privacy().change_consent(t, c.id, &grant, &e).await.unwrap();
    // Another writer still believing the consent unknown is refused and writes nothing.
    let stale = unknown.change(ConsentStatus::Withdrawn, ConsentSource::Console, None, "manual", now()).unwrap();
    let e2 = entry(c.id, "consent_changed", json!({}));
    let refused = store.privacy().change_consent(t, c.id, &stale, &e2).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let stored = store.privacy().consents(t, c.id).await.unwrap();
    assert_eq!(stored, vec![Consent::after(&grant)]);
    let history = store.privacy().consent_history(t, c.id).await.unwrap();
    assert_eq!(history, vec![grant]);
    let other = tenant(&store).await;
    assert!(store.privacy().consents(other, c.id).await.unwrap().is_empty());
}

async fn erasure_empties_the_profile_deletes_the_satellites_and_a_second_run_changes_nothing(store: Store) {
    let t = tenant(&store).await;
    let c = customer();
    store.customers().insert(t, &c).await.unwrap();
    let openid = IdentityRecord {
        identity: Identity {
            id: IdentityId::new(),
            customer_id: c.id,
            kind: IdentityKind::Openid,
            namespace: "wx123".into(),
            display: "oPenId-zxw".into(),
            source: "test".into(),
            created_at: now(),
        },
        lookup: "oPenId-zxw".into(),
        value_enc: None,
    };
    store.identities().insert(t, &openid).await.unwrap();
    let staff = UserId::new();
    let note = Note {
        id: NoteId::new(),
        customer_id: c.id,
        author_id: staff,
        body: "周女士说下周再来".into(),
        created_at: now(),
    };
    store.notes().insert(t, &note).await.unwrap();
    let follow = Follow {
        customer_id: c.id,
        user_id: staff,
        remark: Some("周姐".into()),
        description: None,
        add_way: "manual".into(),
        state: None,
        added_at: now(),
    };
    store.follows().upsert(t, &follow).await.unwrap();
    store.timeline().append(t, &entry(c.id, "customer_created", json!({"name": "周晓雯"}))).await.unwrap();
    let grant = Consent::unknown(ConsentPurpose::AdAudience)
        .change(ConsentStatus::Granted, ConsentSource::Event, None, "manual", now())
        .unwrap();
    let told = entry(c.id, "consent_changed", json!({"purpose": "ad_audience"}));
    store.privacy().change_consent(t, c.id, &grant, &told).await.unwrap();

    let (req, tl) = (request(c.id), entry(c.id, "customer_erased", json!({})));
    let erasure = Erasure {
        customer: c.id,
        at: now(),
        actor: None,
        source: ConsentSource::Console,
        request: &req,
        timeline: &tl,
    };
    let out = store.privacy().erase(t, &erasure).await.unwrap();
    assert_eq!(out.already_erased, None);
    for (key, n) in [("customer", 1), ("identities", 1), ("notes", 1), ("follows", 1), ("consents_withdrawn", 1)] {
        assert_eq!(out.counts[key], n, "{key}");
    }
    assert_eq!(out.counts["timeline"], 2, "the creation and the consent entries lose their payloads");
    let recorded = out.recorded.unwrap();
    assert_eq!(recorded.detail["counts"]["identities"], 1);
    assert_eq!(store.privacy().requests(t, c.id).await.unwrap(), vec![recorded.clone()]);

    let shell = store.customers().get(t, c.id).await.unwrap();
    assert_eq!(
        (shell.name.as_str(), shell.gender, &shell.remark, &shell.avatar_url),
        (ERASED_NAME, Gender::Unknown, &None, &None)
    );
    assert!(shell.custom.is_empty());
    assert!(store.privacy().erased_at(t, c.id).await.unwrap().is_some());
    assert!(store.identities().of_customer(t, c.id).await.unwrap().is_empty());
    assert!(store.notes().of_customer(t, c.id).await.unwrap().is_empty());
    assert!(store.follows().of_customer(t, c.id).await.unwrap().is_empty());
    let page = siyu_domain::page::PageRequest::first(50);
    let timeline = store.timeline().of_customer(t, c.id, page).await.unwrap();
    assert_eq!(timeline.len(), 3);
    assert!(timeline.iter().all(|e| e.payload == json!({})), "{timeline:?}");
    let consents = store.privacy().consents(t, c.id).await.unwrap();
    assert_eq!(consents[0].status, ConsentStatus::Withdrawn);
    let history = store.privacy().consent_history(t, c.id).await.unwrap();
    assert_eq!((history.len(), history[0].reason.as_str()), (2, "erasure"));

    // Consents can no longer change, and erasing again finds nothing left.
    let regrant =
        Consent::after(&history[0]).change(ConsentStatus::Granted, ConsentSource::Api, None, "manual", now()).unwrap();
    let refused = store.privacy().change_consent(t, c.id, &regrant, &entry(c.id, "consent_changed", json!({}))).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    let (req2, tl2) = (request(c.id), entry(c.id, "customer_erased", json!({})));
    let again = Erasure {
        customer: c.id,
        at: now(),
        actor: None,
        source: ConsentSource::Console,
        request: &req2,
        timeline: &tl2,
    };
    let out = store.privacy().erase(t, &again).await.unwrap();
    assert!(out.already_erased.is_some());
    assert!(out.counts.values().all(|n| *n == 0), "{:?}", out.counts);
    assert_eq!(out.recorded, None);
    assert_eq!(store.privacy().requests(t, c.id).await.unwrap().len(), 1);
    let missing = Erasure { customer: CustomerId::new(), ..again };
    assert!(matches!(store.privacy().erase(t, &missing).await, Err(StoreError::NotFound)));
}

crate::conformance!(
    a_consent_change_is_kept_with_its_history_and_a_stale_change_is_refused,
    erasure_empties_the_profile_deletes_the_satellites_and_a_second_run_changes_nothing,
);
