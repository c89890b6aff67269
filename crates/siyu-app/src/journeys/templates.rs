//! Journey templates: the standard plays of private-domain operations (the seeds' SOPs) as ready graphs,
//! each a JSON file in `templates/` with a Chinese name, a summary and realistic messages. Creating from a
//! template publishes it like any journey (checked against the tenant, problems on their nodes).

use serde::{Deserialize, Serialize};
use siyu_domain::journey::JourneyGraph;

use super::{JourneyView, NewJourney};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// (key, file) of every template, in the order the console offers them.
const FILES: [(&str, &str); 5] = [
    ("new_customer_nurture", include_str!("templates/new_customer_nurture.json")),
    ("not_purchased_followup", include_str!("templates/not_purchased_followup.json")),
    ("silent_activation", include_str!("templates/silent_activation.json")),
    ("post_purchase_care", include_str!("templates/post_purchase_care.json")),
    ("live_stream", include_str!("templates/live_stream.json")),
];

/// A template as a file holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    summary: String,
    graph: JourneyGraph,
}

/// A journey template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JourneyTemplate {
    pub key: String,
    pub name: String,
    pub summary: String,
    pub graph: JourneyGraph,
}

fn parse(key: &str, text: &str) -> AppResult<JourneyTemplate> {
    let f: TemplateFile = serde_json::from_str(text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("journey template {key} does not parse: {e}")))?;
    Ok(JourneyTemplate { key: key.to_string(), name: f.name, summary: f.summary, graph: f.graph })
}

/// Every template.
pub fn journey_templates() -> AppResult<Vec<JourneyTemplate>> {
    FILES.iter().map(|(k, t)| parse(k, t)).collect()
}

/// One template by key.
pub fn journey_template(key: &str) -> AppResult<JourneyTemplate> {
    let (k, t) = FILES.iter().find(|(k, _)| *k == key).ok_or(AppError::NotFound)?;
    parse(k, t)
}

impl App {
    /// Creates and publishes a journey from a template (`journeys_manage`), named `name` or the template's
    /// name; audited like any publish.
    pub async fn create_journey_from_template(
        &self,
        actor: &Actor,
        key: &str,
        name: Option<String>,
    ) -> AppResult<JourneyView> {
        actor.require(siyu_domain::access::Permission::JourneysManage)?;
        let t = journey_template(key)?;
        let name = name.filter(|n| !n.trim().is_empty()).unwrap_or(t.name);
        self.create_journey_as(actor, NewJourney { name, graph: t.graph }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_with_unique_node_ids_a_goal_and_a_position_for_each_node() {
        let all = journey_templates().unwrap_or_default();
        assert_eq!(all.len(), FILES.len());
        for t in all {
            assert!(t.graph.goal.is_some(), "{}", t.key);
            let mut ids: Vec<&str> = t.graph.nodes.iter().map(|n| n.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), t.graph.nodes.len(), "{}", t.key);
            assert!(t.graph.nodes.iter().all(|n| n.x > 0 && n.y > 0), "{}", t.key);
        }
        assert!(matches!(journey_template("nope"), Err(AppError::NotFound)));
    }
}
