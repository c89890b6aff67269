//! `siyu archive ingest --corp ww… FILE`: a JSONL file goes through the ingest; bad lines are reported by
//! number and the rest is stored; a second run stores nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::json;
use siyu_app::actor::Via;
use siyu_app::archive::RuleInput;
use siyu_app::wecom::CorpInput;
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::Role;
use siyu_domain::archive::{RuleConfig, RuleKind};

const CORP: &str = "wwarchivecli0001";

async fn prepare(url: &str) {
    let mut settings = Settings::defaults().unwrap();
    settings.database.url = url.to_string();
    let app = App::connect(settings, true).await.unwrap();
    let tenant = app.create_tenant("存档导入").await.unwrap();
    let account = app.create_account("archive-owner", "店长", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.unwrap();
    let actor = Actor::for_member(&app.store, &member, Via::Session).await.unwrap();
    let input = CorpInput {
        corp_id: CORP.into(),
        name: "测试企业".into(),
        agent_id: Some(1_000_002),
        contact_secret: "contact-secret".into(),
        app_secret: "app-secret".into(),
        callback_token: "QDG6eK".into(),
        callback_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C".into(),
        api_base: "http://127.0.0.1:9/cgi-bin/".into(),
        active: true,
    };
    app.connect_corp(&actor, &input).await.unwrap();
    let rule = RuleInput {
        kind: RuleKind::Phone,
        name: "员工发送手机号".into(),
        enabled: true,
        config: Some(RuleConfig::defaults(RuleKind::Phone)),
    };
    app.save_rule(&actor, None, &rule).await.unwrap();
    app.store.close().await;
}

fn item(seq: i64, msgid: &str, from: &str, to: &str, content: &str) -> String {
    json!({"seq": seq, "publickey_ver": 1,
           "message": {"msgid": msgid, "action": "send", "from": from, "tolist": [to], "roomid": "",
                       "msgtime": 1_700_000_000_000_i64 + seq * 1000, "msgtype": "text", "text": {"content": content}}})
    .to_string()
}

fn run(url: &str, file: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_siyu"))
        .args(["archive", "ingest", "--corp", CORP])
        .arg(file)
        .env("SIYU_CONFIG", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
        .env("SIYU_DATABASE__URL", url)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn count(stderr: &str, label: &str) -> i64 {
    let line = stderr.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{stderr}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jsonl_file_is_ingested_with_bad_lines_reported_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("archive.db").display());
    prepare(&url).await;
    let lines = [
        item(1, "m1", "wmCustomer1", "zhangsan", "在吗？快递到哪了"),
        item(2, "m2", "zhangsan", "wmCustomer1", "有事打我电话 138 1234 5678"),
        String::new(),
        "{not json".to_string(),
        item(-3, "m3", "zhangsan", "wmCustomer1", "负的 seq"),
        item(1, "m1", "wmCustomer1", "zhangsan", "在吗？快递到哪了"),
        json!({"seq": 7, "publickey_ver": 1, "message": {"msgid": "s7", "action": "switch", "time": 1_700_000_009_000_i64, "user": "zhangsan"}}).to_string(),
    ];
    let file = dir.path().join("archive.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let (ok, stderr) = run(&url, &file);
    assert!(ok, "{stderr}");
    assert_eq!(count(&stderr, "accepted"), 2, "{stderr}");
    assert_eq!(count(&stderr, "duplicates"), 1, "{stderr}");
    assert_eq!(count(&stderr, "skipped"), 1, "{stderr}");
    assert_eq!(count(&stderr, "rejected"), 2, "{stderr}");
    assert_eq!(count(&stderr, "alerts"), 1, "{stderr}");
    assert_eq!(count(&stderr, "max_seq"), 7, "{stderr}");
    let problems: Vec<(String, String)> = stderr
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .filter(|(line, _)| line.parse::<usize>().is_ok())
        .collect();
    assert_eq!(
        problems,
        vec![("4".to_string(), "invalid_json".to_string()), ("5".to_string(), "invalid_seq".to_string())],
        "{stderr}"
    );

    // Again: everything is a duplicate, no second alert.
    let (ok, stderr) = run(&url, &file);
    assert!(ok, "{stderr}");
    assert_eq!(count(&stderr, "accepted"), 0, "{stderr}");
    assert_eq!(count(&stderr, "duplicates"), 3, "{stderr}");
    assert_eq!(count(&stderr, "alerts"), 0, "{stderr}");

    // An unknown corp is refused before reading.
    let out = Command::new(env!("CARGO_BIN_EXE_siyu"))
        .args(["archive", "ingest", "--corp", "wwnobody"])
        .arg(&file)
        .env("SIYU_CONFIG", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
        .env("SIYU_DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connected corp"));
}
