//! The identity graph's tables (cdp.md §2; rules in `siyu_domain::graph`): who holds an identifier, the
//! append-only edge log, merges and un-merges, merge suggestions, and the resolver's work queue (events not
//! yet resolved) with its per-tenant lease.

use chrono::{DateTime, Utc};
use siyu_domain::event::Strength;
use siyu_domain::graph::Key;
use siyu_domain::id::{CustomerId, EdgeId, EventId, IdentityId, SourceId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::source::SourceKind;
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{Store, StoreError, exec, in_tx, on_pool};

mod apply;
mod merges;
mod suggestions;
mod unmerge;

pub use apply::{Applied, MergePlan};
pub use merges::{MergeRecord, MovedRows};
pub use suggestions::SuggestionRecord;
pub use unmerge::UnmergePlan;

pub struct Graph<'a>(pub(crate) &'a Store);

impl Store {
    pub fn graph(&self) -> Graph<'_> {
        Graph(self)
    }
}

/// An identity the graph found for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub key: Key,
    pub identity: IdentityId,
    pub customer: CustomerId,
}

/// A customer as the resolution rules need it.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    pub id: CustomerId,
    pub created_at: DateTime<Utc>,
    /// Every identity held: (identity id, key, created_at).
    pub identities: Vec<(IdentityId, Key, DateTime<Utc>)>,
    pub merges: usize,
    /// Erased (PIPL): never merged, never given identities.
    pub erased: bool,
}

/// One edge of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRecord {
    pub id: EdgeId,
    pub a: IdentityId,
    pub b: IdentityId,
    pub strength: Strength,
    /// `event`, `order`, `console`, `api`, `import`.
    pub source: String,
    /// What observed it: `event:<id>`, `order:<id>`, `suggestion:<id>`.
    pub evidence: String,
    pub observed_at: DateTime<Utc>,
}

/// A consistency reading of a tenant's graph (`siyu admin graph-check`, property tests).
#[derive(Debug, Clone, Default)]
pub struct GraphCheck {
    /// Every identity: its key and holder.
    pub identities: Vec<(Key, CustomerId)>,
    /// Identities whose customer does not exist.
    pub orphan_identities: i64,
    /// Events attributed to a customer that does not exist.
    pub orphan_events: i64,
    /// Events resolved without a customer or not resolved yet.
    pub events_without_customer: i64,
    /// Rows of the edge log.
    pub edges: i64,
}

/// An event waiting for identity resolution.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub id: EventId,
    pub source_id: SourceId,
    pub source_kind: SourceKind,
    pub event_time: DateTime<Utc>,
    pub payload: serde_json::Value,
}

pub(crate) fn strength_str(s: Strength) -> &'static str {
    match s {
        Strength::Strong => "strong",
        Strength::Weak => "weak",
    }
}

/// `INSERT` of one edge (`$e: &EdgeRecord`), its ends in id order; a pair already linked is left as it is.
macro_rules! insert_edge {
    ($tenant:expr, $e:expr) => {{
        let e: &$crate::graph::EdgeRecord = $e;
        let (a, b) = if e.a.0 <= e.b.0 { (e.a, e.b) } else { (e.b, e.a) };
        sqlx::query(
            "INSERT INTO identity_edges (tenant_id, id, a_id, b_id, strength, source, evidence, observed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, a_id, b_id) DO NOTHING",
        )
        .bind($tenant.0)
        .bind(e.id.0)
        .bind(a.0)
        .bind(b.0)
        .bind($crate::graph::strength_str(e.strength))
        .bind(e.source.clone())
        .bind(e.evidence.clone())
        .bind(e.observed_at)
    }};
}
pub(crate) use insert_edge;

fn key_of(kind: &str, namespace: String, lookup: String) -> Result<Key, StoreError> {
    let kind = IdentityKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("identity kind {kind}")))?;
    Ok(Key { kind, namespace, lookup })
}

impl Graph<'_> {
    /// The identities holding any of `keys`.
    pub async fn holders(&self, tenant: TenantId, keys: &[Key]) -> Result<Vec<Held>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(300) {
            // The keys as a table joined to the unique index: one probe per key on both databases. (An OR of
            // the keys under one `tenant_id = …` made SQLite 3.51 read the tenant's whole identities index,
            // seconds per call at a million customers.)
            let mut sql = Sql::new("WITH k (kind, namespace, lookup) AS (VALUES ");
            for (i, k) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" }).bind(Arg::Text(k.kind.as_str().into())).push(", ");
                sql.bind(Arg::Text(k.namespace.clone())).push(", ").bind(Arg::Text(k.lookup.clone())).push(")");
            }
            sql.push(
                ") SELECT i.id, i.customer_id, i.kind, i.namespace, i.lookup FROM k JOIN identities i \
                 ON i.tenant_id = ",
            );
            sql.bind(Arg::Uuid(tenant.0))
                .push(" AND i.kind = k.kind AND i.namespace = k.namespace AND i.lookup = k.lookup");
            type Row = (Uuid, Uuid, String, String, String);
            let rows: Vec<Row> = on_pool!(self.0, p => dyn_query_as!(Row, sql).fetch_all(p).await)?;
            for (id, c, kind, ns, lookup) in rows {
                out.push(Held { key: key_of(&kind, ns, lookup)?, identity: IdentityId(id), customer: CustomerId(c) });
            }
        }
        Ok(out)
    }

    /// Attributes events whose identifiers all belong to one known customer (the resolver's fast path: no
    /// new identity, no merge) and records their observed-together links, in one transaction.
    pub async fn attribute(
        &self,
        tenant: TenantId,
        events: &[(EventId, CustomerId, IdentityId)],
        edges: &[EdgeRecord],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        in_tx!(self.0, tx => {
            for (event, customer, identity) in events {
                sqlx::query("UPDATE events SET customer_id = $3, identity_id = $4, resolved_at = $5 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0).bind(event.0).bind(customer.0).bind(identity.0).bind(at)
                    .execute(&mut *tx).await?;
            }
            for e in edges {
                insert_edge!(tenant, e).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The customers `ids` with every identity they hold and how many merges they absorbed.
    pub async fn people(&self, tenant: TenantId, ids: &[CustomerId]) -> Result<Vec<PersonRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = || ids.iter().map(|c| c.0);
        let mut sql = Sql::new("SELECT id, created_at, erased_at FROM customers WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND id IN ").bind_list(list());
        type CustomerRow = (Uuid, DateTime<Utc>, Option<DateTime<Utc>>);
        let customers: Vec<CustomerRow> = on_pool!(self.0, p => dyn_query_as!(CustomerRow, sql).fetch_all(p).await)?;
        let mut sql =
            Sql::new("SELECT customer_id, id, kind, namespace, lookup, created_at FROM identities WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN ").bind_list(list());
        type IdRow = (Uuid, Uuid, String, String, String, DateTime<Utc>);
        let identities: Vec<IdRow> = on_pool!(self.0, p => dyn_query_as!(IdRow, sql).fetch_all(p).await)?;
        let mut sql = Sql::new("SELECT survivor_id, COUNT(*) FROM identity_merges WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND survivor_id IN ").bind_list(list()).push(" GROUP BY survivor_id");
        let merges: Vec<(Uuid, i64)> = on_pool!(self.0, p => dyn_query_as!((Uuid, i64), sql).fetch_all(p).await)?;
        let mut out = Vec::new();
        for (id, created_at, erased_at) in customers {
            let mut held = Vec::new();
            for (_, iid, kind, ns, lookup, at) in identities.iter().filter(|r| r.0 == id) {
                held.push((IdentityId(*iid), key_of(kind, ns.clone(), lookup.clone())?, *at));
            }
            let merges = merges.iter().find(|m| m.0 == id).map_or(0, |m| m.1 as usize);
            let erased = erased_at.is_some();
            out.push(PersonRecord { id: CustomerId(id), created_at, identities: held, merges, erased });
        }
        Ok(out)
    }

    /// Customers holding a phone whose masked display is `display` (`138****1234`), at most `limit`.
    pub async fn masked_phone_holders(
        &self,
        tenant: TenantId,
        display: &str,
        limit: i64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        // The inner LIMIT keeps the subquery apart: a plain `SELECT DISTINCT customer_id` made SQLite 3.51 walk
        // the tenant's `identities_customer` index for the order DISTINCT wants (a second at a million customers).
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT customer_id FROM (SELECT customer_id FROM identities \
             WHERE tenant_id = $1 AND kind = 'phone' AND display = $2 LIMIT 10000) h LIMIT $3")
            .bind(tenant.0).bind(display).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// The edges among `identities` that were not retracted.
    pub async fn live_edges(&self, tenant: TenantId, identities: &[IdentityId]) -> Result<Vec<EdgeRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in identities.chunks(400) {
            let mut sql = Sql::new(
                "SELECT e.id, e.a_id, e.b_id, e.strength, e.source, e.evidence, e.observed_at FROM identity_edges e \
                 WHERE e.tenant_id = ",
            );
            sql.bind(Arg::Uuid(tenant.0)).push(" AND e.a_id IN ").bind_list(chunk.iter().map(|i| i.0));
            sql.push(" AND NOT EXISTS (SELECT 1 FROM identity_edge_retractions r WHERE r.tenant_id = e.tenant_id AND r.edge_id = e.id)");
            type Row = (Uuid, Uuid, Uuid, String, String, String, DateTime<Utc>);
            let rows: Vec<Row> = on_pool!(self.0, p => dyn_query_as!(Row, sql).fetch_all(p).await)?;
            for (id, a, b, strength, source, evidence, observed_at) in rows {
                let strength = if strength == "strong" { Strength::Strong } else { Strength::Weak };
                let (a, b) = (IdentityId(a), IdentityId(b));
                out.push(EdgeRecord { id: EdgeId(id), a, b, strength, source, evidence, observed_at });
            }
        }
        Ok(out)
    }

    /// Events not yet resolved, oldest first.
    pub async fn pending_events(&self, tenant: TenantId, limit: i64) -> Result<Vec<PendingEvent>, StoreError> {
        type Row = (Uuid, Uuid, String, DateTime<Utc>, Json<serde_json::Value>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT e.id, e.source_id, s.kind, e.event_time, e.payload FROM events e \
             JOIN event_sources s ON s.tenant_id = e.tenant_id AND s.id = e.source_id \
             WHERE e.tenant_id = $1 AND e.resolved_at IS NULL ORDER BY e.id LIMIT $2")
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(id, source, kind, event_time, payload)| {
                let source_kind =
                    SourceKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("source kind {kind}")))?;
                Ok(PendingEvent {
                    id: EventId(id),
                    source_id: SourceId(source),
                    source_kind,
                    event_time,
                    payload: payload.0,
                })
            })
            .collect()
    }

    /// Tenants with events waiting for resolution.
    pub async fn tenants_with_pending_events(&self, limit: i64) -> Result<Vec<TenantId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT tenant_id FROM events WHERE resolved_at IS NULL LIMIT $1").bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }

    /// Takes the tenant's resolver lease for `holder` until `until`; `false` while another holder has it.
    pub async fn lease(
        &self,
        tenant: TenantId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "INSERT INTO identity_resolver_leases (tenant_id, holder, locked_until) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET holder = excluded.holder, locked_until = excluded.locked_until \
             WHERE identity_resolver_leases.locked_until < $4 OR identity_resolver_leases.holder = excluded.holder")
            .bind(tenant.0).bind(holder).bind(until).bind(now).execute(p).await)?;
        Ok(n > 0)
    }

    pub async fn release(&self, tenant: TenantId, holder: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("DELETE FROM identity_resolver_leases WHERE tenant_id = $1 AND holder = $2")
            .bind(tenant.0).bind(holder).execute(p).await)?;
        Ok(())
    }

    /// Merges not undone, oldest first.
    pub async fn live_merges(&self, tenant: TenantId) -> Result<Vec<siyu_domain::id::MergeId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT m.id FROM identity_merges m WHERE m.tenant_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM identity_unmerges u WHERE u.tenant_id = m.tenant_id AND u.merge_id = m.id) ORDER BY m.at, m.id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| siyu_domain::id::MergeId(r.0)).collect())
    }

    /// Reads the whole graph of a tenant with its consistency counts.
    pub async fn check(&self, tenant: TenantId) -> Result<GraphCheck, StoreError> {
        let rows: Vec<(String, String, String, Uuid)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT kind, namespace, lookup, customer_id FROM identities WHERE tenant_id = $1")
            .bind(tenant.0).fetch_all(p).await)?;
        let counts: (i64, i64, i64, i64) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM identities i WHERE i.tenant_id = $1 AND NOT EXISTS \
               (SELECT 1 FROM customers c WHERE c.tenant_id = i.tenant_id AND c.id = i.customer_id)), \
             (SELECT COUNT(*) FROM events e WHERE e.tenant_id = $1 AND e.customer_id IS NOT NULL AND NOT EXISTS \
               (SELECT 1 FROM customers c WHERE c.tenant_id = e.tenant_id AND c.id = e.customer_id)), \
             (SELECT COUNT(*) FROM events e WHERE e.tenant_id = $1 AND e.customer_id IS NULL), \
             (SELECT COUNT(*) FROM identity_edges e WHERE e.tenant_id = $1)")
            .bind(tenant.0).fetch_one(p).await)?;
        let identities = rows
            .into_iter()
            .map(|(k, ns, l, c)| Ok((key_of(&k, ns, l)?, CustomerId(c))))
            .collect::<Result<_, StoreError>>()?;
        Ok(GraphCheck {
            identities,
            orphan_identities: counts.0,
            orphan_events: counts.1,
            events_without_customer: counts.2,
            edges: counts.3,
        })
    }

    /// Links the orders waiting for a buyer (no customer yet) that carry `key` among their buyer keys to
    /// `customer`; returns the orders linked.
    pub async fn attach_waiting_orders(
        &self,
        tenant: TenantId,
        key: &Key,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Vec<siyu_domain::id::OrderId>, StoreError> {
        const SQLITE: &str = "UPDATE orders SET customer_id = $2, match_method = $3, updated_at = $6 \
             WHERE tenant_id = $1 AND customer_id IS NULL AND EXISTS (SELECT 1 FROM json_each(orders.buyer_keys) j \
             WHERE json_extract(j.value, '$.kind') = $3 AND json_extract(j.value, '$.namespace') = $4 \
             AND json_extract(j.value, '$.lookup') = $5) RETURNING id";
        const POSTGRES: &str = "UPDATE orders SET customer_id = $2, match_method = $3, updated_at = $6 \
             WHERE tenant_id = $1 AND customer_id IS NULL \
             AND buyer_keys @> jsonb_build_array(jsonb_build_object('kind', $3::text, 'namespace', $4::text, 'lookup', $5::text)) \
             RETURNING id";
        let sql = match self.0.kind() {
            crate::BackendKind::Sqlite => SQLITE,
            crate::BackendKind::Postgres => POSTGRES,
        };
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(sql)
            .bind(tenant.0).bind(customer.0).bind(key.kind.as_str()).bind(&key.namespace).bind(&key.lookup).bind(at)
            .fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| siyu_domain::id::OrderId(r.0)).collect())
    }

    /// Marks an event handled without a customer (it carried no usable identifier).
    pub async fn skip_event(&self, tenant: TenantId, event: EventId, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE events SET resolved_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(event.0).bind(at).execute(p).await)?;
        Ok(())
    }
}
