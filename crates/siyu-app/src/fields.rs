//! Custom profile field definitions.

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::field::{self, FieldDef, FieldKind};
use siyu_domain::id::FieldId;
use siyu_domain::text;

use crate::audit::AuditEvent;
use crate::error::AppResult;
use crate::{Actor, App};

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub sort: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub sort: Option<i64>,
}

impl App {
    pub async fn fields(&self, actor: &Actor) -> AppResult<Vec<FieldDef>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.fields().list(actor.tenant).await?)
    }

    pub async fn create_field(&self, actor: &Actor, input: NewField) -> AppResult<FieldDef> {
        actor.require(Permission::FieldsManage)?;
        let def = FieldDef {
            id: FieldId::new(),
            key: field::parse_key(&input.key)?,
            label: text::required("label", &input.label, 32)?,
            kind: input.kind,
            options: field::parse_options(input.kind, &input.options)?,
            sort: input.sort,
        };
        self.store.fields().insert(actor.tenant, &def, self.now()).await?;
        let ev = AuditEvent {
            action: "field.create",
            object_type: "field",
            object_id: Some(def.id.to_string()),
            detail: json!({"key": def.key}),
        };
        self.audit(actor, ev).await;
        Ok(def)
    }

    pub async fn update_field(&self, actor: &Actor, id: FieldId, patch: FieldPatch) -> AppResult<FieldDef> {
        actor.require(Permission::FieldsManage)?;
        let mut def = self.store.fields().get(actor.tenant, id).await?;
        if let Some(l) = &patch.label {
            def.label = text::required("label", l, 32)?;
        }
        if let Some(o) = &patch.options {
            def.options = field::parse_options(def.kind, o)?;
        }
        def.sort = patch.sort.unwrap_or(def.sort);
        self.store.fields().update(actor.tenant, &def).await?;
        Ok(def)
    }

    pub async fn delete_field(&self, actor: &Actor, id: FieldId) -> AppResult<()> {
        actor.require(Permission::FieldsManage)?;
        let def = self.store.fields().get(actor.tenant, id).await?;
        self.store.fields().delete(actor.tenant, id).await?;
        let ev = AuditEvent {
            action: "field.delete",
            object_type: "field",
            object_id: Some(id.to_string()),
            detail: json!({"key": def.key}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }
}
