//! The results of `siyu bench wecom --part mass`: the lines the terminal shows, the verdicts, and the section
//! of `docs/benchmarks.md` (between `<!-- bench wecom-mass: begin|end -->`).

use super::mass::{MassOutcome, PLAN_GOAL_SECS, RATE_GOAL};
use crate::bench::report::{machine, markers, thousands};

pub const SECTION: &str = "wecom-mass";

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// One paragraph per database: what happened and the verdicts.
pub fn results(outcomes: &[MassOutcome]) -> String {
    let mut t = String::new();
    for o in outcomes {
        let plan = o.plan.as_secs_f64();
        // The goal is for 1 M; a smaller run is judged at the same recipients per second.
        let plan_goal = PLAN_GOAL_SECS * o.recipients as f64 / 1e6;
        let used = o.quota_used();
        t.push_str(&format!(
            "**{label}** ({durability}): {n} customers of {s} staff (seeded in {seed:.0} s).\n\
             - planning: {plan:.2} s for {planned} recipients in {chunks} chunks \
             ({rate} recipients/s; goal ≤ {plan_goal:.1} s): {plan_met}.\n\
             - sending: {calls} `add_msg_template` calls in {send:.1} s = {per_min:.1}/min against a quota of \
             {quota}/min = {used:.3} of the quota (goal ≥ {RATE_GOAL}): {used_met}; 45009 answers: {throttled} \
             (goal 0): {throttled_met}; recipients sent {sent} of {planned}.\n\n",
            label = o.label,
            durability = o.durability,
            n = thousands(o.recipients as f64),
            s = o.senders,
            seed = o.seed.as_secs_f64(),
            planned = thousands((o.counts.planned + o.counts.sent) as f64),
            chunks = o.chunks,
            rate = thousands(o.recipients as f64 / plan.max(1e-9)),
            plan_met = met(plan <= plan_goal),
            calls = o.calls,
            send = o.send.as_secs_f64(),
            per_min = o.calls as f64 / (o.send.as_secs_f64() / 60.0).max(1e-9),
            quota = o.quota_per_minute,
            used_met = met(used >= RATE_GOAL),
            throttled = o.throttled,
            throttled_met = met(o.throttled == 0),
            sent = thousands(o.counts.sent as f64),
        ));
    }
    t
}

/// The `siyu bench wecom --part mass` section of `docs/benchmarks.md`.
pub fn section(outcomes: &[MassOutcome], skipped: Option<&str>) -> String {
    let (begin, end) = markers(SECTION);
    let skipped =
        skipped.map(|s| format!("\nPostgreSQL at {s} did not answer: its run was skipped.\n")).unwrap_or_default();
    format!(
        "{begin}
## WeCom mass send: planning 1 M recipients and pacing to the quota (`siyu bench wecom --part mass`)

Goals: planning a mass send to 1 M customers in ≤ {PLAN_GOAL_SECS:.0} s; sending at ≥ {RATE_GOAL} of the
configured per-minute quota of `add_msg_template`, with no 45009 from WeCom.

- **data**: customers spread evenly over the staff, each in the fake WeCom as an existing contact
  (`FakeHandle::seed_contacts`) and in siyu as a customer with the external_userid identity and the follow
  (`bulk_insert_customers`), on a fresh database.
- **planning**: `App::plan_scheduled_mass_send`, the job's first step: one set-based statement picks each
  customer's sender, external_userid, opt-out, the daily cap shared with journeys and WeCom's monthly
  reception limit, then chunks of ≤ 10,000 per sender.
- **sending**: the mass-send job as the worker runs it, against the fake WeCom server (real HTTP) whose
  per-minute limit on `add_msg_template` is the quota; siyu's rate budget (GCRA in the database, shared by
  every node) is configured with the same quota. The fake's clock follows the wall clock. The rate is the
  accepted calls over the time from the job's start to the send's end.

{results}{skipped}
Measured {date} on {machine}, release build.

Reproduce: `cargo run --release -p siyu -- bench wecom --part mass` (flags `--recipients`, `--senders`,
`--quota`, `--backend`, `--write-docs`).
{end}
",
        results = results(outcomes),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = machine(),
    )
}
