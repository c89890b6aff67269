//! The sidebar's endpoints: JS-SDK tickets fetched once and cached by the client, their hourly limits in
//! the fake, and the web OAuth2 code exchange.

use std::sync::Arc;

use super::*;
use crate::jsapi::TicketKind;
use crate::limiter::{LocalLimiter, Quota};
use crate::{Client, ClientConfig, CorpCredentials, WecomError};

fn client(h: &Harness) -> (Client, CorpCredentials) {
    let config = ClientConfig { base_url: h.fake.base_url(), ..ClientConfig::default() };
    let client = Client::new(config, Arc::new(LocalLimiter::new(Quota::default()))).unwrap();
    let creds = CorpCredentials { corp_id: CORP.into(), secret: "app-secret".into(), agent_id: Some(1000002) };
    (client, creds)
}

#[tokio::test]
async fn the_client_fetches_each_ticket_once_and_serves_later_calls_from_its_cache() {
    let h = Harness::start(FakeConfig::default()).await;
    let (client, creds) = client(&h);
    let corp = client.jsapi_ticket(&creds, TicketKind::Corp).await.unwrap();
    let agent = client.jsapi_ticket(&creds, TicketKind::Agent).await.unwrap();
    assert_ne!(corp, agent);
    let clone = client.clone();
    assert_eq!(clone.jsapi_ticket(&creds, TicketKind::Corp).await.unwrap(), corp);
    assert_eq!(client.jsapi_ticket(&creds, TicketKind::Agent).await.unwrap(), agent);
    assert_eq!(h.fake.calls("get_jsapi_ticket"), 1);
    assert_eq!(h.fake.calls("ticket/get"), 1);
}

#[tokio::test]
async fn ticket_fetches_over_the_hourly_limits_answer_45009() {
    let config = FakeConfig { corp_ticket_hourly: 2, app_ticket_hourly: 1, ..FakeConfig::default() };
    let h = Harness::start(config).await;
    for _ in 0..2 {
        assert_eq!(errcode(&h.get("get_jsapi_ticket", &[]).await), 0);
    }
    assert_eq!(errcode(&h.get("get_jsapi_ticket", &[]).await), 45009);
    assert_eq!(errcode(&h.get("ticket/get", &[("type", "agent_config")]).await), 0);
    assert_eq!(errcode(&h.get("ticket/get", &[("type", "agent_config")]).await), 45009);
    h.advance(3600).await;
    assert_eq!(errcode(&h.get("ticket/get", &[("type", "agent_config")]).await), 0);
}

#[tokio::test]
async fn an_oauth_code_names_the_member_once_and_expires_after_five_minutes() {
    let h = Harness::start(FakeConfig::default()).await;
    let (client, creds) = client(&h);
    let code = h.fake.oauth_code(CORP, "zhangsan").unwrap();
    let who = client.oauth_identity(&creds, &code).await.unwrap();
    assert_eq!(who.userid, "zhangsan");
    let again = client.oauth_identity(&creds, &code).await.unwrap_err();
    assert!(matches!(again, WecomError::Api { errcode: 40029, .. }), "{again}");

    let late = h.fake.oauth_code(CORP, "lisi").unwrap();
    h.fake.clock().advance(300);
    assert_eq!(errcode(&h.get("auth/getuserinfo", &[("code", &late)]).await), 40029);
    assert_eq!(errcode(&h.get("auth/getuserinfo", &[("code", "made-up")]).await), 40029);
    assert!(h.fake.oauth_code(CORP, "ghost").is_err());

    let wm = h.fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    let customer = h.fake.oauth_code_for_customer(CORP, &wm).unwrap();
    let reply = h.get("auth/getuserinfo", &[("code", &customer)]).await;
    assert_eq!(reply["external_userid"], wm.as_str());
    assert!(reply.get("userid").is_none());
}
