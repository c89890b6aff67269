//! The journey `webhook` channel against a real HTTP server started by the test: a signed POST whose
//! idempotency key is the step's dedupe key, retried with backoff on a server error (the clock moves, nothing
//! sleeps), dead-lettered on a permanent one and put back by hand, never posted twice by a re-run, and each
//! outcome reported on the customer's timeline.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use siyu_app::App;
use siyu_app::customers::NewCustomerInput;
use siyu_app::journeys::webhook::{MAX_ATTEMPTS, signature};
use siyu_domain::id::CustomerId;
use siyu_domain::journey::JourneyGraph;
use siyu_domain::page::PageRequest;

use crate::Ctx;

crate::on_both_backends!(
    a_webhook_is_signed_keyed_by_its_dedupe_key_and_delivered_once_after_a_server_error,
    a_permanent_failure_is_dead_lettered_and_delivered_when_retried_by_hand,
    a_webhook_that_keeps_failing_backs_off_and_is_dead_lettered_after_the_last_attempt,
    a_webhook_node_needs_an_http_url_with_a_host,
    a_webhook_to_an_internal_address_is_refused_without_a_call,
);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiving server on 127.0.0.1: answers with the scripted statuses in turn, then 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<u16>>()));
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    g.lock().unwrap().push(Received { headers, body });
                    let code = s.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, got, script }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn answer_next(&self, codes: &[u16]) {
        self.script.lock().unwrap().extend(codes);
    }
}

fn noon() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc)
}

fn hook(url: &str) -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "h"}},
        {"id": "h", "type": "webhook", "url": url}
    ]}))
    .unwrap()
}

/// A customer enrolled in a journey calling `url`, the worker run once.
async fn enrolled(ctx: &Ctx, app: &App, url: &str) -> CustomerId {
    let tenant = ctx.owner.tenant;
    let j = app.create_journey(tenant, "回调", &hook(url), None).await.unwrap();
    let c = app.create_customer(&ctx.owner, NewCustomerInput { name: "王芳".into(), ..Default::default() }).await;
    let c = c.unwrap().id;
    assert_eq!(app.enrol_in_journey(tenant, j, c).await.unwrap(), Some(1));
    app.run_due_work().await.unwrap();
    c
}

/// The kinds of the customer's `message_*` timeline entries, oldest first, with their payloads.
async fn reported(ctx: &Ctx, c: CustomerId) -> Vec<(String, Value)> {
    let page = ctx.app.timeline(&ctx.owner, c, PageRequest::first(200)).await.unwrap();
    let mut out: Vec<(String, Value)> =
        page.items.into_iter().filter(|e| e.kind.starts_with("message_")).map(|e| (e.kind, e.payload)).collect();
    out.reverse();
    out
}

async fn a_webhook_is_signed_keyed_by_its_dedupe_key_and_delivered_once_after_a_server_error(ctx: Ctx) {
    let receiver = Receiver::start(&[500]).await;
    let (app, clock) = ctx.clocked(noon());
    let c = enrolled(&ctx, &app, &receiver.url).await;
    let tenant = ctx.owner.tenant;
    assert_eq!(receiver.received().len(), 1, "the first attempt answered 500");
    let outbox = app.store.journeys().outbox_of(tenant, c).await.unwrap();
    assert_eq!(outbox[0].1, "pending", "kept for a retry");
    // Not before its backoff has passed, however often the worker runs.
    app.run_due_work().await.unwrap();
    clock.advance(Duration::seconds(59));
    app.run_due_work().await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    clock.advance(Duration::seconds(1));
    app.run_due_work().await.unwrap();
    let got = receiver.received();
    assert_eq!(got.len(), 2, "retried once after a minute");
    assert_eq!(app.store.journeys().outbox_of(tenant, c).await.unwrap()[0].1, "sent");

    let secret = app.webhook_secret(&ctx.owner).await.unwrap();
    let dedupe_key = &outbox[0].0;
    for r in &got {
        assert_eq!(r.headers["idempotency-key"].to_str().unwrap(), dedupe_key, "the step's dedupe key");
        let sig = r.headers["x-siyu-signature"].to_str().unwrap();
        let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(sig, signature(&secret, t, &r.body), "signed with the tenant's secret over t and the body");
        assert_ne!(sig, signature("whsec_wrong", t, &r.body));
    }
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["node"], "h");
    assert_eq!(body["dedupe_key"].as_str(), Some(dedupe_key.as_str()));
    assert_eq!(body["customer"]["id"].as_str(), Some(c.to_string().as_str()));
    assert!(body["customer"].get("name").is_none(), "no personal data in the body: {body}");

    // Re-runs, a day later too, post nothing more.
    app.run_due_work().await.unwrap();
    clock.advance(Duration::days(1));
    app.run_due_work().await.unwrap();
    assert_eq!(receiver.received().len(), 2);
    let events = reported(&ctx, c).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "message_sent");
    assert_eq!((events[0].1["channel"].as_str(), events[0].1["node"].as_str()), (Some("webhook"), Some("h")));
    assert_eq!(events[0].1["dedupe_key"].as_str(), Some(dedupe_key.as_str()));

    // A rotated secret signs from then on; the old one no longer verifies.
    let rotated = app.rotate_webhook_secret(&ctx.owner).await.unwrap();
    assert_ne!(rotated, secret);
    assert_eq!(app.webhook_secret(&ctx.owner).await.unwrap(), rotated);
}

async fn a_permanent_failure_is_dead_lettered_and_delivered_when_retried_by_hand(ctx: Ctx) {
    let receiver = Receiver::start(&[410]).await;
    let (app, clock) = ctx.clocked(noon());
    let c = enrolled(&ctx, &app, &receiver.url).await;
    clock.advance(Duration::hours(1));
    app.run_due_work().await.unwrap();
    assert_eq!(receiver.received().len(), 1, "a 410 is not retried");
    let dead = app.dead_letters(&ctx.owner).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].kind.as_str(), dead[0].error.as_deref()), ("webhook", Some("http 410")));
    assert_eq!((dead[0].target.as_deref(), dead[0].attempts, dead[0].customer_id), (Some(receiver.url.as_str()), 1, c));
    let events = reported(&ctx, c).await;
    assert_eq!(events.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["message_failed"]);
    assert_eq!(events[0].1["error"], "http 410");

    // Someone fixes the receiver; an operator retries by hand: delivered under the same key.
    let id = dead[0].id;
    app.retry_dead_letter(&ctx.owner, id).await.unwrap();
    assert!(app.dead_letters(&ctx.owner).await.unwrap().is_empty());
    assert!(app.retry_dead_letter(&ctx.owner, id).await.is_err(), "only a dead letter can be retried");
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["idempotency-key"], got[1].headers["idempotency-key"]);
    let kinds: Vec<String> = reported(&ctx, c).await.into_iter().map(|e| e.0).collect();
    assert_eq!(kinds, ["message_failed", "message_sent"]);

    // Staff may neither list nor retry dead letters.
    let staff = ctx.member("staff1", siyu_domain::access::Role::Staff, siyu_domain::access::DataScope::All).await;
    assert!(matches!(app.dead_letters(&staff).await, Err(siyu_app::AppError::Forbidden)));
    assert!(matches!(app.webhook_secret(&staff).await, Err(siyu_app::AppError::Forbidden)));
}

async fn a_webhook_that_keeps_failing_backs_off_and_is_dead_lettered_after_the_last_attempt(ctx: Ctx) {
    let receiver = Receiver::start(&[]).await;
    receiver.answer_next(&[503; 10]);
    let (app, clock) = ctx.clocked(noon());
    let c = enrolled(&ctx, &app, &receiver.url).await;
    let mut waited = Vec::new();
    for n in 1..MAX_ATTEMPTS {
        assert_eq!(receiver.received().len() as i64, n);
        // Just before the next attempt is due nothing goes; at its time it does.
        let wait = siyu_app::journeys::webhook::backoff(n);
        clock.advance(wait - Duration::seconds(1));
        app.run_due_work().await.unwrap();
        assert_eq!(receiver.received().len() as i64, n, "not before the backoff");
        clock.advance(Duration::seconds(1));
        app.run_due_work().await.unwrap();
        waited.push(wait.num_minutes());
    }
    assert_eq!(waited, [1, 2, 4, 8, 16]);
    assert_eq!(receiver.received().len() as i64, MAX_ATTEMPTS);
    let outbox = app.store.journeys().outbox_of(ctx.owner.tenant, c).await.unwrap();
    assert_eq!(outbox[0].1, "failed");
    let dead = app.dead_letters(&ctx.owner).await.unwrap();
    assert_eq!((dead[0].attempts, dead[0].error.as_deref()), (MAX_ATTEMPTS, Some("http 503")));
    clock.advance(Duration::days(1));
    app.run_due_work().await.unwrap();
    assert_eq!(receiver.received().len() as i64, MAX_ATTEMPTS, "a dead letter waits for a person");
    assert_eq!(reported(&ctx, c).await.len(), 1, "one message_failed, not one per attempt");
}

async fn a_webhook_node_needs_an_http_url_with_a_host(ctx: Ctx) {
    for (url, code) in [("ftp://example.com/hook", "bad_url"), ("https://", "bad_url"), ("http://:80/x", "bad_url")] {
        let err = ctx.app.create_journey(ctx.owner.tenant, "坏回调", &hook(url), None).await.unwrap_err();
        let siyu_app::AppError::InvalidDefinition(errors) = err else { panic!("expected invalid_definition") };
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.code.as_str())).collect();
        assert!(found.contains(&("/nodes/1", code)), "{url}: {found:?}");
    }
    let ok = ctx.app.create_journey(ctx.owner.tenant, "回调", &hook("https://hooks.example.com/siyu"), None).await;
    assert!(ok.is_ok(), "{ok:?}");
}

async fn a_webhook_to_an_internal_address_is_refused_without_a_call(ctx: Ctx) {
    let receiver = Receiver::start(&[]).await;
    // The defaults: webhooks may only reach the public internet.
    let mut settings = siyu_app::Settings::defaults().unwrap();
    settings.security.argon2_memory_kib = 1024;
    settings.security.argon2_iterations = 1;
    let clock = siyu_app::clock::ManualClock::new(noon());
    let app = App::new(ctx.app.store.clone(), settings, Arc::new(clock)).unwrap();
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let urls = [receiver.url.as_str(), by_name.as_str(), "http://[::ffff:127.0.0.1]:9/hook", "http://169.254.169.254/"];
    for (i, url) in urls.into_iter().enumerate() {
        let tenant = ctx.owner.tenant;
        let j = app.create_journey(tenant, &format!("内网回调 {i}"), &hook(url), None).await.unwrap();
        let c = NewCustomerInput { name: format!("客户{i}"), ..Default::default() };
        let c = app.create_customer(&ctx.owner, c).await.unwrap().id;
        assert_eq!(app.enrol_in_journey(tenant, j, c).await.unwrap(), Some(1));
        app.run_due_work().await.unwrap();
        let reports = reported(&ctx, c).await;
        let (kind, payload) = reports.last().unwrap_or_else(|| panic!("{url}: no outcome reported"));
        assert_eq!(kind, "message_failed", "{url}: refused at once, not retried");
        let error = payload.to_string();
        assert!(error.contains("blocked address"), "{url}: {error}");
    }
    assert!(receiver.received().is_empty(), "the internal receiver was never called");
}
