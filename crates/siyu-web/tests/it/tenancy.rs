//! Tenant isolation across every route, and data scopes.

use std::collections::HashMap;

use serde_json::{Value, json};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{GroupCodeId, GroupWelcomeId, LiveCodeId};
use siyu_domain::order::Platform;
use siyu_domain::wecom::group_code::{self, GroupCode, GroupCodeSettings, GroupWelcome};
use siyu_domain::wecom::live_code::{self, CodeStaff, LiveCode, LiveCodeDef, Rotation, RotationState, Routing};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

/// Creates one of everything in a tenant and returns the ids by path parameter name and resource.
async fn objects(t: &TestApp, f: &Fixture) -> HashMap<&'static str, String> {
    let mut ids = HashMap::new();
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "等级", "tags": ["VIP"]}))).await;
    ids.insert("tag_group", g["id"].as_str().unwrap().to_string());
    ids.insert("tag", g["tags"][0]["id"].as_str().unwrap().to_string());
    let (s, c) = t
        .api(
            "POST",
            "/api/v1/customers",
            &f.token,
            Some(json!({"name": "客户", "phone": "13912345678", "tags": [ids["tag"]]})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let customer = c["id"].as_str().unwrap().to_string();
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{customer}"), &f.token, None).await;
    ids.insert("identity", detail["identities"][0]["id"].as_str().unwrap().to_string());
    let (_, n) =
        t.api("POST", &format!("/api/v1/customers/{customer}/notes"), &f.token, Some(json!({"body": "note"}))).await;
    ids.insert("note", n["id"].as_str().unwrap().to_string());
    let (_, fld) =
        t.api("POST", "/api/v1/fields", &f.token, Some(json!({"key": "skin", "label": "肤质", "kind": "text"}))).await;
    ids.insert("field", fld["id"].as_str().unwrap().to_string());
    let (_, d) = t.api("POST", "/api/v1/departments", &f.token, Some(json!({"name": "华东"}))).await;
    ids.insert("department", d["id"].as_str().unwrap().to_string());
    ids.insert("user", f.owner.id.to_string());
    let (_, tok) = t.api("POST", "/api/v1/tokens", &f.token, Some(json!({"name": "x", "scopes": ["read"]}))).await;
    ids.insert("token", tok["id"].as_str().unwrap().to_string());
    let (s, src) = t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": "官网", "kind": "web"}))).await;
    assert_eq!(s, 201, "{src}");
    ids.insert("source", src["id"].as_str().unwrap().to_string());
    // A merge (two mini-program customers linked by a unionid) and a merge suggestion (a typed-in phone).
    let key = src["write_key"].as_str().unwrap();
    let ext = |t: &str, ns: &str, v: &str| json!({"type": t, "appid": ns, "id": v});
    let batch = json!({"batch": [
        {"type": "track", "event": "A", "anonymousId": "d1", "context": {"externalIds": [ext("openid", "wx1", "o1")]}},
        {"type": "track", "event": "B", "anonymousId": "d2", "context": {"externalIds": [ext("openid", "wx2", "o2")]}},
        {"type": "identify", "anonymousId": "d3", "traits": {"phone": "13912345678"}},
    ]});
    let body = serde_json::to_vec(&batch).unwrap();
    t.app.ingest(siyu_domain::event::Endpoint::Batch, &body, Some(key)).await.unwrap();
    t.app.run_due_work().await.unwrap();
    let link = json!({"type": "track", "event": "C", "anonymousId": "d4",
        "context": {"externalIds": [ext("openid", "wx1", "o1"), ext("openid", "wx2", "o2")]}});
    let body = serde_json::to_vec(&link).unwrap();
    t.app
        .ingest(siyu_domain::event::Endpoint::Single(siyu_domain::event::MessageType::Track), &body, Some(key))
        .await
        .unwrap();
    t.app.run_due_work().await.unwrap();
    let merges = t.app.store.graph().live_merges(f.tenant.id).await.unwrap();
    ids.insert("merge", merges[0].to_string());
    let open = siyu_domain::graph::SuggestionStatus::Open;
    let suggestions = t.app.store.graph().suggestions(f.tenant.id, open, None, 10).await.unwrap();
    ids.insert("suggestion", suggestions[0].id.to_string());
    let (job, _) = crate::orders::import_jd(&t.app, &t.owner_actor(f).await, true).await;
    ids.insert("order_import", job.to_string());
    let order = t.app.store.orders().by_key(f.tenant.id, Platform::Jd, "", "290001234567").await.unwrap();
    ids.insert("order", order.order.id.to_string());
    let (_, job) = t
        .api(
            "POST",
            "/api/v1/customers/bulk-tag",
            &f.token,
            Some(json!({"target": {"ids": [customer]}, "add": [ids["tag"]]})),
        )
        .await;
    ids.insert("job", job["id"].as_str().unwrap().to_string());
    let (s, seg) =
        t.api("POST", "/api/v1/segments", &f.token, Some(json!({"name": "有手机号", "text": "has phone"}))).await;
    assert_eq!(s, 201, "{seg}");
    ids.insert("segment", seg["id"].as_str().unwrap().to_string());
    let path = format!("/api/v1/segments/{}/audience-syncs", ids["segment"]);
    let (s, sync) = t.api("POST", &path, &f.token, Some(json!({"key": "phone", "every_hours": 24}))).await;
    assert_eq!(s, 201, "{sync}");
    let sync = sync["id"].as_str().unwrap().to_string();
    let (s, _) = t.api("POST", &format!("/api/v1/audience-syncs/{sync}/run"), &f.token, None).await;
    assert_eq!(s, 200, "a snapshot exists, so only the tenant check can answer 404");
    ids.insert("audience_sync", sync);
    let graph = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "你好 {{ name }}"}
    ]});
    let (s, journey) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "欢迎", "graph": graph}))).await;
    assert_eq!(s, 201, "{journey}");
    ids.insert("journey", journey["id"].as_str().unwrap().to_string());
    // A staff task and a dead letter (a webhook its receiver refuses).
    let (hook, _) = crate::tasks_api::receiver(&[410]).await;
    crate::tasks_api::call_back_and_notify(t, f, &customer, &hook).await;
    let (_, tasks) = t.api("GET", "/api/v1/tasks", &f.token, None).await;
    ids.insert("task", tasks["items"][0]["id"].as_str().unwrap().to_string());
    let (_, dead) = t.api("GET", "/api/v1/journeys/dead-letters", &f.token, None).await;
    ids.insert("dead_letter", dead[0]["id"].as_str().unwrap().to_string());
    // A connected WeCom corp with a synced customer group.
    let (corp, group) = crate::wecom_console::corp_and_group(t, f).await;
    ids.insert("corp", corp.to_string());
    ids.insert("group", group.to_string());
    // A group tag and a group SOP template.
    let (_, tag) = t.api("POST", "/api/v1/group-tags", &f.token, Some(json!({"name": "高意向"}))).await;
    ids.insert("group_tag", tag["id"].as_str().unwrap().to_string());
    let sop = json!({"name": "日常", "kind": "daily", "steps": [{"time": "09:00", "text": "早安"}]});
    let (_, sop) = t.api("POST", "/api/v1/group-sops", &f.token, Some(sop)).await;
    ids.insert("group_sop", sop["id"].as_str().unwrap().to_string());
    // A team script group with a script.
    let (_, group) =
        t.api("POST", "/api/v1/script-groups", &f.token, Some(json!({"name": "售后", "scope": "team"}))).await;
    let group = group["id"].as_str().unwrap().to_string();
    let body = json!({"title": "发货", "body": "已发货"});
    let (_, script) = t.api("POST", &format!("/api/v1/script-groups/{group}/scripts"), &f.token, Some(body)).await;
    ids.insert("script", script["id"].as_str().unwrap().to_string());
    ids.insert("script_group", group);
    // The session archive: a word list, a rule, and a conversation whose message raised an alert.
    let (_, list) = t.api("POST", "/api/v1/archive/word-lists", &f.token, Some(json!({"name": "敏感词"}))).await;
    ids.insert("word_list", list["id"].as_str().unwrap().to_string());
    let (_, rule) =
        t.api("POST", "/api/v1/archive/rules", &f.token, Some(json!({"kind": "phone", "name": "手机号"}))).await;
    ids.insert("archive_rule", rule["id"].as_str().unwrap().to_string());
    let (_, corp_view) = t.api("GET", &format!("/api/v1/wecom/corps/{corp}"), &f.token, None).await;
    let msg = json!({"msgid": "m1", "from": "zhangsan", "tolist": ["wmA1"], "msgtime": 1_700_000_000_000_i64,
        "msgtype": "text", "text": {"content": "电话 13812345678"}});
    let batch = json!({"corp_id": corp_view["corp_id"], "items": [{"seq": 1, "message": msg}]});
    let (status, ingested) = t.api("POST", "/api/v1/archive/ingest", &f.token, Some(batch)).await;
    assert_eq!((status, ingested["alerts"].as_u64()), (200, Some(1)), "{ingested}");
    let (_, convs) = t.api("GET", "/api/v1/archive/conversations", &f.token, None).await;
    ids.insert("conversation", convs["items"][0]["id"].as_str().unwrap().to_string());
    let (_, alerts) = t.api("GET", "/api/v1/archive/alerts", &f.token, None).await;
    ids.insert("alert", alerts["items"][0]["id"].as_str().unwrap().to_string());
    // A live code in that corp (stored directly: the corp has no WeCom to create its contact way in).
    let id = LiveCodeId::new();
    let routing = Routing {
        staff: vec![CodeStaff { userid: "zhangsan".into(), daily_cap: None }],
        backup: Vec::new(),
        rotation: Rotation::RoundRobin,
        schedule: Vec::new(),
    };
    let code = LiveCode {
        id,
        corp,
        name: "门店码".into(),
        channel: "门店海报".into(),
        state: live_code::state_for(id),
        def: LiveCodeDef {
            routing,
            skip_verify: true,
            exclusive: false,
            tag_ids: Vec::new(),
            remark_template: None,
            description: None,
            welcome: None,
        },
        config_id: None,
        qr_code: None,
        current: vec!["zhangsan".into()],
        rotation: RotationState::default(),
        active: true,
        created_at: chrono::Utc::now(),
    };
    t.app.store.wecom().insert_live_code(f.tenant.id, &code).await.unwrap();
    ids.insert("live_code", id.to_string());
    // A mass send and a moment in that corp (stored directly, never run).
    let now = chrono::Utc::now();
    let send = siyu_domain::wecom::mass::MassSend {
        id: siyu_domain::id::MassSendId::new(),
        corp,
        name: "群发".into(),
        audience: Default::default(),
        content: siyu_domain::wecom::mass::MassContent { text: "x".into(), attachments: Vec::new() },
        daily_cap: 1,
        scheduled_at: now,
        status: siyu_domain::wecom::mass::MassStatus::Scheduled,
        error: None,
        created_at: now,
        planned_at: None,
        finished_at: None,
    };
    t.app.store.wecom().insert_mass_send(f.tenant.id, &send, None).await.unwrap();
    ids.insert("mass_send", send.id.to_string());
    let moment = siyu_domain::wecom::moment::Moment {
        id: siyu_domain::id::MomentId::new(),
        corp,
        name: "朋友圈".into(),
        content: siyu_domain::wecom::moment::MomentContent { text: "x".into(), attachments: Vec::new() },
        visibility: Default::default(),
        scheduled_at: now,
        status: siyu_domain::wecom::moment::MomentStatus::Scheduled,
        moment_id: None,
        invalid: None,
        error: None,
        created_at: now,
        submitted_at: None,
        published_at: None,
        results_at: None,
    };
    t.app.store.wecom().insert_moment(f.tenant.id, &moment, None).await.unwrap();
    ids.insert("moment", moment.id.to_string());
    // A transfer batch in that corp (stored directly, like the live code).
    let batch = siyu_domain::wecom::transfer::TransferBatch {
        id: siyu_domain::id::TransferId::new(),
        corp,
        kind: siyu_domain::wecom::transfer::TransferKind::OnJob,
        handover_userid: "zhangsan".into(),
        takeover_userid: "lisi".into(),
        message: None,
        status: siyu_domain::wecom::transfer::BatchStatus::Waiting,
        error: None,
        created_by: None,
        created_at: chrono::Utc::now(),
        finished_at: None,
    };
    t.app.store.wecom().insert_transfer(f.tenant.id, &batch, None, &[]).await.unwrap();
    ids.insert("transfer", batch.id.to_string());
    // A group code and a group welcome template in that corp (stored directly, for the same reason).
    let id = GroupCodeId::new();
    let code = GroupCode {
        id,
        corp,
        name: "群码".into(),
        channel: String::new(),
        state: group_code::state_for(id),
        settings: GroupCodeSettings::default(),
        chat_ids: Vec::new(),
        slots: 1,
        reserve: Vec::new(),
        filled: Vec::new(),
        needs_groups: false,
        config_id: None,
        qr_code: None,
        active: true,
        created_at: chrono::Utc::now(),
        version: 0,
    };
    t.app.store.wecom().insert_group_code(f.tenant.id, &code).await.unwrap();
    ids.insert("group_code", id.to_string());
    let welcome = GroupWelcome {
        id: GroupWelcomeId::new(),
        corp,
        name: "欢迎".into(),
        text: "欢迎".into(),
        attachment: None,
        template_id: None,
        notify: true,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    t.app.store.wecom().insert_group_welcome(f.tenant.id, &welcome).await.unwrap();
    ids.insert("group_welcome", welcome.id.to_string());
    // A material (an uploaded image, so file and thumbnail routes have something to refuse) in a folder.
    let (_, folder) = t.api("POST", "/api/v1/material-folders", &f.token, Some(json!({"name": "海报"}))).await;
    ids.insert("material_folder", folder["id"].as_str().unwrap().to_string());
    let material = crate::materials::upload(
        t,
        &f.token,
        json!({"kind": "image", "title": "图"}),
        "a.png",
        &siyu_app::materials::thumbnail::sample_png(40, 20, 1),
    )
    .await;
    assert_eq!(material.0, 201, "{}", material.1);
    ids.insert("material", material.1["id"].as_str().unwrap().to_string());
    ids.insert("material_version", "1".to_string());
    // A tracked link for the customer.
    let body =
        json!({"url": "https://shop.example.com", "title": "链接", "staff_id": f.owner.id, "customer_id": customer});
    let (s, link) = t.api("POST", "/api/v1/links", &f.token, Some(body)).await;
    assert_eq!(s, 201, "{link}");
    ids.insert("link", link["id"].as_str().unwrap().to_string());
    ids.insert("customer", customer);
    ids
}

/// Which object a path parameter names, judged by the path it appears in.
fn resolve(path: &str, ids: &HashMap<&'static str, String>) -> String {
    let resource = |p: &str| -> &'static str {
        match p {
            p if p.starts_with("/api/v1/customers") || p.starts_with("/console/customers") => "customer",
            p if p.contains("/group-tags/") => "group_tag",
            p if p.starts_with("/api/v1/links/") => "link",
            p if p.contains("/material-folders/") => "material_folder",
            p if p.contains("/materials/") => "material",
            p if p.contains("/script-groups/") || p.starts_with("/console/scripts/groups/") => "script_group",
            p if p.contains("/scripts/") => "script",
            p if p.contains("/archive/conversations/") || p.contains("/archive/chats/") => "conversation",
            p if p.contains("/archive/alerts/") => "alert",
            p if p.contains("/archive/word-lists/") => "word_list",
            p if p.contains("/archive/rules/") => "archive_rule",
            p if p.contains("/group-sops/") => "group_sop",
            p if p.contains("/transfers/") => "transfer",
            p if p.contains("/group-codes/") => "group_code",
            p if p.contains("/group-welcome") => "group_welcome",
            p if p.starts_with("/api/v1/mass-sends/") || p.starts_with("/console/wecom/mass-sends/") => "mass_send",
            p if p.starts_with("/api/v1/moments/") || p.starts_with("/console/wecom/moments/") => "moment",
            p if p.starts_with("/api/v1/wecom/corps/") || p.starts_with("/console/wecom/") => "corp",
            p if p.starts_with("/api/v1/groups/") || p.starts_with("/console/groups/") => "group",
            p if p.starts_with("/api/v1/live-codes/") || p.starts_with("/console/live-codes/") => "live_code",
            p if p.starts_with("/api/v1/orders/") => "order",
            p if p.contains("/audience-syncs/") => "audience_sync",
            p if p.contains("/dead-letters/") || p.starts_with("/console/deliveries/") => "dead_letter",
            p if p.starts_with("/api/v1/tasks/") || p.starts_with("/console/tasks/") => "task",
            p if p.starts_with("/api/v1/journeys/") || p.starts_with("/console/journeys/") => "journey",
            p if p.starts_with("/api/v1/segments/") || p.starts_with("/console/segments/") => "segment",
            p if p.starts_with("/console/order-imports/") => "order_import",
            p if p.contains("tag-groups") || p.contains("tag_groups") || p.starts_with("/console/tags/groups") => {
                "tag_group"
            }
            p if p.contains("/tags/") => "tag",
            p if p.contains("/fields/") => "field",
            p if p.contains("/users/") => "user",
            p if p.contains("/departments/") => "department",
            p if p.contains("/tokens/") => "token",
            p if p.contains("/sources/") => "source",
            p if p.contains("suggestions/") => "suggestion",
            p if p.contains("/merges/") => "merge",
            p if p.contains("/jobs/") => "job",
            p if p.contains("/imports/") => "customer",
            _ => "customer",
        }
    };
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let name = &rest[start + 1..end];
        let key = match name {
            "identity_id" => "identity",
            "note_id" => "note",
            "user_id" => "user",
            "tag_id" => "tag",
            "version" => "material_version",
            _ => resource(path),
        };
        out.push_str(ids.get(key).map(String::as_str).unwrap_or("00000000-0000-0000-0000-000000000000"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A valid body for each write route, so that only the tenant check can refuse the request.
fn body_for(method: &str, path: &str, ids: &HashMap<&'static str, String>) -> Option<Value> {
    let body = match (method, path) {
        ("PATCH", "/api/v1/customers/{id}") => json!({"name": "改名"}),
        ("POST", "/api/v1/customers/{id}/tags") => json!({"add": [], "remove": []}),
        ("POST", "/api/v1/customers/{id}/identities") => json!({"kind": "unionid", "value": "u-x"}),
        ("POST", "/api/v1/customers/{id}/follows") => json!({"user_id": ids["user"]}),
        ("POST", "/api/v1/customers/{id}/notes") => json!({"body": "x"}),
        ("PATCH", "/api/v1/tag-groups/{id}") => json!({"name": "x"}),
        ("POST", "/api/v1/tag-groups/{id}/tags") => json!({"name": "x"}),
        ("PATCH", "/api/v1/tags/{id}") => json!({"name": "x"}),
        ("PATCH", "/api/v1/fields/{id}") => json!({"label": "x"}),
        ("PATCH", "/api/v1/users/{id}") => json!({"display_name": "x"}),
        ("PATCH", "/api/v1/departments/{id}") => json!({"name": "x"}),
        ("PATCH", "/api/v1/sources/{id}") => json!({"name": "x"}),
        ("PUT", "/api/v1/customers/{id}/consents/{purpose}") => json!({"status": "granted"}),
        ("POST", "/api/v1/merges/{id}/undo") => json!({"reason": "x"}),
        ("PUT", "/api/v1/segments/{id}") => json!({"name": "x", "text": "has phone"}),
        ("POST", "/api/v1/segments/{id}/archive") => json!({"archived": true}),
        ("POST", "/api/v1/segments/{id}/audience-syncs") => json!({"key": "phone", "every_hours": 24}),
        ("POST", "/api/v1/journeys/{id}/migrations") => json!({"from_version": 1, "dry_run": true}),
        ("POST", "/api/v1/journeys/{id}/status") => json!({"status": "paused"}),
        ("POST", "/api/v1/journeys/{id}/versions") => {
            json!({"nodes": [{"id": "t", "type": "trigger", "trigger": {"on": "manual"}}]})
        }
        ("PUT", "/api/v1/customers/{id}/stage") => json!({"stage": "interested"}),
        ("POST", "/api/v1/journeys/{id}/enrol") => json!({"customer_id": ids["customer"]}),
        ("POST", "/api/v1/journeys/{id}/simulate") => json!({"customer_id": ids["customer"]}),
        ("PUT", "/api/v1/wecom/corps/{id}") => json!({"corp_id": "wwgroups0001", "name": "x", "contact_secret": "s",
            "callback_token": "Tok3n", "callback_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}),
        ("PUT", "/api/v1/groups/{id}/kind") => json!({"kind": "daily"}),
        ("PATCH", "/api/v1/groups/{id}") => json!({"tag_ids": []}),
        ("PATCH", "/api/v1/script-groups/{id}") => json!({"name": "改名"}),
        ("POST", "/api/v1/script-groups/{id}/scripts") | ("PUT", "/api/v1/scripts/{id}") => {
            json!({"title": "标题", "body": "内容"})
        }
        ("POST", "/api/v1/scripts/{id}/use") => json!({}),
        ("PUT", "/api/v1/materials/{id}") => json!({"kind": "image", "title": "改名"}),
        ("POST", "/api/v1/materials/{id}/sends") => json!({"dedupe_key": "k1"}),
        ("PUT", "/api/v1/material-folders/{id}") => json!({"name": "改名"}),
        ("POST", "/api/v1/archive/alerts/{id}/verdict") => json!({"status": "confirmed"}),
        ("POST", "/api/v1/archive/word-lists/{id}/words") => json!({"words": ["加微信"]}),
        ("PUT", "/api/v1/archive/rules/{id}") => json!({"kind": "phone", "name": "改名"}),
        ("PATCH", "/api/v1/group-tags/{id}") => json!({"name": "x"}),
        ("PUT", "/api/v1/group-sops/{id}") => {
            json!({"name": "x", "kind": "daily", "steps": [{"time": "09:00", "text": "x"}]})
        }
        ("PUT", "/api/v1/live-codes/{id}") => json!({"corp": ids["corp"], "name": "x",
            "routing": {"staff": [{"userid": "zhangsan"}], "rotation": "round_robin"}}),
        ("PUT", "/api/v1/group-codes/{id}") => json!({"corp": ids["corp"], "name": "x", "groups": ["wrX"]}),
        ("PUT", "/api/v1/group-welcome-templates/{id}") => json!({"corp": ids["corp"], "name": "x", "text": "x"}),
        ("POST", _) | ("PATCH", _) => json!({}),
        _ => return None,
    };
    Some(body)
}

#[tokio::test]
async fn every_api_and_console_route_answers_404_for_another_tenants_objects() {
    let t = spawn_app().await;
    let (a, b) = (t.tenant("品牌A").await, t.tenant("品牌B").await);
    let theirs = objects(&t, &b).await;
    let _mine = objects(&t, &a).await;
    let console = t.console(&a.owner.username).await;
    let page = console.get(t.url("/console")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    assert_eq!(resolve("/api/v1/orders/{id}", &theirs), format!("/api/v1/orders/{}", theirs["order"]));
    let job = &theirs["order_import"];
    assert_eq!(resolve("/console/order-imports/{id}", &theirs), format!("/console/order-imports/{job}"));
    let table = siyu_web::routes::table();
    assert!(table.len() > 30, "the route table lists the router's routes");
    let mut checked = 0;
    for (method, path) in table.iter().filter(|(_, p)| p.contains('{')) {
        let url = t.url(&resolve(path, &theirs));
        let status = if path.starts_with("/api/") {
            let client = reqwest::Client::new();
            let mut req = client.request(method.parse().unwrap(), &url).bearer_auth(&a.token);
            if let Some(body) = body_for(method, path, &theirs) {
                req = req.json(&body);
            }
            req.send().await.unwrap().status().as_u16()
        } else {
            let req = console.request(method.parse().unwrap(), &url).header("x-csrf-token", &token);
            let req = if *method == "POST" { req.form(&[("_csrf", token.as_str())]) } else { req };
            req.send().await.unwrap().status().as_u16()
        };
        assert_eq!(status, 404, "{method} {path} must not reach tenant B's object");
        checked += 1;
    }
    assert!(checked > 20);
    // Tenant B's objects are untouched.
    let (s, c) = t.api("GET", &format!("/api/v1/customers/{}", theirs["customer"]), &b.token, None).await;
    assert_eq!((s, c["name"].as_str()), (200, Some("客户")));
    let (_, list) = t.api("GET", "/api/v1/customers", &a.token, None).await;
    assert!(list["items"].as_array().unwrap().iter().all(|c| c["id"] != theirs["customer"].as_str()));
    let (s, src) = t.api("GET", &format!("/api/v1/sources/{}", theirs["source"]), &b.token, None).await;
    assert_eq!((s, src["name"].as_str(), src["revoked_at"].is_null()), (200, Some("官网"), true));
    let (s, order) = t.api("GET", &format!("/api/v1/orders/{}", theirs["order"]), &b.token, None).await;
    assert_eq!((s, order["order"]["platform_order_id"].as_str()), (200, Some("290001234567")));
    let (_, sources) = t.api("GET", "/api/v1/sources", &a.token, None).await;
    assert!(sources.as_array().unwrap().iter().all(|s| s["id"] != theirs["source"].as_str()));
}

#[tokio::test]
async fn a_staff_member_with_scope_self_sees_only_the_customers_they_follow() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (staff, staff_token, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (_, mine) = t
        .api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "我的客户", "follow_user_id": staff.user})))
        .await;
    let (_, other) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "别人的客户"}))).await;
    let (_, list) = t.api("GET", "/api/v1/customers", &staff_token, None).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["我的客户"]);
    let (s, _) =
        t.api("GET", &format!("/api/v1/customers/{}", other["id"].as_str().unwrap()), &staff_token, None).await;
    assert_eq!(s, 404);
    let (s, _) = t.api("GET", &format!("/api/v1/customers/{}", mine["id"].as_str().unwrap()), &staff_token, None).await;
    assert_eq!(s, 200);
    // A customer the staff member creates is followed by them, so they keep seeing it.
    let (s, created) = t.api("POST", "/api/v1/customers", &staff_token, Some(json!({"name": "新客"}))).await;
    assert_eq!(s, 201);
    let (s, _) =
        t.api("GET", &format!("/api/v1/customers/{}", created["id"].as_str().unwrap()), &staff_token, None).await;
    assert_eq!(s, 200);
    // Staff may not see full phone numbers.
    let (_, with_phone) =
        t.api("POST", "/api/v1/customers", &staff_token, Some(json!({"name": "有手机", "phone": "13700001111"}))).await;
    let id = with_phone["id"].as_str().unwrap();
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{id}"), &staff_token, None).await;
    assert_eq!(detail["phone"], "137****1111");
    let identity = detail["identities"][0]["id"].as_str().unwrap();
    let (s, body) =
        t.api("POST", &format!("/api/v1/customers/{id}/identities/{identity}/reveal"), &staff_token, None).await;
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
}
