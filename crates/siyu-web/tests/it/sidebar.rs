//! The staff sidebar: WeCom's OAuth2 sign-in against the fake (state checked, unknown staff refused), the
//! JS-SDK config signed with cached tickets, the development identity's gate, the customer panel with its
//! audited changes inside the member's data scope, scripts sent and counted once per send id, tasks, and
//! another tenant's ids answering 404; a customer group's chat with its panel and sends addressed to the
//! group; image materials sent by a WeCom media_id cached until shortly before it expires.

use std::sync::Arc;

use serde_json::{Value, json};
use siyu_app::Settings;
use siyu_app::clock::{Clock, ManualClock, SystemClock};
use siyu_app::materials::thumbnail::sample_png;
use siyu_domain::id::CustomerId;
use siyu_store::audit::AuditQuery;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle, TicketKind};

use crate::helpers::{Fixture, TestApp, fresh_db, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, customer_of, settle, start_fake, sync};

pub(crate) struct World {
    pub(crate) t: TestApp,
    pub(crate) f: Fixture,
    pub(crate) fake: FakeHandle,
    corp: String,
    /// 王女士, who added zhangsan.
    pub(crate) mine: CustomerId,
    mine_ext: String,
    /// 赵先生, who added only lisi.
    pub(crate) theirs: CustomerId,
    theirs_ext: String,
}

pub(crate) async fn world_with(settings: Settings) -> World {
    world_on(settings, Arc::new(SystemClock)).await
}

pub(crate) async fn world_on(settings: Settings, clock: Arc<dyn Clock>) -> World {
    let fake = start_fake(FakeConfig { start_time: clock.now().timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with(Arc::new(fresh_db().await), clock, settings).await;
    let (f, corp) = connect(&t, &fake).await;
    let mine_ext = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &mine_ext, "zhangsan", None).await.unwrap();
    let theirs_ext = fake.add_customer(CORP, CustomerSetup::named("赵先生")).unwrap();
    fake.customer_adds_staff(CORP, &theirs_ext, "lisi", None).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    let mine = customer_of(&t, &f, &mine_ext).await.unwrap();
    let theirs = customer_of(&t, &f, &theirs_ext).await.unwrap();
    let corp = corp["id"].as_str().unwrap().to_owned();
    World { t, f, fake, corp, mine, mine_ext, theirs, theirs_ext }
}

pub(crate) async fn world() -> World {
    world_with(test_settings()).await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `state` of WeCom's authorize URL a `/sidebar?corp=` redirect points at.
fn state_of(location: &str) -> String {
    let query = location.split_once('?').unwrap().1.split('#').next().unwrap();
    query.split('&').find_map(|kv| kv.strip_prefix("state=")).unwrap().to_owned()
}

/// A browser signed in to the sidebar through WeCom's OAuth2 as `userid`, and the page's CSRF token.
pub(crate) async fn sign_in(w: &World, userid: &str) -> (reqwest::Client, String) {
    let b = browser();
    let res = b.get(w.t.url(&format!("/sidebar?corp={}", w.corp))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "no sign-in yet: off to WeCom");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wwsiyutest01"));
    assert!(location.contains("scope=snsapi_base") && location.contains("agentid=1000002"));
    assert!(location.ends_with("#wechat_redirect"), "{location}");
    let code = w.fake.oauth_code(CORP, userid).unwrap();
    let back = format!("/sidebar/oauth?code={code}&state={}", state_of(&location));
    let res = b.get(w.t.url(&back)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    let cookie = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let session = cookie.iter().find(|c| c.starts_with("siyu_sidebar=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/sidebar"));
    let page = b.get(w.t.url("/sidebar")).send().await.unwrap().text().await.unwrap();
    (b, page_csrf(&page))
}

fn page_csrf(page: &str) -> String {
    let marker = "data-csrf=\"";
    let start = page.find(marker).map(|i| i + marker.len()).expect("the sidebar page");
    page[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn get(b: &reqwest::Client, w: &World, path: &str) -> (u16, String) {
    let res = b.get(w.t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(b: &reqwest::Client, w: &World, path: &str, csrf: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = b.post(w.t.url(path)).header("x-sidebar-csrf", csrf).form(form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn record(b: &reqwest::Client, w: &World, csrf: &str, body: Value) -> (u16, Value) {
    let res = b.post(w.t.url("/sidebar/sends")).header("x-sidebar-csrf", csrf).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn wecom_oauth_signs_staff_in_and_refuses_a_forged_state_and_an_unknown_member() {
    let w = world().await;
    let (b, _) = sign_in(&w, "zhangsan").await;
    let (status, page) = get(&b, &w, "/sidebar").await;
    assert_eq!(status, 200);
    assert!(page.contains("张三") && page.contains("jweixin-1.2.0.js") && page.contains("jwxwork-1.0.0.js"));
    assert!(!page.contains("id=\"dev-badge\""), "a real sign-in is not the development identity");

    // A state that is not the one this browser was sent off with.
    let other = browser();
    let res = other.get(w.t.url(&format!("/sidebar?corp={}", w.corp))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let code = w.fake.oauth_code(CORP, "zhangsan").unwrap();
    let (status, page) = get(&other, &w, &format!("/sidebar/oauth?code={code}&state=forged")).await;
    assert_eq!(status, 400);
    assert!(page.contains("重新打开侧边栏"), "{page}");
    // No state cookie at all.
    let (status, _) = get(&browser(), &w, &format!("/sidebar/oauth?code={code}&state=forged")).await;
    assert_eq!(status, 400);

    // A member WeCom knows but the staff sync has not brought in yet.
    w.fake.add_staff(CORP, "wangwu", "王五", &[1]).unwrap();
    let b2 = browser();
    let res = b2.get(w.t.url(&format!("/sidebar?corp={}", w.corp))).send().await.unwrap();
    let state = state_of(res.headers()["location"].to_str().unwrap());
    let code = w.fake.oauth_code(CORP, "wangwu").unwrap();
    let (status, page) = get(&b2, &w, &format!("/sidebar/oauth?code={code}&state={state}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("还不是 siyu 中的员工"), "{page}");
    // A used code.
    let (status, page) = get(&b2, &w, &format!("/sidebar/oauth?code={code}&state={state}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("授权码无效"), "{page}");
    // Without a sign-in the fragments answer 401.
    let (status, _) = get(&b2, &w, &format!("/sidebar/panel?external_userid={}", w.mine_ext)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn jsconfig_signs_both_configs_with_tickets_fetched_once() {
    let w = world().await;
    let (b, _) = sign_in(&w, "zhangsan").await;
    let url = "https://crm.example.com/sidebar?corp=1";
    let path = format!("/sidebar/jsconfig?url={}", urlencoding(&format!("{url}#/chat")));
    let (status, body) = get(&b, &w, &path).await;
    assert_eq!(status, 200, "{body}");
    let c: Value = serde_json::from_str(&body).unwrap();
    let tickets = w.fake.tickets(CORP).unwrap();
    let corp_ticket = &tickets.iter().find(|t| t.kind == TicketKind::Corp).unwrap().ticket;
    let app_ticket = &tickets.iter().find(|t| t.kind == TicketKind::Agent).unwrap().ticket;
    let (ts, nonce) = (c["config"]["timestamp"].as_i64().unwrap(), c["config"]["nonce_str"].as_str().unwrap());
    assert_eq!(c["config"]["corp_id"], CORP);
    assert_eq!(c["config"]["signature"], siyu_wecom::jssdk::signature(corp_ticket, nonce, ts, url));
    assert_eq!(c["agent_config"]["agent_id"], "1000002");
    let (ts, nonce) =
        (c["agent_config"]["timestamp"].as_i64().unwrap(), c["agent_config"]["nonce_str"].as_str().unwrap());
    assert_eq!(c["agent_config"]["signature"], siyu_wecom::jssdk::signature(app_ticket, nonce, ts, url));
    assert_eq!(c["jsApiList"], json!(["getCurExternalContact", "getCurExternalChat", "getContext", "sendChatMessage"]));

    let (status, _) = get(&b, &w, &path).await;
    assert_eq!(status, 200);
    assert_eq!(w.fake.calls("get_jsapi_ticket"), 1, "the corp ticket is cached");
    assert_eq!(w.fake.calls("ticket/get"), 1, "the app ticket is cached");
    let (status, _) = get(&b, &w, "/sidebar/jsconfig?url=javascript:alert(1)").await;
    assert_eq!(status, 400);
}

fn urlencoding(s: &str) -> String {
    siyu_web::auth::urlencode(s).replace('/', "%2F")
}

#[tokio::test]
async fn the_development_identity_is_refused_unless_a_console_user_or_the_setting_allows_it() {
    let w = world().await;
    let anon = browser();
    let (status, _) = get(&anon, &w, &format!("/sidebar?dev=1&corp={}", w.corp)).await;
    assert_eq!(status, 403);
    let form = [("corp", w.corp.as_str()), ("userid", "zhangsan")];
    let res = anon.post(w.t.url("/sidebar/dev")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);

    // The console owner may pick anyone.
    let console = w.t.console(&w.f.owner.username).await;
    let (status, page) = get(&console, &w, "/sidebar?dev=1").await;
    assert_eq!(status, 200);
    assert!(page.contains("开发身份") && page.contains("zhangsan") && page.contains("lisi"));
    let res = console.post(w.t.url("/sidebar/dev")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, page) = get(&console, &w, "/sidebar").await;
    assert!(page.contains("id=\"dev-badge\"") && page.contains("王女士"), "the picker offers zhangsan's customers");
    assert!(!page.contains("jweixin"), "no JS-SDK outside WeCom");
    let q =
        AuditQuery { action_prefix: Some("sidebar.".into()), actor: None, object_id: None, before: None, limit: 10 };
    let audit = w.t.app.store.audit().list(w.f.tenant.id, &q).await.unwrap();
    assert_eq!(audit.len(), 1, "picking an identity is audited");

    // With the setting on (the demo), anyone may.
    let mut settings = test_settings();
    settings.sidebar.dev_identity = true;
    let demo = world_with(settings).await;
    let anon = browser();
    let (status, _) = get(&anon, &demo, &format!("/sidebar?dev=1&corp={}", demo.corp)).await;
    assert_eq!(status, 200);
    let form = [("corp", demo.corp.as_str()), ("userid", "lisi")];
    let res = anon.post(demo.t.url("/sidebar/dev")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(Settings::defaults().map(|s| !s.sidebar.dev_identity).unwrap(), "off by default in serve");
}

#[tokio::test]
async fn the_panel_shows_the_profile_and_tag_note_and_stage_changes_persist_audited_as_the_staff_member() {
    let w = world().await;
    let body = json!({"name": "意向", "tags": ["高意向"]});
    let (status, group) = w.t.api("POST", "/api/v1/tag-groups", &w.f.token, Some(body)).await;
    assert_eq!(status, 201, "{group}");
    let tag = group["tags"][0]["id"].as_str().unwrap().to_owned();
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (status, panel) = get(&b, &w, &format!("/sidebar/panel?external_userid={}", w.mine_ext)).await;
    assert_eq!(status, 200, "{panel}");
    assert!(panel.contains("王女士") && panel.contains("id=\"stage\""), "{panel}");
    let customer = w.mine.0.to_string();

    let (status, panel) =
        post(&b, &w, "/sidebar/tags", &csrf, &[("customer", &customer), ("tag", &tag), ("op", "add")]).await;
    assert_eq!(status, 200, "{panel}");
    assert!(panel.contains("意向 / 高意向"));
    let (status, panel) =
        post(&b, &w, "/sidebar/notes", &csrf, &[("customer", &customer), ("body", "周末到店试色")]).await;
    assert_eq!(status, 200, "{panel}");
    assert!(panel.contains("周末到店试色"));
    let (status, panel) = post(&b, &w, "/sidebar/stage", &csrf, &[("customer", &customer), ("stage", "met")]).await;
    assert_eq!(status, 200, "{panel}");
    assert!(panel.contains("已见面/已报价"));
    let (status, _) = post(&b, &w, "/sidebar/stage", &csrf, &[("customer", &customer), ("stage", "nowhere")]).await;
    assert_eq!(status, 400);
    // Without the CSRF token nothing changes.
    let res =
        b.post(w.t.url("/sidebar/notes")).form(&[("customer", customer.as_str()), ("body", "x")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);

    let (_, c) = w.t.api("GET", &format!("/api/v1/customers/{customer}"), &w.f.token, None).await;
    assert_eq!(c["tags"][0]["name"], "高意向");
    assert_eq!(c["notes"].as_array().unwrap().len(), 1);
    let (_, stage) = w.t.api("GET", &format!("/api/v1/customers/{customer}/stage"), &w.f.token, None).await;
    assert_eq!(stage["stage"], "met");
    let staff = w.t.app.store.wecom().staff(w.f.tenant.id, corp_id(&w)).await.unwrap();
    let zhangsan = staff.iter().find(|s| s.userid == "zhangsan").unwrap().user_id;
    let q = AuditQuery {
        action_prefix: Some("customer.".into()),
        actor: Some(zhangsan),
        object_id: Some(customer.clone()),
        before: None,
        limit: 20,
    };
    let actions: Vec<String> =
        w.t.app.store.audit().list(w.f.tenant.id, &q).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["customer.tags", "customer.note", "customer.stage"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited as zhangsan: {actions:?}");
    }
}

pub(crate) fn corp_id(w: &World) -> siyu_domain::id::CorpId {
    siyu_domain::id::CorpId(uuid::Uuid::parse_str(&w.corp).unwrap())
}

#[tokio::test]
async fn staff_cannot_open_or_change_a_customer_outside_their_scope() {
    let w = world().await;
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (status, _) = get(&b, &w, &format!("/sidebar/panel?external_userid={}", w.theirs_ext)).await;
    assert_eq!(status, 404, "lisi's customer");
    let theirs = w.theirs.0.to_string();
    let (status, _) = get(&b, &w, &format!("/sidebar/panel?customer={theirs}")).await;
    assert_eq!(status, 404);
    let (status, _) = post(&b, &w, "/sidebar/notes", &csrf, &[("customer", &theirs), ("body", "越权")]).await;
    assert_eq!(status, 404);
    let (status, _) = get(&b, &w, &format!("/sidebar/scripts?customer={theirs}")).await;
    assert_eq!(status, 404);
    let (status, _) = get(&b, &w, "/sidebar/panel?external_userid=wmnobody").await;
    assert_eq!(status, 404);
    // lisi sees his own.
    let (b2, _) = sign_in(&w, "lisi").await;
    let (status, panel) = get(&b2, &w, &format!("/sidebar/panel?external_userid={}", w.theirs_ext)).await;
    assert_eq!(status, 200);
    assert!(panel.contains("赵先生"));
}

#[tokio::test]
async fn a_script_send_is_counted_once_per_send_id() {
    let w = world().await;
    let (_, group) =
        w.t.api("POST", "/api/v1/script-groups", &w.f.token, Some(json!({"name": "开场", "scope": "team"}))).await;
    let body = json!({"title": "问候", "body": "{客户昵称}您好，我是{员工姓名}"});
    let (status, script) =
        w.t.api(
            "POST",
            &format!("/api/v1/script-groups/{}/scripts", group["id"].as_str().unwrap()),
            &w.f.token,
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{script}");
    let script_id = script["id"].as_str().unwrap().to_owned();
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let customer = w.mine.0.to_string();
    let (status, list) = get(&b, &w, &format!("/sidebar/scripts?customer={customer}&q=问候")).await;
    assert_eq!(status, 200);
    assert!(list.contains("王女士您好，我是张三"), "{list}");
    let (_, none) = get(&b, &w, &format!("/sidebar/scripts?customer={customer}&q=退款")).await;
    assert!(none.contains("没有匹配的话术"));

    let send =
        json!({"send_id": "0190f5a2-7b3c-7d4e-8f00-112233445566", "customer_id": customer, "script_id": script_id});
    let (status, first) = record(&b, &w, &csrf, send.clone()).await;
    assert_eq!((status, first["recorded"].as_bool()), (200, Some(true)), "{first}");
    let (status, again) = record(&b, &w, &csrf, send).await;
    assert_eq!((status, again["recorded"].as_bool()), (200, Some(false)), "the same send reported twice");
    let (_, s) = w.t.api("GET", &format!("/api/v1/scripts/{script_id}"), &w.f.token, None).await;
    assert_eq!(s["uses"], 1);
    let other = json!({"send_id": "second-send-0001", "customer_id": customer, "script_id": script_id});
    assert_eq!(record(&b, &w, &csrf, other).await.1["recorded"], true);
    let (_, s) = w.t.api("GET", &format!("/api/v1/scripts/{script_id}"), &w.f.token, None).await;
    assert_eq!(s["uses"], 2);
    // Out of scope, bad ids, no CSRF token.
    let theirs = json!({"send_id": "third-send-0001", "customer_id": w.theirs.0, "script_id": script_id});
    assert_eq!(record(&b, &w, &csrf, theirs).await.0, 404);
    let bad = json!({"send_id": "x", "customer_id": customer, "script_id": script_id});
    assert_eq!(record(&b, &w, &csrf, bad).await.0, 400);
    let res = b
        .post(w.t.url("/sidebar/sends"))
        .json(&json!({"send_id": "fourth-send-01", "customer_id": customer, "script_id": script_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn a_material_goes_out_as_a_tracked_link_for_the_customer_and_is_counted_once_per_send_id() {
    let w = world().await;
    let body = json!({"kind": "link", "title": "精华上新", "body": "限时体验装，先到先得",
        "content": {"url": "https://shop.example.com/serum"}});
    let (status, m) = w.t.api("POST", "/api/v1/materials", &w.f.token, Some(body)).await;
    assert_eq!(status, 201, "{m}");
    let text = json!({"kind": "text", "title": "售后话术", "body": "您好，退换货请联系我"});
    let (_, text) = w.t.api("POST", "/api/v1/materials", &w.f.token, Some(text)).await;
    let (material, text) = (m["id"].as_str().unwrap().to_owned(), text["id"].as_str().unwrap().to_owned());
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let customer = w.mine.0.to_string();
    let (status, tab) = get(&b, &w, &format!("/sidebar/materials?customer={customer}&q=精华")).await;
    assert_eq!(status, 200);
    assert!(tab.contains("精华上新") && tab.contains(&material), "{tab}");
    assert!(!tab.contains("售后话术"), "the search narrows the list");

    let prepare = |id: &str| json!({"customer_id": customer, "material_id": id});
    let message = |body: Value| {
        let b = b.clone();
        let (url, csrf) = (w.t.url("/sidebar/materials/message"), csrf.clone());
        async move {
            let res = b.post(url).header("x-sidebar-csrf", csrf).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, news) = message(prepare(&material)).await;
    assert_eq!(status, 200, "{news}");
    assert_eq!(news["msgtype"], "news");
    assert_eq!(news["news"]["title"], "精华上新");
    let link = news["news"]["link"].as_str().unwrap().to_owned();
    assert!(link.contains("/l/"), "{link}");
    // The same customer gets the same tracked link; it names the customer and the staff member.
    assert_eq!(message(prepare(&material)).await.1["news"]["link"], link.as_str());
    let (_, links) = w.t.api("GET", &format!("/api/v1/links?customer_id={customer}"), &w.f.token, None).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1, "{links}");
    assert_eq!(links["items"][0]["material_id"], material.as_str());
    let (_, plain) = message(prepare(&text)).await;
    assert_eq!(plain, json!({"msgtype": "text", "text": {"content": "您好，退换货请联系我"}}));
    assert_eq!(message(json!({"customer_id": w.theirs.0, "material_id": material})).await.0, 404);

    let send = json!({"send_id": "material-send-0001", "customer_id": customer, "material_id": material});
    assert_eq!(record(&b, &w, &csrf, send.clone()).await.1["recorded"], true);
    assert_eq!(record(&b, &w, &csrf, send).await.1["recorded"], false, "the same send reported twice");
    let (_, stats) = w.t.api("GET", &format!("/api/v1/materials/{material}/stats"), &w.f.token, None).await;
    assert_eq!(stats["total"]["sent"], 1, "{stats}");
    let both = json!({"send_id": "material-send-0002", "customer_id": customer, "material_id": material,
        "script_id": material});
    assert_eq!(record(&b, &w, &csrf, both).await.0, 400, "a send is a script or a material");
}

#[tokio::test]
async fn open_tasks_are_listed_and_completed_from_the_sidebar() {
    let w = world().await;
    let due = (chrono::Utc::now() + chrono::Duration::hours(24)).to_rfc3339();
    let body = json!({"customer_id": w.mine, "kind": "call", "title": "回访试用感受", "due_at": due});
    let (status, task) = w.t.api("POST", "/api/v1/tasks", &w.f.token, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (status, list) = get(&b, &w, "/sidebar/tasks").await;
    assert_eq!(status, 200);
    assert!(list.contains("回访试用感受") && list.contains("王女士") && list.contains("电话回访"), "{list}");
    let id = task["id"].as_str().unwrap();
    let (status, list) = post(&b, &w, "/sidebar/tasks/complete", &csrf, &[("task", id)]).await;
    assert_eq!(status, 200, "{list}");
    assert!(!list.contains("回访试用感受") && list.contains("任务已完成"));
    let (_, done) = w.t.api("GET", "/api/v1/tasks?status=done", &w.f.token, None).await;
    assert_eq!(done["items"][0]["id"], id, "{done}");
    // lisi sees none of zhangsan's tasks.
    let (b2, _) = sign_in(&w, "lisi").await;
    assert!(get(&b2, &w, "/sidebar/tasks").await.1.contains("没有待办任务"));
}

#[tokio::test]
async fn another_tenants_customers_scripts_and_tasks_answer_404_in_the_sidebar() {
    let w = world().await;
    let other = w.t.tenant("别家").await;
    let (_, c) = w.t.api("POST", "/api/v1/customers", &other.token, Some(json!({"name": "别家客户"}))).await;
    let their_customer = c["id"].as_str().unwrap().to_owned();
    let (_, g) =
        w.t.api("POST", "/api/v1/script-groups", &other.token, Some(json!({"name": "别家", "scope": "team"}))).await;
    let (_, s) =
        w.t.api(
            "POST",
            &format!("/api/v1/script-groups/{}/scripts", g["id"].as_str().unwrap()),
            &other.token,
            Some(json!({"title": "t", "body": "b"})),
        )
        .await;
    let due = (chrono::Utc::now() + chrono::Duration::hours(24)).to_rfc3339();
    let (_, task) =
        w.t.api(
            "POST",
            "/api/v1/tasks",
            &other.token,
            Some(json!({"customer_id": their_customer, "kind": "call", "title": "别家任务", "due_at": due})),
        )
        .await;
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let mine = w.mine.0.to_string();
    let theirs = their_customer.as_str();
    assert_eq!(get(&b, &w, &format!("/sidebar/panel?customer={theirs}")).await.0, 404);
    assert_eq!(get(&b, &w, &format!("/sidebar/scripts?customer={theirs}")).await.0, 404);
    for (path, form) in [
        ("/sidebar/tags", vec![("customer", theirs), ("tag", "0190f5a2-7b3c-7d4e-8f00-112233445566"), ("op", "add")]),
        ("/sidebar/notes", vec![("customer", theirs), ("body", "x")]),
        ("/sidebar/stage", vec![("customer", theirs), ("stage", "met")]),
        ("/sidebar/tasks/complete", vec![("task", task["id"].as_str().unwrap())]),
    ] {
        assert_eq!(post(&b, &w, path, &csrf, &form).await.0, 404, "{path}");
    }
    let their_script = s["id"].as_str().unwrap();
    let send = json!({"send_id": "cross-tenant-01", "customer_id": mine, "script_id": their_script});
    assert_eq!(record(&b, &w, &csrf, send).await.0, 404, "another tenant's script");
    // The other tenant's corp route is not this sign-in's: a sidebar URL for an unknown corp is 404.
    let (status, _) = get(&browser(), &w, "/sidebar?corp=0190f5a2-7b3c-7d4e-8f00-112233445566").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_console_shows_each_corps_sidebar_url_and_the_development_identity_link() {
    let w = world().await;
    let console = w.t.console(&w.f.owner.username).await;
    let (status, page) = get(&console, &w, "/console/wecom/sidebar").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/sidebar?corp={}", w.corp)), "{page}");
    assert!(page.contains(&format!("/sidebar?dev=1&amp;corp={}", w.corp)));
    assert!(page.contains("聊天工具栏") && page.contains("可信域名"));
}

/// 会员福利群, owned by zhangsan, with lisi, 王女士 (zhangsan's customer) and 赵先生 (lisi's); its chat_id and
/// siyu's group id.
async fn member_group(w: &World) -> (String, String) {
    let created = w.fake.create_group(CORP, "zhangsan", "会员福利群", &["lisi", &w.mine_ext, &w.theirs_ext]).await;
    settle(&w.t).await;
    let chat_id = created.unwrap().chat_id;
    let group = w.t.app.store.wecom().group_by_chat(w.f.tenant.id, corp_id(w), &chat_id).await.unwrap();
    (chat_id, group.expect("the create callback synced the group").0.0.to_string())
}

pub(crate) async fn json_post(b: &reqwest::Client, w: &World, path: &str, csrf: &str, body: Value) -> (u16, Value) {
    let res = b.post(w.t.url(path)).header("x-sidebar-csrf", csrf).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_group_chat_shows_the_group_with_its_known_customers_and_tags_instead_of_a_customer() {
    let w = world().await;
    let (chat_id, group) = member_group(&w).await;
    let (_, tag) = w.t.api("POST", "/api/v1/group-tags", &w.f.token, Some(json!({"name": "高价值"}))).await;
    let patch = json!({"tag_ids": [tag["id"]]});
    let (status, body) = w.t.api("PATCH", &format!("/api/v1/groups/{group}"), &w.f.token, Some(patch)).await;
    assert_eq!(status, 200, "{body}");

    let wecom_reads = w.fake.calls("externalcontact/groupchat/get");
    let (b, _) = sign_in(&w, "zhangsan").await;
    let (status, panel) = get(&b, &w, &format!("/sidebar/group?chat_id={chat_id}")).await;
    assert_eq!(status, 200, "{panel}");
    assert!(panel.contains(&format!("data-group=\"{group}\"")), "{panel}");
    assert!(panel.contains("会员福利群") && panel.contains("id=\"group-owner\">张三<"), "{panel}");
    assert!(panel.contains("id=\"group-members\">4<") && panel.contains("id=\"group-known\">2<"), "{panel}");
    assert!(panel.contains("高价值"), "the group's tags");
    // 王女士 links to her profile; 赵先生 is lisi's customer, named but not opened.
    assert!(panel.contains(&format!("data-customer=\"{}\">王女士<", w.mine.0)), "{panel}");
    assert!(panel.contains("赵先生") && !panel.contains(&format!("data-customer=\"{}\"", w.theirs.0)));
    let (status, profile) = get(&b, &w, &format!("/sidebar/panel?customer={}", w.mine.0)).await;
    assert_eq!(status, 200);
    assert!(profile.contains("王女士"));
    let (status, same) = get(&b, &w, &format!("/sidebar/group?group={group}")).await;
    assert_eq!(status, 200);
    assert!(same.contains("会员福利群"));

    // An unknown chat: a notice in place of the panel, not a page.
    let (status, missing) = get(&b, &w, "/sidebar/group?chat_id=wrnobody").await;
    assert_eq!(status, 404);
    assert!(missing.contains("id=\"group-missing\"") && missing.contains("找不到这个群"), "{missing}");
    assert!(!missing.contains("<html"), "a fragment for the panel");
    assert_eq!(w.fake.calls("externalcontact/groupchat/get"), wecom_reads, "the panel never asks WeCom");

    // A group of lisi's without zhangsan: lisi sees it, zhangsan (self scope) does not.
    let other = w.fake.create_group(CORP, "lisi", "李四的群", &[&w.theirs_ext]).await.unwrap().chat_id;
    settle(&w.t).await;
    assert_eq!(get(&b, &w, &format!("/sidebar/group?chat_id={other}")).await.0, 404);
    let (b2, _) = sign_in(&w, "lisi").await;
    let (status, panel) = get(&b2, &w, &format!("/sidebar/group?chat_id={other}")).await;
    assert_eq!(status, 200);
    assert!(panel.contains("李四的群") && panel.contains(&format!("data-customer=\"{}\">赵先生<", w.theirs.0)));
    // lisi is a member of zhangsan's group: it opens for him too.
    assert_eq!(get(&b2, &w, &format!("/sidebar/group?chat_id={chat_id}")).await.0, 200);
}

#[tokio::test]
async fn the_development_identity_picks_a_group_chat_by_its_chat_id() {
    let mut settings = test_settings();
    settings.sidebar.dev_identity = true;
    let w = world_with(settings).await;
    let (chat_id, _) = member_group(&w).await;
    let b = browser();
    let form = [("corp", w.corp.as_str()), ("userid", "zhangsan")];
    let res = b.post(w.t.url("/sidebar/dev")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (status, page) = get(&b, &w, &format!("/sidebar?chat_id={chat_id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"dev-group\"") && page.contains(&format!("<option value=\"{chat_id}\" selected>")));
    assert!(page.contains(&format!("data-dev-chat=\"{chat_id}\"")), "the page opens the group");
}

#[tokio::test]
async fn scripts_and_materials_sent_to_a_group_address_the_group_and_count_once_per_send_id() {
    let w = world().await;
    let (_, group) = member_group(&w).await;
    let (_, sg) =
        w.t.api("POST", "/api/v1/script-groups", &w.f.token, Some(json!({"name": "群聊", "scope": "team"}))).await;
    let body = json!({"title": "群问候", "body": "{客户昵称}好，我是{员工姓名}"});
    let path = format!("/api/v1/script-groups/{}/scripts", sg["id"].as_str().unwrap());
    let (_, script) = w.t.api("POST", &path, &w.f.token, Some(body)).await;
    let script = script["id"].as_str().unwrap().to_owned();
    let link = json!({"kind": "link", "title": "周末活动", "body": "到店有礼", "content": {"url": "https://shop.example.com/w"}});
    let (_, material) = w.t.api("POST", "/api/v1/materials", &w.f.token, Some(link)).await;
    let material = material["id"].as_str().unwrap().to_owned();
    let (b, csrf) = sign_in(&w, "zhangsan").await;

    let (status, list) = get(&b, &w, &format!("/sidebar/scripts?group={group}&q=群问候")).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("大家好，我是张三"), "{list}");
    assert!(list.contains(&format!("data-audience-kind=\"group\" data-audience=\"{group}\"")), "{list}");
    let send = json!({"send_id": "group-send-000001", "group_id": group, "script_id": script});
    assert_eq!(record(&b, &w, &csrf, send.clone()).await, (200, json!({"recorded": true})));
    assert_eq!(record(&b, &w, &csrf, send).await, (200, json!({"recorded": false})), "a repeated report");
    let (_, s) = w.t.api("GET", &format!("/api/v1/scripts/{script}"), &w.f.token, None).await;
    assert_eq!(s["uses"], 1);

    let (status, tab) = get(&b, &w, &format!("/sidebar/materials?group={group}")).await;
    assert_eq!(status, 200);
    assert!(tab.contains("周末活动"));
    let ask = json!({"group_id": group, "material_id": material});
    let (status, news) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    assert_eq!(status, 200, "{news}");
    assert_eq!(news["msgtype"], "news");
    let group_link = news["news"]["link"].as_str().unwrap().to_owned();
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await.1["news"]["link"],
        group_link.as_str()
    );
    // The group's link names no customer; a customer's own link is another.
    let (_, links) = w.t.api("GET", &format!("/api/v1/links?material_id={material}"), &w.f.token, None).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1, "{links}");
    assert!(links["items"][0]["customer_id"].is_null(), "{links}");
    let mine = json!({"customer_id": w.mine.0, "material_id": material});
    let (_, news) = json_post(&b, &w, "/sidebar/materials/message", &csrf, mine).await;
    assert_ne!(news["news"]["link"], group_link.as_str());
    let sent = json!({"send_id": "group-send-000002", "group_id": group, "material_id": material});
    assert_eq!(record(&b, &w, &csrf, sent.clone()).await.1["recorded"], true);
    assert_eq!(record(&b, &w, &csrf, sent).await.1["recorded"], false);
    let (_, stats) = w.t.api("GET", &format!("/api/v1/materials/{material}/stats"), &w.f.token, None).await;
    assert_eq!(stats["total"]["sent"], 1, "{stats}");
    let zhangsan = w.t.app.store.wecom().staff_by_userid(w.f.tenant.id, corp_id(&w), "zhangsan").await.unwrap();
    let gid = siyu_domain::id::GroupId(uuid::Uuid::parse_str(&group).unwrap());
    let n = w.t.app.store.sidebar().sends_to_group(w.f.tenant.id, zhangsan.unwrap().user_id, gid).await.unwrap();
    assert_eq!(n, 2, "one script and one material send kept for the group");

    // A group out of reach, a send naming both a customer and a group.
    let other = w.fake.create_group(CORP, "lisi", "李四的群", &[&w.theirs_ext]).await.unwrap().chat_id;
    settle(&w.t).await;
    let found = w.t.app.store.wecom().group_by_chat(w.f.tenant.id, corp_id(&w), &other).await.unwrap();
    let theirs = found.unwrap().0.0.to_string();
    assert_eq!(get(&b, &w, &format!("/sidebar/scripts?group={theirs}")).await.0, 404);
    assert_eq!(get(&b, &w, &format!("/sidebar/materials?group={theirs}")).await.0, 404);
    let ask = json!({"group_id": theirs, "material_id": material});
    assert_eq!(json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await.0, 404);
    let send = json!({"send_id": "group-send-000003", "group_id": theirs, "script_id": script});
    assert_eq!(record(&b, &w, &csrf, send).await.0, 404);
    let both = json!({"send_id": "group-send-000004", "group_id": group, "customer_id": w.mine.0, "script_id": script});
    assert_eq!(record(&b, &w, &csrf, both).await.0, 400);
}

#[tokio::test]
async fn an_image_material_goes_out_by_a_media_id_reused_until_an_hour_before_wecom_forgets_it() {
    let clock = ManualClock::new(chrono::Utc::now());
    let w = world_on(test_settings(), Arc::new(clock.clone())).await;
    let (_, group) = member_group(&w).await;
    let png = sample_png(64, 48, 7);
    let meta = json!({"kind": "image", "title": "新品主图"});
    let (status, image) = crate::materials::upload(&w.t, &w.f.token, meta, "passwd.exe", &png).await;
    assert_eq!(status, 201, "{image}");
    let image = image["id"].as_str().unwrap().to_owned();
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (_, tab) = get(&b, &w, &format!("/sidebar/materials?customer={}", w.mine.0)).await;
    assert!(tab.contains("以图片发送"), "{tab}");

    let ask = json!({"customer_id": w.mine.0, "material_id": image});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["msgtype"], "image", "{message}");
    let first = message["image"]["mediaid"].as_str().unwrap().to_owned();
    let media = w.fake.media(CORP, &first).unwrap().expect("uploaded to WeCom");
    assert_eq!((media.kind.as_str(), media.bytes.as_slice()), ("image", png.as_slice()));
    assert_eq!(media.file_name, "image.png", "a name WeCom takes for a PNG");
    // Reused for the next send, to the customer or to a group.
    let to_group = json!({"group_id": group, "material_id": image});
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, to_group).await.1["image"]["mediaid"],
        first.as_str()
    );
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await.1["image"]["mediaid"],
        first.as_str()
    );
    assert_eq!(w.fake.calls("media/upload"), 1);
    let send = json!({"send_id": "image-send-000001", "customer_id": w.mine.0, "material_id": image});
    assert_eq!(record(&b, &w, &csrf, send).await.1["recorded"], true);
    let (_, stats) = w.t.api("GET", &format!("/api/v1/materials/{image}/stats"), &w.f.token, None).await;
    assert_eq!(stats["total"]["sent"], 1, "the send is in the usage ledger");

    // Three days less an hour and a minute later it is still used ...
    let almost = chrono::Duration::hours(71) - chrono::Duration::minutes(1);
    clock.advance(almost);
    w.fake.clock().advance(almost.num_seconds());
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await.1["image"]["mediaid"],
        first.as_str()
    );
    assert_eq!(w.fake.calls("media/upload"), 1);
    // ... and in its last hour the image is uploaded again.
    clock.advance(chrono::Duration::minutes(2));
    w.fake.clock().advance(120);
    let (_, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    let second = message["image"]["mediaid"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(w.fake.calls("media/upload"), 2);
    assert!(w.fake.media(CORP, &second).unwrap().is_some());
    w.fake.clock().advance(3600);
    assert!(w.fake.media(CORP, &first).unwrap().is_none(), "WeCom forgot the first one after three days");
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await.1["image"]["mediaid"],
        second.as_str()
    );

    // WeCom refusing an upload: the image still goes out, as the news card with its tracked link.
    let meta = json!({"kind": "image", "title": "活动海报"});
    let (_, other) = crate::materials::upload(&w.t, &w.f.token, meta, "poster.png", &sample_png(32, 32, 2)).await;
    w.fake.inject("media/upload", 40004, 1);
    let ask = json!({"customer_id": w.mine.0, "material_id": other["id"]});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["msgtype"], "news", "{message}");
    assert!(message["news"]["link"].as_str().unwrap().contains("/l/"));
}

#[tokio::test]
async fn a_poster_goes_out_as_an_image_drawn_with_the_sending_members_qr_code_and_uploaded_once_per_member() {
    let w = world().await;
    let meta = json!({"kind": "poster", "title": "会员日海报", "content": {"qr": {"x": 180, "y": 380, "size": 200}}});
    let (status, poster) =
        crate::materials::upload(&w.t, &w.f.token, meta, "poster.png", &sample_png(400, 600, 9)).await;
    assert_eq!(status, 201, "{poster}");
    let poster = poster["id"].as_str().unwrap().to_owned();
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (_, tab) = get(&b, &w, &format!("/sidebar/materials?customer={}", w.mine.0)).await;
    assert!(tab.contains("以图片发送"), "{tab}");

    let ask = json!({"customer_id": w.mine.0, "material_id": poster});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    assert_eq!((status, message["msgtype"].as_str()), (200, Some("image")), "{message}");
    let mediaid = message["image"]["mediaid"].as_str().unwrap().to_owned();
    let media = w.fake.media(CORP, &mediaid).unwrap().expect("uploaded to WeCom");
    assert_eq!(media.file_name, "poster.png");
    // What went up is the poster drawn for zhangsan: his own tracked link of it in the QR slot.
    let zhangsan = w.t.app.store.wecom().staff_by_userid(w.f.tenant.id, corp_id(&w), "zhangsan").await.unwrap();
    let zhangsan = zhangsan.unwrap().user_id.0.to_string();
    let (_, links) = w.t.api("GET", &format!("/api/v1/links?material_id={poster}"), &w.f.token, None).await;
    let links = links["items"].as_array().unwrap().clone();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!((links[0]["staff_id"].as_str(), links[0]["customer_id"].is_null()), (Some(zhangsan.as_str()), true));
    let (_, link) =
        w.t.api("GET", &format!("/api/v1/links/{}", links[0]["id"].as_str().unwrap()), &w.f.token, None).await;
    assert_eq!(crate::materials::qr_in(&media.bytes, 180, 380, 200), link["short_url"].as_str().unwrap());
    // The next send reuses the upload.
    assert_eq!(
        json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await.1["image"]["mediaid"],
        mediaid.as_str()
    );
    assert_eq!(w.fake.calls("media/upload"), 1);
}
