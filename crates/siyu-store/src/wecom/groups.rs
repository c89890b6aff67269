//! Customer groups (`customer_groups`), their members (`group_members`) and the joins and leaves behind their
//! trends (`group_member_changes`). A sync replaces a group's member list in one transaction and records the
//! difference, so trends come out the same whether a change arrived by callback or by reconciliation.

use chrono::{DateTime, NaiveDate, Utc};
use siyu_domain::id::{CorpId, CustomerId, GroupId, GroupTagId, TenantId, UserId};
use siyu_domain::wecom::{CustomerGroup, GroupKind, GroupMember, member_diff};
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, in_write_tx, on_pool};

/// A group as WeCom described it, with its full member list.
#[derive(Debug, Clone)]
pub struct GroupSync {
    pub chat_id: String,
    pub name: String,
    pub owner_userid: String,
    pub owner_id: Option<UserId>,
    pub notice: Option<String>,
    pub status: i64,
    pub member_version: Option<String>,
    pub wecom_created_at: Option<DateTime<Utc>>,
    pub members: Vec<GroupMember>,
    pub at: DateTime<Utc>,
}

/// Which groups a list shows.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    pub corp: Option<CorpId>,
    pub owner: Option<UserId>,
    pub kind: Option<GroupKind>,
    pub name: Option<String>,
    pub include_dismissed: bool,
    /// Only groups carrying this group tag.
    pub tag: Option<GroupTagId>,
    /// Only flash-sale groups open on this local date.
    pub open_on: Option<NaiveDate>,
    /// Only flash-sale groups closing within these local dates.
    pub closes_between: Option<(NaiveDate, NaiveDate)>,
    pub limit: i64,
    pub offset: i64,
}

/// Joins and leaves of one day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupTrendDay {
    pub day: String,
    pub joins: i64,
    pub leaves: i64,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: Uuid,
    corp_row_id: Uuid,
    chat_id: String,
    name: String,
    owner_userid: String,
    owner_id: Option<Uuid>,
    owner_name: Option<String>,
    notice: Option<String>,
    status: i64,
    dismissed_at: Option<DateTime<Utc>>,
    member_count: i64,
    customer_count: i64,
    kind: String,
    opens_on: Option<NaiveDate>,
    closes_on: Option<NaiveDate>,
    wecom_created_at: Option<DateTime<Utc>>,
}

impl From<GroupRow> for CustomerGroup {
    fn from(r: GroupRow) -> Self {
        CustomerGroup {
            id: GroupId(r.id),
            corp: CorpId(r.corp_row_id),
            chat_id: r.chat_id,
            name: r.name,
            owner_userid: r.owner_userid,
            owner_id: r.owner_id.map(UserId),
            owner_name: r.owner_name,
            notice: r.notice,
            status: r.status,
            dismissed_at: r.dismissed_at,
            member_count: r.member_count,
            customer_count: r.customer_count,
            kind: GroupKind::parse(&r.kind).unwrap_or(GroupKind::Daily),
            opens_on: r.opens_on,
            closes_on: r.closes_on,
            wecom_created_at: r.wecom_created_at,
        }
    }
}

const GROUP_SELECT: &str = "SELECT g.id, g.corp_row_id, g.chat_id, g.name, g.owner_userid, g.owner_id, \
     a.display_name AS owner_name, g.notice, g.status, g.dismissed_at, g.member_count, g.customer_count, g.kind, \
     g.opens_on, g.closes_on, g.wecom_created_at FROM customer_groups g \
     LEFT JOIN accounts a ON a.user_id = g.owner_id";

#[derive(sqlx::FromRow)]
struct MemberRow {
    member_key: String,
    member_type: i64,
    unionid: Option<String>,
    name: Option<String>,
    group_nickname: Option<String>,
    join_time: Option<DateTime<Utc>>,
    join_scene: Option<i64>,
    invitor: Option<String>,
    state: Option<String>,
}

impl From<MemberRow> for GroupMember {
    fn from(r: MemberRow) -> Self {
        GroupMember {
            member_key: r.member_key,
            member_type: r.member_type,
            unionid: r.unionid,
            name: r.name,
            group_nickname: r.group_nickname,
            join_time: r.join_time,
            join_scene: r.join_scene,
            invitor: r.invitor,
            state: r.state,
        }
    }
}

impl Wecom<'_> {
    /// Writes a group and its member list; returns the group's id and how many joined and left.
    pub async fn sync_group(
        &self,
        tenant: TenantId,
        corp: CorpId,
        g: &GroupSync,
    ) -> Result<(GroupId, usize, usize), StoreError> {
        let customers = g.members.iter().filter(|m| m.member_type == 2).count() as i64;
        let out = in_write_tx!(self.0, tx => {
            let existing: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM customer_groups WHERE tenant_id = $1 AND corp_row_id = $2 AND chat_id = $3")
                .bind(tenant.0).bind(corp.0).bind(&g.chat_id).fetch_optional(&mut *tx).await?;
            let id = existing.map(|r| r.0).unwrap_or_else(Uuid::now_v7);
            sqlx::query(
                "INSERT INTO customer_groups (tenant_id, id, corp_row_id, chat_id, name, owner_userid, owner_id, \
                 notice, status, member_version, member_count, customer_count, wecom_created_at, synced_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                 ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, owner_userid = excluded.owner_userid, \
                 owner_id = excluded.owner_id, notice = excluded.notice, status = excluded.status, \
                 member_version = excluded.member_version, member_count = excluded.member_count, \
                 customer_count = excluded.customer_count, dismissed_at = NULL, synced_at = excluded.synced_at")
                .bind(tenant.0).bind(id).bind(corp.0).bind(&g.chat_id).bind(&g.name).bind(&g.owner_userid)
                .bind(g.owner_id.map(|u| u.0)).bind(&g.notice).bind(g.status).bind(&g.member_version)
                .bind(g.members.len() as i64).bind(customers).bind(g.wecom_created_at).bind(g.at)
                .execute(&mut *tx).await?;
            let before: Vec<(String, i64)> = sqlx::query_as(
                "SELECT member_key, member_type FROM group_members WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant.0).bind(id).fetch_all(&mut *tx).await?;
            let types: std::collections::HashMap<String, i64> = before.into_iter().collect();
            let keys: Vec<String> = types.keys().cloned().collect();
            let diff = member_diff(&keys, &g.members);
            for key in &diff.left {
                sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_key = $3")
                    .bind(tenant.0).bind(id).bind(*key).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO group_member_changes (tenant_id, id, group_id, member_key, member_type, op, scene, at) \
                     VALUES ($1, $2, $3, $4, $5, 'leave', NULL, $6)")
                    .bind(tenant.0).bind(Uuid::now_v7()).bind(id).bind(*key)
                    .bind(types.get(*key).copied().unwrap_or(2)).bind(g.at)
                    .execute(&mut *tx).await?;
            }
            for m in &g.members {
                sqlx::query(
                    "INSERT INTO group_members (tenant_id, group_id, member_key, member_type, unionid, name, \
                     group_nickname, join_time, join_scene, invitor, state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (tenant_id, group_id, member_key) DO UPDATE SET unionid = excluded.unionid, \
                     name = excluded.name, group_nickname = excluded.group_nickname, join_scene = excluded.join_scene, \
                     invitor = excluded.invitor, state = excluded.state")
                    .bind(tenant.0).bind(id).bind(&m.member_key).bind(m.member_type).bind(&m.unionid).bind(&m.name)
                    .bind(&m.group_nickname).bind(m.join_time).bind(m.join_scene).bind(&m.invitor).bind(&m.state)
                    .execute(&mut *tx).await?;
            }
            for m in &diff.joined {
                sqlx::query(
                    "INSERT INTO group_member_changes (tenant_id, id, group_id, member_key, member_type, op, scene, at) \
                     VALUES ($1, $2, $3, $4, $5, 'join', $6, $7)")
                    .bind(tenant.0).bind(Uuid::now_v7()).bind(id).bind(&m.member_key).bind(m.member_type)
                    .bind(m.join_scene).bind(m.join_time.unwrap_or(g.at))
                    .execute(&mut *tx).await?;
            }
            (GroupId(id), diff.joined.len(), diff.left.len())
        });
        Ok(out)
    }

    /// The member version stored for a chat (to spot a missed callback).
    pub async fn group_by_chat(
        &self,
        tenant: TenantId,
        corp: CorpId,
        chat_id: &str,
    ) -> Result<Option<(GroupId, Option<String>)>, StoreError> {
        let row: Option<(Uuid, Option<String>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, member_version FROM customer_groups WHERE tenant_id = $1 AND corp_row_id = $2 AND chat_id = $3")
            .bind(tenant.0).bind(corp.0).bind(chat_id).fetch_optional(p).await)?;
        Ok(row.map(|(id, v)| (GroupId(id), v)))
    }

    /// A group was dismissed: it stays listed (with its history) but has no members.
    pub async fn dismiss_group(
        &self,
        tenant: TenantId,
        corp: CorpId,
        chat_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<GroupId>, StoreError> {
        let new_id = match &self.0.backend {
            crate::Backend::Sqlite(_) => "randomblob(16)",
            crate::Backend::Postgres(_) => "gen_random_uuid()",
        };
        // Every member leaves with the group (the trends and group-membership segments see them go).
        let leaves = format!(
            "INSERT INTO group_member_changes (tenant_id, id, group_id, member_key, member_type, op, scene, at) \
             SELECT tenant_id, {new_id}, group_id, member_key, member_type, 'leave', NULL, $3 FROM group_members \
             WHERE tenant_id = $1 AND group_id = $2"
        );
        let group = self.group_by_chat(tenant, corp, chat_id).await?.map(|(id, _)| id);
        let Some(id) = group else { return Ok(None) };
        in_write_tx!(self.0, tx => {
            sqlx::query(
                "UPDATE customer_groups SET dismissed_at = $3, member_count = 0, customer_count = 0 \
                 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).bind(at).execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(leaves)).bind(tenant.0).bind(id.0).bind(at).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(Some(id))
    }

    /// Sets a group's kind and, for flash-sale groups, its open and close dates.
    pub async fn set_group_kind(
        &self,
        tenant: TenantId,
        group: GroupId,
        kind: GroupKind,
        opens_on: Option<NaiveDate>,
        closes_on: Option<NaiveDate>,
    ) -> Result<(), StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE customer_groups SET kind = $3, opens_on = $4, closes_on = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(group.0).bind(kind.as_str()).bind(opens_on).bind(closes_on).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn groups(&self, tenant: TenantId, q: &GroupQuery) -> Result<(Vec<CustomerGroup>, i64), StoreError> {
        let mut filter = String::from(" WHERE g.tenant_id = $1");
        if q.corp.is_some() {
            filter.push_str(" AND g.corp_row_id = $2");
        }
        if q.owner.is_some() {
            filter.push_str(" AND g.owner_id = $3");
        }
        if q.kind.is_some() {
            filter.push_str(" AND g.kind = $4");
        }
        if q.name.is_some() {
            filter.push_str(" AND g.name LIKE $5");
        }
        if !q.include_dismissed {
            filter.push_str(" AND g.dismissed_at IS NULL");
        }
        if q.tag.is_some() {
            filter.push_str(" AND g.id IN (SELECT group_id FROM group_tag_links WHERE tenant_id = $1 AND tag_id = $6)");
        }
        if q.open_on.is_some() {
            filter.push_str(" AND g.kind = 'flash' AND g.opens_on <= $9 AND g.closes_on >= $9");
        }
        if q.closes_between.is_some() {
            filter.push_str(" AND g.kind = 'flash' AND g.closes_on >= $10 AND g.closes_on <= $11");
        }
        let like = q.name.as_ref().map(|n| format!("%{}%", n.replace(['%', '_'], "")));
        let list = format!("{GROUP_SELECT}{filter} ORDER BY g.member_count DESC, g.id LIMIT $7 OFFSET $8");
        let (from, to) = (q.closes_between.map(|b| b.0), q.closes_between.map(|b| b.1));
        let count = format!("SELECT COUNT(*) FROM customer_groups g{filter}");
        let (rows, total): (Vec<GroupRow>, (i64,)) = on_pool!(self.0, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(list.as_str())).bind(tenant.0).bind(q.corp.map(|c| c.0)).bind(q.owner.map(|u| u.0))
                .bind(q.kind.map(GroupKind::as_str)).bind(&like).bind(q.tag.map(|t| t.0)).bind(q.limit).bind(q.offset)
                .bind(q.open_on).bind(from).bind(to).fetch_all(p).await?;
            let total = sqlx::query_as(sqlx::AssertSqlSafe(count.as_str())).bind(tenant.0).bind(q.corp.map(|c| c.0)).bind(q.owner.map(|u| u.0))
                .bind(q.kind.map(GroupKind::as_str)).bind(&like).bind(q.tag.map(|t| t.0)).bind(q.limit).bind(q.offset)
                .bind(q.open_on).bind(from).bind(to).fetch_one(p).await?;
            Ok::<_, sqlx::Error>((rows, total))
        })?;
        Ok((rows.into_iter().map(Into::into).collect(), total.0))
    }

    pub async fn group(&self, tenant: TenantId, id: GroupId) -> Result<CustomerGroup, StoreError> {
        let row: Option<GroupRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{GROUP_SELECT} WHERE g.tenant_id = $1 AND g.id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn group_members(&self, tenant: TenantId, id: GroupId) -> Result<Vec<GroupMember>, StoreError> {
        let rows: Vec<MemberRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT member_key, member_type, unionid, name, group_nickname, join_time, join_scene, invitor, state \
             FROM group_members WHERE tenant_id = $1 AND group_id = $2 ORDER BY member_type, join_time, member_key")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Daily customer joins and leaves of the groups (all, one, or one owner's) since `since`, oldest first.
    pub async fn group_trend(
        &self,
        tenant: TenantId,
        group: Option<GroupId>,
        owner: Option<UserId>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GroupTrendDay>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT at, op FROM group_member_changes WHERE tenant_id = $1 AND at >= $2 AND member_type = 2 \
             AND ($3 IS NULL OR group_id = $3) AND ($4 IS NULL OR group_id IN \
             (SELECT id FROM customer_groups WHERE tenant_id = $1 AND owner_id = $4)) ORDER BY at")
            .bind(tenant.0).bind(since).bind(group.map(|g| g.0)).bind(owner.map(|u| u.0)).fetch_all(p).await)?;
        let mut days: Vec<GroupTrendDay> = Vec::new();
        for (at, op) in rows {
            let day = at.format("%Y-%m-%d").to_string();
            if days.last().is_none_or(|d| d.day != day) {
                days.push(GroupTrendDay { day, joins: 0, leaves: 0 });
            }
            if let Some(d) = days.last_mut() {
                if op == "join" { d.joins += 1 } else { d.leaves += 1 }
            }
        }
        Ok(days)
    }

    /// The groups a customer is in (through their external_userid identities).
    pub async fn groups_of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<CustomerGroup>, StoreError> {
        let rows: Vec<GroupRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{GROUP_SELECT} WHERE g.tenant_id = $1 AND g.id IN (SELECT m.group_id FROM group_members m \
             JOIN identities i ON i.tenant_id = m.tenant_id AND i.kind = 'external_userid' AND i.lookup = m.member_key \
             WHERE m.tenant_id = $1 AND m.member_type = 2 AND i.customer_id = $2) ORDER BY g.name")))
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
