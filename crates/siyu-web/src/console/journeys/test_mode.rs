//! Test mode (`/console/journeys/{id}/test`): pick a customer (or a made-up one), a start time in the
//! tenant's local time, each branch's answer, whether caps and opt-outs apply and events at chosen times;
//! the page lists every step of the simulated run with its local time, what happened and what it sent.
//! In a keyed journey (an event trigger with `key`) the customer enters with a key value and each event
//! line may end with the value it carries (`2026-12-08 15:00 paid A`); every run is listed with its value.
//! A GET form: nothing is stored or sent, so a run can be bookmarked.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use siyu_app::AppError;
use siyu_app::journeys::simulate::{SimulateInput, SimulationView};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::JourneyId;
use siyu_domain::journey::simulate::{SimEvent, SimWake};
use siyu_domain::journey::step::Action;
use siyu_domain::journey::{JourneyGraph, NodeKind};
use siyu_domain::page::PageRequest;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{error_message, label};
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// A branch node and the answer chosen for it (`auto`: the customer's data, or yes).
pub struct BranchChoice {
    pub node: String,
    pub summary: String,
    pub choice: String,
}

/// One step as the page lists it.
pub struct StepRow {
    pub n: usize,
    /// The run: `#1`, or `#1 · A` with its key value.
    pub run: String,
    pub local: String,
    pub wake: String,
    pub node: String,
    pub outcome: String,
    /// (class, text) of each effect.
    pub effects: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "journey_test.html")]
struct TestPage {
    chrome: Chrome,
    id: String,
    name: String,
    customer: String,
    /// (id, name) of customers the member sees, for the picker.
    customers: Vec<(String, String)>,
    start: String,
    caps: bool,
    events: String,
    /// The journey's key property, if it is keyed, and the value the customer enters with.
    keyed_by: Option<String>,
    entry_key: String,
    branches: Vec<BranchChoice>,
    ran: Option<Ran>,
    error: Option<String>,
}

pub struct Ran {
    pub who: String,
    pub offset: String,
    pub steps: Vec<StepRow>,
    pub truncated: bool,
}

fn get<'a>(q: &'a [(String, String)], key: &str) -> &'a str {
    q.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.trim())
}

fn wake_text(tr: Tr, w: &SimWake) -> String {
    match w {
        SimWake::Enter => tr.t("journeys.test.enter").to_string(),
        SimWake::Clock => tr.t("journeys.test.clock").to_string(),
        SimWake::Event { name, matched } => {
            let mark = if *matched { "✓" } else { tr.t("journeys.test.ignored") };
            format!("{} {name} {mark}", tr.t("journeys.test.event"))
        }
    }
}

fn rows(tr: Tr, g: &JourneyGraph, v: &SimulationView) -> Vec<StepRow> {
    let kind = |id: &str| g.node(id).map_or(String::new(), |n| label(tr, "journeys.kind", n.kind.name()));
    v.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let st = &s.step;
            let outcome = match (st.status.as_str(), &st.next_local, &st.wait_event) {
                ("waiting_event", Some(t), Some(e)) => {
                    tr.t("journeys.test.waiting_event").replace("{event}", e).replace("{at}", t)
                }
                ("waiting_time", Some(t), _) if st.defer_count > 0 => tr.t("journeys.test.deferred").replace("{at}", t),
                ("waiting_time", Some(t), _) => tr.t("journeys.test.waiting").replace("{at}", t),
                (status, _, _) => {
                    let reason = st.exit_reason.as_deref().unwrap_or("");
                    format!("{} {}", label(tr, "journeys.status", status), label(tr, "journeys.reason", reason))
                }
            };
            let mut messages = s.messages.iter();
            let effects = st
                .effects
                .iter()
                .map(|e| match &e.action {
                    Action::Send { channel, .. } => {
                        ("sent", format!("[{channel}] {}", messages.next().cloned().unwrap_or_default()))
                    }
                    Action::Withheld { channel } => {
                        ("withheld", format!("[{channel}] {}", tr.t("journeys.m.withheld")))
                    }
                    Action::Skipped { channel, reason } => (
                        "skipped",
                        format!(
                            "[{channel}] {} · {}",
                            tr.t("journeys.m.skipped"),
                            label(tr, "journeys.reason", reason)
                        ),
                    ),
                    other => {
                        ("action", format!("{} · {}", kind(&e.node), serde_json::to_string(other).unwrap_or_default()))
                    }
                })
                .collect();
            let run = match &st.entry_key {
                Some(k) => format!("#{} · {k}", st.entry_seq),
                None => format!("#{}", st.entry_seq),
            };
            StepRow {
                n: i + 1,
                run,
                local: st.local.clone(),
                wake: wake_text(tr, &st.wake),
                node: format!("{} · {}", kind(&st.node), st.node),
                outcome,
                effects,
            }
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM name [key value]` per line.
fn events(text: &str, offset: chrono::FixedOffset) -> Result<Vec<SimEvent>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let (d, t, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let key = parts.next().map(str::to_string);
            match (crate::console::tasks::local_time(&format!("{d} {t}"), offset), name.is_empty()) {
                (Some(at), false) if parts.next().is_none() => Ok(SimEvent { at, name: name.to_string(), key }),
                _ => Err(l.trim().to_string()),
            }
        })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> ConsoleResult {
    let id: JourneyId = parse_id(&id)?;
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "journeys");
    let tr = chrome.tr;
    let d = app.journey_detail(a, id, None).await?;
    let g = d.graph.clone().ok_or(AppError::NotFound)?;
    let offset = app.tenant_offset(a.tenant).await?;
    let branches: Vec<BranchChoice> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Branch { .. }))
        .map(|n| {
            let choice = match get(&q, &format!("b.{}", n.id)) {
                c @ ("yes" | "no") => c.to_string(),
                _ => "auto".to_string(),
            };
            BranchChoice { node: n.id.clone(), summary: super::canvas::summary(tr, n), choice }
        })
        .collect();
    let page = PageRequest { after: None, limit: 20 };
    let customers = app
        .list_customers(a, &CustomerFilter::default(), page)
        .await?
        .items
        .into_iter()
        .map(|c| (c.customer.id.to_string(), c.customer.name))
        .collect();
    let start_text = match get(&q, "start") {
        "" => app.now().with_timezone(&offset).format("%Y-%m-%dT%H:%M").to_string(),
        s => s.to_string(),
    };
    let mut page = TestPage {
        id: id.to_string(),
        name: d.journey.name.clone(),
        customer: get(&q, "customer").to_string(),
        customers,
        start: start_text.clone(),
        caps: get(&q, "caps") == "on",
        events: get(&q, "events").to_string(),
        keyed_by: g.entry_key().map(str::to_string),
        entry_key: get(&q, "entry_key").to_string(),
        branches,
        ran: None,
        error: None,
        chrome,
    };
    if get(&q, "run").is_empty() {
        return Ok(render(&page));
    }
    let mut input = SimulateInput {
        caps: page.caps,
        start: crate::console::tasks::local_time(&start_text, offset),
        ..Default::default()
    };
    let chosen: BTreeMap<String, bool> =
        page.branches.iter().filter(|b| b.choice != "auto").map(|b| (b.node.clone(), b.choice == "yes")).collect();
    input.branches = chosen;
    input.entry_key = Some(page.entry_key.clone()).filter(|k| !k.is_empty());
    if !page.customer.is_empty() {
        input.customer_id = Some(parse_id(&page.customer)?);
    }
    match events(&page.events, offset) {
        Ok(list) => input.events = list,
        Err(line) => {
            page.error = Some(tr.t("journeys.test.bad_event").replace("{line}", &line));
            return Ok(render(&page));
        }
    }
    match app.simulate_journey(a, id, input).await {
        Ok(v) => {
            page.ran = Some(Ran {
                who: v.customer_name.clone(),
                offset: v.offset.clone(),
                steps: rows(tr, &g, &v),
                truncated: v.truncated,
            })
        }
        Err(e @ AppError::NotFound) => page.error = Some(error_message(tr, &e)),
        Err(e) => return Err(e.into()),
    }
    Ok(render(&page))
}
