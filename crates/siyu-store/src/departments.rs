//! Departments: a tree per tenant, used for data scopes.

use chrono::{DateTime, Utc};
use siyu_domain::id::{DepartmentId, TenantId};
use siyu_domain::tenancy::Department;
use uuid::Uuid;

use crate::{Store, StoreError, exec, on_pool};

pub struct Departments<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct DepartmentRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<DepartmentRow> for Department {
    fn from(r: DepartmentRow) -> Self {
        Department {
            id: DepartmentId(r.id),
            parent_id: r.parent_id.map(DepartmentId),
            name: r.name,
            created_at: r.created_at,
        }
    }
}

impl Store {
    pub fn departments(&self) -> Departments<'_> {
        Departments(self)
    }
}

impl Departments<'_> {
    pub async fn insert(&self, tenant: TenantId, d: &Department) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO departments (tenant_id, id, parent_id, name, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant.0).bind(d.id.0).bind(d.parent_id.map(|x| x.0)).bind(&d.name).bind(d.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Department>, StoreError> {
        let rows: Vec<DepartmentRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, parent_id, name, created_at FROM departments WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn update(&self, tenant: TenantId, d: &Department) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE departments SET parent_id = $3, name = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(d.id.0).bind(d.parent_id.map(|x| x.0)).bind(&d.name)
            .execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes an empty department (no members, no children); `Conflict` otherwise.
    pub async fn delete(&self, tenant: TenantId, id: DepartmentId) -> Result<(), StoreError> {
        let busy: (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND department_id = $2) \
                  + (SELECT COUNT(*) FROM departments WHERE tenant_id = $1 AND parent_id = $2)")
            .bind(tenant.0).bind(id.0).fetch_one(p).await)?;
        if busy.0 > 0 {
            return Err(StoreError::Conflict("department_not_empty".into()));
        }
        let done = exec!(self.0, p => sqlx::query("DELETE FROM departments WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
