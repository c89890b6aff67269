//! Notes on customers.

use chrono::{DateTime, Utc};
use siyu_domain::customer::Note;
use siyu_domain::id::{CustomerId, NoteId, TenantId, UserId};
use uuid::Uuid;

use crate::{Store, StoreError, exec, on_pool};

pub struct Notes<'a>(pub(crate) &'a Store);

crate::reader::read_row! {
    #[derive(sqlx::FromRow)]
    struct NoteRow {
        id: Uuid,
        customer_id: Uuid,
        author_id: Uuid,
        body: String,
        created_at: DateTime<Utc>,
    }
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Self {
        Note {
            id: NoteId(r.id),
            customer_id: CustomerId(r.customer_id),
            author_id: UserId(r.author_id),
            body: r.body,
            created_at: r.created_at,
        }
    }
}

crate::reader::read_row! {
    /// A note with its author's display name (empty if no longer a member).
    #[derive(sqlx::FromRow)]
    pub(crate) struct NamedNote {
        #[sqlx(flatten)]
        note: NoteRow,
        author_name: Option<String>,
    }
}

impl From<NamedNote> for (Note, String) {
    fn from(r: NamedNote) -> Self {
        (r.note.into(), r.author_name.unwrap_or_default())
    }
}

/// A customer's notes, newest first, with their authors' names.
pub(crate) fn named_sql(tenant: TenantId, customer: CustomerId) -> crate::sql::Sql {
    crate::sql::Sql::with(
        "SELECT n.id, n.customer_id, n.author_id, n.body, n.created_at, a.display_name AS author_name \
         FROM notes n LEFT JOIN members m ON m.tenant_id = n.tenant_id AND m.user_id = n.author_id \
         LEFT JOIN accounts a ON a.user_id = m.user_id \
         WHERE n.tenant_id = $1 AND n.customer_id = $2 ORDER BY n.created_at DESC, n.id DESC",
        vec![crate::sql::Arg::Uuid(tenant.0), crate::sql::Arg::Uuid(customer.0)],
    )
}

impl Store {
    pub fn notes(&self) -> Notes<'_> {
        Notes(self)
    }
}

impl Notes<'_> {
    pub async fn insert(&self, tenant: TenantId, n: &Note) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO notes (tenant_id, id, customer_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tenant.0).bind(n.id.0).bind(n.customer_id.0).bind(n.author_id.0).bind(&n.body).bind(n.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Note>, StoreError> {
        let rows: Vec<NoteRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, customer_id, author_id, body, created_at FROM notes WHERE tenant_id = $1 AND customer_id = $2 \
             ORDER BY created_at DESC, id DESC")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The customer's notes, newest first, with each author's display name (empty if no longer a member).
    pub async fn of_customer_named(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<(Note, String)>, StoreError> {
        let rows: Vec<NamedNote> = self.0.read_all(named_sql(tenant, customer)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn delete(&self, tenant: TenantId, customer: CustomerId, id: NoteId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM notes WHERE tenant_id = $1 AND customer_id = $2 AND id = $3")
            .bind(tenant.0).bind(customer.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
