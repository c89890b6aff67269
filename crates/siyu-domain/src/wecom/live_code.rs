//! Staff live codes (员工活码): one QR code in front of customers, the staff behind it chosen by siyu.
//!
//! WeCom spreads the adds of a multi-staff contact way by itself, with no caps, schedules or order. So siyu
//! keeps the contact way pointing at the staff who should get the *next* add, and moves it after every add and
//! whenever the schedule turns: [`choose`] is that decision, a pure function of the code, the local time and
//! today's adds per staff member.
//!
//! - Staff are eligible when today's schedule slot lists them (no slot matching: the code's staff) and they
//!   are under their daily cap. None eligible: the backup staff, caps ignored (a code never goes dead).
//! - Rotation among the eligible: `round_robin` (the next one after the last add), `sequential` (the first in
//!   order until their cap), `random` (a seeded draw per add), `least_loaded` (fewest adds today, then order).
//!
//! A code's `state` (`lc` + a short id, ≤30 characters as WeCom requires) comes back on every add, which is
//! how the customer's channel, tags, remark and welcome message are known.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::welcome::WelcomeMessage;
use crate::id::{CorpId, LiveCodeId, TagId};

/// What an operator defines for a live code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveCodeDef {
    pub routing: Routing,
    /// Customers are accepted without the staff member confirming (自动通过).
    #[serde(default = "yes")]
    pub skip_verify: bool,
    /// A returning customer is routed to the staff member they added before (WeCom's `is_exclusive`).
    #[serde(default)]
    pub exclusive: bool,
    /// Tags put on every customer who adds through the code.
    #[serde(default)]
    pub tag_ids: Vec<TagId>,
    /// The remark staff see (≤20 characters after `{nickname}` / `{客户昵称}` is filled), if any.
    #[serde(default)]
    pub remark_template: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// This code's welcome message (else the staff member's, else the tenant's default).
    #[serde(default)]
    pub welcome: Option<WelcomeMessage>,
}

fn yes() -> bool {
    true
}

/// A live code with its WeCom side and where its rotation stands.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LiveCode {
    pub id: LiveCodeId,
    pub corp: CorpId,
    pub name: String,
    pub channel: String,
    /// The `state` WeCom echoes on every add (≤30 characters).
    pub state: String,
    #[serde(flatten)]
    pub def: LiveCodeDef,
    pub config_id: Option<String>,
    pub qr_code: Option<String>,
    /// The staff the contact way points at now.
    pub current: Vec<String>,
    #[serde(skip)]
    pub rotation: RotationState,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// The `state` of a new code: `lc` and 16 hex characters of its id (random part), well under WeCom's 30.
pub fn state_for(id: LiveCodeId) -> String {
    let hex = id.0.simple().to_string();
    format!("lc{}", &hex[hex.len() - 16..])
}

/// How the next add is routed among the eligible staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    RoundRobin,
    Sequential,
    Random,
    LeastLoaded,
}

/// One staff member behind a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CodeStaff {
    pub userid: String,
    /// Adds per local day before they are skipped; `None`: no cap.
    #[serde(default)]
    pub daily_cap: Option<u32>,
}

/// Who is on duty on some weekdays between two local times (the window may not span midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleSlot {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u8>,
    #[schema(value_type = String, example = "09:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "18:00")]
    pub end: NaiveTime,
    /// userids of the code's staff on duty in this slot.
    pub staff: Vec<String>,
}

impl ScheduleSlot {
    fn covers(&self, weekday: u8, t: NaiveTime) -> bool {
        self.weekdays.contains(&weekday) && self.start <= t && t < self.end
    }
}

/// The routing part of a live code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Routing {
    pub staff: Vec<CodeStaff>,
    #[serde(default)]
    pub backup: Vec<String>,
    pub rotation: Rotation,
    #[serde(default)]
    pub schedule: Vec<ScheduleSlot>,
}

/// The state of rotation kept between adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationState {
    /// Adds routed so far (seeds `random`, drives `round_robin`).
    pub adds: u64,
    /// Index (in `staff`) of the staff member who got the last add.
    pub last: Option<usize>,
}

/// Who the contact way should point at now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub userids: Vec<String>,
    /// All eligible staff were capped or off duty: the backups are on.
    pub backup: bool,
}

/// Problems with a routing definition, each naming its field.
pub fn validate(r: &Routing) -> Result<(), (&'static str, String)> {
    if r.staff.is_empty() {
        return Err(("staff", "at least one staff member".into()));
    }
    if r.staff.len() > 100 {
        return Err(("staff", "at most 100 staff members".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for s in &r.staff {
        if s.userid.trim().is_empty() || !seen.insert(s.userid.as_str()) {
            return Err(("staff", format!("empty or repeated userid {:?}", s.userid)));
        }
        if s.daily_cap == Some(0) {
            return Err(("staff", format!("daily cap of {} must be at least 1", s.userid)));
        }
    }
    for (i, slot) in r.schedule.iter().enumerate() {
        if slot.weekdays.is_empty() || slot.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err(("schedule", format!("slot {}: weekdays are 1 (Monday) to 7", i + 1)));
        }
        if slot.start >= slot.end {
            return Err(("schedule", format!("slot {}: start before end", i + 1)));
        }
        if let Some(u) = slot.staff.iter().find(|u| !seen.contains(u.as_str())) {
            return Err(("schedule", format!("slot {}: {u} is not one of the code's staff", i + 1)));
        }
    }
    Ok(())
}

/// The staff the contact way should point at for the next add, at local `weekday` (1–7) and `time`, with
/// `adds_today(userid)` adds so far today.
pub fn choose(
    r: &Routing,
    state: &RotationState,
    weekday: u8,
    time: NaiveTime,
    adds_today: impl Fn(&str) -> u32,
) -> Choice {
    let on_duty: Option<&ScheduleSlot> = r.schedule.iter().find(|s| s.covers(weekday, time));
    let eligible: Vec<usize> = r
        .staff
        .iter()
        .enumerate()
        .filter(|(_, s)| on_duty.is_none_or(|slot| slot.staff.contains(&s.userid)))
        .filter(|(_, s)| s.daily_cap.is_none_or(|cap| adds_today(&s.userid) < cap))
        .map(|(i, _)| i)
        .collect();
    if eligible.is_empty() {
        let backup = if r.backup.is_empty() { vec![r.staff[0].userid.clone()] } else { r.backup.clone() };
        return Choice { userids: backup, backup: true };
    }
    let pick = match r.rotation {
        Rotation::Sequential => eligible[0],
        Rotation::RoundRobin => match state.last {
            Some(last) => eligible.iter().copied().find(|i| *i > last).unwrap_or(eligible[0]),
            None => eligible[0],
        },
        Rotation::Random => eligible[(mix(state.adds) % eligible.len() as u64) as usize],
        Rotation::LeastLoaded => {
            eligible.iter().copied().min_by_key(|i| (adds_today(&r.staff[*i].userid), *i)).unwrap_or(eligible[0])
        }
    };
    Choice { userids: vec![r.staff[pick].userid.clone()], backup: false }
}

/// The state after an add to `userid` (a staff member of the code or a backup).
pub fn after_add(r: &Routing, state: &RotationState, userid: &str) -> RotationState {
    let index = r.staff.iter().position(|s| s.userid == userid);
    RotationState { adds: state.adds + 1, last: index.or(state.last) }
}

/// ISO weekday (1 = Monday) of a local date-time.
pub fn weekday_of(local: &chrono::NaiveDateTime) -> u8 {
    local.weekday().number_from_monday() as u8
}

/// A well-mixed hash of the add counter (splitmix64), so `random` is deterministic but not patterned.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn t(h: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, 0, 0).unwrap()
    }

    fn routing(rotation: Rotation) -> Routing {
        Routing {
            staff: ["a", "b", "c"].iter().map(|u| CodeStaff { userid: (*u).into(), daily_cap: Some(2) }).collect(),
            backup: vec!["z".into()],
            rotation,
            schedule: Vec::new(),
        }
    }

    /// Routes `n` adds and returns who got each.
    fn route(r: &Routing, n: usize) -> Vec<String> {
        let mut state = RotationState::default();
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut out = Vec::new();
        for _ in 0..n {
            let c = choose(r, &state, 1, t(10), |u| counts.get(u).copied().unwrap_or(0));
            let who = c.userids[0].clone();
            *counts.entry(who.clone()).or_default() += 1;
            state = after_add(r, &state, &who);
            out.push(who);
        }
        out
    }

    #[test]
    fn round_robin_takes_turns_then_falls_back_to_the_backup_when_everyone_is_capped() {
        assert_eq!(route(&routing(Rotation::RoundRobin), 8), ["a", "b", "c", "a", "b", "c", "z", "z"]);
    }

    #[test]
    fn sequential_fills_each_staff_member_to_their_cap_in_order() {
        assert_eq!(route(&routing(Rotation::Sequential), 7), ["a", "a", "b", "b", "c", "c", "z"]);
    }

    #[test]
    fn least_loaded_evens_out_the_day() {
        let mut r = routing(Rotation::LeastLoaded);
        r.staff[0].daily_cap = None;
        let got = route(&r, 6);
        assert_eq!(got, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn random_spreads_adds_over_every_eligible_staff_member_and_is_repeatable() {
        let mut r = routing(Rotation::Random);
        for s in &mut r.staff {
            s.daily_cap = None;
        }
        let got = route(&r, 300);
        for u in ["a", "b", "c"] {
            let n = got.iter().filter(|g| *g == u).count();
            assert!((70..=130).contains(&n), "{u}: {n}");
        }
        assert_eq!(got, route(&r, 300));
    }

    #[test]
    fn a_schedule_slot_puts_only_its_staff_on_duty_and_outside_every_slot_all_staff_are() {
        let mut r = routing(Rotation::RoundRobin);
        r.schedule = vec![ScheduleSlot { weekdays: vec![6, 7], start: t(9), end: t(18), staff: vec!["c".into()] }];
        let state = RotationState::default();
        assert_eq!(choose(&r, &state, 6, t(10), |_| 0).userids, ["c"]);
        assert_eq!(choose(&r, &state, 6, t(19), |_| 0).userids, ["a"]);
        assert_eq!(choose(&r, &state, 1, t(10), |_| 0).userids, ["a"]);
        // The weekend's only staff member is capped: the backup takes over.
        let c = choose(&r, &state, 7, t(10), |u| if u == "c" { 2 } else { 0 });
        assert_eq!((c.userids, c.backup), (vec!["z".to_string()], true));
    }

    #[test]
    fn definitions_with_no_staff_repeated_staff_zero_caps_or_strangers_in_a_slot_are_refused() {
        let mut r = routing(Rotation::Sequential);
        assert!(validate(&r).is_ok());
        r.staff[1].userid = "a".into();
        assert_eq!(validate(&r).unwrap_err().0, "staff");
        let mut r = routing(Rotation::Sequential);
        r.staff[0].daily_cap = Some(0);
        assert_eq!(validate(&r).unwrap_err().0, "staff");
        let mut r = routing(Rotation::Sequential);
        r.schedule = vec![ScheduleSlot { weekdays: vec![1], start: t(9), end: t(18), staff: vec!["x".into()] }];
        assert_eq!(validate(&r).unwrap_err().0, "schedule");
        r.schedule[0].staff = vec!["a".into()];
        r.schedule[0].weekdays = vec![8];
        assert_eq!(validate(&r).unwrap_err().0, "schedule");
        assert_eq!(validate(&Routing { staff: vec![], ..routing(Rotation::Random) }).unwrap_err().0, "staff");
    }
}
