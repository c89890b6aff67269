//! Staff live codes against the fake WeCom: a scan adds the customer to the staff member siyu routed the
//! code to, who gets the code's welcome message inside the welcome code's 20 seconds, lands with the code's
//! tags, remark and channel, and appears on their timeline; the code then rotates.

use serde_json::{Value, json};
use siyu_wecom::fake::CustomerSetup;

use crate::helpers::{Fixture, TestApp};
use crate::wecom_callbacks::{CORP, connected, customer_of, settle, sync};

async fn tag_id(t: &TestApp, f: &Fixture, name: &str) -> String {
    let (_, groups) = t.api("GET", "/api/v1/tag-groups", &f.token, None).await;
    let tags = groups.as_array().unwrap().iter().flat_map(|g| g["tags"].as_array().unwrap().iter());
    tags.into_iter().find(|tag| tag["name"] == name).map(|tag| tag["id"].as_str().unwrap().to_owned()).unwrap()
}

fn code_body(corp: &Value, tag: &str) -> Value {
    json!({
        "corp": corp["id"], "name": "门店海报码", "channel": "门店海报",
        "routing": {"staff": [{"userid": "zhangsan", "daily_cap": 1}, {"userid": "lisi"}],
                    "backup": [], "rotation": "sequential", "schedule": []},
        "skip_verify": true, "tag_ids": [tag], "remark_template": "{客户昵称}-海报",
        "welcome": {"text": "{客户昵称}您好，我是{员工姓名}", "attachments":
            [{"msgtype": "link", "link": {"title": "新客礼包", "url": "https://shop.example.com/gift"}}]}
    })
}

#[tokio::test]
async fn a_customer_scanning_a_live_code_is_welcomed_tagged_remarked_and_routed_then_the_code_rotates() {
    let (t, f, fake, corp) = connected().await;
    fake.console_create_tag(CORP, "渠道", "门店海报").await.unwrap();
    sync(&t, &f, &corp).await;
    let tag = tag_id(&t, &f, "门店海报").await;
    let (status, code) = t.api("POST", "/api/v1/live-codes", &f.token, Some(code_body(&corp, &tag))).await;
    assert_eq!(status, 201, "{code}");
    assert_eq!(code["current"], json!(["zhangsan"]));
    assert!(code["qr_code"].as_str().unwrap().starts_with("https://"));
    let state = code["state"].as_str().unwrap().to_owned();
    let config_id = code["config_id"].as_str().unwrap().to_owned();

    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    let scanned = fake.scan_contact_way(CORP, &config_id, &wm).await.unwrap();
    assert_eq!(scanned.userid, "zhangsan");
    settle(&t).await;

    // The welcome: the code's own, variables filled, with its attachment, inside the 20 s window.
    let welcomes = fake.welcomes();
    assert_eq!(welcomes.len(), 1);
    assert_eq!((welcomes[0].external_userid.as_str(), welcomes[0].userid.as_str()), (wm.as_str(), "zhangsan"));
    assert_eq!(welcomes[0].body["text"]["content"], "王女士您好，我是张三");
    assert_eq!(welcomes[0].body["attachments"][0]["link"]["title"], "新客礼包");
    let id = code["id"].as_str().unwrap();
    let (_, view) = t.api("GET", &format!("/api/v1/live-codes/{id}"), &f.token, None).await;
    assert_eq!(view["stats"]["adds"], 1);
    assert_eq!(view["stats"]["welcomes_sent"], 1);
    assert!(view["stats"]["welcome_max_ms"].as_i64().unwrap() < 20_000, "{view}");

    // The customer: with zhangsan, the code's channel (state), remark and tag, here and in WeCom.
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    let follows = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap();
    assert_eq!(follows.len(), 1);
    assert_eq!(follows[0].state.as_deref(), Some(state.as_str()));
    assert_eq!(follows[0].remark.as_deref(), Some("王女士-海报"));
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{}", customer.0), &f.token, None).await;
    let tags: Vec<&str> = detail["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(tags.contains(&"门店海报"), "{detail}");
    assert_eq!(fake.calls("externalcontact/mark_tag"), 1);
    assert_eq!(fake.calls("externalcontact/remark"), 1);
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{}/timeline", customer.0), &f.token, None).await;
    let added = timeline["items"].as_array().unwrap().iter().find(|e| e["kind"] == "follow_added").unwrap();
    assert_eq!(added["payload"]["state"], state.as_str());

    // zhangsan reached the day's cap of one: the code now points at lisi, and the next customer gets lisi.
    assert_eq!(view["current"], json!(["lisi"]));
    let wm2 = fake.add_customer(CORP, CustomerSetup::named("陈先生")).unwrap();
    assert_eq!(fake.scan_contact_way(CORP, &config_id, &wm2).await.unwrap().userid, "lisi");
    settle(&t).await;

    // WeCom repeating the first add changes nothing: no second welcome, add, tag or remark.
    let first = fake.pushes().into_iter().find(|p| p.xml.contains(&wm)).unwrap();
    fake.push_raw(CORP, &first.xml).await.unwrap();
    settle(&t).await;
    let (_, view) = t.api("GET", &format!("/api/v1/live-codes/{id}"), &f.token, None).await;
    assert_eq!(view["stats"]["adds"], 2);
    assert_eq!(fake.welcomes().len(), 2);
    assert_eq!(fake.calls("externalcontact/remark"), 2);
}

#[tokio::test]
async fn a_welcome_code_older_than_twenty_seconds_is_not_used_and_the_add_says_late() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let welcome = json!({"message": {"text": "欢迎光临"}, "block_list": []});
    let (status, _) = t.api("PUT", "/api/v1/welcome", &f.token, Some(welcome)).await;
    assert_eq!(status, 200);
    let mut body = code_body(&corp, "");
    body["tag_ids"] = json!([]);
    body["welcome"] = Value::Null;
    let (_, code) = t.api("POST", "/api/v1/live-codes", &f.token, Some(body)).await;
    let url = corp["callback_url"].as_str().unwrap().split("/wecom/").nth(1).unwrap().to_owned();
    // WeCom cannot reach us while the customer scans; the event arrives 21 s (fake time) later.
    fake.set_callback_url(CORP, None).unwrap();
    let wm = fake.add_customer(CORP, CustomerSetup::named("迟到的客户")).unwrap();
    fake.scan_contact_way(CORP, code["config_id"].as_str().unwrap(), &wm).await.unwrap();
    fake.clock().advance(21);
    fake.set_callback_url(CORP, Some(t.url(&format!("/wecom/{url}")))).unwrap();
    let pushed = fake.pushes().into_iter().last().unwrap();
    fake.push_raw(CORP, &pushed.xml).await.unwrap();
    settle(&t).await;
    assert!(fake.welcomes().is_empty(), "an expired welcome code delivers nothing");
    let (_, view) = t.api("GET", &format!("/api/v1/live-codes/{}", code["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(view["stats"]["adds"], 1);
    assert_eq!(view["stats"]["welcomes_sent"], 0);
    // The customer still landed with the right staff member.
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    assert_eq!(t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_live_code_with_a_stranger_or_a_zero_cap_is_refused_with_the_field_named() {
    let (t, f, _fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let mut body = code_body(&corp, "");
    body["tag_ids"] = json!([]);
    body["routing"]["staff"][1]["userid"] = json!("nobody");
    let (status, error) = t.api("POST", "/api/v1/live-codes", &f.token, Some(body.clone())).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("staff")), "{error}");
    body["routing"]["staff"][1] = json!({"userid": "lisi", "daily_cap": 0});
    let (status, error) = t.api("POST", "/api/v1/live-codes", &f.token, Some(body)).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("staff")), "{error}");
}
