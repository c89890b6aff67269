//! Accounts (people who log in; platform-wide) and members (an account inside one tenant).

use chrono::{DateTime, Utc};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{DepartmentId, TenantId, UserId};
use siyu_domain::tenancy::{Account, Member};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Store, StoreError, exec, on_pool};

pub struct Accounts<'a>(pub(crate) &'a Store);
pub struct Members<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: Uuid,
    username: String,
    display_name: String,
    platform_admin: bool,
    locale: String,
    status: String,
    created_at: DateTime<Utc>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: UserId(r.user_id),
            username: r.username,
            display_name: r.display_name,
            platform_admin: r.platform_admin,
            locale: r.locale,
            active: r.status == "active",
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    tenant_id: Uuid,
    user_id: Uuid,
    username: String,
    display_name: String,
    role: String,
    scope: String,
    department_id: Option<Uuid>,
    status: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            tenant_id: TenantId(r.tenant_id),
            user_id: UserId(r.user_id),
            username: r.username,
            display_name: r.display_name,
            role: Role::parse(&r.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", r.role)))?,
            scope: DataScope::parse(&r.scope).ok_or_else(|| StoreError::Corrupt(format!("scope {}", r.scope)))?,
            department_id: r.department_id.map(DepartmentId),
            active: r.status == "active",
            created_at: r.created_at,
        })
    }
}

const ACCOUNT_COLUMNS: &str = "user_id, username, display_name, platform_admin, locale, status, created_at";
const MEMBER_SELECT: &str = "SELECT m.tenant_id, m.user_id, a.username, a.display_name, m.role, m.scope, \
     m.department_id, m.status, m.created_at FROM members m JOIN accounts a ON a.user_id = m.user_id";

fn status(active: bool) -> &'static str {
    if active { "active" } else { "disabled" }
}

impl Store {
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts(self)
    }
    pub fn members(&self) -> Members<'_> {
        Members(self)
    }
}

impl Accounts<'_> {
    pub async fn insert(&self, a: &Account, password_hash: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO accounts (user_id, username, password_hash, display_name, platform_admin, locale, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(a.id.0).bind(&a.username).bind(password_hash).bind(&a.display_name).bind(a.platform_admin)
            .bind(&a.locale).bind(status(a.active)).bind(a.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, id: UserId) -> Result<Account, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1");
        let row: Option<AccountRow> =
            on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.into())
    }

    /// The account and its password hash, for login.
    pub async fn by_username(&self, username: &str) -> Result<Option<(Account, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            account: AccountRow,
            password_hash: String,
        }
        let sql = format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE username = $1");
        let row: Option<Row> =
            on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(p).await)?;
        Ok(row.map(|r| (r.account.into(), r.password_hash)))
    }

    pub async fn set_password(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("UPDATE accounts SET password_hash = $2 WHERE user_id = $1")
            .bind(id.0).bind(password_hash).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn set_locale(&self, id: UserId, locale: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE accounts SET locale = $2 WHERE user_id = $1")
            .bind(id.0).bind(locale).execute(p).await)?;
        Ok(())
    }

    pub async fn set_display_name(&self, id: UserId, name: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE accounts SET display_name = $2 WHERE user_id = $1")
            .bind(id.0).bind(name).execute(p).await)?;
        Ok(())
    }
}

impl Members<'_> {
    pub async fn insert(&self, m: &Member) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO members (tenant_id, user_id, role, scope, department_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(m.tenant_id.0).bind(m.user_id.0).bind(m.role.as_str()).bind(m.scope.as_str())
            .bind(m.department_id.map(|d| d.0)).bind(status(m.active)).bind(m.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, tenant: TenantId, user: UserId) -> Result<Member, StoreError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2");
        let row: Option<MemberRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(user.0).fetch_optional(p).await)?;
        row.found()?.try_into()
    }

    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Member>, StoreError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 ORDER BY a.display_name, m.user_id");
        let rows: Vec<MemberRow> =
            on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every tenant an account belongs to (for the tenant switcher).
    pub async fn of_account(&self, user: UserId) -> Result<Vec<Member>, StoreError> {
        let sql = format!("{MEMBER_SELECT} WHERE m.user_id = $1 ORDER BY m.created_at");
        let rows: Vec<MemberRow> =
            on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn update(&self, m: &Member) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE members SET role = $3, scope = $4, department_id = $5, status = $6 WHERE tenant_id = $1 AND user_id = $2")
            .bind(m.tenant_id.0).bind(m.user_id.0).bind(m.role.as_str()).bind(m.scope.as_str())
            .bind(m.department_id.map(|d| d.0)).bind(status(m.active))
            .execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Members in any of the given departments.
    pub async fn in_departments(&self, tenant: TenantId, depts: &[DepartmentId]) -> Result<Vec<UserId>, StoreError> {
        let mut sql = crate::sql::Sql::new("SELECT user_id FROM members WHERE tenant_id = ");
        sql.bind(crate::sql::Arg::Uuid(tenant.0)).push(" AND department_id IN ").bind_list(depts.iter().map(|d| d.0));
        if depts.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => crate::sql::dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| UserId(r.0)).collect())
    }
}
