//! Custom profile field definitions. Values live in `customers.custom`, keyed by field key.

use chrono::{DateTime, Utc};
use siyu_domain::field::{FieldDef, FieldKind};
use siyu_domain::id::{FieldId, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Store, StoreError, exec, on_pool};

pub struct Fields<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct FieldRow {
    id: Uuid,
    key: String,
    label: String,
    kind: String,
    options: Json<Vec<String>>,
    sort: i64,
}

impl TryFrom<FieldRow> for FieldDef {
    type Error = StoreError;
    fn try_from(r: FieldRow) -> Result<Self, StoreError> {
        Ok(FieldDef {
            id: FieldId(r.id),
            key: r.key,
            label: r.label,
            kind: FieldKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("field kind {}", r.kind)))?,
            options: r.options.0,
            sort: r.sort,
        })
    }
}

impl Store {
    pub fn fields(&self) -> Fields<'_> {
        Fields(self)
    }
}

impl Fields<'_> {
    pub async fn insert(&self, tenant: TenantId, f: &FieldDef, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO fields (tenant_id, id, key, label, kind, options, sort, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(tenant.0).bind(f.id.0).bind(&f.key).bind(&f.label).bind(f.kind.as_str()).bind(Json(&f.options))
            .bind(f.sort).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    /// Updates label, options and sort (key and kind are fixed once values exist).
    pub async fn update(&self, tenant: TenantId, f: &FieldDef) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE fields SET label = $3, options = $4, sort = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(f.id.0).bind(&f.label).bind(Json(&f.options)).bind(f.sort).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn delete(&self, tenant: TenantId, id: FieldId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM fields WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn list(&self, tenant: TenantId) -> Result<Vec<FieldDef>, StoreError> {
        let rows: Vec<FieldRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, key, label, kind, options, sort FROM fields WHERE tenant_id = $1 ORDER BY sort, created_at, id")
            .bind(tenant.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn get(&self, tenant: TenantId, id: FieldId) -> Result<FieldDef, StoreError> {
        let row: Option<FieldRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, key, label, kind, options, sort FROM fields WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.found()?.try_into()
    }
}
