//! The crash test's verdict: after the last worker finished, every row the journey left is read back and
//! checked customer by customer. Each customer must have exactly one sandbox message per send node (the
//! right text, under the run's own dedupe key), one ledger row and one `sent` outbox row per effect node,
//! a run that is `done`, and nothing pending, failed or skipped; the outbox's sent messages and the sandbox
//! must agree one to one. The product's rules are checked too: no send in quiet hours (22:00–08:00
//! local) and no two sends to a customer on one local day (the daily cap).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveTime, Utc};
use serde::Serialize;
use siyu_domain::id::CustomerId;
use siyu_store::journeys::seed::BenchRows;

/// The crash journey's send nodes, with the text each renders after the customer's name.
pub const SENDS: [(&str, &str); 3] = [("m1", "第一天的问候"), ("m2", "第二天的提醒"), ("m3", "第三天的回访")];
/// Its effect nodes: the sends and the closing tag.
pub const EFFECTS: [&str; 4] = ["m1", "m2", "m3", "done_tag"];

/// What the audit found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    pub customers: usize,
    pub runs_done: usize,
    pub runs_not_done: usize,
    pub ledger_rows: usize,
    pub outbox_by_status: BTreeMap<String, usize>,
    pub sandbox_messages: usize,
    /// Customers with a send node delivered other than exactly once.
    pub not_exactly_once: usize,
    pub sends_in_quiet_hours: usize,
    pub second_send_same_day: usize,
    /// The first problems found, in words.
    pub problems: Vec<String>,
}

impl Findings {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < 20 {
            self.problems.push(p);
        } else if self.problems.len() == 20 {
            self.problems.push("…".into());
        }
    }
}

/// Checks the rows of a journey run by `customers` (in the order of their names 客户1, 客户2, ...).
pub fn audit(rows: &BenchRows, customers: &[CustomerId], offset: FixedOffset) -> Findings {
    let mut f = Findings { customers: customers.len(), ..Findings::default() };
    let name: HashMap<CustomerId, String> =
        customers.iter().enumerate().map(|(i, c)| (*c, format!("客户{}", i + 1))).collect();
    for (c, _, status) in &rows.instances {
        if status == "done" {
            f.runs_done += 1;
        } else {
            f.runs_not_done += 1;
            f.problem(format!("run of {c} is {status}"));
        }
    }
    if rows.instances.len() != customers.len() {
        f.problem(format!("{} runs for {} customers", rows.instances.len(), customers.len()));
    }
    f.ledger_rows = rows.ledger.len();
    let mut ledger: HashMap<CustomerId, Vec<&str>> = HashMap::new();
    for (c, node, _) in &rows.ledger {
        ledger.entry(*c).or_default().push(node);
    }
    let mut outbox: HashMap<CustomerId, Vec<(&str, &str)>> = HashMap::new();
    for (c, node, status) in &rows.outbox {
        *f.outbox_by_status.entry(status.clone()).or_default() += 1;
        outbox.entry(*c).or_default().push((node, status));
    }
    f.sandbox_messages = rows.sandbox.len();
    let mut sandbox: HashMap<CustomerId, Vec<(&str, &str)>> = HashMap::new();
    for (c, key, body) in &rows.sandbox {
        // The dedupe key is journey:customer:entry:node:hash.
        let node = key.split(':').nth(3).unwrap_or_default();
        sandbox.entry(*c).or_default().push((node, body));
    }
    for c in customers {
        let mut nodes = ledger.remove(c).unwrap_or_default();
        nodes.sort_unstable();
        if nodes != sorted(&EFFECTS) {
            f.problem(format!("{c}: ledger holds {nodes:?}"));
        }
        let mut effects = outbox.remove(c).unwrap_or_default();
        effects.sort_unstable();
        let sent: Vec<&str> = effects.iter().filter(|e| e.1 == "sent").map(|e| e.0).collect();
        if sent != sorted(&EFFECTS) || effects.len() != EFFECTS.len() {
            f.problem(format!("{c}: outbox holds {effects:?}"));
        }
        let got = sandbox.remove(c).unwrap_or_default();
        let once = SENDS.iter().all(|(node, text)| {
            let expected = format!("{}，{text}", name.get(c).map_or("", String::as_str));
            got.iter().filter(|(n, b)| n == node && *b == expected).count() == 1
        });
        if !once || got.len() != SENDS.len() {
            f.not_exactly_once += 1;
            f.problem(format!("{c}: sandbox holds {got:?}"));
        }
    }
    for (c, rows) in [("ledger", ledger.len()), ("outbox", outbox.len()), ("sandbox", sandbox.len())] {
        if rows > 0 {
            f.problem(format!("{c} rows of {rows} customers outside the run"));
        }
    }
    let sent_sends = rows.outbox.iter().filter(|o| o.2 == "sent" && o.1.starts_with('m')).count();
    if sent_sends != rows.sandbox.len() {
        f.problem(format!("{sent_sends} sends marked sent, {} sandbox messages", rows.sandbox.len()));
    }
    rules(rows, offset, &mut f);
    f
}

/// Quiet hours and the daily cap, read from the send nodes' ledger times (a step's claim time).
fn rules(rows: &BenchRows, offset: FixedOffset, f: &mut Findings) {
    let (night, morning) = (NaiveTime::from_hms_opt(22, 0, 0), NaiveTime::from_hms_opt(8, 0, 0));
    let mut days: HashMap<(CustomerId, chrono::NaiveDate), usize> = HashMap::new();
    for (c, node, at) in rows.ledger.iter().filter(|l| l.1.starts_with('m')) {
        let local = at.with_timezone(&offset);
        let t = Some(local.time());
        if t >= night || t < morning {
            f.sends_in_quiet_hours += 1;
            f.problem(format!("{c}: {node} sent at {local}"));
        }
        *days.entry((*c, local.date_naive())).or_default() += 1;
    }
    f.second_send_same_day = days.values().filter(|n| **n > 1).count();
    if f.second_send_same_day > 0 {
        f.problem(format!("{} customer-days with two sends", f.second_send_same_day));
    }
}

fn sorted(nodes: &[&'static str]) -> Vec<&'static str> {
    let mut v = nodes.to_vec();
    v.sort_unstable();
    v
}

/// The simulated span the sends covered: (first, last).
pub fn span(rows: &BenchRows) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let times = rows.ledger.iter().map(|l| l.2);
    Some((times.clone().min()?, times.max()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rows(customers: &[CustomerId]) -> BenchRows {
        let mut r = BenchRows::default();
        for (i, c) in customers.iter().enumerate() {
            r.instances.push((*c, "done_tag".into(), "done".into()));
            for (day, node) in EFFECTS.iter().enumerate() {
                let at = Utc.with_ymd_and_hms(2026, 12, 7 + day.min(2) as u32, 2, 0, 0).single().unwrap();
                r.ledger.push((*c, node.to_string(), at));
                r.outbox.push((*c, node.to_string(), "sent".into()));
            }
            for (node, text) in SENDS {
                r.sandbox.push((*c, format!("j:{c}:1:{node}:0"), format!("客户{}，{text}", i + 1)));
            }
        }
        r
    }

    #[test]
    fn a_clean_run_passes_and_a_duplicate_message_or_a_stuck_run_fails() {
        let customers = [CustomerId::new(), CustomerId::new()];
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        assert!(audit(&rows(&customers), &customers, offset).ok());
        let mut twice = rows(&customers);
        let extra = twice.sandbox[0].clone();
        twice.sandbox.push((extra.0, extra.1.replace(":1:", ":2:"), extra.2));
        let found = audit(&twice, &customers, offset);
        assert_eq!(found.not_exactly_once, 1);
        assert!(!found.ok());
        let mut stuck = rows(&customers);
        stuck.instances[1].2 = "waiting_time".into();
        stuck.outbox.pop();
        assert_eq!(audit(&stuck, &customers, offset).runs_not_done, 1);
    }
}
