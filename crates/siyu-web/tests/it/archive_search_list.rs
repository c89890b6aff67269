//! The conversation list's `?q=` and the message search with filters, through the tenant's index: words
//! as jieba cuts them, tenant isolation and the reader's permission, the staff filter, searchable right
//! after the ingest's commit, highlighted snippets that never carry a message's markup, honest totals and
//! the database's substring match (said on the page) when the index is unavailable.

use std::sync::Arc;

use serde_json::{Value, json};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{ConversationId, CorpId};
use siyu_store::archive::{ConversationUpsert, NewMessage};
use uuid::Uuid;

use crate::archive::text;
use crate::helpers::{Fixture, TestApp, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, connected};

async fn ingest(t: &TestApp, f: &Fixture, messages: &[Value], first_seq: i64) {
    let body = crate::archive::ingest(t, f, messages, first_seq).await;
    assert!(body["rejected"].as_array().unwrap().is_empty(), "{body}");
}

fn enc(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The conversation list for `query` (already encoded): the page.
async fn chats(t: &TestApp, token: &str, query: &str) -> Value {
    let (status, page) = t.api("GET", &format!("/api/v1/archive/conversations?{query}"), token, None).await;
    assert_eq!(status, 200, "{page}");
    page
}

/// The message search for `query` (already encoded): the page.
async fn messages(t: &TestApp, token: &str, query: &str) -> Value {
    let (status, page) = t.api("GET", &format!("/api/v1/archive/search?{query}"), token, None).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn msgids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|m| m["msgid"].as_str().unwrap().to_owned()).collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn a_word_inside_a_longer_word_matches_only_where_jieba_cuts_it_out() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    ingest(
        &t,
        &f,
        &[
            text("j1", "wmA1", "zhangsan", ms, "中华人民共和国成立纪念币还有吗"),
            text("j2", "wmB2", "lisi", ms + 1, "请用企业微信联系我们"),
        ],
        1,
    )
    .await;
    t.api("PUT", "/api/v1/archive/dictionary", &f.token, Some(json!({"words": ["企业微信"]}))).await;
    // The new dictionary rebuilds the index in the background (searches meanwhile use the database): wait.
    t.app.archive_index(f.tenant.id).await.unwrap();

    // 人民 is a word jieba's search mode cuts out of 中华人民共和国: found, and marked.
    let page = chats(&t, &f.token, &format!("q={}", enc("人民"))).await;
    assert_eq!((page["total"].as_i64(), page["source"].as_str()), (Some(1), Some("index")), "{page}");
    let chat = &page["items"][0];
    assert_eq!(chat["staff_userid"], "zhangsan");
    assert_eq!(chat["hits"], 1);
    assert!(chat["highlight"].as_str().unwrap().contains("<mark>人民</mark>"), "{chat}");
    // 民共 is a substring but no word of it: a substring match would find it, the index does not.
    let page = chats(&t, &f.token, &format!("q={}", enc("民共"))).await;
    assert_eq!(page["total"], 0, "{page}");
    assert_eq!(messages(&t, &f.token, &format!("q={}", enc("民共"))).await["total"], 0);
    // With 企业微信 in the dictionary it stays whole: 企业 is cut out of it, 微信 is not.
    assert_eq!(msgids(&messages(&t, &f.token, &format!("q={}", enc("企业"))).await), ["j2"]);
    assert_eq!(messages(&t, &f.token, &format!("q={}", enc("微信"))).await["total"], 0);
    assert_eq!(chats(&t, &f.token, &format!("q={}", enc("企业微信"))).await["total"], 1);
}

#[tokio::test]
async fn search_respects_tenant_isolation_and_staff_data_scope() {
    let (t, f, fake, _corp) = connected().await;
    let (g, _) = connect(&t, &fake).await;
    let ms = now_ms();
    ingest(
        &t,
        &f,
        &[
            text("i1", "wmA1", "zhangsan", ms, "优惠券什么时候到账"),
            text("i2", "zhangsan", "wmA1", ms + 1, "优惠券今天就到账"),
            text("i3", "wmB2", "lisi", ms + 2, "优惠券可以叠加吗"),
        ],
        1,
    )
    .await;
    ingest(&t, &g, &[text("x1", "wmA1", "zhangsan", ms, "优惠券能叠加使用吗")], 1).await;

    let page = chats(&t, &f.token, &format!("q={}", enc("优惠券"))).await;
    assert_eq!(page["total"], 2, "{page}");
    let page = messages(&t, &f.token, &format!("q={}", enc("优惠券"))).await;
    assert_eq!(page["total"], 3, "{page}");
    assert!(!msgids(&page).contains(&"x1".to_owned()));
    let page = messages(&t, &g.token, &format!("q={}", enc("优惠券"))).await;
    assert_eq!(msgids(&page), ["x1"]);
    assert_eq!(chats(&t, &g.token, &format!("q={}", enc("到账"))).await["total"], 0);

    // The staff filter: one staff member's conversations and messages only, with the hit count.
    let page = chats(&t, &f.token, &format!("staff=zhangsan&q={}", enc("优惠券"))).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(
        (page["items"][0]["staff_userid"].as_str(), page["items"][0]["hits"].as_i64()),
        (Some("zhangsan"), Some(2))
    );
    let page = messages(&t, &f.token, &format!("staff=lisi&q={}", enc("优惠券"))).await;
    assert_eq!((msgids(&page), page["total"].as_i64()), (vec!["i3".to_owned()], Some(1)));
    let page = messages(&t, &f.token, &format!("kind=group&q={}", enc("优惠券"))).await;
    assert_eq!(page["total"], 0, "{page}");

    // Staff (their own customers only) may not read the archive, through the list or the search.
    let (_, staff_token, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let path = format!("/api/v1/archive/conversations?q={}", enc("优惠券"));
    assert_eq!(t.api("GET", &path, &staff_token, None).await.0, 403);
    let path = format!("/api/v1/archive/search?q={}", enc("优惠券"));
    assert_eq!(t.api("GET", &path, &staff_token, None).await.0, 403);
    // An auditor reads them as the unsearched list does.
    let (_, auditor_token, _) = t.member(&f, Role::Auditor, DataScope::All).await;
    assert_eq!(chats(&t, &auditor_token, &format!("q={}", enc("优惠券"))).await["total"], 2);
    assert_eq!(chats(&t, &auditor_token, "").await["total"], 2);
}

#[tokio::test]
async fn a_newly_ingested_message_is_found_right_after_ingest() {
    let (t, f, _fake, corp) = connected().await;
    let ms = now_ms();
    // The ingest commits the index before it answers: the very next request finds the message.
    ingest(&t, &f, &[text("n1", "wmA1", "zhangsan", ms, "羽绒服有黑色吗")], 1).await;
    assert_eq!(msgids(&messages(&t, &f.token, &format!("q={}", enc("羽绒服"))).await), ["n1"]);
    let page = chats(&t, &f.token, &format!("q={}", enc("羽绒服"))).await;
    assert_eq!((page["total"].as_i64(), page["items"][0]["hits"].as_i64()), (Some(1), Some(1)));
    let conversation = page["items"][0]["id"].as_str().unwrap().to_owned();

    // Stepped by hand: a stored message is found once its document is committed, not before.
    let tenant = f.tenant.id;
    let corp_row = CorpId(Uuid::parse_str(corp["id"].as_str().unwrap()).unwrap());
    let at = chrono::Utc::now();
    let conv = t
        .app
        .store
        .archive()
        .upsert_conversation(
            tenant,
            &ConversationUpsert {
                corp: corp_row,
                corp_id: CORP,
                key: "single:zhangsan|wmA1",
                kind: "single",
                staff_userid: Some("zhangsan"),
                external_userid: Some("wmA1"),
                roomid: None,
                at,
            },
        )
        .await
        .unwrap();
    assert_eq!(conv, ConversationId(Uuid::parse_str(&conversation).unwrap()));
    let id = Uuid::now_v7();
    let body = "羽绒服黑色明天到货";
    let message = NewMessage {
        id,
        corp: corp_row,
        conversation: Some(conv),
        msgid: "n2",
        seq: 2,
        action: "send",
        msgtype: "text",
        sender: "zhangsan",
        sender_party: "staff",
        msgtime: at,
        body,
        payload: "{}",
    };
    assert!(t.app.store.archive().insert_message(tenant, &message, at).await.unwrap());
    let index = t.app.archive_index(tenant).await.unwrap();
    index.upsert(&[siyu_app::search::chat_doc(id, Some(conv.0), body, at)]).unwrap();
    let page = chats(&t, &f.token, &format!("q={}", enc("到货"))).await;
    assert_eq!(page["total"], 0, "not committed yet: {page}");
    index.commit().unwrap();
    let page = chats(&t, &f.token, &format!("q={}", enc("到货"))).await;
    assert_eq!(page["total"], 1, "{page}");
    let page = chats(&t, &f.token, &format!("q={}", enc("羽绒服"))).await;
    assert_eq!(page["items"][0]["hits"], 2, "{page}");
}

#[tokio::test]
async fn the_conversation_list_shows_the_snippet_with_highlight_markup_escaped_safely() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>退款 & \"运费\"";
    ingest(&t, &f, &[text("h1", "wmA1", "zhangsan", ms, evil)], 1).await;
    let console = t.console(&f.owner.username).await;
    let res = console.get(t.url(&format!("/console/archive/chats?q={}", enc("退款")))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<mark>退款</mark>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"), "{html}");
    assert!(!html.contains("<script>alert(1)") && !html.contains("<img src=x"), "no markup from a message");
    assert!(!html.contains("search-fallback"), "answered by the index");
    // The row opens the thread at the best match.
    let href = html.split("data-chat=\"").nth(1).unwrap().split("href=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(href.contains("#m-"), "{href}");
    let thread = console.get(t.url(href.split('#').next().unwrap())).send().await.unwrap().text().await.unwrap();
    assert!(thread.contains(&format!("id=\"{}\"", href.split('#').nth(1).unwrap())), "{thread}");

    // The messages view: each hit highlighted, escaped, linking to its place in the thread.
    let path = format!("/console/archive/chats?q={}&view=messages", enc("退款"));
    let html = console.get(t.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-message=") && html.contains("<mark>退款</mark>") && html.contains("#m-"), "{html}");
    assert!(!html.contains("<script>alert(1)"), "{html}");
}

#[tokio::test]
async fn pages_count_every_matching_conversation_and_message() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    let batch: Vec<Value> = (0..5)
        .flat_map(|i| {
            let customer = format!("wmP{i}");
            [
                text(&format!("p{i}a"), &customer, "zhangsan", ms + i * 10, "发票怎么开"),
                text(&format!("p{i}b"), "zhangsan", &customer, ms + i * 10 + 1, "发票已经开好了"),
            ]
        })
        .collect();
    ingest(&t, &f, &batch, 1).await;

    let first = chats(&t, &f.token, &format!("q={}&limit=2", enc("发票"))).await;
    let third = chats(&t, &f.token, &format!("q={}&limit=2&offset=4", enc("发票"))).await;
    assert_eq!((first["total"].as_i64(), third["total"].as_i64()), (Some(5), Some(5)));
    assert_eq!((first["items"].as_array().unwrap().len(), third["items"].as_array().unwrap().len()), (2, 1));
    // Newest first: the last customer's conversation leads, the first one's closes.
    assert_eq!(first["items"][0]["external_userid"], "wmP4");
    assert_eq!(third["items"][0]["external_userid"], "wmP0");
    assert!(first["items"].as_array().unwrap().iter().all(|c| c["hits"] == 2));

    let page = messages(&t, &f.token, &format!("q={}&limit=3&offset=9", enc("发票"))).await;
    assert_eq!((page["total"].as_i64(), page["items"].as_array().unwrap().len()), (Some(10), 1));
}

#[tokio::test]
async fn an_unavailable_index_falls_back_to_the_database_and_the_page_says_so() {
    let (t, f, _fake, _corp) = connected().await;
    // A search directory that cannot be made (a file stands in its way): the index cannot open.
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let mut settings = test_settings();
    settings.search.dir = blocker.path().join("indexes").display().to_string();
    let other = spawn_with(Arc::clone(&t.db), Arc::new(siyu_app::clock::SystemClock), settings).await;
    ingest(&other, &f, &[text("u1", "wmA1", "zhangsan", now_ms(), "中华人民共和国纪念币")], 1).await;

    let page = chats(&other, &f.token, &format!("q={}", enc("民共"))).await;
    assert_eq!((page["total"].as_i64(), page["source"].as_str()), (Some(1), Some("index_unavailable")), "{page}");
    let page = messages(&other, &f.token, &format!("q={}", enc("民共"))).await;
    assert_eq!((msgids(&page), page["source"].as_str()), (vec!["u1".to_owned()], Some("index_unavailable")));
    let console = other.console(&f.owner.username).await;
    let path = format!("/console/archive/chats?q={}", enc("纪念币"));
    let html = console.get(other.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"search-fallback\"") && html.contains("全文索引暂不可用"), "{html}");
}
