//! The sidebar opened in a customer group's chat: which members are known customers, the groups a staff
//! member is in (the development identity's picker), and what was sent to a group (`sidebar_group_sends`,
//! once per (member, send id), the script's use counted in the same transaction).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, CustomerId, GroupId, TenantId, UserId};
use siyu_domain::identity::IdentityKind;
use uuid::Uuid;

use super::Sidebar;
use crate::customers::{Visibility, push_visibility};
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{StoreError, in_tx, on_pool};

/// A group member who is a known customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCustomer {
    /// Their external_userid.
    pub member_key: String,
    pub customer: CustomerId,
    pub name: String,
    /// Inside the member's data scope (the sidebar may open their profile).
    pub visible: bool,
}

/// One send to a group the sidebar reports.
#[derive(Debug, Clone)]
pub struct NewGroupSend<'a> {
    pub user: UserId,
    pub send_id: &'a str,
    pub group: GroupId,
    pub at: DateTime<Utc>,
}

/// What was sent to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSent {
    Script(Uuid),
    Material(Uuid),
}

const INSERT: &str = "INSERT INTO sidebar_group_sends (tenant_id, user_id, send_id, kind, object_id, group_id, sent_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, user_id, send_id) DO NOTHING";
const COUNT_SCRIPT: &str = "UPDATE scripts SET uses = uses + 1, last_used_at = $3 WHERE tenant_id = $1 AND id = $2";

fn customers_sql(tenant: TenantId, group: GroupId, namespace: &str, vis: Option<&Visibility>) -> Sql {
    let mut sql = Sql::new(
        "SELECT m.member_key, c.id, c.name FROM group_members m \
         JOIN identities i ON i.tenant_id = m.tenant_id AND i.lookup = m.member_key AND i.kind = ",
    );
    sql.bind(Arg::Text(IdentityKind::ExternalUserid.as_str().to_owned()))
        .push(" AND i.namespace = ")
        .bind(Arg::Text(namespace.to_owned()))
        .push(" JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id WHERE m.tenant_id = ")
        .bind(Arg::Uuid(tenant.0))
        .push(" AND m.group_id = ")
        .bind(Arg::Uuid(group.0))
        .push(" AND m.member_type = 2");
    if let Some(vis) = vis {
        push_visibility(&mut sql, tenant, vis);
    }
    sql.push(" ORDER BY m.join_time, m.member_key");
    sql
}

impl Sidebar<'_> {
    /// The members of `group` who are customers (their external_userid an identity of the corp `namespace`),
    /// in join order, each marked whether `vis` lets the member see them.
    pub async fn group_customers(
        &self,
        tenant: TenantId,
        group: GroupId,
        namespace: &str,
        vis: &Visibility,
    ) -> Result<Vec<GroupCustomer>, StoreError> {
        type Row = (String, Uuid, String);
        let all: Vec<Row> = on_pool!(self.0, p =>
            dyn_query_as!(Row, customers_sql(tenant, group, namespace, None)).fetch_all(p).await)?;
        let visible: HashSet<Uuid> = if vis.is_none() {
            all.iter().map(|r| r.1).collect()
        } else {
            let rows: Vec<Row> = on_pool!(self.0, p =>
                dyn_query_as!(Row, customers_sql(tenant, group, namespace, Some(vis))).fetch_all(p).await)?;
            rows.into_iter().map(|r| r.1).collect()
        };
        Ok(all
            .into_iter()
            .map(|(member_key, id, name)| GroupCustomer {
                visible: visible.contains(&id),
                member_key,
                customer: CustomerId(id),
                name,
            })
            .collect())
    }

    /// The live groups of `corp` that staff member `userid` owns or is in, as (chat_id, name), by name.
    pub async fn staff_groups(
        &self,
        tenant: TenantId,
        corp: CorpId,
        userid: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT g.chat_id, g.name FROM customer_groups g WHERE g.tenant_id = $1 AND g.corp_row_id = $2 \
             AND g.dismissed_at IS NULL AND (g.owner_userid = $3 OR EXISTS (SELECT 1 FROM group_members m \
             WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND m.member_type = 1 AND m.member_key = $3)) \
             ORDER BY g.name, g.chat_id LIMIT 200")
            .bind(tenant.0).bind(corp.0).bind(userid).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Records a send to a group (a script's use counted with it), unless this send id was recorded
    /// already. True when it was new.
    pub async fn record_group_send(
        &self,
        tenant: TenantId,
        sent: GroupSent,
        send: &NewGroupSend<'_>,
    ) -> Result<bool, StoreError> {
        let (kind, object) = match sent {
            GroupSent::Script(id) => ("script", id),
            GroupSent::Material(id) => ("material", id),
        };
        let fresh = in_tx!(self.0, tx => {
            let inserted = sqlx::query(INSERT)
                .bind(tenant.0).bind(send.user.0).bind(send.send_id).bind(kind).bind(object)
                .bind(send.group.0).bind(send.at)
                .execute(&mut *tx).await?.rows_affected() == 1;
            if inserted && kind == "script" {
                let n = sqlx::query(COUNT_SCRIPT).bind(tenant.0).bind(object).bind(send.at)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            inserted
        });
        Ok(fresh)
    }

    /// How many sends a member made to a group.
    pub async fn sends_to_group(&self, tenant: TenantId, user: UserId, group: GroupId) -> Result<i64, StoreError> {
        let row: (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM sidebar_group_sends WHERE tenant_id = $1 AND user_id = $2 AND group_id = $3")
            .bind(tenant.0).bind(user.0).bind(group.0).fetch_one(p).await)?;
        Ok(row.0)
    }
}
