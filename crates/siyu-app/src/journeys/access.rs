//! What the API and console ask of journeys, checked against the actor's permissions and data scope.

use chrono::{DateTime, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, JourneyId};
use siyu_domain::journey::JourneyGraph;

use crate::App;
use crate::error::{AppError, AppResult};

/// A journey to create: its name and graph (published at once as version 1).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJourney {
    pub name: String,
    pub graph: JourneyGraph,
}

/// A journey as the API lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub id: JourneyId,
    pub name: String,
    /// `draft`, `live`, `paused` or `archived`.
    pub status: String,
    pub live_version: Option<i64>,
}

/// One message the sandbox channel recorded.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SandboxMessage {
    pub channel: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl App {
    /// Creates and publishes a journey (`journeys_manage`); audited.
    pub async fn create_journey_as(&self, actor: &crate::Actor, input: NewJourney) -> AppResult<JourneyView> {
        actor.require(siyu_domain::access::Permission::JourneysManage)?;
        let id = self.create_journey(actor.tenant, &input.name, &input.graph, Some(actor.user)).await?;
        let ev = crate::audit::AuditEvent {
            action: "journey.publish",
            object_type: "journey",
            object_id: Some(id.to_string()),
            detail: json!({"name": input.name, "version": 1, "nodes": input.graph.nodes.len()}),
        };
        self.audit(actor, ev).await;
        let list = self.list_journeys(actor).await?;
        list.into_iter().find(|j| j.id == id).ok_or(AppError::NotFound)
    }

    pub async fn list_journeys(&self, actor: &crate::Actor) -> AppResult<Vec<JourneyView>> {
        actor.require(siyu_domain::access::Permission::CustomersRead)?;
        let rows = self.store.journeys().list(actor.tenant).await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, status, live_version)| JourneyView { id, name, status, live_version })
            .collect())
    }

    /// Enrols a customer the actor may see by hand (`journeys_manage`); `None` when the re-entry rule or a
    /// live run keeps them out.
    pub async fn enrol_customer(
        &self,
        actor: &crate::Actor,
        journey: JourneyId,
        customer: CustomerId,
    ) -> AppResult<Option<i64>> {
        actor.require(siyu_domain::access::Permission::JourneysManage)?;
        self.ensure_visible(actor, customer).await?;
        if self.store.privacy().erased_at(actor.tenant, customer).await?.is_some() {
            return Err(AppError::CustomerErased);
        }
        self.enrol_in_journey(actor.tenant, journey, customer).await
    }

    /// What the sandbox channel recorded for a customer, oldest first.
    pub async fn sandbox_messages(&self, actor: &crate::Actor, customer: CustomerId) -> AppResult<Vec<SandboxMessage>> {
        actor.require(siyu_domain::access::Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.journeys().sandbox_of(actor.tenant, customer).await?;
        Ok(rows.into_iter().map(|(channel, body, at)| SandboxMessage { channel, body, at }).collect())
    }
}
