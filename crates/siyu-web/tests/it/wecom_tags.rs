//! Corp tags both ways: a tag linked to a WeCom corp tag, put on or taken off a customer in siyu, is marked
//! on each of the customer's relations in WeCom; a tag WeCom itself changed is not sent back, and a tag
//! with no corp tag stays in siyu.

use serde_json::{Value, json};
use siyu_wecom::fake::{CustomerEdit, CustomerSetup};

use crate::helpers::{Fixture, TestApp};
use crate::wecom_callbacks::{CORP, connected, customer_of, settle, sync};

async fn tag_named(t: &TestApp, f: &Fixture, name: &str) -> String {
    let (_, groups) = t.api("GET", "/api/v1/tag-groups", &f.token, None).await;
    let tags = groups.as_array().unwrap().iter().flat_map(|g| g["tags"].as_array().unwrap().iter());
    tags.into_iter().find(|tag| tag["name"] == name).map(|tag| tag["id"].as_str().unwrap().to_owned()).unwrap()
}

fn marks(fake: &siyu_wecom::fake::FakeHandle) -> Vec<Value> {
    let requests = fake.requests();
    requests.into_iter().filter(|r| r.path == "externalcontact/mark_tag" && r.errcode == 0).map(|r| r.body).collect()
}

#[tokio::test]
async fn a_linked_tag_set_in_siyu_is_marked_on_every_relation_in_wecom_and_nothing_echoes_back() {
    let (t, f, fake, corp) = connected().await;
    let vip = fake.console_create_tag(CORP, "会员等级", "VIP").await.unwrap();
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    fake.customer_adds_staff(CORP, &wm, "lisi", None).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    let tag = tag_named(&t, &f, "VIP").await;
    let (_, group) =
        t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "本地", "exclusive": false}))).await;
    let gid = group["id"].as_str().unwrap();
    let (_, local) =
        t.api("POST", &format!("/api/v1/tag-groups/{gid}/tags"), &f.token, Some(json!({"name": "仅本地"}))).await;
    let before = marks(&fake).len();

    let path = format!("/api/v1/customers/{}/tags", customer.0);
    let (status, body) = t.api("POST", &path, &f.token, Some(json!({"add": [tag, local["id"]]}))).await;
    assert_eq!(status, 200, "{body}");
    t.app.run_due_work().await.unwrap();
    let sent = marks(&fake)[before..].to_vec();
    assert_eq!(sent.len(), 2, "one mark per relation: {sent:?}");
    let mut staff: Vec<&str> = sent.iter().map(|b| b["userid"].as_str().unwrap()).collect();
    staff.sort_unstable();
    assert_eq!(staff, ["lisi", "zhangsan"]);
    assert!(sent.iter().all(|b| b["external_userid"] == wm.as_str() && b["add_tag"] == json!([vip.tag_id])));

    // Running again sends nothing more.
    t.app.run_due_work().await.unwrap();
    assert_eq!(marks(&fake).len(), before + 2);

    // Taking it off removes it in WeCom too.
    let (status, _) = t.api("POST", &path, &f.token, Some(json!({"remove": [tag]}))).await;
    assert_eq!(status, 200);
    t.app.run_due_work().await.unwrap();
    let sent = marks(&fake)[before + 2..].to_vec();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|b| b["remove_tag"] == json!([vip.tag_id]) && b["add_tag"] == json!([])));

    // A tag staff put on in WeCom comes to siyu and is not marked back.
    let n = marks(&fake).len();
    let edit = CustomerEdit { add_tags: vec![vip.tag_id.clone()], ..CustomerEdit::default() };
    fake.staff_edits_customer(CORP, &wm, "zhangsan", edit).await.unwrap();
    settle(&t).await;
    t.app.run_due_work().await.unwrap();
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{}", customer.0), &f.token, None).await;
    assert!(detail["tags"].as_array().unwrap().iter().any(|x| x["name"] == "VIP"), "{detail}");
    assert_eq!(marks(&fake).len(), n, "nothing echoed back to WeCom");
}
