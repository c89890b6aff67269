//! Identity resolution over real ingested events: merges by strong identifiers, masked and weak phones
//! that only suggest, un-merge by replay, and the suggestion queue.

use serde_json::{Value, json};
use siyu_app::customers::NewCustomerInput;
use siyu_domain::event::Endpoint;
use siyu_domain::graph::{SuggestionReason, SuggestionStatus};
use siyu_domain::id::CustomerId;
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;
use siyu_domain::source::SourceKind;

use crate::{Ctx, on_both_backends};

async fn write_key(c: &Ctx, kind: SourceKind) -> String {
    c.app.create_source(&c.owner, "小程序", kind).await.unwrap().1
}

fn openid(app: &str, id: &str) -> Value {
    json!({"type": "openid", "appid": app, "id": id})
}

fn unionid(id: &str) -> Value {
    json!({"type": "unionid", "id": id})
}

fn event(message_id: &str, anonymous: Option<&str>, ids: Vec<Value>) -> Value {
    let mut e = json!({"type": "track", "event": "Page Viewed", "messageId": message_id,
        "timestamp": "2026-11-20T08:00:00Z", "context": {"externalIds": ids}});
    // Segment requires userId or anonymousId: a server-side call without a device gets its own.
    e["anonymousId"] = json!(anonymous.map_or_else(|| format!("srv-{message_id}"), str::to_string));
    e
}

/// Posts events as one batch and runs the worker until everything is resolved.
async fn send(c: &Ctx, key: &str, events: Vec<Value>) {
    let body = serde_json::to_vec(&json!({"batch": events})).unwrap();
    let receipt = c.app.ingest(Endpoint::Batch, &body, Some(key)).await.unwrap();
    assert_eq!(receipt.rejected.len(), 0, "{receipt:?}");
    c.app.run_due_work().await.unwrap();
}

async fn holder(c: &Ctx, kind: IdentityKind, ns: &str, value: &str) -> Option<CustomerId> {
    c.app.store.identities().resolve(c.owner.tenant, kind, ns, value).await.unwrap()
}

async fn events_of(c: &Ctx, customer: CustomerId) -> Vec<String> {
    let page = PageRequest { after: None, limit: 100 };
    let events = c.app.store.events().of_customer(c.owner.tenant, customer, page).await.unwrap();
    let mut ids: Vec<String> = events.into_iter().map(|e| e.message.message_id.unwrap_or_default()).collect();
    ids.sort();
    ids
}

async fn customers(c: &Ctx) -> i64 {
    let filter = siyu_domain::customer::CustomerFilter::default();
    let q = siyu_store::customers::CustomerQuery { filter: &filter, visibility: &None, pii_lookups: Vec::new() };
    c.app.store.customers().count(c.owner.tenant, &q).await.unwrap()
}

async fn a_unionid_merges_two_mini_programs_and_a_wecom_contact_into_one_customer(c: Ctx) {
    let key = write_key(&c, SourceKind::MiniProgram).await;
    send(&c, &key, vec![event("m1", Some("dev-a"), vec![openid("wxAAA", "oA-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("m2", Some("dev-b"), vec![openid("wxBBB", "oB-1")])]).await;
    let wecom = json!({"type": "external_userid", "corpid": "ww01", "id": "wmC-1"});
    send(&c, &key, vec![event("m3", None, vec![wecom.clone()])]).await;
    assert_eq!(customers(&c).await, 3, "three touchpoints, nothing links them yet");
    let first = holder(&c, IdentityKind::Unionid, "", "U-1").await.unwrap();

    // The second mini-program learns the unionid (code2Session), then WeCom returns it with the contact.
    send(&c, &key, vec![event("m4", Some("dev-b"), vec![openid("wxBBB", "oB-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("m5", None, vec![wecom, unionid("U-1")])]).await;

    assert_eq!(customers(&c).await, 1);
    for (kind, ns, v) in [
        (IdentityKind::Openid, "wxAAA", "oA-1"),
        (IdentityKind::Openid, "wxBBB", "oB-1"),
        (IdentityKind::ExternalUserid, "ww01", "wmC-1"),
        (IdentityKind::AnonymousId, "", "dev-b"),
    ] {
        assert_eq!(holder(&c, kind, ns, v).await, Some(first), "{v} joined the oldest customer");
    }
    assert_eq!(events_of(&c, first).await, ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(c.app.merges_of(&c.owner, first).await.unwrap().len(), 2);
}

async fn a_masked_or_typed_phone_never_merges_and_becomes_a_suggestion(c: Ctx) {
    let known = NewCustomerInput { name: "王芳".into(), phone: Some("13912345678".into()), ..Default::default() };
    let known = c.app.create_customer(&c.owner, known).await.unwrap();
    let key = write_key(&c, SourceKind::Web).await;
    let masked = json!({"type": "identify", "anonymousId": "web-1", "messageId": "i1",
        "traits": {"phone": "139****5678", "name": "匿名"}});
    let typed =
        json!({"type": "identify", "anonymousId": "web-2", "messageId": "i2", "traits": {"phone": "13912345678"}});
    send(&c, &key, vec![masked, typed]).await;

    assert_eq!(customers(&c).await, 3, "neither visitor was merged into the known customer");
    let identities = c.app.store.identities().of_customer(c.owner.tenant, known.id).await.unwrap();
    assert_eq!(identities.len(), 1);
    let open = c.app.merge_suggestions(&c.owner, SuggestionStatus::Open, None, 50).await.unwrap();
    let mut reasons: Vec<SuggestionReason> = open.iter().map(|s| s.reason).collect();
    reasons.sort_by_key(|r| r.as_str());
    assert_eq!(reasons, [SuggestionReason::MaskedPhone, SuggestionReason::WeakIdentifier]);
    assert!(open.iter().all(|s| s.a.customer.id == known.id || s.b.customer.id == known.id));
}

async fn an_unmerge_restores_both_customers_with_their_own_events(c: Ctx) {
    let key = write_key(&c, SourceKind::MiniProgram).await;
    send(&c, &key, vec![event("a1", Some("dev-a"), vec![openid("wxAAA", "oA-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("b1", Some("dev-b"), vec![openid("wxBBB", "oB-1")])]).await;
    let first = holder(&c, IdentityKind::Unionid, "", "U-1").await.unwrap();
    let second = holder(&c, IdentityKind::Openid, "wxBBB", "oB-1").await.unwrap();
    let task = siyu_app::tasks::TaskInput {
        customer_id: second,
        assignee_id: Some(c.owner.user),
        kind: Default::default(),
        title: "回访".into(),
        note: String::new(),
        due_at: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let task = c.app.create_task(&c.owner, &task).await.unwrap();
    // A wrong link (a shared test phone's unionid, say) merges them; more events follow on both sides.
    send(&c, &key, vec![event("bad", None, vec![openid("wxBBB", "oB-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("b2", Some("dev-b"), vec![]), event("a2", Some("dev-a"), vec![])]).await;
    assert_eq!(customers(&c).await, 1);
    assert_eq!(events_of(&c, first).await, ["a1", "a2", "b1", "b2", "bad"]);
    let tasks_of = async |customer| -> Vec<_> {
        c.app.customer_tasks(&c.owner, customer).await.unwrap().into_iter().map(|t| t.id).collect()
    };
    assert_eq!(tasks_of(first).await, [task.id], "the absorbed customer's task follows it to the survivor");

    let merges = c.app.merges_of(&c.owner, first).await.unwrap();
    let outcome = c.app.unmerge(&c.owner, merges[0].id, "测试手机号误合并").await.unwrap();

    assert_eq!((outcome.restored, outcome.from), (second, first));
    assert_eq!(customers(&c).await, 2);
    assert_eq!(holder(&c, IdentityKind::Openid, "wxBBB", "oB-1").await, Some(second));
    assert_eq!(holder(&c, IdentityKind::AnonymousId, "", "dev-b").await, Some(second));
    assert_eq!(holder(&c, IdentityKind::Unionid, "", "U-1").await, Some(first));
    assert_eq!(events_of(&c, second).await, ["b1", "b2"]);
    assert_eq!(events_of(&c, first).await, ["a1", "a2", "bad"]);
    assert_eq!(tasks_of(second).await, [task.id], "the task comes back with its customer");
    assert!(tasks_of(first).await.is_empty());
    let first_events = c.app.customer_aggregates(&c.owner, first).await.unwrap().event_count;
    let second_events = c.app.customer_aggregates(&c.owner, second).await.unwrap().event_count;
    assert_eq!((first_events, second_events), (3, 2), "aggregates follow the events back");
    assert!(outcome.retracted_links >= 1, "the wrong link is retracted");
    assert!(c.app.unmerge(&c.owner, merges[0].id, "again").await.is_err(), "a merge is undone once");

    // The retracted link does not come back by itself: the customers stay apart on later events.
    send(&c, &key, vec![event("b3", Some("dev-b"), vec![])]).await;
    assert_eq!(events_of(&c, second).await, ["b1", "b2", "b3"]);
}

async fn an_accepted_suggestion_merges_and_a_rejected_one_stays_apart(c: Ctx) {
    let a = NewCustomerInput { name: "李雷".into(), phone: Some("13700001111".into()), ..Default::default() };
    let a = c.app.create_customer(&c.owner, a).await.unwrap();
    let key = write_key(&c, SourceKind::Web).await;
    let typed =
        json!({"type": "identify", "userId": "member-9", "messageId": "t1", "traits": {"phone": "13700001111"}});
    let masked =
        json!({"type": "identify", "userId": "member-10", "messageId": "t2", "traits": {"phone": "137****1111"}});
    send(&c, &key, vec![typed, masked]).await;
    let open = c.app.merge_suggestions(&c.owner, SuggestionStatus::Open, None, 50).await.unwrap();
    assert_eq!(open.len(), 2);
    let weak = open.iter().find(|s| s.reason == SuggestionReason::WeakIdentifier).unwrap();
    let masked = open.iter().find(|s| s.reason == SuggestionReason::MaskedPhone).unwrap();

    c.app.reject_suggestion(&c.owner, masked.id).await.unwrap();
    let merged = c.app.accept_suggestion(&c.owner, weak.id).await.unwrap();

    assert_eq!(merged.customer, Some(a.id), "the older customer survives");
    assert_eq!(holder(&c, IdentityKind::UserId, "", "member-9").await, Some(a.id));
    assert_ne!(holder(&c, IdentityKind::UserId, "", "member-10").await, Some(a.id));
    assert_eq!(c.app.count_open_suggestions(&c.owner).await.unwrap(), 0);
    assert!(c.app.accept_suggestion(&c.owner, masked.id).await.is_err(), "a rejected pair cannot be accepted");
}

async fn erasing_a_merged_customer_removes_its_merge_log_links_and_suggestions(c: Ctx) {
    let known = NewCustomerInput { name: "赵敏".into(), phone: Some("13655556666".into()), ..Default::default() };
    let known = c.app.create_customer(&c.owner, known).await.unwrap();
    let key = write_key(&c, SourceKind::MiniProgram).await;
    send(&c, &key, vec![event("e1", Some("dev-a"), vec![openid("wxAAA", "oA-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("e2", Some("dev-b"), vec![openid("wxBBB", "oB-1")])]).await;
    send(&c, &key, vec![event("e3", Some("dev-c"), vec![openid("wxBBB", "oB-1"), unionid("U-1")])]).await;
    let typed =
        json!({"type": "identify", "anonymousId": "dev-a", "messageId": "e4", "traits": {"phone": "13655556666"}});
    send(&c, &key, vec![typed]).await;
    let merged = holder(&c, IdentityKind::Unionid, "", "U-1").await.unwrap();
    assert_eq!(c.app.merges_of(&c.owner, merged).await.unwrap().len(), 1);
    assert_eq!(c.app.count_open_suggestions(&c.owner).await.unwrap(), 1);

    c.app.erase_customer(&c.owner, merged).await.unwrap();

    let graph = c.app.store.graph().check(c.owner.tenant).await.unwrap();
    assert!(graph.identities.iter().all(|(_, holder)| *holder == known.id), "only the other customer's phone is left");
    assert!(c.app.merges_of(&c.owner, merged).await.unwrap().is_empty());
    assert_eq!(c.app.count_open_suggestions(&c.owner).await.unwrap(), 0);
    assert_eq!(graph.edges, 0, "the links between the erased person's identifiers are gone");
}

async fn consents_merge_by_latest_change_and_come_back_apart_on_unmerge(c: Ctx) {
    use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
    let key = write_key(&c, SourceKind::MiniProgram).await;
    send(&c, &key, vec![event("c1", Some("dev-a"), vec![openid("wxAAA", "oA-1"), unionid("U-1")])]).await;
    send(&c, &key, vec![event("c2", Some("dev-b"), vec![openid("wxBBB", "oB-1")])]).await;
    let first = holder(&c, IdentityKind::Unionid, "", "U-1").await.unwrap();
    let second = holder(&c, IdentityKind::Openid, "wxBBB", "oB-1").await.unwrap();
    let marketing = ConsentPurpose::Marketing;
    c.app.set_consent(&c.owner, first, marketing, ConsentStatus::Granted, None).await.unwrap();
    // Later, the same person (on the other mini-program) opts out of marketing.
    c.app.set_consent(&c.owner, second, marketing, ConsentStatus::Withdrawn, None).await.unwrap();
    send(&c, &key, vec![event("c3", None, vec![openid("wxBBB", "oB-1"), unionid("U-1")])]).await;
    let status = |view: siyu_app::privacy::ConsentsView| {
        view.consents.into_iter().find(|k| k.purpose == marketing).map(|k| k.status)
    };
    let merged = c.app.consents(&c.owner, first).await.unwrap();
    assert_eq!(status(merged), Some(ConsentStatus::Withdrawn), "the latest decision wins: no marketing");

    let merge = c.app.merges_of(&c.owner, first).await.unwrap()[0].id;
    c.app.unmerge(&c.owner, merge, "不是同一人").await.unwrap();
    assert_eq!(status(c.app.consents(&c.owner, first).await.unwrap()), Some(ConsentStatus::Granted));
    assert_eq!(status(c.app.consents(&c.owner, second).await.unwrap()), Some(ConsentStatus::Withdrawn));
}

async fn only_one_resolver_works_on_a_tenant_at_a_time(c: Ctx) {
    let key = write_key(&c, SourceKind::Web).await;
    let now = chrono::Utc::now();
    let graph = c.app.store.graph();
    // Another node's resolver holds the tenant.
    assert!(graph.lease(c.owner.tenant, "node-b", now, now + chrono::Duration::seconds(60)).await.unwrap());
    let body = serde_json::to_vec(&json!({"batch": [event("l1", Some("dev-l"), vec![])]})).unwrap();
    c.app.ingest(Endpoint::Batch, &body, Some(&key)).await.unwrap();
    assert_eq!(c.app.resolve_tenant_events(c.owner.tenant).await.unwrap(), 0, "the lease is taken");
    assert_eq!(graph.check(c.owner.tenant).await.unwrap().events_without_customer, 1);
    graph.release(c.owner.tenant, "node-b").await.unwrap();
    assert_eq!(c.app.resolve_tenant_events(c.owner.tenant).await.unwrap(), 1);
    assert_eq!(graph.check(c.owner.tenant).await.unwrap().events_without_customer, 0);
}

on_both_backends!(
    only_one_resolver_works_on_a_tenant_at_a_time,
    consents_merge_by_latest_change_and_come_back_apart_on_unmerge,
    erasing_a_merged_customer_removes_its_merge_log_links_and_suggestions,
    a_unionid_merges_two_mini_programs_and_a_wecom_contact_into_one_customer,
    a_masked_or_typed_phone_never_merges_and_becomes_a_suggestion,
    an_unmerge_restores_both_customers_with_their_own_events,
    an_accepted_suggestion_merges_and_a_rejected_one_stays_apart,
);
