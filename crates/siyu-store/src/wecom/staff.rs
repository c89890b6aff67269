//! Mappings between WeCom's ids and siyu's: departments (`wecom_departments`), staff (`wecom_staff`, each a
//! siyu member) and corp tags (`wecom_tags`).

use chrono::{DateTime, Utc};
use siyu_domain::customer::Follow;
use siyu_domain::id::{CorpId, CustomerId, DepartmentId, TenantId, UserId};
use siyu_domain::wecom::WecomStaff;
use sqlx::types::Json;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, on_pool};

/// A WeCom department and the siyu department it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentLink {
    pub dept_id: i64,
    pub department: DepartmentId,
    pub parent_dept_id: Option<i64>,
    pub name: String,
}

/// A staff member as a sync saw them.
#[derive(Debug, Clone)]
pub struct StaffSync {
    pub userid: String,
    pub user_id: UserId,
    pub name: String,
    pub departments: Vec<i64>,
    pub main_department: Option<i64>,
    pub position: Option<String>,
    pub status: i64,
    pub contact_enabled: bool,
    pub at: DateTime<Utc>,
}

/// A corp tag or tag group and the siyu tag or group it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagLink {
    pub wecom_id: String,
    /// `tag` or `group`.
    pub kind: String,
    pub local_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    corp_row_id: Uuid,
    userid: String,
    user_id: Uuid,
    name: String,
    departments: Json<Vec<i64>>,
    position: Option<String>,
    status: i64,
    contact_enabled: bool,
    left_at: Option<DateTime<Utc>>,
}

impl From<StaffRow> for WecomStaff {
    fn from(r: StaffRow) -> Self {
        WecomStaff {
            corp: CorpId(r.corp_row_id),
            userid: r.userid,
            user_id: UserId(r.user_id),
            name: r.name,
            departments: r.departments.0,
            position: r.position,
            status: r.status,
            contact_enabled: r.contact_enabled,
            left_at: r.left_at,
        }
    }
}

const STAFF_COLUMNS: &str =
    "corp_row_id, userid, user_id, name, departments, position, status, contact_enabled, left_at";

impl Wecom<'_> {
    pub async fn departments(&self, tenant: TenantId, corp: CorpId) -> Result<Vec<DepartmentLink>, StoreError> {
        let rows: Vec<(i64, Uuid, Option<i64>, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT dept_id, department_id, parent_dept_id, name FROM wecom_departments \
             WHERE tenant_id = $1 AND corp_row_id = $2 ORDER BY dept_id")
            .bind(tenant.0).bind(corp.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(dept_id, d, parent_dept_id, name)| DepartmentLink {
                dept_id,
                department: DepartmentId(d),
                parent_dept_id,
                name,
            })
            .collect())
    }

    pub async fn upsert_department(
        &self,
        tenant: TenantId,
        corp: CorpId,
        d: &DepartmentLink,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO wecom_departments (tenant_id, corp_row_id, dept_id, department_id, parent_dept_id, name, \
             synced_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, corp_row_id, dept_id) \
             DO UPDATE SET parent_dept_id = excluded.parent_dept_id, name = excluded.name, synced_at = excluded.synced_at")
            .bind(tenant.0).bind(corp.0).bind(d.dept_id).bind(d.department.0).bind(d.parent_dept_id)
            .bind(&d.name).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Inserts or refreshes a staff member; a member seen again after leaving is active again.
    pub async fn upsert_staff(&self, tenant: TenantId, corp: CorpId, s: &StaffSync) -> Result<(), StoreError> {
        let left_at = (s.status == 5).then_some(s.at);
        exec!(self.0, p => sqlx::query(
            "INSERT INTO wecom_staff (tenant_id, corp_row_id, userid, user_id, name, departments, main_department, \
             position, status, contact_enabled, left_at, synced_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (tenant_id, corp_row_id, userid) DO UPDATE SET name = excluded.name, \
             departments = excluded.departments, main_department = excluded.main_department, \
             position = excluded.position, status = excluded.status, contact_enabled = excluded.contact_enabled, \
             left_at = CASE WHEN excluded.status = 5 THEN COALESCE(wecom_staff.left_at, excluded.left_at) ELSE NULL END, \
             synced_at = excluded.synced_at")
            .bind(tenant.0).bind(corp.0).bind(&s.userid).bind(s.user_id.0).bind(&s.name)
            .bind(Json(&s.departments)).bind(s.main_department).bind(&s.position).bind(s.status)
            .bind(s.contact_enabled).bind(left_at).bind(s.at).execute(p).await)?;
        Ok(())
    }

    /// The corp's customers as siyu knows them: (external_userid, customer name, a relation), one row per
    /// follow, by external_userid. What the demo mirrors into its fake WeCom.
    pub async fn corp_contacts(
        &self,
        tenant: TenantId,
        corp_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, Follow)>, StoreError> {
        type Row = (String, String, Uuid, Uuid, Option<String>, Option<String>, String, Option<String>, DateTime<Utc>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT i.lookup, c.name, f.customer_id, f.user_id, f.remark, f.description, f.add_way, f.state, \
             f.added_at FROM identities i \
             JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
             JOIN follows f ON f.tenant_id = c.tenant_id AND f.customer_id = c.id \
             WHERE i.tenant_id = $1 AND i.kind = 'external_userid' AND i.namespace = $2 AND c.erased_at IS NULL \
             ORDER BY i.lookup, f.added_at LIMIT $3")
            .bind(tenant.0).bind(corp_id).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(ext, name, customer, user, remark, description, add_way, state, added_at)| {
                let follow = Follow {
                    customer_id: CustomerId(customer),
                    user_id: UserId(user),
                    remark,
                    description,
                    add_way,
                    state,
                    added_at,
                };
                (ext, name, follow)
            })
            .collect())
    }

    /// A staff member left the corp (WeCom status 5).
    pub async fn staff_left(
        &self,
        tenant: TenantId,
        corp: CorpId,
        userid: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE wecom_staff SET status = 5, left_at = COALESCE(left_at, $4), synced_at = $4 \
             WHERE tenant_id = $1 AND corp_row_id = $2 AND userid = $3")
            .bind(tenant.0).bind(corp.0).bind(userid).bind(at).execute(p).await)?;
        Ok(n > 0)
    }

    /// WeCom changed a staff member's userid (`update_user` with `NewUserID`).
    pub async fn rename_staff(&self, tenant: TenantId, corp: CorpId, from: &str, to: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE wecom_staff SET userid = $4 WHERE tenant_id = $1 AND corp_row_id = $2 AND userid = $3")
            .bind(tenant.0).bind(corp.0).bind(from).bind(to).execute(p).await)?;
        Ok(())
    }

    pub async fn staff(&self, tenant: TenantId, corp: CorpId) -> Result<Vec<WecomStaff>, StoreError> {
        let rows: Vec<StaffRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM wecom_staff WHERE tenant_id = $1 AND corp_row_id = $2 ORDER BY userid")))
            .bind(tenant.0).bind(corp.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn staff_by_userid(
        &self,
        tenant: TenantId,
        corp: CorpId,
        userid: &str,
    ) -> Result<Option<WecomStaff>, StoreError> {
        let row: Option<StaffRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM wecom_staff WHERE tenant_id = $1 AND corp_row_id = $2 AND userid = $3")))
            .bind(tenant.0).bind(corp.0).bind(userid).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    /// The WeCom identity of a siyu member, if they are WeCom staff.
    pub async fn staff_of_user(&self, tenant: TenantId, user: UserId) -> Result<Option<WecomStaff>, StoreError> {
        let row: Option<StaffRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM wecom_staff WHERE tenant_id = $1 AND user_id = $2")))
            .bind(tenant.0).bind(user.0).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    pub async fn tag_links(&self, tenant: TenantId, corp: CorpId) -> Result<Vec<TagLink>, StoreError> {
        let rows: Vec<(String, String, Uuid)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT wecom_id, kind, local_id FROM wecom_tags WHERE tenant_id = $1 AND corp_row_id = $2")
            .bind(tenant.0).bind(corp.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(wecom_id, kind, local_id)| TagLink { wecom_id, kind, local_id }).collect())
    }

    pub async fn link_tag(
        &self,
        tenant: TenantId,
        corp: CorpId,
        link: &TagLink,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO wecom_tags (tenant_id, corp_row_id, wecom_id, kind, local_id, synced_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, corp_row_id, wecom_id) \
             DO UPDATE SET local_id = excluded.local_id, synced_at = excluded.synced_at")
            .bind(tenant.0).bind(corp.0).bind(&link.wecom_id).bind(&link.kind).bind(link.local_id).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn unlink_tag(&self, tenant: TenantId, corp: CorpId, wecom_id: &str) -> Result<Option<Uuid>, StoreError> {
        let row: Option<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "DELETE FROM wecom_tags WHERE tenant_id = $1 AND corp_row_id = $2 AND wecom_id = $3 RETURNING local_id")
            .bind(tenant.0).bind(corp.0).bind(wecom_id).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }
}

impl Wecom<'_> {
    /// Removes a follow and keeps the removal (`staff`, `customer` or `transfer` ended it).
    pub async fn record_follow_removal(
        &self,
        tenant: TenantId,
        f: &siyu_domain::customer::Follow,
        removed_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        crate::in_write_tx!(self.0, tx => {
            sqlx::query("DELETE FROM follows WHERE tenant_id = $1 AND customer_id = $2 AND user_id = $3")
                .bind(tenant.0).bind(f.customer_id.0).bind(f.user_id.0).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO follow_removals (tenant_id, id, customer_id, user_id, removed_by, state, added_at, \
                 removed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(tenant.0).bind(Uuid::now_v7()).bind(f.customer_id.0).bind(f.user_id.0).bind(removed_by)
                .bind(&f.state).bind(f.added_at).bind(at).execute(&mut *tx).await?;
        });
        Ok(())
    }
}
