//! The WeCom console pages: connecting a corp (inline errors that keep what was typed but never a secret,
//! the list with its callback URL, editing with secrets kept, a full sync's progress) and the customer-group
//! pages (list with filters and chart, a group's members, its kind), with other tenants' objects not found.

use chrono::Utc;
use siyu_app::wecom::CorpInput;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{CorpId, GroupId};
use siyu_domain::wecom::GroupMember;
use siyu_store::wecom::GroupSync;

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

/// WeCom's documented example EncodingAESKey (43 characters of base64).
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

fn member(key: &str, kind: i64, name: &str, scene: i64) -> GroupMember {
    GroupMember {
        member_key: key.into(),
        member_type: kind,
        unionid: None,
        name: Some(name.into()),
        group_nickname: None,
        join_time: Some(Utc::now()),
        join_scene: Some(scene),
        invitor: None,
        state: Some("spring_live".into()),
    }
}

/// A connected corp and one synced group in it (a staff owner and one customer).
pub async fn corp_and_group(t: &TestApp, f: &Fixture) -> (CorpId, GroupId) {
    let actor = t.owner_actor(f).await;
    let input = CorpInput {
        corp_id: "wwgroups0001".into(),
        name: "群测试企业".into(),
        contact_secret: "contact-secret-9876".into(),
        callback_token: "Tok3n".into(),
        callback_aes_key: AES_KEY.into(),
        active: true,
        ..CorpInput::default()
    };
    let corp = t.app.connect_corp(&actor, &input).await.unwrap().corp.id;
    let sync = GroupSync {
        chat_id: "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA".into(),
        name: "春季上新快闪群".into(),
        owner_userid: "zhangsan".into(),
        owner_id: None,
        notice: Some("每周三晚八点直播上新".into()),
        status: 0,
        member_version: Some("v1".into()),
        wecom_created_at: Some(Utc::now()),
        members: vec![member("zhangsan", 1, "张三", 1), member("wmCustomerLiLei", 2, "李雷", 3)],
        at: Utc::now(),
    };
    let (group, _, _) = t.app.store.wecom().sync_group(f.tenant.id, corp, &sync).await.unwrap();
    (corp, group)
}

#[tokio::test]
async fn a_corp_with_a_bad_aes_key_is_refused_inline_keeping_the_input_and_a_good_one_is_listed_with_its_callback_url()
{
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/wecom")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("还没有接入企业微信") && page.contains("EncodingAESKey"), "the empty list and the form");
    assert!(page.contains("href=\"/console/wecom\""), "admins see the nav link");
    let token = csrf(&page);

    let mut form = vec![
        ("_csrf", token.as_str()),
        ("corp_id", "ww1234567890abcd"),
        ("name", "花漾美妆总部"),
        ("agent_id", "1000002"),
        ("contact_secret", "contact-secret-1234"),
        ("app_secret", ""),
        ("callback_token", "Tok3n"),
        ("callback_aes_key", "too-short"),
        ("api_base", ""),
    ];
    let r = console.post(t.url("/console/wecom")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("请填写 43 位的 EncodingAESKey"), "the inline error");
    assert!(body.contains("class=\"field invalid\""), "the field is marked");
    assert!(
        body.contains("value=\"ww1234567890abcd\"")
            && body.contains("value=\"花漾美妆总部\"")
            && body.contains("value=\"1000002\""),
        "what was typed is kept"
    );
    assert!(!body.contains("contact-secret-1234") && !body.contains("too-short"), "secrets are never echoed");

    form[7] = ("callback_aes_key", AES_KEY);
    let r = console.post(t.url("/console/wecom")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let corps = t.app.corps(&t.owner_actor(&f).await).await.unwrap();
    let corp = corps[0].corp.id;
    let page = console.get(t.url("/console/wecom")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("花漾美妆总部") && page.contains("ww1234567890abcd"));
    assert!(page.contains(&format!("/wecom/callback/{corp}")), "the callback URL to paste into WeCom");
    assert!(page.contains("尚未测试") && page.contains("测试连接") && page.contains("全量同步"));
    assert!(!page.contains("contact-secret-1234"));

    // Editing: the hints show, empty secrets keep the stored ones.
    let edit = console.get(t.url(&format!("/console/wecom/{corp}/edit"))).send().await.unwrap().text().await.unwrap();
    assert!(edit.contains("****1234") && !edit.contains("contact-secret-1234"), "only the secret's hint");
    let r = console
        .post(t.url(&format!("/console/wecom/{corp}")))
        .form(&[("_csrf", token.as_str()), ("name", "花漾美妆"), ("agent_id", "x1"), ("active", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("请输入数字"), "a bad agent id is refused inline");
    let r = console
        .post(t.url(&format!("/console/wecom/{corp}")))
        .form(&[("_csrf", token.as_str()), ("name", "花漾美妆"), ("agent_id", ""), ("active", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let view = t.app.corp(&t.owner_actor(&f).await, corp).await.unwrap();
    assert_eq!((view.corp.name.as_str(), view.contact_secret_hint.as_str()), ("花漾美妆", "****1234"));

    // A full sync shows its job's progress on the page.
    let r = console
        .post(t.url(&format!("/console/wecom/{corp}/sync")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/console/wecom?job="), "{to}");
    let page = console.get(t.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("企业微信全量同步") && page.contains("class=\"job-card"), "the sync's progress card");

    // Corp settings are for admins only.
    let (_, _, staff) = t.member(&f, Role::Staff, DataScope::All).await;
    let staff = t.console(&staff).await;
    let r = staff.get(t.url("/console/wecom")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_groups_page_lists_groups_with_their_chart_and_a_group_page_shows_its_members_and_sets_its_kind() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/groups")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("没有符合条件的客户群") && page.contains("<svg"), "empty, with the chart");
    let token = csrf(&page);

    let (_, group) = corp_and_group(&t, &f).await;
    let page = console.get(t.url("/console/groups")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("春季上新快闪群") && page.contains(&format!("/console/groups/{group}")));
    assert!(page.contains("日常销售群") && page.contains("共 1 个群"));
    assert!(page.contains("入群 1"), "the customer's join is in the 30-day chart");
    let none = console.get(t.url("/console/groups?name=不存在&kind=flash")).send().await.unwrap().text().await.unwrap();
    assert!(none.contains("没有符合条件的客户群"), "the filters apply");

    let detail = console.get(t.url(&format!("/console/groups/{group}"))).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("李雷") && detail.contains("张三"), "the members");
    assert!(detail.contains("扫描群二维码") && detail.contains("每周三晚八点直播上新"), "join scene and notice");
    assert!(detail.contains("<svg"), "the group's chart");

    let kind = format!("/console/groups/{group}/kind");
    let r = console.post(t.url(&kind)).form(&[("_csrf", token.as_str()), ("kind", "flash")]).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("快闪群需要填写开群和关群日期"), "the inline error");
    let form = [("_csrf", token.as_str()), ("kind", "flash"), ("opens_on", "2025-05-01"), ("closes_on", "2025-06-01")];
    let r = console.post(t.url(&kind)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("关群日期须在开群后 3–7 天") && body.contains("value=\"2025-06-01\""), "kept");
    let form = [("_csrf", token.as_str()), ("kind", "flash"), ("opens_on", "2025-05-01"), ("closes_on", "2025-05-07")];
    let r = console.post(t.url(&kind)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let page = console.get(t.url("/console/groups?kind=flash")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("春季上新快闪群") && page.contains("2025-05-01 → 2025-05-07"));
}

#[tokio::test]
async fn another_tenants_corp_and_group_are_not_found() {
    let t = spawn_app().await;
    let (a, b) = (t.tenant("品牌A").await, t.tenant("品牌B").await);
    let (corp, group) = corp_and_group(&t, &b).await;
    let console = t.console(&a.owner.username).await;
    let page = console.get(t.url("/console/groups")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("春季上新快闪群"));
    let token = csrf(&page);
    for path in [format!("/console/groups/{group}"), format!("/console/wecom/{corp}/edit")] {
        let r = console.get(t.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let posts = [
        format!("/console/groups/{group}/kind"),
        format!("/console/wecom/{corp}"),
        format!("/console/wecom/{corp}/test"),
        format!("/console/wecom/{corp}/sync"),
    ];
    for path in posts {
        let r = console.post(t.url(&path)).form(&[("_csrf", token.as_str()), ("kind", "daily")]).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}
