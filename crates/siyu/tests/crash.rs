//! `kill -9` during ingestion: every event the server acknowledged is stored exactly once after a restart,
//! and clients that retry what was not acknowledged lose nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use siyu_app::actor::Via;
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::Role;
use siyu_domain::id::{SourceId, TenantId};
use siyu_domain::source::SourceKind;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_siyu"))
        .args(["serve", "--no-worker", "--listen", &format!("127.0.0.1:{port}")])
        // Only SIYU_SECTION__KEY variables are settings: SIYU_CONFIG (and, in CI, SIYU_TEST_DATABASE_URL)
        // must not be refused as unknown ones.
        .env("SIYU_CONFIG", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
        .env("SIYU_DATABASE__URL", url)
        .env("SIYU_SERVER__METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

async fn prepare(url: &str) -> (TenantId, SourceId, String) {
    let mut settings = Settings::defaults().unwrap();
    settings.database.url = url.to_string();
    let app = App::connect(settings, true).await.unwrap();
    let tenant = app.create_tenant("崩溃测试").await.unwrap();
    let account = app.create_account("crash-owner", "店长", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.unwrap();
    let actor = Actor::for_member(&app.store, &member, Via::Session).await.unwrap();
    let (source, key) = app.create_source(&actor, "server", SourceKind::Server).await.unwrap();
    app.store.close().await;
    (tenant.id, source.id, key)
}

fn batch(client: usize, n: usize) -> (Vec<String>, serde_json::Value) {
    let ids: Vec<String> = (0..5).map(|i| format!("c{client}-b{n}-{i}")).collect();
    let items: Vec<_> =
        ids.iter().map(|id| json!({"type": "track", "event": "Tick", "userId": "u", "messageId": id})).collect();
    (ids, json!({"batch": items}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let (tenant, source, key) = prepare(&url).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut server = start(&url, port);
    wait_ready(&client, &base).await;

    // Eight clients post batches as fast as they can; each remembers what was acknowledged.
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let sent: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (client, base, key, acked, sent) = (client.clone(), base.clone(), key.clone(), acked.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let (ids, body) = batch(c, n);
                sent.lock().unwrap().push(body.clone());
                let res = client.post(format!("{base}/v1/batch")).basic_auth(&key, Some("")).json(&body).send().await;
                match res {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().extend(ids),
                    _ => return,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 500 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush.
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }

    // Restarted, the server holds every acknowledged event once.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&url, port);
    wait_ready(&client, &base).await;
    let mut settings = Settings::defaults().unwrap();
    settings.database.url = url.clone();
    let app = App::connect(settings, false).await.unwrap();
    let acked: Vec<String> = acked.lock().unwrap().iter().cloned().collect();
    let stored: BTreeSet<String> =
        app.store.events().stored_message_ids(tenant, source, &acked).await.unwrap().into_iter().collect();
    assert_eq!(stored.len(), acked.len(), "acknowledged events were lost");

    // Clients retry everything they sent; nothing is stored twice and nothing is missing.
    let sent = sent.lock().unwrap().clone();
    for body in &sent {
        let r = client.post(format!("{base}/v1/batch")).basic_auth(&key, Some("")).json(body).send().await.unwrap();
        assert!(r.status().is_success());
    }
    let total = app.store.events().count(tenant, None).await.unwrap();
    assert_eq!(total as usize, sent.len() * 5);
    server.kill().unwrap();
    server.wait().unwrap();
}
