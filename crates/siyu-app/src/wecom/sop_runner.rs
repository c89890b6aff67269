//! The group SOP runner and calendar. Every sweep looks at the live groups following a template and, for each
//! step occurrence of yesterday and today (local dates) whose time has come, writes its run and a group mass
//! send to exactly that group (its owner sends; `chat_ids` holds the one chat) with the send's job, in one
//! transaction keyed by (group, step, date): a sweep that runs twice or dies halfway makes each send once.
//! Occurrences before the template was applied, after a flash-sale group's close date, or of a dismissed
//! group are never sent; one found more than [`LATE_HOURS`] late (the worker was down) is recorded skipped.
//! A flash-sale group past its close date tells its owner once (a staff notice `group_close:<group>`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;
use siyu_domain::id::{CorpId, GroupId, JobId, MassSendId, SopId, TenantId, UserId};
use siyu_domain::job::{Job, JobStatus};
use siyu_domain::wecom::GroupKind;
use siyu_domain::wecom::mass::{Audience, GroupAudience, MassSend, MassStatus};
use siyu_domain::wecom::sop::{self, GroupSop, MAX_FLASH_DAY};
use siyu_store::wecom::{NewNotice, NewSopRun, SopGroup};
use siyu_wecom::api::{AppMessage, AppMessageBody, Text};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// How late an occurrence may still be sent.
pub const LATE_HOURS: i64 = 12;
/// How long after its close date a flash-sale group's owner is still told.
const CLOSE_NOTICE_DAYS: i64 = 7;

/// One step occurrence on the calendar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SopCell {
    pub on: NaiveDate,
    pub at: DateTime<Utc>,
    /// `scheduled`, `sent` or `skipped`.
    pub status: &'static str,
    pub reason: Option<String>,
    pub mass_send_id: Option<MassSendId>,
}

/// One step's row: a cell per calendar day (none: the step does not fall on that day).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SopCalendarRow {
    pub step: usize,
    pub time: String,
    pub text: String,
    pub cells: Vec<Option<SopCell>>,
}

/// A group's SOP calendar: days × steps.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SopCalendar {
    pub sop: Option<GroupSop>,
    pub days: Vec<NaiveDate>,
    pub rows: Vec<SopCalendarRow>,
}

fn local_at(offset: FixedOffset, on: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    offset.from_local_datetime(&on.and_time(time)).single().map_or_else(|| on.and_time(time).and_utc(), |t| t.to_utc())
}

impl App {
    /// Runs every tenant's group SOPs and close notices; returns how many mass sends were made.
    pub async fn run_group_sops(&self) -> AppResult<usize> {
        let mut made = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            made += self.run_tenant_sops(tenant).await?;
            self.notify_closed_groups(tenant).await?;
        }
        Ok(made)
    }

    async fn run_tenant_sops(&self, tenant: TenantId) -> AppResult<usize> {
        let offset = self.tenant_offset(tenant).await?;
        let now = self.now();
        let today = now.with_timezone(&offset).date_naive();
        let yesterday = today - Duration::days(1);
        let mut sops: HashMap<SopId, Option<(GroupSop, Option<UserId>)>> = HashMap::new();
        let mut made = 0;
        for g in self.store.wecom().sop_groups(tenant, yesterday).await? {
            let id = SopId(g.sop_id);
            if let std::collections::hash_map::Entry::Vacant(slot) = sops.entry(id) {
                let found = match self.store.wecom().sop(tenant, id).await {
                    Ok(s) => Some((s, self.store.wecom().sop_creator(tenant, id).await?)),
                    Err(siyu_store::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                slot.insert(found);
            }
            let Some(Some((sop, creator))) = sops.get(&id) else { continue };
            for o in sop::occurrences(sop.kind, &sop.steps, g.opens_on, yesterday, today) {
                let at = local_at(offset, o.on, o.time);
                let applied = g.sop_applied_at.unwrap_or(now);
                let past_close = g.kind == "flash" && g.closes_on.is_none_or(|c| o.on > c);
                if at > now || at < applied || past_close {
                    continue;
                }
                let step = &sop.steps[o.step];
                let late = now - at > Duration::hours(LATE_HOURS);
                let run = NewSopRun {
                    group: GroupId(g.id),
                    sop: sop.id,
                    step_id: &step.id,
                    occurs_on: o.on,
                    scheduled_at: at,
                    status: if late { "skipped" } else { "sent" },
                    reason: late.then_some("late"),
                };
                let send = (!late).then(|| self.sop_send(&g, sop, o.step, o.on, *creator));
                let pair = send.as_ref().map(|(m, j)| (m, j));
                if self.store.wecom().record_sop_run(tenant, CorpId(g.corp_row_id), &run, pair, now).await? && !late {
                    made += 1;
                }
            }
        }
        Ok(made)
    }

    /// The mass send (and its job) of one occurrence: the step's content to the one group, from its owner.
    fn sop_send(
        &self,
        g: &SopGroup,
        sop: &GroupSop,
        step: usize,
        on: NaiveDate,
        creator: Option<UserId>,
    ) -> (MassSend, Job) {
        let now = self.now();
        let groups = GroupAudience {
            owners: vec![g.owner_userid.clone()],
            name_contains: None,
            chat_ids: vec![g.chat_id.clone()],
        };
        let name: String = format!("群SOP·{}·{}·{}", sop.name, g.name, on.format("%m-%d")).chars().take(60).collect();
        let send = MassSend {
            id: MassSendId::new(),
            corp: CorpId(g.corp_row_id),
            name,
            audience: Audience { groups: Some(groups), ..Audience::default() },
            content: sop.steps[step].content(),
            daily_cap: 1,
            scheduled_at: now,
            status: MassStatus::Scheduled,
            error: None,
            created_at: now,
            planned_at: None,
            finished_at: None,
        };
        let job = Job {
            id: JobId::new(),
            kind: super::MASS_JOB.to_owned(),
            status: JobStatus::Queued,
            payload: serde_json::json!({ "send": send.id }),
            progress_done: 0,
            progress_total: 1,
            result: None,
            error: None,
            attempts: 0,
            created_by: creator,
            created_at: now,
            finished_at: None,
        };
        (send, job)
    }

    /// Tells the owner of each flash-sale group past its close date, once, to dismiss it or make it a daily
    /// group (the notice sweep sends it).
    async fn notify_closed_groups(&self, tenant: TenantId) -> AppResult<()> {
        let offset = self.tenant_offset(tenant).await?;
        let now = self.now();
        let today = now.with_timezone(&offset).date_naive();
        let closed =
            self.store.wecom().closed_flash_groups(tenant, today - Duration::days(CLOSE_NOTICE_DAYS), today).await?;
        if closed.is_empty() {
            return Ok(());
        }
        let corps = self.store.wecom().corps(tenant).await?;
        for g in closed {
            let content = format!(
                "【快闪群已到期】「{}」已于 {} 关群。建议在企业微信中解散该群，或在 siyu 中把它转为日常销售群。",
                g.name,
                g.closes_on.format("%m-%d")
            );
            let mut message =
                AppMessage::new(AppMessageBody::Text { text: Text { content } }).to_users(&[g.owner_userid.as_str()]);
            message.agentid = corps.iter().find(|c| c.id.0 == g.corp_row_id).and_then(|c| c.agent_id);
            message.enable_duplicate_check = true;
            let body = serde_json::to_string(&message).map_err(AppError::internal)?;
            let key = format!("group_close:{}", g.id);
            let notice = NewNotice {
                corp: CorpId(g.corp_row_id),
                userid: &g.owner_userid,
                user: UserId(g.owner_id),
                dedupe_key: &key,
                task: None,
                body: &body,
            };
            self.store.wecom().insert_notice(tenant, &notice, now).await?;
        }
        Ok(())
    }

    /// A group's SOP calendar: a flash-sale group's days from its open date (8 days at most), a daily group's
    /// from three days ago to six days ahead; each step occurrence scheduled, sent (with its mass send) or
    /// skipped.
    pub async fn group_sop_calendar(&self, actor: &Actor, id: GroupId) -> AppResult<SopCalendar> {
        let group = self.customer_group(actor, id).await?.group;
        let Some((sop_id, applied)) = self.store.wecom().group_sop(actor.tenant, id).await? else {
            return Ok(SopCalendar { sop: None, days: Vec::new(), rows: Vec::new() });
        };
        let sop = self.store.wecom().sop(actor.tenant, sop_id).await?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let now = self.now();
        let today = now.with_timezone(&offset).date_naive();
        let (from, to) = match (sop.kind, group.opens_on) {
            (GroupKind::Flash, Some(open)) => {
                let last = group.closes_on.unwrap_or(open).max(open + Duration::days(MAX_FLASH_DAY));
                (open, last.min(open + Duration::days(MAX_FLASH_DAY)))
            }
            (GroupKind::Flash, None) => (today, today - Duration::days(1)),
            (GroupKind::Daily, _) => (today - Duration::days(3), today + Duration::days(6)),
        };
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let runs = self.store.wecom().sop_runs(actor.tenant, id).await?;
        let mut rows: Vec<SopCalendarRow> = sop
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| SopCalendarRow {
                step: i,
                time: s.time.clone(),
                text: s.text.clone(),
                cells: vec![None; days.len()],
            })
            .collect();
        for o in sop::occurrences(sop.kind, &sop.steps, group.opens_on, from, to) {
            let at = local_at(offset, o.on, o.time);
            let step_id = &sop.steps[o.step].id;
            let run = runs.iter().find(|r| &r.step_id == step_id && r.occurs_on == o.on);
            let past_close = group.kind == GroupKind::Flash && group.closes_on.is_none_or(|c| o.on > c);
            let (status, reason, mass_send_id) = match run {
                Some(r) => {
                    let status = if r.status == "sent" { "sent" } else { "skipped" };
                    (status, r.reason.clone(), r.mass_send_id.map(MassSendId))
                }
                None if past_close => ("skipped", Some("closed".to_owned()), None),
                None if group.dismissed_at.is_some() => ("skipped", Some("dismissed".to_owned()), None),
                None if at < applied => ("skipped", Some("before_applied".to_owned()), None),
                None if at + Duration::hours(LATE_HOURS) < now => ("skipped", Some("late".to_owned()), None),
                None => ("scheduled", None, None),
            };
            let col = (o.on - from).num_days() as usize;
            if let Some(cell) = rows.get_mut(o.step).and_then(|r| r.cells.get_mut(col)) {
                *cell = Some(SopCell { on: o.on, at, status, reason, mass_send_id });
            }
        }
        Ok(SopCalendar { sop: Some(sop), days, rows })
    }
}
