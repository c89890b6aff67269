//! Group SOP calendars (群SOP): a template of timed steps applied to customer groups. A flash-sale group's
//! steps fall on day N after it opens (0..=7), a daily-sales group's on chosen weekdays (or every day); each
//! at a local time, with text and up to nine attachments in WeCom's wire form (as mass sends). Which step
//! occurrences fall on which dates is decided here, without IO, for the runner and the calendar alike.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::GroupKind;
use super::mass::MassContent;
use crate::id::{GroupTagId, SopId};

/// The last day offset a flash-sale step may have (a flash group is open 3 to 7 days).
pub const MAX_FLASH_DAY: i64 = 7;
/// Steps per template.
pub const MAX_STEPS: usize = 50;
/// Days a flash-sale group may be open: its close date is 3 to 7 days after its open date.
pub const FLASH_DAYS: std::ops::RangeInclusive<i64> = 3..=7;

/// A local label on customer groups (群标签).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupTag {
    pub id: GroupTagId,
    pub name: String,
    /// Groups carrying it.
    pub groups: i64,
}

/// One step of an SOP template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SopStep {
    /// Stable key of the step (kept across edits; given when the template is saved).
    #[serde(default)]
    pub id: String,
    /// Flash-sale templates: days after the group opens (0 = the open date), 0..=7.
    #[serde(default)]
    pub day: i64,
    /// Daily templates: ISO weekdays (1 Monday … 7 Sunday); none: every day.
    #[serde(default)]
    pub weekdays: Vec<u32>,
    /// Local time `HH:MM` (the tenant's time zone).
    pub time: String,
    #[serde(default)]
    pub text: String,
    /// Up to nine attachments in WeCom's wire form.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

impl SopStep {
    /// The step's local time, if well formed.
    pub fn local_time(&self) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(self.time.trim(), "%H:%M").ok()
    }

    pub fn content(&self) -> MassContent {
        MassContent { text: self.text.clone(), attachments: self.attachments.clone() }
    }

    /// Whether a daily step falls on `day`.
    pub fn on_weekday(&self, day: NaiveDate) -> bool {
        self.weekdays.is_empty() || self.weekdays.contains(&day.weekday().number_from_monday())
    }
}

/// An SOP template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupSop {
    pub id: SopId,
    pub name: String,
    /// `daily` (weekday steps) or `flash` (day-N steps).
    pub kind: GroupKind,
    pub steps: Vec<SopStep>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Why a template is refused: the field (`name`, `steps`, `steps.2.time`, …) and the reason.
pub type SopError = (String, String);

/// Checks a template's name and steps; the first problem with its field.
pub fn validate(name: &str, kind: GroupKind, steps: &[SopStep]) -> Result<(), SopError> {
    let err = |f: String, m: &str| Err((f, m.to_owned()));
    if name.trim().is_empty() || name.trim().chars().count() > 60 {
        return err("name".into(), "1 to 60 characters");
    }
    if steps.is_empty() {
        return err("steps".into(), "at least one step");
    }
    if steps.len() > MAX_STEPS {
        return err("steps".into(), "at most 50 steps");
    }
    for (i, s) in steps.iter().enumerate() {
        let field = |f: &str| format!("steps.{i}.{f}");
        if s.local_time().is_none() {
            return err(field("time"), "a local time HH:MM");
        }
        match kind {
            GroupKind::Flash if !(0..=MAX_FLASH_DAY).contains(&s.day) => {
                return err(field("day"), "day 0 to 7 after the group opens");
            }
            GroupKind::Daily if s.weekdays.iter().any(|d| !(1..=7).contains(d)) => {
                return err(field("weekdays"), "weekdays 1 (Monday) to 7 (Sunday)");
            }
            _ => {}
        }
        if let Err((f, m)) = s.content().validate() {
            return Err((field(f), m));
        }
    }
    Ok(())
}

/// Checks a flash-sale group's dates: it closes 3 to 7 days after it opens.
pub fn check_flash_dates(opens_on: NaiveDate, closes_on: NaiveDate) -> bool {
    FLASH_DAYS.contains(&(closes_on - opens_on).num_days())
}

/// One step occurrence: the step's index, its local date and local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub step: usize,
    pub on: NaiveDate,
    pub time: NaiveTime,
}

/// The occurrences of a template's steps on the local dates `from..=to`, by date then step. A flash-sale
/// template needs the group's open date (none: no occurrences).
pub fn occurrences(
    kind: GroupKind,
    steps: &[SopStep],
    opens_on: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let Some(time) = s.local_time() else { continue };
        match kind {
            GroupKind::Flash => {
                let Some(open) = opens_on else { continue };
                let on = open + Duration::days(s.day);
                if (from..=to).contains(&on) {
                    out.push(Occurrence { step: i, on, time });
                }
            }
            GroupKind::Daily => {
                let mut on = from;
                while on <= to {
                    if s.on_weekday(on) {
                        out.push(Occurrence { step: i, on, time });
                    }
                    on += Duration::days(1);
                }
            }
        }
    }
    out.sort_by_key(|o| (o.on, o.time, o.step));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(day: i64, weekdays: Vec<u32>, time: &str) -> SopStep {
        SopStep { day, weekdays, time: time.into(), text: "hi".into(), ..SopStep::default() }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn flash_steps_fall_on_their_day_after_opening() {
        let steps = [step(0, vec![], "09:00"), step(1, vec![], "20:00")];
        let got = occurrences(GroupKind::Flash, &steps, Some(d("2026-05-01")), d("2026-04-01"), d("2026-06-01"));
        assert_eq!(
            got.iter().map(|o| (o.step, o.on)).collect::<Vec<_>>(),
            [(0, d("2026-05-01")), (1, d("2026-05-02"))]
        );
        assert!(occurrences(GroupKind::Flash, &steps, None, d("2026-04-01"), d("2026-06-01")).is_empty());
    }

    #[test]
    fn daily_steps_fall_on_their_weekdays() {
        // 2026-05-04 is a Monday.
        let steps = [step(0, vec![1, 3], "10:00")];
        let got = occurrences(GroupKind::Daily, &steps, None, d("2026-05-04"), d("2026-05-10"));
        assert_eq!(got.iter().map(|o| o.on).collect::<Vec<_>>(), [d("2026-05-04"), d("2026-05-06")]);
    }

    #[test]
    fn validation_names_the_step_and_field() {
        assert_eq!(validate("x", GroupKind::Flash, &[step(8, vec![], "09:00")]).unwrap_err().0, "steps.0.day");
        assert_eq!(validate("x", GroupKind::Daily, &[step(0, vec![], "25:00")]).unwrap_err().0, "steps.0.time");
        assert_eq!(validate("x", GroupKind::Daily, &[step(0, vec![9], "09:00")]).unwrap_err().0, "steps.0.weekdays");
        assert_eq!(validate(" ", GroupKind::Daily, &[]).unwrap_err().0, "name");
        assert!(check_flash_dates(d("2026-05-01"), d("2026-05-07")));
        assert!(!check_flash_dates(d("2026-05-01"), d("2026-05-02")));
    }
}
