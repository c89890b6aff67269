//! Follows, notes and the timeline of a customer.

use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::customer::{Follow, Note};
use siyu_domain::id::{CustomerId, NoteId, UserId};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_domain::text;
use siyu_domain::timeline::{TimelineEntry, kinds};

use super::{entry, source_of};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

impl App {
    pub async fn add_follow(
        &self,
        actor: &Actor,
        customer: CustomerId,
        user: UserId,
        remark: Option<&str>,
        state: Option<&str>,
    ) -> AppResult<Follow> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        self.store.members().get(actor.tenant, user).await.map_err(|_| AppError::invalid("user_id", "unknown_user"))?;
        let f = Follow {
            customer_id: customer,
            user_id: user,
            remark: text::optional("remark", remark, 64)?,
            description: None,
            add_way: "manual".into(),
            state: text::optional("state", state, 64)?,
            added_at: self.now(),
        };
        self.store.follows().upsert(actor.tenant, &f).await?;
        let e = entry(customer, actor, source_of(actor), kinds::FOLLOW_ADDED, f.added_at, json!({"user_id": user}));
        self.store.timeline().append(actor.tenant, &e).await?;
        self.after_customer_change(actor.tenant, customer).await;
        Ok(f)
    }

    pub async fn remove_follow(&self, actor: &Actor, customer: CustomerId, user: UserId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        self.store.follows().delete(actor.tenant, customer, user).await?;
        let e = entry(customer, actor, source_of(actor), kinds::FOLLOW_REMOVED, self.now(), json!({"user_id": user}));
        self.store.timeline().append(actor.tenant, &e).await?;
        self.after_customer_change(actor.tenant, customer).await;
        Ok(())
    }

    pub async fn add_note(&self, actor: &Actor, customer: CustomerId, body: &str) -> AppResult<Note> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        let note = Note {
            id: NoteId::new(),
            customer_id: customer,
            author_id: actor.user,
            body: text::required("body", body, 2000)?,
            created_at: self.now(),
        };
        self.store.notes().insert(actor.tenant, &note).await?;
        let preview: String = note.body.chars().take(80).collect();
        let e = entry(
            customer,
            actor,
            source_of(actor),
            kinds::NOTE_ADDED,
            note.created_at,
            json!({"note_id": note.id, "preview": preview}),
        );
        self.store.timeline().append(actor.tenant, &e).await?;
        Ok(note)
    }

    pub async fn delete_note(&self, actor: &Actor, customer: CustomerId, note: NoteId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        self.store.notes().delete(actor.tenant, customer, note).await?;
        Ok(())
    }

    pub async fn notes(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Note>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.notes().of_customer(actor.tenant, customer).await?)
    }

    pub async fn follows(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Follow>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.follows().of_customer(actor.tenant, customer).await?)
    }

    pub async fn timeline(
        &self,
        actor: &Actor,
        customer: CustomerId,
        page: PageRequest,
    ) -> AppResult<Page<TimelineEntry>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.timeline().of_customer(actor.tenant, customer, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |e: &TimelineEntry| Cursor { at: e.occurred_at, id: e.id.0 }))
    }

    /// Appends a timeline entry written by another capability (and marks the customer active).
    pub async fn record_event(&self, actor: &Actor, e: &TimelineEntry) -> AppResult<()> {
        self.store.timeline().append(actor.tenant, e).await?;
        self.store.customers().touch_active(actor.tenant, e.customer_id, e.occurred_at).await?;
        Ok(())
    }
}
