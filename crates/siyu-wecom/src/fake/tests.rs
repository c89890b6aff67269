//! Tests of the fake WeCom server through real HTTP (a plain reqwest client), plus the shared harness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod callbacks;
mod campaigns;
mod customers;
mod media;
mod sidebar;
mod transfers;
mod ways;

use serde_json::{Value, json};

use super::*;

pub(super) const CORP: &str = "wwfake00000001";
pub(super) const SECRET: &str = "contact-secret";
/// Tencent's sample Token and EncodingAESKey (reference/wecom.md §5, vector A).
pub(super) const CALLBACK_TOKEN: &str = "QDG6eK";
pub(super) const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

pub(super) struct Harness {
    pub fake: FakeHandle,
    pub http: reqwest::Client,
    token: std::sync::Mutex<String>,
}

pub(super) fn errcode(reply: &Value) -> i64 {
    reply["errcode"].as_i64().unwrap()
}

impl Harness {
    /// A fake with one corp (staff zhangsan and lisi) and a token.
    pub async fn start(config: FakeConfig) -> Self {
        let fake = FakeWecom::start(config).await.unwrap();
        fake.add_corp(CorpSetup {
            corp_id: CORP.into(),
            secrets: vec![SECRET.into(), "app-secret".into()],
            callback_url: None,
            token: CALLBACK_TOKEN.into(),
            encoding_aes_key: AES_KEY.into(),
            agent_id: "1000002".into(),
        });
        fake.add_staff(CORP, "zhangsan", "张三", &[]).unwrap();
        fake.add_staff(CORP, "lisi", "李四", &[]).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let harness = Self { fake, http, token: std::sync::Mutex::default() };
        *harness.token.lock().unwrap() = harness.fresh_token().await;
        harness
    }

    /// Moves the fake clock and fetches a new token (the old one may have expired).
    pub async fn advance(&self, secs: i64) {
        self.fake.clock().advance(secs);
        let token = self.fresh_token().await;
        *self.token.lock().unwrap() = token;
    }

    fn token(&self) -> String {
        self.token.lock().unwrap().clone()
    }

    pub async fn fresh_token(&self) -> String {
        let reply = self.raw_get("gettoken", &[("corpid", CORP), ("corpsecret", SECRET)]).await;
        assert_eq!(errcode(&reply), 0, "{reply}");
        reply["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn raw_get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let url = format!("{}{path}", self.fake.base_url());
        let response = self.http.get(url).query(query).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut query = query.to_vec();
        let token = self.token();
        query.push(("access_token", &token));
        self.raw_get(path, &query).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.fake.base_url());
        let response = self.http.post(url).query(&[("access_token", self.token())]).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Seeds a customer who added `userid`; returns the external_userid and the welcome code.
    pub async fn befriend(&self, name: &str, userid: &str) -> (String, Option<String>) {
        let id = self.fake.add_customer(CORP, CustomerSetup::named(name)).unwrap();
        let added = self.fake.customer_adds_staff(CORP, &id, userid, None).await.unwrap();
        (id, added.welcome_code)
    }
}

#[tokio::test]
async fn a_token_expires_after_7200_seconds_of_fake_time() {
    let h = Harness::start(FakeConfig::default()).await;
    assert_eq!(errcode(&h.get("user/list", &[("department_id", "1")]).await), 0);
    h.fake.clock().advance(7199);
    assert_eq!(errcode(&h.get("user/list", &[("department_id", "1")]).await), 0);
    h.fake.clock().advance(1);
    assert_eq!(errcode(&h.get("user/list", &[("department_id", "1")]).await), 42001);
    let reply = h.raw_get("gettoken", &[("corpid", CORP), ("corpsecret", SECRET)]).await;
    assert_eq!(reply["expires_in"], 7200);
}

#[tokio::test]
async fn gettoken_rejects_a_bad_corpid_and_a_bad_secret() {
    let h = Harness::start(FakeConfig::default()).await;
    let bad_corp = h.raw_get("gettoken", &[("corpid", "wwnobody"), ("corpsecret", SECRET)]).await;
    assert_eq!(errcode(&bad_corp), 40013);
    let bad_secret = h.raw_get("gettoken", &[("corpid", CORP), ("corpsecret", "nope")]).await;
    assert_eq!(errcode(&bad_secret), 40001);
}

#[tokio::test]
async fn a_missing_unknown_or_revoked_token_is_refused() {
    let h = Harness::start(FakeConfig::default()).await;
    assert_eq!(errcode(&h.raw_get("department/list", &[]).await), 41001);
    assert_eq!(errcode(&h.raw_get("department/list", &[("access_token", "forged")]).await), 40014);
    h.fake.revoke_token(CORP);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 40014);
    assert!(h.fake.valid_tokens(CORP).is_empty());
}

#[tokio::test]
async fn the_minute_limit_answers_45009_and_unblocks_after_60_seconds() {
    let h = Harness::start(FakeConfig { minute_limit: 5, ..FakeConfig::default() }).await;
    // Start at the top of a minute so the five calls share one window.
    h.fake.clock().set(1_700_000_040);
    for _ in 0..5 {
        assert_eq!(errcode(&h.get("department/list", &[]).await), 0);
    }
    let refused = h.get("department/list", &[]).await;
    assert_eq!(errcode(&refused), 45009);
    let msg = refused["errmsg"].as_str().unwrap();
    assert!(msg.starts_with("api freq out of limit, hint: ["), "{msg}");
    assert!(msg.ends_with("from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=45009"));
    // Other paths have their own counters.
    assert_eq!(errcode(&h.get("user/list", &[("department_id", "1")]).await), 0);
    h.fake.clock().advance(59);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 45009);
    h.fake.clock().advance(1);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 0);
}

#[tokio::test]
async fn an_hour_breach_blocks_for_an_hour() {
    let h = Harness::start(FakeConfig { hour_limit: 3, ..FakeConfig::default() }).await;
    h.fake.clock().set(1_699_999_200);
    for _ in 0..3 {
        assert_eq!(errcode(&h.get("department/list", &[]).await), 0);
        h.fake.clock().advance(600);
    }
    assert_eq!(errcode(&h.get("department/list", &[]).await), 45009);
    h.fake.clock().advance(3599);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 45009);
    h.fake.clock().advance(1);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 0);
}

#[tokio::test]
async fn injected_errcodes_answer_the_next_calls_then_stop() {
    let h = Harness::start(FakeConfig::default()).await;
    h.fake.inject("/cgi-bin/department/list", -1, 2);
    assert_eq!(errcode(&h.get("department/list", &[]).await), -1);
    assert_eq!(errcode(&h.get("department/list", &[]).await), -1);
    assert_eq!(errcode(&h.get("department/list", &[]).await), 0);
    assert_eq!(h.fake.calls("department/list"), 3);
    let logged: Vec<i64> =
        h.fake.requests().iter().filter(|r| r.path == "department/list").map(|r| r.errcode).collect();
    assert_eq!(logged, vec![-1, -1, 0]);
}

#[tokio::test]
async fn every_reply_is_http_200_json_even_for_garbage() {
    let h = Harness::start(FakeConfig::default()).await;
    let url = format!("{}externalcontact/remark", h.fake.base_url());
    let response = h.http.post(url).query(&[("access_token", h.token())]).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(errcode(&reply), 47001);
    assert_eq!(errcode(&h.post("no/such/api", json!({})).await), 48002);
}

#[tokio::test]
async fn staff_and_departments_are_listed_with_children() {
    let h = Harness::start(FakeConfig::default()).await;
    h.fake.add_department(CORP, 2, "华东", 1).unwrap();
    h.fake.add_department(CORP, 3, "上海店", 2).unwrap();
    h.fake.add_staff(CORP, "wangwu", "王五", &[3]).unwrap();
    let depts = h.get("department/list", &[("id", "2")]).await;
    assert_eq!(depts["department"].as_array().unwrap().len(), 2);
    let direct = h.get("user/list", &[("department_id", "2")]).await;
    assert!(direct["userlist"].as_array().unwrap().is_empty());
    let nested = h.get("user/list", &[("department_id", "2"), ("fetch_child", "1")]).await;
    assert_eq!(nested["userlist"][0]["userid"], "wangwu");
    let first = h.post("user/list_id", json!({"limit": 2})).await;
    assert_eq!(first["dept_user"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = h.post("user/list_id", json!({"cursor": cursor, "limit": 2})).await;
    assert_eq!(rest["dept_user"][0]["userid"], "wangwu");
    assert_eq!(rest["next_cursor"], "");
    let follow = h.get("externalcontact/get_follow_user_list", &[]).await;
    assert_eq!(follow["follow_user"], json!(["zhangsan", "lisi", "wangwu"]));
}

#[tokio::test]
async fn corps_are_separate_and_ids_carry_a_corp_prefix() {
    let h = Harness::start(FakeConfig::default()).await;
    h.fake.add_corp(CorpSetup {
        corp_id: "wwother".into(),
        secrets: vec!["other-secret".into()],
        ..CorpSetup::default()
    });
    h.fake.add_staff("wwother", "zhangsan", "另一个张三", &[]).unwrap();
    let ours = h.fake.add_customer(CORP, CustomerSetup::named("甲")).unwrap();
    let theirs = h.fake.add_customer("wwother", CustomerSetup::named("甲")).unwrap();
    assert!(ours.starts_with("wm") && theirs.starts_with("wm"));
    assert_ne!(ours, theirs);
    assert_eq!(errcode(&h.get("externalcontact/get", &[("external_userid", &theirs)]).await), 40096);
    let other = h.raw_get("gettoken", &[("corpid", "wwother"), ("corpsecret", SECRET)]).await;
    assert_eq!(errcode(&other), 40001, "secrets belong to their corp");
    let token = h.raw_get("gettoken", &[("corpid", "wwother"), ("corpsecret", "other-secret")]).await;
    let token = token["access_token"].as_str().unwrap();
    let users = h.raw_get("user/list", &[("department_id", "1"), ("access_token", token)]).await;
    assert_eq!(users["userlist"].as_array().unwrap().len(), 1);
    assert_eq!(h.fake.requests().last().unwrap().corp_id.as_deref(), Some("wwother"));
}

#[tokio::test]
async fn behaviour_data_has_one_row_per_day() {
    let h = Harness::start(FakeConfig::default()).await;
    let day = clock::day_start(h.fake.clock().now());
    h.befriend("甲", "zhangsan").await;
    let body = json!({"userid": ["zhangsan"], "start_time": day, "end_time": day + 2 * 86_400});
    let reply = h.post("externalcontact/get_user_behavior_data", body).await;
    let rows = reply["behavior_data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["stat_time"].as_i64(), rows[0]["new_contact_cnt"].as_i64()), (Some(day), Some(1)));
    assert_eq!(rows[1]["new_contact_cnt"], 0);
    let too_long = json!({"userid": ["zhangsan"], "start_time": day, "end_time": day + 31 * 86_400});
    assert_eq!(errcode(&h.post("externalcontact/get_user_behavior_data", too_long).await), 40058);
}
