//! Editing live journeys (reference/journeys.md §6): publishing a new version (runs stay on theirs; new
//! entries take the new one), the explicit migration of waiting runs node by node with a dry run first,
//! and pausing (no new entries; runs drain) or archiving (runs end).

use std::collections::BTreeMap;

use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::JourneyId;
use siyu_domain::journey::JourneyGraph;
use siyu_domain::journey::migration::{NodeMove, plan};

use super::graph_errors;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A migration to preview or apply.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationInput {
    /// The version whose runs move.
    pub from_version: i64,
    /// Old node → new node; runs at unmapped nodes stay on their version.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Restart every moved run at its new node now (runs whose kind of node changes always restart).
    #[serde(default)]
    pub restart: bool,
    /// Only count, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a migration moves (or would move).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MigrationPlan {
    pub from_version: i64,
    pub to_version: i64,
    pub moves: Vec<NodeMove>,
    /// Runs moved (0 on a dry run).
    pub moved: u64,
}

/// A new status for a journey.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `live`, `paused` (no new entries; runs go on) or `archived` (runs end).
    pub status: String,
}

impl App {
    /// Publishes a new version of a journey (`journeys_manage`); returns it. Waiting runs stay on theirs.
    pub async fn publish_journey_version(&self, actor: &Actor, id: JourneyId, g: &JourneyGraph) -> AppResult<i64> {
        actor.require(Permission::JourneysManage)?;
        self.store.journeys().status(actor.tenant, id).await?;
        self.check_journey(actor.tenant, g).await?;
        let version = self.store.journeys().publish(actor.tenant, id, g, Some(actor.user), self.now()).await?;
        self.after_publish(actor.tenant, id, g).await?;
        let detail = json!({"version": version, "nodes": g.nodes.len()});
        self.audit(actor, audit_event("journey.publish", id, detail)).await;
        Ok(version)
    }

    /// Plans, and unless it is a dry run applies, moving the runs of an older version to the live one.
    pub async fn migrate_journey(
        &self,
        actor: &Actor,
        id: JourneyId,
        input: MigrationInput,
    ) -> AppResult<MigrationPlan> {
        actor.require(Permission::JourneysManage)?;
        let journeys = self.store.journeys();
        let (_, live) = journeys.status(actor.tenant, id).await?;
        let to = live.ok_or(AppError::NotFound)?;
        if input.from_version >= to {
            return Err(AppError::invalid("from_version", "not_an_older_version"));
        }
        let old = journeys.version(actor.tenant, id, input.from_version).await?;
        let new = journeys.version(actor.tenant, id, to).await?;
        let runs: Vec<(String, i64)> = journeys
            .live_by_node(actor.tenant, id)
            .await?
            .into_iter()
            .filter(|(v, _, _)| *v == input.from_version)
            .map(|(_, node, n)| (node, n))
            .collect();
        let moves = plan(&old, &new, &input.map, &runs, input.restart).map_err(|e| graph_errors(&old, e))?;
        let mut moved = 0;
        if !input.dry_run {
            let now = self.now();
            for m in &moves {
                if let Some(target) = &m.to_node {
                    moved += journeys
                        .migrate(actor.tenant, id, (input.from_version, &m.from_node), (to, target), m.restart, now)
                        .await?;
                }
            }
            let detail = json!({"from": input.from_version, "to": to, "map": input.map, "moved": moved});
            self.audit(actor, audit_event("journey.migrate", id, detail)).await;
        }
        Ok(MigrationPlan { from_version: input.from_version, to_version: to, moves, moved })
    }

    /// The runs in progress per (version, node) of a journey the actor may read.
    pub async fn journey_runs(&self, actor: &Actor, id: JourneyId) -> AppResult<Vec<(i64, String, i64)>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.journeys().live_by_node(actor.tenant, id).await?)
    }

    /// Pauses, resumes or archives a journey (`journeys_manage`); returns how many runs archiving ended.
    pub async fn set_journey_status(&self, actor: &Actor, id: JourneyId, status: &str) -> AppResult<u64> {
        actor.require(Permission::JourneysManage)?;
        self.store.journeys().status(actor.tenant, id).await?;
        if !["live", "paused", "archived"].contains(&status) {
            return Err(AppError::invalid("status", "unknown_status"));
        }
        let ended = self.store.journeys().set_status(actor.tenant, id, status, self.now()).await?;
        self.refresh_listened_events(actor.tenant).await?;
        self.audit(actor, audit_event("journey.status", id, json!({"status": status, "ended": ended}))).await;
        Ok(ended)
    }
}

fn audit_event(action: &'static str, id: JourneyId, detail: serde_json::Value) -> crate::audit::AuditEvent<'static> {
    crate::audit::AuditEvent { action, object_type: "journey", object_id: Some(id.to_string()), detail }
}
