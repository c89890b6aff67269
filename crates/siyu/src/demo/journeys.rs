//! A demo journey: the seeds' new-customer nurture (welcome now, at 10:00 the next morning a coupon reminder
//! for those who have not ordered), with the first customers enrolled and the first step run, so the
//! customer page shows the sandbox chat (held until 08:00 when the demo is seeded at night); and two
//! standard plays from the templates (silent activation, post-purchase care) that start on stage entries
//! and paid orders.

use serde_json::json;
use siyu_app::{Actor, App};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::journey::JourneyGraph;
use siyu_store::customers::CustomerQuery;

use super::err;

/// Customers enrolled.
const ENROLLED: u32 = 30;
/// Standard plays published as they come.
const TEMPLATES: [&str; 2] = ["silent_activation", "post_purchase_care"];

pub async fn seed(app: &App, owner: &Actor) -> anyhow::Result<u64> {
    let graph: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "start", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "welcome"}, "x": 40, "y": 40},
        {"id": "welcome", "type": "send", "channel": "sandbox", "template": "{{ name }}您好，欢迎加入花漾会员！新人券已放入您的账户。",
         "next": {"next": "morning"}, "x": 40, "y": 140},
        {"id": "morning", "type": "wait", "wait": {"until": "time", "at": "10:00"}, "next": {"next": "ordered"}, "x": 40, "y": 240},
        {"id": "ordered", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "done", "no": "reminder"}, "x": 40, "y": 340},
        {"id": "reminder", "type": "send", "channel": "sandbox", "template": "{{ name }}，您的新人券还没使用，本周内有效哦～",
         "next": {"next": "done"}, "x": 240, "y": 440},
        {"id": "done", "type": "exit", "x": 40, "y": 540}
    ], "exit_on": [{"on": "event", "name": "order_paid"}], "reentry": {"policy": "never"}}))?;
    let journey =
        app.create_journey(owner.tenant, "新客欢迎与新人券提醒", &graph, Some(owner.user)).await.map_err(err)?;
    let filter = CustomerFilter::default();
    let query = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: Vec::new() };
    let first = app.store.customers().ids(owner.tenant, &query, None, ENROLLED).await?;
    let mut enrolled = 0;
    for c in first {
        if app.enrol_in_journey(owner.tenant, journey, c).await.map_err(err)?.is_some() {
            enrolled += 1;
        }
    }
    while app.run_due_journeys().await.map_err(err)? + app.dispatch_outbox().await.map_err(err)? > 0 {}
    // Two of the standard plays, driven by the customers' own stages and orders: the worker moves the
    // brand's customers into their lifecycle stages as the demo starts (silent ones into 沉默), and these
    // pick them up from there.
    for key in TEMPLATES {
        app.create_journey_from_template(owner, key, None).await.map_err(err)?;
    }
    Ok(enrolled)
}
