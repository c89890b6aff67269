//! Customers, relations, cursors and corp tags.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{CORP, Harness, errcode};
use crate::fake::{CustomerEdit, CustomerSetup, FakeConfig};

fn ids(page: &Value) -> Vec<String> {
    page["external_contact_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["external_contact"]["external_userid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn batch_cursors_stay_stable_while_customers_come_and_go() {
    let h = Harness::start(FakeConfig::default()).await;
    let mut seeded = Vec::new();
    for i in 0..7 {
        seeded.push(h.befriend(&format!("客户{i}"), "zhangsan").await.0);
    }
    let first = h.post("externalcontact/batch/get_by_user", json!({"userid_list": ["zhangsan"], "limit": 3})).await;
    assert_eq!(ids(&first), seeded[..3]);
    // Between pages: one customer already seen leaves and a new one arrives.
    h.fake.customer_deletes_staff(CORP, &seeded[0], "zhangsan").await.unwrap();
    let late = h.befriend("后来者", "zhangsan").await.0;
    let mut seen = ids(&first);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    while !cursor.is_empty() {
        let page = h
            .post("externalcontact/batch/get_by_user", json!({"userid": "zhangsan", "cursor": cursor, "limit": 3}))
            .await;
        assert_eq!(errcode(&page), 0);
        seen.extend(ids(&page));
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
    }
    let mut expected = seeded.clone();
    expected.push(late);
    assert_eq!(seen, expected, "nothing skipped, nothing repeated");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
}

#[tokio::test]
async fn batch_get_checks_its_arguments_and_clamps_the_limit() {
    let h = Harness::start(FakeConfig::default()).await;
    let too_many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let reply = h.post("externalcontact/batch/get_by_user", json!({"userid_list": too_many})).await;
    assert_eq!(errcode(&reply), 40058);
    let unknown = h.post("externalcontact/batch/get_by_user", json!({"userid_list": ["ghost"]})).await;
    assert_eq!(errcode(&unknown), 60111);
    for i in 0..3 {
        h.befriend(&format!("c{i}"), "lisi").await;
    }
    let all = h.post("externalcontact/batch/get_by_user", json!({"userid_list": ["lisi"], "limit": 5000})).await;
    assert_eq!(ids(&all).len(), 3);
    assert_eq!(all["next_cursor"], "");
    let garbage = h.post("externalcontact/batch/get_by_user", json!({"userid": "lisi", "cursor": "zz"})).await;
    assert_eq!(errcode(&garbage), 40058);
}

#[tokio::test]
async fn get_pages_followers_above_the_page_size() {
    let h = Harness::start(FakeConfig { follow_page_size: 2, ..FakeConfig::default() }).await;
    h.fake.add_staff(CORP, "wangwu", "王五", &[]).unwrap();
    let (id, _) = h.befriend("李四", "zhangsan").await;
    for userid in ["lisi", "wangwu"] {
        h.fake.customer_adds_staff(CORP, &id, userid, Some("qr-42")).await.unwrap();
    }
    let first = h.get("externalcontact/get", &[("external_userid", &id)]).await;
    assert_eq!(first["external_contact"]["name"], "李四");
    assert_eq!(first["follow_user"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert!(!cursor.is_empty());
    let second = h.get("externalcontact/get", &[("external_userid", &id), ("cursor", cursor)]).await;
    assert_eq!(second["follow_user"][0]["userid"], "wangwu");
    assert_eq!(second["follow_user"][0]["state"], "qr-42");
    assert_eq!(second["next_cursor"], "");
}

#[tokio::test]
async fn bad_ids_answer_their_documented_errcodes() {
    let h = Harness::start(FakeConfig::default()).await;
    assert_eq!(errcode(&h.get("externalcontact/get", &[("external_userid", "wmghost")]).await), 40096);
    assert_eq!(errcode(&h.get("externalcontact/list", &[("userid", "ghost")]).await), 60111);
    assert_eq!(errcode(&h.get("externalcontact/list", &[("userid", "lisi")]).await), 84061);
    let lonely = h.fake.add_customer(CORP, CustomerSetup::named("无人")).unwrap();
    assert_eq!(errcode(&h.get("externalcontact/get", &[("external_userid", &lonely)]).await), 84061);
    h.fake.set_contact_permission(CORP, "lisi", false).unwrap();
    assert_eq!(errcode(&h.get("externalcontact/list", &[("userid", "lisi")]).await), 84074);
}

#[tokio::test]
async fn remark_enforces_its_length_limits_and_pushes_nothing() {
    let h = Harness::start(FakeConfig::default()).await;
    let (id, _) = h.befriend("李四", "zhangsan").await;
    let pushes = h.fake.pushes().len();
    let long = "长".repeat(21);
    let reply =
        h.post("externalcontact/remark", json!({"userid": "zhangsan", "external_userid": id, "remark": long})).await;
    assert_eq!(errcode(&reply), 40058);
    let ok = h
        .post(
            "externalcontact/remark",
            json!({"userid": "zhangsan", "external_userid": id, "remark": "长".repeat(20),
                   "remark_company": "腾讯", "remark_mobiles": ["13800000000"]}),
        )
        .await;
    assert_eq!(errcode(&ok), 0);
    let got = h.get("externalcontact/get", &[("external_userid", &id)]).await;
    assert_eq!(got["follow_user"][0]["remark_corp_name"], "腾讯");
    assert_eq!(got["follow_user"][0]["remark_mobiles"], json!(["13800000000"]));
    assert_eq!(h.fake.pushes().len(), pushes, "API-made changes push nothing");
}

#[tokio::test]
async fn corp_tags_follow_the_documented_rules() {
    let h = Harness::start(FakeConfig::default()).await;
    let added = h
        .post(
            "externalcontact/add_corp_tag",
            json!({"group_name": "等级", "tag": [{"name": "VIP"}, {"name": "普通", "order": 5}]}),
        )
        .await;
    assert_eq!(errcode(&added), 0);
    let group_id = added["tag_group"]["group_id"].as_str().unwrap().to_owned();
    assert!(group_id.starts_with("et"));
    let dup = h.post("externalcontact/add_corp_tag", json!({"group_id": group_id, "tag": [{"name": "VIP"}]})).await;
    assert_eq!(errcode(&dup), 40071);
    let list = h.post("externalcontact/get_corp_tag_list", json!({})).await;
    let tags = &list["tag_group"][0]["tag"];
    assert_eq!(tags[0]["name"], "普通", "larger order first");
    let vip = tags[1]["id"].as_str().unwrap().to_owned();
    let (id, _) = h.befriend("李四", "zhangsan").await;
    let bad = h
        .post("externalcontact/mark_tag", json!({"userid": "zhangsan", "external_userid": id, "add_tag": ["etnope"]}))
        .await;
    assert_eq!(errcode(&bad), 40068);
    let marked = h
        .post("externalcontact/mark_tag", json!({"userid": "zhangsan", "external_userid": id, "add_tag": [vip]}))
        .await;
    assert_eq!(errcode(&marked), 0);
    let got = h.get("externalcontact/get", &[("external_userid", &id)]).await;
    assert_eq!(got["follow_user"][0]["tags"][0]["tag_name"], "VIP");
    assert_eq!(got["follow_user"][0]["tags"][0]["group_name"], "等级");
    let deleted = h.post("externalcontact/del_corp_tag", json!({"group_id": [group_id]})).await;
    assert_eq!(errcode(&deleted), 0);
    let got = h.get("externalcontact/get", &[("external_userid", &id)]).await;
    assert_eq!(got["follow_user"][0]["tags"], json!([]));
    assert_eq!(errcode(&h.post("externalcontact/edit_corp_tag", json!({"id": vip, "name": "x"})).await), 40068);
}

#[tokio::test]
async fn console_edits_push_their_events() {
    let h = Harness::start(FakeConfig::default()).await;
    let created = h.fake.console_create_tag(CORP, "来源", "门店").await.unwrap();
    let second = h.fake.console_create_tag(CORP, "来源", "线上").await.unwrap();
    let (id, _) = h.befriend("李四", "zhangsan").await;
    let edit =
        CustomerEdit {
            remark: Some("老客".into()), add_tags: vec![second.tag_id.clone()], ..CustomerEdit::default()
        };
    h.fake.staff_edits_customer(CORP, &id, "zhangsan", edit).await.unwrap();
    h.fake.console_shuffle_tags(CORP, Some(&created.group_id)).await.unwrap();
    h.fake.console_delete_tag(CORP, &created.group_id).await.unwrap();
    let xml: Vec<String> = h.fake.pushes().into_iter().map(|p| p.xml).collect();
    assert!(xml[0].contains("<TagType><![CDATA[tag_group]]></TagType><ChangeType><![CDATA[create]]></ChangeType>"));
    assert!(xml[1].contains(&format!("<Id><![CDATA[{}]]></Id><TagType><![CDATA[tag]]>", second.tag_id)));
    assert!(xml[3].contains("edit_external_contact"));
    assert!(xml[4].contains("shuffle"));
    assert!(xml[5].contains("delete") && xml[5].contains("tag_group"));
    assert_eq!(xml.len(), 6, "deleting a group pushes one event");
    let got = h.get("externalcontact/get", &[("external_userid", &id)]).await;
    assert_eq!(got["follow_user"][0]["remark"], "老客");
    assert_eq!(got["follow_user"][0]["tags"], json!([]));
}
