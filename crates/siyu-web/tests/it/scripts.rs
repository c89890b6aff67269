//! Quick-reply scripts: team groups kept by content managers and seen by everyone, personal groups seen by
//! their owner only, a use that fills in the customer and counts, and a CSV import that keeps the good rows
//! and reports each bad one, with the export giving them back.

use serde_json::json;
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{csrf, spawn_app};

#[tokio::test]
async fn team_scripts_are_kept_by_content_managers_and_personal_ones_stay_private() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (status, team) =
        t.api("POST", "/api/v1/script-groups", &f.token, Some(json!({"name": "售后", "scope": "team"}))).await;
    assert_eq!(status, 201, "{team}");
    let group = team["id"].as_str().unwrap();
    let script = json!({"title": "发货提醒", "body": "{客户昵称}您好，我是{员工姓名}，您的订单已发货",
        "attachments": [{"msgtype": "link", "link": {"title": "物流查询", "url": "https://shop.example.com/track"}}]});
    let (status, made) = t.api("POST", &format!("/api/v1/script-groups/{group}/scripts"), &f.token, Some(script)).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();

    let (_, staff, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (_, other, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (_, seen) = t.api("GET", "/api/v1/script-groups", &staff, None).await;
    assert_eq!(seen[0]["scripts"][0]["title"], "发货提醒");
    let (status, _) =
        t.api("PUT", &format!("/api/v1/scripts/{id}"), &staff, Some(json!({"title": "改", "body": "x"}))).await;
    assert_eq!(status, 403, "staff cannot change team scripts");
    let (status, bad) = t
        .api(
            "POST",
            &format!("/api/v1/script-groups/{group}/scripts"),
            &f.token,
            Some(json!({"title": "x", "body": "{客户名字}"})),
        )
        .await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("invalid_input")), "{bad}");

    let (status, mine) =
        t.api("POST", "/api/v1/script-groups", &staff, Some(json!({"name": "我的常用", "scope": "personal"}))).await;
    assert_eq!(status, 201);
    let mine = mine["id"].as_str().unwrap();
    let (status, _) = t
        .api(
            "POST",
            &format!("/api/v1/script-groups/{mine}/scripts"),
            &staff,
            Some(json!({"title": "早安", "body": "早上好"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, theirs) = t.api("GET", "/api/v1/script-groups", &other, None).await;
    assert!(theirs.as_array().unwrap().iter().all(|g| g["name"] != "我的常用"), "{theirs}");
    let (status, _) = t.api("DELETE", &format!("/api/v1/script-groups/{mine}"), &other, None).await;
    assert_eq!(status, 404);

    let (_, customer) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王女士"}))).await;
    let body = json!({"customer_id": customer["id"]});
    let (status, used) = t.api("POST", &format!("/api/v1/scripts/{id}/use"), &f.token, Some(body)).await;
    assert_eq!(status, 200, "{used}");
    assert_eq!(used["text"], "王女士您好，我是店长，您的订单已发货");
    assert_eq!(used["attachments"][0]["msgtype"], "link");
    let (_, again) = t.api("GET", &format!("/api/v1/scripts/{id}"), &f.token, None).await;
    assert_eq!(again["uses"], 1);
}

#[tokio::test]
async fn an_import_keeps_the_good_rows_reports_each_bad_one_and_the_export_gives_them_back() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/scripts")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let csv = "分组,标题,内容,附件\n售前,价格咨询,{客户昵称}您好，活动价 99 元,\n售前,,没有标题,\n售后,退换货,七天无理由,not json\n售后,催单,{客户名字}别急,\n售后,物流,已发顺丰,\n";
    let (content_type, body) =
        crate::orders::multipart(&[("_csrf", token.as_str()), ("scope", "team")], "话术.csv", csv.as_bytes());
    let r = console
        .post(t.url("/console/scripts/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("已导入 2 条话术，新建 2 个分组"), "{html}");
    let report = html.split("id=\"import-errors\"").nth(1).unwrap();
    for line in ["<td class=\"num\">3</td>", "<td class=\"num\">4</td>", "<td class=\"num\">5</td>"] {
        assert!(report.contains(line), "line {line} reported: {report}");
    }

    let (_, groups) = t.api("GET", "/api/v1/script-groups", &f.token, None).await;
    let names: Vec<&str> = groups.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["售前", "售后"]);
    let csv = console.get(t.url("/console/scripts/export?format=csv")).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("价格咨询") && csv.contains("已发顺丰") && csv.starts_with('\u{feff}'), "{csv}");
    let xlsx = console.get(t.url("/console/scripts/export?format=xlsx")).send().await.unwrap().bytes().await.unwrap();
    assert!(xlsx.starts_with(b"PK"));

    // A script edited in the console; a refused edit keeps what was typed.
    let id = groups[0]["scripts"][0]["id"].as_str().unwrap();
    let form = [("_csrf", token.as_str()), ("title", "价格咨询"), ("body", "{不存在}"), ("attachments", "")];
    let r = console.post(t.url(&format!("/console/scripts/{id}"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("field-error") && html.contains("{不存在}"), "{html}");
}
