//! Segments in the console: the form with its live count and inline problems (the offending part of the
//! text marked), the list with trends, a segment's page with its chart, members and actions, the customer
//! page's card, and what a staff member limited to their own customers sees.

use serde_json::json;
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

async fn get(c: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(c: &reqwest::Client, t: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let res = c.post(t.url(path)).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

/// A tag "高意向" and three customers holding it (the first followed by `follower`); returns (tag, ids).
async fn seed(t: &TestApp, f: &Fixture, follower: Option<String>) -> (String, Vec<String>) {
    let group = json!({"name": "意向", "tags": ["高意向", "观望"]});
    let (s, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(group)).await;
    assert_eq!(s, 201, "{g}");
    let tag = g["tags"][0]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (i, (name, phone)) in
        [("王芳", "13912345678"), ("李雷", "13800001111"), ("韩梅梅", "13700002222")].iter().enumerate()
    {
        let mut body = json!({"name": name, "phone": phone, "tags": [tag]});
        if let (0, Some(user)) = (i, &follower) {
            body["follow_user_id"] = json!(user);
        }
        let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
        assert_eq!(s, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    (tag, ids)
}

/// The text of the first `<mark>` for problem `n`.
fn marked(html: &str, n: usize) -> String {
    let open = format!("data-problem=\"{n}\">");
    let start = html.find(&open).map(|i| i + open.len()).expect("a marked span");
    html[start..].split("</mark>").next().unwrap().to_string()
}

#[tokio::test]
async fn a_segment_is_created_in_the_console_form_with_a_live_count_and_its_problems_marked_in_the_text() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    seed(&t, &f, None).await;
    let console = t.console(&f.owner.username).await;
    let (s, list) = get(&console, &t, "/console/segments").await;
    assert_eq!(s, 200);
    assert!(list.contains("order_count &#62;= 3 and last_order_at within 90d"), "the empty list offers an example");
    assert!(list.contains("href=\"/console/segments/new\""));
    let (s, form) = get(&console, &t, "/console/segments/new").await;
    assert_eq!(s, 200);
    assert!(form.contains("id=\"segment-catalog\"") && form.contains("\"高意向\"") && form.contains("订单汇总"));
    assert!(form.contains("/static/segment_builder.js") && form.contains("hx-post=\"/console/segments/preview\""));
    let token = csrf(&form);
    let js = reqwest::get(t.url("/static/segment_builder.js")).await.unwrap();
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.text().await.unwrap().contains("function combine"));

    // The live count, with a sample of the customers.
    let preview = "/console/segments/preview";
    let (s, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", "tag any [\"高意向\"]")]).await;
    assert_eq!(s, 200);
    assert!(html.contains("data-count=\"3\""), "{html}");
    assert!(html.contains("王芳") && html.contains("139****5678") && !html.contains("13912345678"));
    let (_, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", "  ")]).await;
    assert!(!html.contains("data-count") && html.contains("输入条件后"));

    // Problems: translated, with the offending part of the text marked.
    let text = "order_count >= 3 and nosuch = 1";
    let (s, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", text)]).await;
    assert_eq!(s, 200);
    assert!(html.contains("data-code=\"unknown_field\"") && html.contains("字段不存在"), "{html}");
    assert_eq!(marked(&html, 1), "nosuch = 1");
    let (_, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", "tag any [\"不存在\"]")]).await;
    assert!(html.contains("data-code=\"unknown_tag\"") && marked(&html, 1).contains("不存在"));
    let (_, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", "\n order_count >=")]).await;
    assert!(html.contains("data-code=\"unexpected_end\"") && html.contains("class=\"caret\""));
    let (s, _, _) = post(&console, &t, preview, &[("_csrf", "forged"), ("text", "has phone")]).await;
    assert_eq!(s, 403);

    // A failed save keeps what was typed and shows the same problems.
    let bad = [("_csrf", token.as_str()), ("name", "坏分群"), ("kind", "dynamic"), ("text", "tag any [\"不存在\"]")];
    let (s, _, html) = post(&console, &t, "/console/segments", &bad).await;
    assert_eq!(s, 400);
    assert!(html.contains("value=\"坏分群\"") && html.contains("data-code=\"unknown_tag\""));
    assert!(marked(&html, 1).contains("不存在") && html.contains("name=\"text\""));

    let good = [
        ("_csrf", token.as_str()),
        ("name", "高意向客户"),
        ("description", "打过高意向标签"),
        ("kind", "dynamic"),
        ("text", "tag any [\"高意向\"]"),
    ];
    let (s, location, _) = post(&console, &t, "/console/segments", &good).await;
    assert_eq!(s, 303);
    assert!(location.starts_with("/console/segments/") && location.ends_with("?done=saved"), "{location}");
    let (_, page) = get(&console, &t, &location).await;
    assert!(page.contains("已保存") && page.contains("id=\"member-count\">3<"));
    let (s, _, html) = post(&console, &t, "/console/segments", &good).await;
    assert_eq!(s, 400);
    assert!(html.contains("已有同名分群"), "a taken name is shown inline");

    // Editing keeps the kind and recomputes.
    let id = location.trim_start_matches("/console/segments/").split('?').next().unwrap().to_string();
    let (s, edit) = get(&console, &t, &format!("/console/segments/{id}/edit")).await;
    assert_eq!(s, 200);
    assert!(edit.contains("高意向客户") && !edit.contains("type=\"radio\""), "the kind is fixed");
    let changed = [("_csrf", token.as_str()), ("name", "高意向客户"), ("text", "tag any [\"观望\"]")];
    let (s, location, _) = post(&console, &t, &format!("/console/segments/{id}"), &changed).await;
    assert_eq!((s, location.as_str()), (303, format!("/console/segments/{id}?done=saved").as_str()));
    let (_, page) = get(&console, &t, &location).await;
    assert!(page.contains("id=\"member-count\">0<"));
}

#[tokio::test]
async fn a_segments_page_charts_its_size_lists_members_and_changes_and_the_customer_page_shows_its_segments() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (staff, _, staff_name) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (tag, ids) = seed(&t, &f, Some(staff.user.to_string())).await;
    let owner = t.owner_actor(&f).await;
    let input = siyu_app::segments::SegmentInput {
        name: "高意向客户".into(),
        description: "打过高意向标签".into(),
        kind: siyu_domain::segment::SegmentKind::Dynamic,
        definition: None,
        text: Some("tag any [\"高意向\"]".into()),
        rule_tag: None,
    };
    let id = t.app.create_segment(&owner, input).await.unwrap().id.to_string();
    let console = t.console(&f.owner.username).await;

    let (s, list) = get(&console, &t, "/console/segments").await;
    assert_eq!(s, 200);
    assert!(list.contains(&format!("data-segment=\"{id}\"")) && list.contains("<svg class=\"spark\""));
    assert!(list.contains("动态") && list.contains("tag any [&#34;高意向&#34;]"), "{list}");
    let (s, page) = get(&console, &t, &format!("/console/segments/{id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("<svg class=\"chart\"") && page.matches("<rect ").count() == 30, "30 days of bars");
    assert!(page.contains("王芳") && page.contains("李雷") && page.contains("韩梅梅") && page.contains("139****5678"));
    assert!(page.contains(&format!("/console/segments/{id}/export.csv")));
    assert!(page.contains("id=\"changes\"") && page.contains("首次计算") && page.contains("data-op=\"enter\""));
    assert!(page.contains("· 3 人 · 进入 3 · 退出 0"), "today's bar tells its entries and exits");
    let (s, paged) = get(&console, &t, &format!("/console/segments/{id}?cursor=nonsense")).await;
    assert_eq!(s, 400, "{paged}");

    // One customer loses the tag; a refresh lets them exit.
    let body = json!({"add": [], "remove": [tag]});
    let (s, _) = t.api("POST", &format!("/api/v1/customers/{}/tags", ids[1]), &f.token, Some(body)).await;
    assert_eq!(s, 200);
    t.app.run_due_work().await.unwrap();
    let token = csrf(&page);
    let (s, location, _) = post(&console, &t, &format!("/console/segments/{id}/refresh"), &[("_csrf", &token)]).await;
    assert_eq!(s, 303);
    assert!(location.contains("done=refreshed"), "{location}");
    let (_, page) = get(&console, &t, &location).await;
    assert!(
        page.contains("已重新计算") && page.contains("id=\"member-count\">2<") && page.contains("data-op=\"exit\"")
    );

    // The customer page: current segments with since when, and the exit with its reason.
    let (_, card) = get(&console, &t, &format!("/console/customers/{}", ids[0])).await;
    assert!(card.contains("所在分群") && card.contains(&format!("href=\"/console/segments/{id}\"")));
    assert!(card.contains("加入于") && card.contains("首次计算"));
    let (_, card) = get(&console, &t, &format!("/console/customers/{}", ids[1])).await;
    assert!(card.contains("不在任何分群中") && card.contains("data-op=\"exit\""));

    // A staff member sees their own customers only, and not the whole log; they manage nothing.
    let staff_console = t.console(&staff_name).await;
    let (s, page) = get(&staff_console, &t, &format!("/console/segments/{id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("王芳") && !page.contains("韩梅梅") && !page.contains("id=\"changes\""));
    assert!(!page.contains("/refresh\"") && !page.contains("/delete\""));
    let (s, _) = get(&staff_console, &t, "/console/segments/new").await;
    assert_eq!(s, 403);
    let form = [("_csrf", csrf(&page)), ("text", "has phone".to_string())];
    let res = staff_console.post(t.url("/console/segments/preview")).form(&form).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("data-count=\"1\""), "the count is within the member's scope");

    // Archive, restore, delete.
    let (_, location, _) = post(&console, &t, &format!("/console/segments/{id}/archive"), &[("_csrf", &token)]).await;
    assert!(location.ends_with("done=archived"));
    let (_, list) = get(&console, &t, "/console/segments").await;
    assert!(list.contains("已归档") && list.contains("class=\"inactive\""));
    let (_, location, _) = post(&console, &t, &format!("/console/segments/{id}/restore"), &[("_csrf", &token)]).await;
    assert!(location.ends_with("done=restored"));
    let (s, location, _) = post(&console, &t, &format!("/console/segments/{id}/delete"), &[("_csrf", &token)]).await;
    assert_eq!((s, location.as_str()), (303, "/console/segments?done=deleted"));
    let (_, list) = get(&console, &t, &location).await;
    assert!(list.contains("分群已删除") && !list.contains(&id));
    let (s, _) = get(&console, &t, &format!("/console/segments/{id}")).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_rule_tag_is_chosen_in_the_segment_form_and_tagging_it_by_hand_is_refused_in_the_api() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, ids) = seed(&t, &f, None).await;
    let group = json!({"name": "自动", "tags": ["复购"]});
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(group)).await;
    let rule_tag = g["tags"][0]["id"].as_str().unwrap().to_string();
    let level = json!({"name": "等级", "exclusive": true, "tags": ["金卡"]});
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(level)).await;
    let exclusive = g["tags"][0]["id"].as_str().unwrap().to_string();
    let console = t.console(&f.owner.username).await;
    let (_, form) = get(&console, &t, "/console/segments/new").await;
    assert!(form.contains("name=\"rule_tag\"") && form.contains("自动/复购"));
    assert!(!form.contains(&format!("value=\"{exclusive}\"")), "tags of exclusive groups are not offered");
    let token = csrf(&form);

    let mut fields = vec![("_csrf", token.as_str()), ("name", "高意向"), ("kind", "dynamic")];
    fields.extend([("text", "tag any [\"高意向\"]"), ("rule_tag", exclusive.as_str())]);
    let (s, _, html) = post(&console, &t, "/console/segments", &fields).await;
    assert_eq!(s, 400);
    assert!(html.contains("单选组的标签不能作为规则标签"), "{html}");
    fields[4] = ("rule_tag", rule_tag.as_str());
    let (s, location, _) = post(&console, &t, "/console/segments", &fields).await;
    assert_eq!(s, 303);
    let (_, page) = get(&console, &t, &location).await;
    assert!(page.contains("规则标签") && page.contains("自动/复购"));

    // Every member holds the tag now; a hand-made change is refused with a stable code.
    let (_, c) = t.api("GET", &format!("/api/v1/customers/{}", ids[0]), &f.token, None).await;
    assert!(c["tags"].as_array().unwrap().iter().any(|x| x["name"] == "复购"), "{c}");
    let body = json!({"remove": [rule_tag]});
    let (s, e) = t.api("POST", &format!("/api/v1/customers/{}/tags", ids[0]), &f.token, Some(body)).await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "invalid_input");
    assert!(e["message"].as_str().unwrap().contains("rule_tag_is_automatic"), "{e}");
}

#[tokio::test]
async fn the_form_offers_the_customer_groups_and_a_group_condition_counts_their_customers_and_reads_back_as_text() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    // One group (春季上新快闪群) of the corp wwgroups0001 with the customer member wmCustomerLiLei.
    crate::wecom_console::corp_and_group(&t, &f).await;
    let identity = json!([{"kind": "external_userid", "namespace": "wwgroups0001", "value": "wmCustomerLiLei"}]);
    for body in [json!({"name": "李雷", "identities": identity}), json!({"name": "韩梅梅"})] {
        let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
        assert_eq!(s, 201, "{c}");
    }
    let console = t.console(&f.owner.username).await;
    let (_, form) = get(&console, &t, "/console/segments/new").await;
    assert!(
        form.contains("\"customer_groups\":[[\"春季上新快闪群\",\"春季上新快闪群\"]]"),
        "the group picker's choices"
    );
    assert!(form.contains("\"group_modes\"") && form.contains("客户群"));
    let js = reqwest::get(t.url("/static/segment_builder.js")).await.unwrap().text().await.unwrap();
    assert!(js.contains("cat.customer_groups") && js.contains("'group ' + mode.value"));
    let token = csrf(&form);

    let preview = "/console/segments/preview";
    let text = "group any [\"春季上新快闪群\"]";
    let (_, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", text)]).await;
    assert!(html.contains("data-count=\"1\"") && html.contains("李雷"), "{html}");
    let (_, _, html) =
        post(&console, &t, preview, &[("_csrf", &token), ("text", "not group any [\"春季上新快闪群\"]")]).await;
    assert!(html.contains("data-count=\"1\"") && html.contains("韩梅梅"), "{html}");
    let (_, _, html) = post(&console, &t, preview, &[("_csrf", &token), ("text", "group all [\"没有这个群\"]")]).await;
    assert!(html.contains("data-code=\"unknown_group\"") && html.contains("客户群不存在"), "{html}");
    assert!(marked(&html, 1).contains("没有这个群"));

    let fields = [("_csrf", token.as_str()), ("name", "快闪群客户"), ("kind", "dynamic"), ("text", text)];
    let (s, location, _) = post(&console, &t, "/console/segments", &fields).await;
    assert_eq!(s, 303);
    let id = location.trim_start_matches("/console/segments/").split('?').next().unwrap().to_string();
    let (_, edit) = get(&console, &t, &format!("/console/segments/{id}/edit")).await;
    assert!(edit.contains("group any [&#34;春季上新快闪群&#34;]"), "the saved definition reads back as text");
    let (_, api) = t.api("GET", &format!("/api/v1/segments/{id}"), &f.token, None).await;
    assert_eq!((api["definition"]["type"].as_str(), api["member_count"].as_i64()), (Some("groups"), Some(1)), "{api}");
}
