//! Importing customers: the dry-run preview and the real import share one row-by-row procedure, so the
//! preview reports exactly the errors the import will.
//!
//! Row policy:
//! - a row whose identities (phone, email, unionid, openid, external_userid) belong to no customer creates
//!   one (`App::create_customer_from(.., "import")`: customer, identities, tags and timeline in one
//!   transaction);
//! - a row whose identities belong to exactly one existing customer **updates** it: non-empty cells
//!   overwrite name, gender, remark and custom fields, empty cells leave them alone, tags are added (never
//!   removed, except a sibling in an exclusive group), identities the customer lacks are added; all in one
//!   transaction. Re-importing a file therefore creates no duplicates (its rows come back `unchanged`);
//! - identities belonging to two different customers, or to a customer outside the actor's data scope,
//!   fail the row; so does an identity already used by an earlier row of the same file;
//! - a row without any identity always creates a new customer;
//! - any error fails only its row: good rows are imported, each bad row is reported with its row number.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, json};
use siyu_domain::access::Permission;
use siyu_domain::field::FieldDef;
use siyu_domain::id::{CustomerId, TagId};
use siyu_domain::identity::{IdentityKind, NewIdentity};

use super::mapping::{ColumnMapping, Target};
use super::rows::{RowError, RowInput, parse_row};
use super::table::Table;
use super::tags::TagCatalog;
use super::{ImportPreview, ImportProgress, ImportReport, MAX_REPORTED_ERRORS, RowAction, SampleRow};
use crate::audit::AuditEvent;
use crate::crypto::TenantKeys;
use crate::customers::{IdentityInput, NewCustomerInput};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Rows resolved against the database at once.
const CHUNK: usize = 500;
const SAMPLE_ROWS: usize = 20;

/// (kind, namespace, lookup): how the store finds an identity.
type IdKey = (IdentityKind, String, String);

/// What a valid row will do.
pub(super) enum Plan {
    Create { input: RowInput, tags: Vec<TagId> },
    Update { customer: CustomerId, input: RowInput, tags: Vec<TagId>, new_identities: Vec<NewIdentity> },
}

pub(super) enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// One pass over a file, shared by preview and import.
pub(super) struct Pass<'a> {
    pub app: &'a App,
    pub actor: &'a Actor,
    pub table: &'a Table,
    pub mapping: ColumnMapping,
    pub fields: Vec<FieldDef>,
    pub catalog: TagCatalog,
    keys: Arc<TenantKeys>,
    /// Identities claimed by earlier valid rows of this file, with their row number.
    seen: HashMap<IdKey, u32>,
    visible: HashMap<CustomerId, bool>,
    pub errors: Vec<RowError>,
    pub errors_omitted: usize,
}

impl<'a> Pass<'a> {
    pub async fn new(
        app: &'a App,
        actor: &'a Actor,
        table: &'a Table,
        mapping: &ColumnMapping,
        dry_run: bool,
    ) -> AppResult<Self> {
        actor.require(Permission::CustomersImport)?;
        let fields = app.store.fields().list(actor.tenant).await?;
        let mut mapping = mapping.clone();
        mapping.validate(table.width(), &fields)?;
        mapping.columns.resize(table.width(), Target::Ignore);
        Ok(Self {
            app,
            actor,
            table,
            mapping,
            fields,
            catalog: TagCatalog::load(app, actor, dry_run).await?,
            keys: app.vault.keys(&app.store, actor.tenant).await?,
            seen: HashMap::new(),
            visible: HashMap::new(),
            errors: Vec::new(),
            errors_omitted: 0,
        })
    }

    fn key(&self, id: &NewIdentity) -> IdKey {
        let lookup = if id.kind.is_pii() { self.keys.blind_index(id.kind, &id.value) } else { id.value.clone() };
        (id.kind, id.namespace.clone(), lookup)
    }

    pub fn report(&mut self, mut errors: Vec<RowError>) {
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        if errors.len() > room {
            self.errors_omitted += errors.len() - room;
            errors.truncate(room);
        }
        self.errors.extend(errors);
    }

    /// Parses a chunk and finds which existing customers its identities belong to.
    pub async fn load_chunk(
        &self,
        rows: &[super::table::TableRow],
    ) -> AppResult<(Vec<Result<RowInput, Vec<RowError>>>, HashMap<IdKey, CustomerId>)> {
        let parsed: Vec<_> = rows.iter().map(|r| parse_row(self.table, r, &self.mapping, &self.fields)).collect();
        let mut wanted: HashMap<(IdentityKind, String), Vec<String>> = HashMap::new();
        for input in parsed.iter().flatten() {
            for (_, id) in &input.identities {
                let (kind, ns, lookup) = self.key(id);
                wanted.entry((kind, ns)).or_default().push(lookup);
            }
        }
        let mut existing = HashMap::new();
        for ((kind, ns), lookups) in wanted {
            for (lookup, customer) in
                self.app.store.identities().resolve_many(self.actor.tenant, kind, &ns, &lookups).await?
            {
                existing.insert((kind, ns.clone(), lookup), customer);
            }
        }
        Ok((parsed, existing))
    }

    /// Decides what a parsed row does, or why it cannot be imported.
    pub async fn plan(
        &mut self,
        input: RowInput,
        existing: &HashMap<IdKey, CustomerId>,
    ) -> Result<Plan, Vec<RowError>> {
        let line = input.line;
        let col_err = |col: Option<usize>, e: AppError| RowError::new(line, col.map(|c| self.table.column_name(c)), &e);
        let mut errors = Vec::new();
        let mut matched: Vec<(usize, CustomerId)> = Vec::new();
        let mut new_identities = Vec::new();
        for (col, id) in &input.identities {
            let key = self.key(id);
            if let Some(first) = self.seen.get(&key) {
                let e = AppError::invalid(id.kind.as_str(), format!("duplicate_in_file (same as row {first})"));
                errors.push(RowError { code: "duplicate_identity".into(), ..col_err(Some(*col), e) });
                continue;
            }
            match existing.get(&key) {
                Some(c) => matched.push((*col, *c)),
                None => new_identities.push(id.clone()),
            }
        }
        let mut customers: Vec<CustomerId> = Vec::new();
        for (_, c) in &matched {
            if !customers.contains(c) {
                customers.push(*c);
            }
        }
        let target = match customers.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => {
                let e = AppError::Conflict("these identities belong to different existing customers".into());
                errors.push(col_err(None, e));
                None
            }
        };
        if let Some(c) = target {
            let visible = match self.visible.get(&c) {
                Some(v) => *v,
                None => {
                    let v = self.app.store.customers().is_visible(self.actor.tenant, c, &self.actor.visibility).await;
                    let v = v.map_err(|e| vec![col_err(None, e.into())])?;
                    self.visible.insert(c, v);
                    v
                }
            };
            if !visible {
                let e = AppError::invalid("identity", "belongs_to_a_customer_outside_your_data_scope");
                errors.push(RowError { code: "duplicate_identity".into(), ..col_err(matched.first().map(|m| m.0), e) });
            }
        }
        if customers.is_empty() && input.name.is_none() {
            errors.push(col_err(self.mapping.column_of(&Target::Name), AppError::invalid("name", "required")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let tags = self.resolve_tags(&input).await?;
        for (_, id) in &input.identities {
            self.seen.insert(self.key(id), line);
        }
        Ok(match target {
            Some(customer) => Plan::Update { customer, input, tags, new_identities },
            None => Plan::Create { input, tags },
        })
    }

    /// Tag ids for a row's tag names (missing ones are created), at most one per exclusive group.
    async fn resolve_tags(&mut self, input: &RowInput) -> Result<Vec<TagId>, Vec<RowError>> {
        let mut ids: Vec<TagId> = Vec::new();
        let mut errors = Vec::new();
        for (col, name) in &input.tags {
            let err = |e: AppError| RowError::new(input.line, Some(self.table.column_name(*col)), &e);
            match self.catalog.resolve(self.app, self.actor, name).await {
                Ok(id) if ids.contains(&id) => {}
                Ok(id) => {
                    let group = self.catalog.group_of(id).cloned();
                    let clash = group.as_ref().is_some_and(|g| {
                        g.exclusive && ids.iter().any(|t| self.catalog.group_of(*t).is_some_and(|o| o.id == g.id))
                    });
                    if let (true, Some(g)) = (clash, group) {
                        errors
                            .push(err(AppError::invalid("tags", format!("one_tag_per_exclusive_group ({})", g.name))));
                    } else {
                        ids.push(id);
                    }
                }
                Err(e) => errors.push(err(e)),
            }
        }
        if errors.is_empty() { Ok(ids) } else { Err(errors) }
    }

    /// Plans and writes one parsed row (the import's step for each row).
    pub async fn import_row(
        &mut self,
        parsed: Result<RowInput, Vec<RowError>>,
        existing: &HashMap<IdKey, CustomerId>,
    ) -> Result<Outcome, Vec<RowError>> {
        match parsed {
            Ok(input) => {
                let plan = self.plan(input, existing).await?;
                self.apply(plan).await
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a planned row; an error leaves nothing of it behind.
    pub async fn apply(&self, plan: Plan) -> Result<Outcome, Vec<RowError>> {
        let (line, result) = match plan {
            Plan::Create { input, tags } => (input.line, self.create(input, tags).await),
            Plan::Update { customer, input, tags, new_identities } => (
                input.line,
                self.app.merge_imported(self.actor, customer, &input, &tags, &new_identities, &self.catalog).await,
            ),
        };
        result.map_err(|e| {
            let col = match e.field() {
                Some(f) if !matches!(e, AppError::DuplicateIdentity) => self.column_for_field(f),
                _ => None,
            };
            vec![RowError::new(line, col.map(|c| self.table.column_name(c)), &e)]
        })
    }

    fn column_for_field(&self, field: &str) -> Option<usize> {
        let target = match field {
            f if f.starts_with("custom.") => Target::Custom(f.trim_start_matches("custom.").to_string()),
            f => Target::parse(f)?,
        };
        self.mapping.column_of(&target)
    }

    async fn create(&self, input: RowInput, tags: Vec<TagId>) -> AppResult<Outcome> {
        let identities = input
            .identities
            .into_iter()
            .map(|(_, id)| IdentityInput {
                kind: id.kind,
                namespace: (!id.namespace.is_empty()).then_some(id.namespace),
                value: id.value,
            })
            .collect();
        let custom: Map<String, serde_json::Value> = input.custom.into_iter().map(|(_, k, v)| (k, v)).collect();
        let new = NewCustomerInput {
            name: input.name.unwrap_or_default(),
            gender: input.gender,
            remark: input.remark,
            identities,
            tags,
            custom,
            ..Default::default()
        };
        let c = self.app.create_customer_from(self.actor, new, "import").await?;
        self.app.mark_segments_dirty(self.actor.tenant, &[c.id]).await;
        Ok(Outcome::Created)
    }
}

fn sample(pass: &Pass<'_>, line: u32, plan: Option<&Plan>) -> SampleRow {
    let (action, input, tags) = match plan {
        Some(Plan::Create { input, tags }) => (RowAction::Create, Some(input), tags.as_slice()),
        Some(Plan::Update { input, tags, .. }) => (RowAction::Update, Some(input), tags.as_slice()),
        None => (RowAction::Error, None, &[][..]),
    };
    let shown = |kind: IdentityKind| {
        input.and_then(|i| i.identities.iter().find(|(_, id)| id.kind == kind)).map(|(_, id)| id.masked())
    };
    let tags = tags
        .iter()
        .filter_map(|t| Some(format!("{}:{}", pass.catalog.group_of(*t)?.name, pass.catalog.tag(*t)?.name)))
        .collect();
    SampleRow {
        row: line,
        action,
        name: input.and_then(|i| i.name.clone()),
        phone: shown(IdentityKind::Phone),
        email: shown(IdentityKind::Email),
        gender: input.and_then(|i| i.gender),
        tags,
        remark: input.and_then(|i| i.remark.clone()),
    }
}

impl App {
    /// Validates every row exactly as [`App::import_customers`] would, without writing anything.
    pub async fn preview_import(
        &self,
        actor: &Actor,
        table: &Table,
        mapping: &ColumnMapping,
    ) -> AppResult<ImportPreview> {
        let mut pass = Pass::new(self, actor, table, mapping, true).await?;
        let mut preview = ImportPreview { total_rows: table.rows.len(), ..Default::default() };
        for rows in table.rows.chunks(CHUNK) {
            let (parsed, existing) = pass.load_chunk(rows).await?;
            for (row, parsed) in rows.iter().zip(parsed) {
                let planned = match parsed {
                    Ok(input) => pass.plan(input, &existing).await,
                    Err(e) => Err(e),
                };
                let plan = match planned {
                    Ok(p) => Some(p),
                    Err(e) => {
                        pass.report(e);
                        None
                    }
                };
                match plan {
                    Some(Plan::Create { .. }) => preview.to_create += 1,
                    Some(Plan::Update { .. }) => preview.to_update += 1,
                    None => {}
                }
                if preview.sample.len() < SAMPLE_ROWS {
                    preview.sample.push(sample(&pass, row.line, plan.as_ref()));
                }
            }
        }
        preview.valid_rows = preview.to_create + preview.to_update;
        preview.new_tags = std::mem::take(&mut pass.catalog.created);
        preview.errors = pass.errors;
        preview.errors_omitted = pass.errors_omitted;
        Ok(preview)
    }

    /// Imports every good row (each in its own transaction) and reports every bad one. `progress` is called
    /// after each row.
    pub async fn import_customers(
        &self,
        actor: &Actor,
        table: &Table,
        mapping: &ColumnMapping,
        progress: &mut (dyn FnMut(&ImportProgress) + Send),
    ) -> AppResult<ImportReport> {
        let mut pass = Pass::new(self, actor, table, mapping, false).await?;
        let mut report = ImportReport { total_rows: table.rows.len(), ..Default::default() };
        let mut done = 0;
        for rows in table.rows.chunks(CHUNK) {
            let (parsed, existing) = pass.load_chunk(rows).await?;
            for parsed in parsed {
                let outcome = pass.import_row(parsed, &existing).await;
                report.count(outcome, &mut pass);
                done += 1;
                progress(&ImportProgress {
                    done,
                    total: report.total_rows,
                    created: report.created,
                    updated: report.updated,
                    unchanged: report.unchanged,
                    skipped: report.skipped,
                });
            }
        }
        report.new_tags = std::mem::take(&mut pass.catalog.created);
        report.errors = pass.errors;
        report.errors_omitted = pass.errors_omitted;
        self.imported(actor, table, &report).await;
        Ok(report)
    }

    /// Audits a finished import and counts its skipped rows.
    pub(super) async fn imported(&self, actor: &Actor, table: &Table, report: &ImportReport) {
        let detail = json!({"format": table.format, "rows": report.total_rows, "created": report.created,
            "updated": report.updated, "unchanged": report.unchanged, "skipped": report.skipped,
            "tags_created": report.new_tags.len()});
        self.audit(actor, AuditEvent { action: "customer.import", object_type: "customer", object_id: None, detail })
            .await;
        metrics::counter!("siyu_import_rows_total", "outcome" => "skipped").increment(report.skipped as u64);
    }
}

impl ImportReport {
    /// Adds one row's outcome (its errors go to the pass's capped list).
    pub(super) fn count(&mut self, outcome: Result<Outcome, Vec<RowError>>, pass: &mut Pass<'_>) {
        match outcome {
            Ok(Outcome::Created) => self.created += 1,
            Ok(Outcome::Updated) => self.updated += 1,
            Ok(Outcome::Unchanged) => self.unchanged += 1,
            Err(e) => {
                self.skipped += 1;
                pass.report(e);
            }
        }
    }
}
