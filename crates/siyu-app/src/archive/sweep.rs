//! The archive sweep: what no single message shows.
//!
//! - Replies slower than a `response_time` rule's deadline: a 1:1 chat whose customer has waited longer than
//!   the deadline *as of the corp's last archive pull* (a late pull must not look like a slow reply). A reply
//!   that comes later makes no second alert (same dedupe key as the ingest's late-reply check).
//! - Customers deleted by staff (`delete_customer`), from the relation changes WeCom reported.
//! - Join-and-leave floods (`group_flood`): at least `count` customers who joined a group and left it again
//!   within `minutes`, inside one window of `minutes`; the group owner is told.
//! - The daily digest: once per tenant-local day (after 09:00), the previous day's alerts by kind and staff,
//!   sent as an app message to members who review alerts and are WeCom staff.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::archive::RuleKind;
use siyu_domain::id::{ConversationId, CorpId, TenantId};
use siyu_store::archive::{MemberChange, NewAlert};

use super::ingest::Finding;
use super::review::fold_stats;
use crate::App;
use crate::error::{AppError, AppResult};

/// How far back deleted relations are looked at (the dedupe key keeps older ones from repeating).
const REMOVALS_LOOKBACK_HOURS: i64 = 48;
/// The local hour after which yesterday's digest is made.
const DIGEST_HOUR: u32 = 9;

/// Join-and-leave times per group: a member who left within `window` of joining, at the time they left.
fn join_leaves(changes: &[MemberChange], window: Duration) -> BTreeMap<uuid::Uuid, Vec<DateTime<Utc>>> {
    let mut out: BTreeMap<uuid::Uuid, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut joined: Option<(&uuid::Uuid, &str, DateTime<Utc>)> = None;
    for c in changes {
        match c.op.as_str() {
            "join" => joined = Some((&c.group_id, &c.member_key, c.at)),
            "leave" => {
                if let Some((g, m, at)) = joined
                    && *g == c.group_id
                    && m == c.member_key
                    && c.at - at <= window
                {
                    out.entry(c.group_id).or_default().push(c.at);
                }
                joined = None;
            }
            _ => {}
        }
    }
    for times in out.values_mut() {
        times.sort();
    }
    out
}

/// The first window of `window` length holding at least `count` of `times` (sorted): its start and size.
fn flood(times: &[DateTime<Utc>], window: Duration, count: usize) -> Option<(DateTime<Utc>, usize)> {
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] > window {
            start += 1;
        }
        if end + 1 - start >= count {
            let mut last = end;
            while last + 1 < times.len() && times[last + 1] - times[start] <= window {
                last += 1;
            }
            return Some((times[start], last + 1 - start));
        }
    }
    None
}

impl App {
    /// One pass over every tenant with a connected corp; returns the alerts made.
    pub async fn sweep_archive(&self) -> AppResult<usize> {
        let mut made = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            made += self.sweep_archive_tenant(tenant).await?;
        }
        Ok(made)
    }

    async fn sweep_archive_tenant(&self, tenant: TenantId) -> AppResult<usize> {
        let rules = self.rule_set(tenant).await?;
        if rules.rules.is_empty() {
            return Ok(0);
        }
        let store = self.store.archive();
        let now = self.now();
        let mut made = 0;
        let mut notify = false;
        let cursors = store.cursors(tenant).await?;
        for rule in rules.of_kind(RuleKind::ResponseTime) {
            let minutes = i64::from(rule.config.minutes.unwrap_or(30));
            for cursor in &cursors {
                let Some(pulled) = cursor.ingested_at.map(|t| t.min(now)) else { continue };
                let corp = CorpId(cursor.corp_row_id);
                for o in store.overdue_replies(tenant, corp, pulled - Duration::minutes(minutes), 500).await? {
                    let conv = store.conversation(tenant, ConversationId(o.conversation_id)).await?;
                    let waited = (pulled - o.awaiting_since).num_minutes();
                    let finding = Finding { detail: waited.to_string(), excerpt: String::new() };
                    let key = format!("reply:{}:{}:{}", o.corp_row_id, o.awaiting_msgid, rule.id);
                    let raised = self
                        .raise(tenant, rule, &conv, key, Some(o.awaiting_msgid.clone()), o.awaiting_since, finding)
                        .await?;
                    made += usize::from(raised.is_some());
                    notify |= raised == Some(true);
                }
            }
        }
        for rule in rules.of_kind(RuleKind::DeleteCustomer) {
            for r in store.staff_removals(tenant, now - Duration::hours(REMOVALS_LOOKBACK_HOURS)).await? {
                let alert = NewAlert {
                    rule_id: rule.id,
                    kind: rule.kind.as_str().into(),
                    dedupe_key: format!("delete:{}:{}", r.id, rule.id),
                    corp: r.corp_row_id,
                    staff_userid: r.userid.clone(),
                    customer: Some(r.customer_id),
                    occurred_at: r.removed_at,
                    ..NewAlert::default()
                };
                made += usize::from(store.insert_alert(tenant, &alert, now).await?.is_some());
            }
        }
        for rule in rules.of_kind(RuleKind::GroupFlood) {
            let window = Duration::minutes(i64::from(rule.config.minutes.unwrap_or(10)));
            let count = rule.config.count.unwrap_or(3) as usize;
            let changes = store.member_changes(tenant, now - window * 3 - Duration::hours(1)).await?;
            for (group, times) in join_leaves(&changes, window) {
                let Some((start, n)) = flood(&times, window, count) else { continue };
                let Some(change) = changes.iter().find(|c| c.group_id == group) else { continue };
                let bucket = start.timestamp() / window.num_seconds().max(1);
                let alert = NewAlert {
                    rule_id: rule.id,
                    kind: rule.kind.as_str().into(),
                    dedupe_key: format!("flood:{group}:{}:{bucket}", rule.id),
                    corp: Some(change.corp_row_id),
                    staff_userid: Some(change.owner_userid.clone()),
                    group: Some(group),
                    detail: n.to_string(),
                    occurred_at: start,
                    ..NewAlert::default()
                };
                let Some(id) = store.insert_alert(tenant, &alert, now).await? else { continue };
                made += 1;
                if rule.config.notifies_owner(rule.kind) {
                    let place = self.store.wecom().group(tenant, siyu_domain::id::GroupId(group)).await?.name;
                    let text = format!("{n} 人 {} 分钟内进群又退群", window.num_minutes());
                    notify |= self
                        .queue_alert_notice(
                            tenant,
                            CorpId(change.corp_row_id),
                            &change.owner_userid,
                            id,
                            &rule.name,
                            &place,
                            &text,
                        )
                        .await?;
                }
            }
        }
        notify |= self.make_digest(tenant).await?;
        if notify {
            self.notify_staff_soon();
        }
        Ok(made)
    }

    /// Makes yesterday's digest once its local morning has come; whether app messages were queued.
    async fn make_digest(&self, tenant: TenantId) -> AppResult<bool> {
        let offset = self.tenant_offset(tenant).await?;
        let local = self.now().with_timezone(&offset);
        if local.hour() < DIGEST_HOUR {
            return Ok(false);
        }
        let day = local.date_naive() - Duration::days(1);
        let from = offset
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no local midnight")))?
            .with_timezone(&Utc);
        let to = from + Duration::days(1);
        let stats = fold_stats(self.store.archive().staff_stats(tenant, from, to).await?);
        let total: i64 = stats.iter().map(|s| s.total).sum();
        let mut by_kind: BTreeMap<String, i64> = BTreeMap::new();
        for s in &stats {
            for (k, n) in &s.by_kind {
                *by_kind.entry(k.clone()).or_default() += n;
            }
        }
        let staff: Vec<_> = stats
            .iter()
            .take(10)
            .map(|s| json!({"userid": s.staff_userid, "name": s.staff_name, "total": s.total}))
            .collect();
        let summary = json!({"by_kind": by_kind, "by_staff": staff}).to_string();
        let day_text = day.format("%Y-%m-%d").to_string();
        let new = self.store.archive().insert_digest(tenant, &day_text, total, &summary, self.now()).await?;
        if !new || total == 0 {
            return Ok(false);
        }
        let lines: Vec<String> = stats
            .iter()
            .take(5)
            .map(|s| format!("{} {}", s.staff_name.clone().or(s.staff_userid.clone()).unwrap_or_default(), s.total))
            .collect();
        let content = format!("【会话存档日报 {day_text}】共 {total} 条预警\n{}", lines.join("\n"));
        let mut queued = false;
        for m in self.store.members().list(tenant).await? {
            if !m.active || !m.role.can(Permission::ArchiveAudit) {
                continue;
            }
            let Some(staff) = self.store.wecom().staff_of_user(tenant, m.user_id).await? else { continue };
            let key = format!("digest:{day_text}");
            queued |=
                self.queue_text_notice(tenant, staff.corp, &staff.userid, m.user_id, &key, content.clone()).await?;
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + min * 60, 0).unwrap()
    }

    #[test]
    fn a_flood_needs_enough_join_and_leaves_inside_one_window() {
        let w = Duration::minutes(10);
        assert_eq!(flood(&[at(0), at(3), at(9)], w, 3), Some((at(0), 3)));
        assert_eq!(flood(&[at(0), at(11), at(22)], w, 3), None);
        assert_eq!(flood(&[at(0), at(12), at(13), at(14), at(15)], w, 3), Some((at(12), 4)));
        assert_eq!(flood(&[], w, 1), None);
    }
}
