//! 「联系我」 contact ways: validation, quota, listing and updates.

use serde_json::json;

use super::{CORP, Harness, errcode};
use crate::fake::{CustomerSetup, FakeConfig};

#[tokio::test]
async fn a_contact_way_checks_state_remark_and_users() {
    let h = Harness::start(FakeConfig::default()).await;
    let long_state = "s".repeat(31);
    let cases = [
        (json!({"type": 1, "scene": 2, "state": long_state, "user": ["zhangsan"]}), 40058),
        (json!({"type": 1, "scene": 2, "remark": "备".repeat(31), "user": ["zhangsan"]}), 40058),
        (json!({"type": 1, "scene": 2, "user": ["zhangsan", "lisi"]}), 40058),
        (json!({"type": 2, "scene": 2, "user": ["ghost"]}), 60111),
        (json!({"type": 2, "scene": 2, "party": [99]}), 60123),
        (json!({"type": 3, "scene": 2, "user": ["zhangsan"]}), 40058),
        (json!({"type": 1, "scene": 2, "state": "s".repeat(30), "user": ["zhangsan"]}), 0),
    ];
    for (body, expected) in cases {
        let reply = h.post("externalcontact/add_contact_way", body.clone()).await;
        assert_eq!(errcode(&reply), expected, "{body}");
    }
}

#[tokio::test]
async fn the_contact_way_quota_counts_join_ways_too() {
    let h = Harness::start(FakeConfig { contact_way_quota: 2, ..FakeConfig::default() }).await;
    let group = h.fake.create_group(CORP, "zhangsan", "群", &[]).await.unwrap();
    let way = json!({"type": 2, "scene": 2, "user": ["zhangsan"]});
    assert_eq!(errcode(&h.post("externalcontact/add_contact_way", way.clone()).await), 0);
    let join = json!({"scene": 2, "chat_id_list": [group.chat_id]});
    assert_eq!(errcode(&h.post("externalcontact/groupchat/add_join_way", join).await), 0);
    assert_eq!(errcode(&h.post("externalcontact/add_contact_way", way).await), 40058);
}

#[tokio::test]
async fn contact_ways_are_listed_read_updated_and_deleted() {
    let h = Harness::start(FakeConfig::default()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = json!({"type": 2, "scene": 2, "remark": format!("门店{i}"), "user": ["zhangsan"]});
        ids.push(h.post("externalcontact/add_contact_way", body).await["config_id"].as_str().unwrap().to_owned());
    }
    let first = h.post("externalcontact/list_contact_way", json!({"limit": 2})).await;
    assert_eq!(first["contact_way"], json!([{"config_id": ids[0]}, {"config_id": ids[1]}]));
    let rest = h.post("externalcontact/list_contact_way", json!({"cursor": first["next_cursor"], "limit": 2})).await;
    assert_eq!(rest["contact_way"], json!([{"config_id": ids[2]}]));
    let update = json!({"config_id": ids[0], "state": "new", "user": ["lisi"], "type": 1});
    assert_eq!(errcode(&h.post("externalcontact/update_contact_way", update).await), 0);
    let got = h.post("externalcontact/get_contact_way", json!({"config_id": ids[0]})).await;
    let way = &got["contact_way"];
    assert_eq!((way["state"].as_str(), way["type"].as_i64()), (Some("new"), Some(2)), "type stays");
    assert_eq!(way["user"], json!(["lisi"]));
    assert_eq!(way["skip_verify"], true);
    let customer = h.fake.add_customer(CORP, CustomerSetup::named("甲")).unwrap();
    let scanned = h.fake.scan_contact_way(CORP, &ids[0], &customer).await.unwrap();
    assert_eq!(scanned.userid, "lisi");
    assert_eq!(errcode(&h.post("externalcontact/del_contact_way", json!({"config_id": ids[0]})).await), 0);
    assert_eq!(errcode(&h.post("externalcontact/get_contact_way", json!({"config_id": ids[0]})).await), 40058);
    assert!(h.fake.scan_contact_way(CORP, &ids[0], &customer).await.is_err());
}

#[tokio::test]
async fn join_ways_are_read_updated_and_deleted() {
    let h = Harness::start(FakeConfig::default()).await;
    let first = h.fake.create_group(CORP, "zhangsan", "一群", &[]).await.unwrap().chat_id;
    let second = h.fake.create_group(CORP, "zhangsan", "二群", &[]).await.unwrap().chat_id;
    let long_base = "群".repeat(41);
    let bad = json!({"scene": 2, "chat_id_list": [first], "room_base_name": long_base});
    assert_eq!(errcode(&h.post("externalcontact/groupchat/add_join_way", bad).await), 40058);
    let unknown = json!({"scene": 2, "chat_id_list": ["wrghost"]});
    assert_eq!(errcode(&h.post("externalcontact/groupchat/add_join_way", unknown).await), 40050);
    let body = json!({"scene": 2, "chat_id_list": [first], "state": "grp"});
    let config_id =
        h.post("externalcontact/groupchat/add_join_way", body).await["config_id"].as_str().unwrap().to_owned();
    let got = h.post("externalcontact/groupchat/get_join_way", json!({"config_id": config_id})).await;
    let way = &got["join_way"];
    assert_eq!((way["auto_create_room"].as_i64(), way["state"].as_str()), (Some(1), Some("grp")));
    assert!(way["qr_code"].as_str().unwrap().contains(&config_id));
    let update = json!({"config_id": config_id, "scene": 2, "chat_id_list": [second], "auto_create_room": 0});
    assert_eq!(errcode(&h.post("externalcontact/groupchat/update_join_way", update).await), 0);
    let customer = h.fake.add_customer(CORP, CustomerSetup::named("甲")).unwrap();
    let joined = h.fake.scan_join_way(CORP, &config_id, &customer).await.unwrap();
    assert_eq!(joined.chat_id, second);
    let del = json!({"config_id": config_id});
    assert_eq!(errcode(&h.post("externalcontact/groupchat/del_join_way", del.clone()).await), 0);
    assert_eq!(errcode(&h.post("externalcontact/groupchat/get_join_way", del).await), 40058);
}
