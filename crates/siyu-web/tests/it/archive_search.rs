//! Searching the session archive through the tenant's full-text index: searchable as soon as the ingest
//! answers, cut by the tenant's dictionary, rebuilt from the database when the index is lost or stale, and
//! never showing another tenant's messages.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::archive::text;
use crate::helpers::{Fixture, TestApp, spawn_with, test_settings};
use crate::wecom_callbacks::{connect, connected};

/// Stores `messages` through the ingest endpoint; none may be refused.
async fn ingest(t: &TestApp, f: &Fixture, messages: &[Value], first_seq: i64) {
    let body = crate::archive::ingest(t, f, messages, first_seq).await;
    assert!(body["rejected"].as_array().unwrap().is_empty(), "{body}");
}

/// The msgids found for `q`, best first, and the hits.
async fn search(t: &TestApp, f: &Fixture, q: &str) -> (Vec<String>, Vec<Value>) {
    let path = format!("/api/v1/archive/search?q={}", urlencoding(q));
    let (status, page) = t.api("GET", &path, &f.token, None).await;
    assert_eq!(status, 200, "{page}");
    let hits = page["items"].as_array().unwrap().clone();
    assert_eq!(page["total"].as_u64(), Some(hits.len() as u64), "{page}");
    (hits.iter().map(|h| h["msgid"].as_str().unwrap().to_owned()).collect(), hits)
}

fn urlencoding(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn a_chinese_query_finds_a_message_as_soon_as_the_ingest_answers() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    ingest(
        &t,
        &f,
        &[
            text("s1", "wmA1", "zhangsan", ms, "你好，我想申请退款，衣服尺码不合适"),
            text("s2", "zhangsan", "wmA1", ms + 1000, "好的，退款流程已经帮您提交了"),
            text("s3", "zhangsan", "wmA1", ms + 2000, "今天下午发货"),
        ],
        1,
    )
    .await;

    let (found, hits) = search(&t, &f, "退款").await;
    assert_eq!(found.len(), 2, "{hits:?}");
    assert!(found.contains(&"s1".to_owned()) && found.contains(&"s2".to_owned()), "{found:?}");
    let hit = hits.iter().find(|h| h["msgid"] == "s2").unwrap();
    assert_eq!(hit["text"], "好的，退款流程已经帮您提交了", "the message comes from the database");
    assert!(hit["highlight"].as_str().unwrap().contains("<mark>退款</mark>"), "{hit}");
    assert!(hit["conversation_id"].is_string());

    let (found, _) = search(&t, &f, "发货").await;
    assert_eq!(found, ["s3"]);
    let (found, _) = search(&t, &f, "发票怎么开").await;
    assert!(found.is_empty(), "{found:?}");

    // Markup in a message is text in the highlight.
    ingest(&t, &f, &[text("s4", "wmA1", "zhangsan", ms + 3000, "<b>退货</b>地址是哪里")], 4).await;
    let (found, hits) = search(&t, &f, "退货").await;
    assert_eq!(found, ["s4"]);
    let highlight = hits[0]["highlight"].as_str().unwrap();
    assert!(highlight.contains("&lt;b&gt;<mark>退货</mark>&lt;/b&gt;"), "{highlight}");
}

#[tokio::test]
async fn a_dictionary_word_matches_whole_and_a_new_dictionary_rebuilds_the_index() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    // Stored before the dictionary knows 企业微信: the index must be cut again when it changes.
    ingest(
        &t,
        &f,
        &[
            text("d1", "zhangsan", "wmA1", ms, "请用企业微信联系我们"),
            text("d2", "wmA1", "zhangsan", ms + 1, "我们企业的微信群在哪里"),
        ],
        1,
    )
    .await;
    let (status, _) = t.api("PUT", "/api/v1/archive/dictionary", &f.token, Some(json!({"words": ["企业微信"]}))).await;
    assert_eq!(status, 200);
    // The change rebuilds the index in the background (searches meanwhile use the database): wait for it.
    t.app.archive_index(f.tenant.id).await.unwrap();

    let (found, hits) = search(&t, &f, "企业微信").await;
    assert_eq!(found, ["d1"], "{hits:?}");
    assert!(hits[0]["highlight"].as_str().unwrap().contains("<mark>企业微信</mark>"), "{:?}", hits[0]);

    // Ingested after the change: cut by the new dictionary too.
    ingest(&t, &f, &[text("d3", "wmA1", "zhangsan", ms + 2, "企业微信怎么加好友")], 3).await;
    let (found, _) = search(&t, &f, "企业微信").await;
    assert_eq!(found.len(), 2);
    assert!(found.contains(&"d3".to_owned()) && !found.contains(&"d2".to_owned()), "{found:?}");
}

#[tokio::test]
async fn a_lost_or_stale_index_is_rebuilt_from_the_database() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    ingest(&t, &f, &[text("r1", "wmA1", "zhangsan", ms, "这件羽绒服有黑色吗")], 1).await;
    let (found, _) = search(&t, &f, "羽绒服").await;
    assert_eq!(found, ["r1"]);

    // By default the index sits beside the SQLite file (in memory on PostgreSQL).
    if let Some(db_dir) = &t.db.dir {
        let expected = db_dir.path().join("siyu.db.search");
        assert_eq!(t.app.search.location(), &siyu_app::search::Location::Dir(expected.clone()));
        assert!(expected.join(f.tenant.id.0.to_string()).is_dir());
    }

    // Another node with an empty index directory: its first search rebuilds the index from the database.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings();
    settings.search.dir = dir.path().display().to_string();
    let other = spawn_with(Arc::clone(&t.db), Arc::new(siyu_app::clock::SystemClock), settings.clone()).await;
    let (found, hits) = search(&other, &f, "羽绒服").await;
    assert_eq!(found, ["r1"], "{hits:?}");
    assert!(dir.path().join(f.tenant.id.0.to_string()).is_dir());
    assert!(dir.path().join(format!("{}.words", f.tenant.id.0)).is_file());

    // A message ingested elsewhere, then the index marked stale (as after a failed write): rebuilt.
    ingest(&t, &f, &[text("r2", "zhangsan", "wmA1", ms + 1, "羽绒服黑色有货")], 2).await;
    other.app.search.mark_stale(f.tenant.id);
    assert!(!dir.path().join(format!("{}.words", f.tenant.id.0)).exists(), "stale survives a restart");
    let (found, _) = search(&other, &f, "羽绒服").await;
    assert_eq!(found.len(), 2, "{found:?}");

    // The directory deleted while no process holds it: created again and rebuilt.
    drop(other);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    std::fs::remove_dir_all(dir.path().join(f.tenant.id.0.to_string())).unwrap();
    let again = spawn_with(Arc::clone(&t.db), Arc::new(siyu_app::clock::SystemClock), settings).await;
    let (found, _) = search(&again, &f, "黑色").await;
    assert_eq!(found.len(), 2, "{found:?}");
}

#[tokio::test]
async fn another_tenants_messages_never_appear() {
    let (t, f, fake, _corp) = connected().await;
    let (g, _) = connect(&t, &fake).await;
    let ms = now_ms();
    ingest(&t, &f, &[text("t1", "wmA1", "zhangsan", ms, "优惠券什么时候到账")], 1).await;
    ingest(&t, &g, &[text("t2", "wmA1", "zhangsan", ms, "优惠券能叠加使用吗")], 1).await;

    let (found, _) = search(&t, &f, "优惠券").await;
    assert_eq!(found, ["t1"]);
    let (found, _) = search(&t, &g, "优惠券").await;
    assert_eq!(found, ["t2"]);
    let (found, _) = search(&t, &g, "到账").await;
    assert!(found.is_empty(), "{found:?}");
}
