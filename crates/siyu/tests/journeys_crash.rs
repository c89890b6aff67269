//! `kill -9` of the journey worker: the real binary's `siyu bench journeys --crash-cycles` kills its worker
//! process at random points while customers move through a journey of three sends a day apart, then checks
//! that every customer received each message exactly once and that no run is stuck. Here a small run
//! (300 customers, 15 kills, a simulated day every 6 s) on SQLite, and on PostgreSQL when
//! `SIYU_TEST_DATABASE_URL` names a server (the command makes and drops its own database there).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn crash_test(backend: &str, database_url: Option<&str>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_siyu"));
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd
        .args(["bench", "journeys", "--backend", backend, "--crash-cycles", "15", "--customers", "300"])
        .args(["--speed", "14400", "--kill-min-ms", "100", "--kill-max-ms", "600", "--seed", "7"])
        // Only SIYU_SECTION__KEY variables are settings: SIYU_CONFIG (and, in CI, SIYU_TEST_DATABASE_URL)
        // must not be refused as unknown ones.
        .env("SIYU_CONFIG", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
        .env_remove("SIYU_DATABASE__URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "crash test failed:\n{stdout}\n{stderr}");
    let summary: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("crash_test").is_some())
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(summary["kills"].as_u64().unwrap() >= 15, "{summary}");
    let f = &summary["findings"];
    assert_eq!(f["customers"], 300);
    assert_eq!(f["sandbox_messages"], 900, "three messages each, exactly once");
    assert_eq!(f["runs_done"], 300, "no run stuck");
    assert_eq!(f["outbox_by_status"]["sent"], 1200, "every effect sent, nothing pending: {f}");
}

#[test]
fn every_customer_gets_each_message_exactly_once_when_the_worker_is_killed_at_random_on_sqlite() {
    crash_test("sqlite", None);
}

#[test]
fn every_customer_gets_each_message_exactly_once_when_the_worker_is_killed_at_random_on_postgres() {
    match std::env::var("SIYU_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => crash_test("postgres", Some(url.trim())),
        _ => eprintln!("SIYU_TEST_DATABASE_URL not set: postgres run skipped"),
    }
}
