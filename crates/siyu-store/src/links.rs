//! Tracked links and their opens (`links`, `link_opens`, migration 0026), and the tenants' link keys.
//!
//! A link is unique per tenant by its code and by the hash of its (target, staff, customer) triple; an open
//! by its dedupe key. Recording an open is one transaction: the open, the link's counters and, for a known
//! customer, the `link_opened` timeline entry (whose trigger queues the journey signal), so a retried
//! request changes nothing twice. The radar's figures are grouped in SQL ([`Links::radar`]).

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, LinkId, LinkOpenId, TenantId};
use siyu_domain::page::Cursor;
use siyu_domain::timeline::TimelineEntry;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::insert_timeline;
use crate::{BackendKind, StoreError, exec, in_tx, on_pool};

/// A link as stored, with its staff member's and customer's names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: Uuid,
    pub code: String,
    pub material_id: Option<Uuid>,
    pub url: Option<String>,
    pub title: String,
    pub staff_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub open_tag_id: Option<Uuid>,
    pub show_page: bool,
    pub opens: i64,
    pub last_opened_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub staff_name: Option<String>,
    pub customer_name: Option<String>,
}

const LINK_SELECT: &str = "SELECT l.id, l.code, l.material_id, l.url, l.title, l.staff_id, l.customer_id, l.open_tag_id, \
     l.show_page, l.opens, l.last_opened_at, l.created_at, a.display_name AS staff_name, c.name AS customer_name \
     FROM links l LEFT JOIN accounts a ON a.user_id = l.staff_id \
     LEFT JOIN customers c ON c.tenant_id = l.tenant_id AND c.id = l.customer_id WHERE l.tenant_id = ";

/// A link to insert.
#[derive(Debug, Clone)]
pub struct NewLinkRow<'a> {
    pub id: LinkId,
    pub code: &'a str,
    pub triple_key: &'a str,
    pub material_id: Option<Uuid>,
    pub url: Option<&'a str>,
    pub title: &'a str,
    pub staff_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub open_tag_id: Option<Uuid>,
    pub show_page: bool,
    pub created_by: Option<Uuid>,
}

/// Which links to list.
#[derive(Debug, Clone, Default)]
pub struct LinkQuery {
    pub staff: Option<Uuid>,
    pub customer: Option<Uuid>,
    pub material: Option<Uuid>,
    /// Only links of these staff members (the actor's data scope); `None` is everyone's.
    pub visible_staff: Option<Vec<Uuid>>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// An open to record.
#[derive(Debug, Clone)]
pub struct NewOpen<'a> {
    pub id: LinkOpenId,
    pub link_id: LinkId,
    pub dedupe_key: &'a str,
    pub customer_id: Option<CustomerId>,
    pub staff_id: Uuid,
    pub at: DateTime<Utc>,
    pub user_agent: Option<&'a str>,
    pub ip_hash: Option<&'a str>,
    pub in_wechat: bool,
}

/// An open as stored, with the link's title and the names around it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenRow {
    pub id: Uuid,
    pub link_id: Uuid,
    pub title: String,
    pub material_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub staff_id: Uuid,
    pub staff_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub duration_secs: i64,
    pub in_wechat: bool,
    pub effects_done: bool,
}

const OPEN_SELECT: &str = "SELECT o.id, o.link_id, l.title, l.material_id, o.customer_id, c.name AS customer_name, \
     o.staff_id, a.display_name AS staff_name, o.opened_at, o.duration_secs, o.in_wechat, o.effects_done \
     FROM link_opens o JOIN links l ON l.tenant_id = o.tenant_id AND l.id = o.link_id \
     LEFT JOIN accounts a ON a.user_id = o.staff_id \
     LEFT JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id WHERE o.tenant_id = ";

/// Which opens to read: of one link, of the tenant's visible staff, since a time.
#[derive(Debug, Clone, Default)]
pub struct OpenQuery {
    pub link: Option<Uuid>,
    pub visible_staff: Option<Vec<Uuid>>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// Which opens the radar counts: the tenant's since a time, of the visible staff members, with days
/// told in the tenant's fixed UTC offset.
#[derive(Debug, Clone)]
pub struct RadarQuery {
    pub since: DateTime<Utc>,
    /// Only opens of these staff members' links (the actor's data scope); `None` is everyone's.
    pub visible_staff: Option<Vec<Uuid>>,
    /// The tenant's UTC offset in seconds (a local day is `opened_at + offset` truncated to the date).
    pub offset_secs: i32,
    /// How many links to rank (the top links).
    pub top_links: i64,
}

/// Figures of a set of opens: how many, distinct known customers, and the reading time summed over the
/// opens that reported one (`reads` of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RadarFigures {
    pub opens: i64,
    pub unique_customers: i64,
    pub read_secs: i64,
    pub reads: i64,
}

/// The figures of one link or one staff member.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RadarGroupRow {
    pub id: Uuid,
    /// The link's title or the staff member's name.
    pub name: Option<String>,
    #[sqlx(flatten)]
    pub figures: RadarFigures,
}

/// The radar over a window, grouped in the database (no open is read into memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadarRows {
    pub total: RadarFigures,
    /// Opens per local day (`YYYY-MM-DD`), days without opens absent, oldest first.
    pub per_day: Vec<(String, i64)>,
    /// The most opened links first (then most customers, then id), at most `top_links`.
    pub links: Vec<RadarGroupRow>,
    /// Every staff member with opens, ranked like the links.
    pub staff: Vec<RadarGroupRow>,
}

const RADAR_FIGURES: &str = "COUNT(*) AS opens, COUNT(DISTINCT o.customer_id) AS unique_customers, \
     CAST(COALESCE(SUM(CASE WHEN o.duration_secs > 0 THEN o.duration_secs ELSE 0 END), 0) AS BIGINT) AS read_secs, \
     COUNT(CASE WHEN o.duration_secs > 0 THEN 1 END) AS reads";

/// The repository of links (`store.links()`).
pub struct Links<'a>(&'a crate::Store);

impl crate::Store {
    pub fn links(&self) -> Links<'_> {
        Links(self)
    }
}

impl Links<'_> {
    /// The tenant's link key, once it has one.
    pub async fn tenant_key(&self, tenant: TenantId) -> Result<Option<String>, StoreError> {
        let sql = "SELECT link_key FROM tenants WHERE tenant_id = $1";
        let row: Option<(Option<String>,)> =
            on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0))
    }

    /// Gives the tenant `key` unless it has one; `Conflict` when another tenant holds that key.
    pub async fn set_tenant_key(&self, tenant: TenantId, key: &str) -> Result<(), StoreError> {
        let sql = "UPDATE tenants SET link_key = $2 WHERE tenant_id = $1 AND link_key IS NULL";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(key).execute(p).await)?;
        Ok(())
    }

    /// The tenant whose key starts a public code (the platform table `tenants`, no tenant filter).
    pub async fn tenant_by_key(&self, key: &str) -> Result<Option<TenantId>, StoreError> {
        let sql = "SELECT tenant_id FROM tenants WHERE link_key = $1";
        let row: Option<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(sql).bind(key).fetch_optional(p).await)?;
        Ok(row.map(|r| TenantId(r.0)))
    }

    /// Inserts a link unless its triple has one; returns the triple's link either way. `Conflict` on a code
    /// collision (the caller mints another code).
    pub async fn mint(&self, tenant: TenantId, l: &NewLinkRow<'_>, at: DateTime<Utc>) -> Result<LinkRow, StoreError> {
        let sql = "INSERT INTO links (tenant_id, id, code, triple_key, material_id, url, title, staff_id, customer_id, \
             open_tag_id, show_page, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (tenant_id, triple_key) DO NOTHING";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(l.id.0).bind(l.code).bind(l.triple_key)
            .bind(l.material_id).bind(l.url).bind(l.title).bind(l.staff_id).bind(l.customer_id).bind(l.open_tag_id)
            .bind(l.show_page).bind(l.created_by).bind(at).execute(p).await)?;
        self.by_triple(tenant, l.triple_key).await?.ok_or(StoreError::NotFound)
    }

    /// The link of a (target, staff, customer) triple's key, if minted.
    pub async fn by_triple(&self, tenant: TenantId, triple_key: &str) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!("{LINK_SELECT}$1 AND l.triple_key = $2");
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(triple_key).fetch_optional(p).await)?)
    }

    pub async fn get(&self, tenant: TenantId, id: LinkId) -> Result<LinkRow, StoreError> {
        let sql = format!("{LINK_SELECT}$1 AND l.id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn by_code(&self, tenant: TenantId, code: &str) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!("{LINK_SELECT}$1 AND l.code = $2");
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(code).fetch_optional(p).await)?)
    }

    /// Links newest first, filtered; at most `limit` rows.
    pub async fn list(&self, tenant: TenantId, q: &LinkQuery) -> Result<Vec<LinkRow>, StoreError> {
        let build = || {
            let mut sql = Sql::new(LINK_SELECT);
            sql.bind(Arg::Uuid(tenant.0));
            for (column, value) in
                [("l.staff_id", q.staff), ("l.customer_id", q.customer), ("l.material_id", q.material)]
            {
                if let Some(v) = value {
                    sql.push(&format!(" AND {column} = ")).bind(Arg::Uuid(v));
                }
            }
            if let Some(staff) = &q.visible_staff {
                sql.push(" AND l.staff_id IN ").bind_list(staff.iter().copied());
            }
            if let Some(c) = q.after {
                sql.push(" AND (l.created_at < ").bind(Arg::Time(c.at));
                sql.push(" OR (l.created_at = ").bind(Arg::Time(c.at)).push(" AND l.id < ").bind(Arg::Uuid(c.id));
                sql.push("))");
            }
            sql.push(" ORDER BY l.created_at DESC, l.id DESC").limit(q.limit);
            sql
        };
        Ok(on_pool!(self.0, p => dyn_query_as!(LinkRow, build()).fetch_all(p).await)?)
    }

    /// Records an open unless its dedupe key has one, in one transaction with the link's counters and the
    /// customer's timeline entry. Returns the open's id and whether it is new.
    pub async fn record_open(
        &self,
        tenant: TenantId,
        o: &NewOpen<'_>,
        timeline: Option<&TimelineEntry>,
    ) -> Result<(LinkOpenId, bool), StoreError> {
        let insert = "INSERT INTO link_opens (tenant_id, id, link_id, dedupe_key, customer_id, staff_id, opened_at, \
             user_agent, ip_hash, in_wechat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id, dedupe_key) DO NOTHING";
        let bump = "UPDATE links SET opens = opens + 1, last_opened_at = $3 WHERE tenant_id = $1 AND id = $2";
        let found = "SELECT id FROM link_opens WHERE tenant_id = $1 AND dedupe_key = $2";
        in_tx!(self.0, tx => {
            let new = sqlx::query(insert).bind(tenant.0).bind(o.id.0).bind(o.link_id.0).bind(o.dedupe_key)
                .bind(o.customer_id.map(|c| c.0)).bind(o.staff_id).bind(o.at).bind(o.user_agent).bind(o.ip_hash)
                .bind(o.in_wechat).execute(&mut *tx).await?.rows_affected() > 0;
            if new {
                sqlx::query(bump).bind(tenant.0).bind(o.link_id.0).bind(o.at).execute(&mut *tx).await?;
                if let Some(entry) = timeline {
                    insert_timeline!(tenant, entry).execute(&mut *tx).await?;
                }
                Ok::<_, StoreError>((o.id, true))
            } else {
                let (id,): (Uuid,) = sqlx::query_as(found).bind(tenant.0).bind(o.dedupe_key).fetch_one(&mut *tx).await?;
                Ok((LinkOpenId(id), false))
            }
        })
    }

    pub async fn open(&self, tenant: TenantId, id: LinkOpenId) -> Result<Option<OpenRow>, StoreError> {
        let sql = format!("{OPEN_SELECT}$1 AND o.id = $2");
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, OpenRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(id.0).fetch_optional(p).await)?)
    }

    /// Whether the customer opened the link before this open (their first open tags them).
    pub async fn opened_before(
        &self,
        tenant: TenantId,
        link: LinkId,
        customer: CustomerId,
        open: LinkOpenId,
    ) -> Result<bool, StoreError> {
        let sql =
            "SELECT COUNT(*) FROM link_opens WHERE tenant_id = $1 AND link_id = $2 AND customer_id = $3 AND id < $4";
        let (n,): (i64,) = on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).bind(link.0).bind(customer.0)
            .bind(open.0).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Tenants that minted links (they have a link key).
    pub async fn tenants_with_links(&self) -> Result<Vec<TenantId>, StoreError> {
        let sql = "SELECT tenant_id FROM tenants WHERE link_key IS NOT NULL ORDER BY tenant_id";
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }

    /// Opens made before `before` whose effects are not marked done, oldest first: (link, open).
    pub async fn unfinished_opens(
        &self,
        tenant: TenantId,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(LinkId, LinkOpenId)>, StoreError> {
        let sql = "SELECT link_id, id FROM link_opens WHERE tenant_id = $1 AND effects_done = FALSE \
             AND opened_at < $2 ORDER BY opened_at LIMIT $3";
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).bind(before)
            .bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(l, o)| (LinkId(l), LinkOpenId(o))).collect())
    }

    pub async fn mark_effects_done(&self, tenant: TenantId, id: LinkOpenId) -> Result<(), StoreError> {
        let sql = "UPDATE link_opens SET effects_done = TRUE WHERE tenant_id = $1 AND id = $2";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).execute(p).await)?;
        Ok(())
    }

    /// Keeps the longest reading time reported for an open of `link`; whether it changed.
    pub async fn beat(
        &self,
        tenant: TenantId,
        link: LinkId,
        open: LinkOpenId,
        secs: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE link_opens SET duration_secs = $4, last_beat_at = $5 WHERE tenant_id = $1 AND id = $2 \
             AND link_id = $3 AND duration_secs < $4";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(open.0).bind(link.0).bind(secs).bind(at)
            .execute(p).await)?;
        Ok(n > 0)
    }

    /// The radar's figures over the opens `q` names: totals, per local day, the top links and every staff
    /// member, each one grouped statement (the same figures as tallying every open).
    pub async fn radar(&self, tenant: TenantId, q: &RadarQuery) -> Result<RadarRows, StoreError> {
        let from = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" FROM link_opens o JOIN links l ON l.tenant_id = o.tenant_id AND l.id = o.link_id");
            if select.contains("a.display_name") {
                sql.push(" LEFT JOIN accounts a ON a.user_id = o.staff_id");
            }
            sql.push(" WHERE o.tenant_id = ").bind(Arg::Uuid(tenant.0));
            sql.push(" AND o.opened_at >= ").bind(Arg::Time(q.since));
            if let Some(staff) = &q.visible_staff {
                sql.push(" AND o.staff_id IN ").bind_list(staff.iter().copied());
            }
            sql
        };
        let total = from(&format!("SELECT {RADAR_FIGURES}"));
        let total = on_pool!(self.0, p => dyn_query_as!(RadarFigures, total).fetch_one(p).await)?;
        // The offset is a number siyu computed (seconds east of UTC), never user text.
        let n = q.offset_secs;
        let day = match self.0.kind() {
            BackendKind::Sqlite => format!("strftime('%Y-%m-%d', o.opened_at, '{n:+} seconds')"),
            BackendKind::Postgres => {
                format!("to_char((o.opened_at AT TIME ZONE 'UTC') + INTERVAL '{n} seconds', 'YYYY-MM-DD')")
            }
        };
        let mut days = from(&format!("SELECT {day} AS day, COUNT(*) AS opens"));
        days.push(" GROUP BY day ORDER BY day");
        let per_day = on_pool!(self.0, p => dyn_query_as!((String, i64), days).fetch_all(p).await)?;
        let ranked = " ORDER BY opens DESC, unique_customers DESC, id";
        let mut links = from(&format!("SELECT o.link_id AS id, MAX(l.title) AS name, {RADAR_FIGURES}"));
        links.push(" GROUP BY o.link_id").push(ranked).limit(q.top_links);
        let links = on_pool!(self.0, p => dyn_query_as!(RadarGroupRow, links).fetch_all(p).await)?;
        let mut staff = from(&format!("SELECT o.staff_id AS id, MAX(a.display_name) AS name, {RADAR_FIGURES}"));
        staff.push(" GROUP BY o.staff_id").push(ranked);
        let staff = on_pool!(self.0, p => dyn_query_as!(RadarGroupRow, staff).fetch_all(p).await)?;
        Ok(RadarRows { total, per_day, links, staff })
    }

    /// Opens newest first.
    pub async fn opens(&self, tenant: TenantId, q: &OpenQuery) -> Result<Vec<OpenRow>, StoreError> {
        let build = || {
            let mut sql = Sql::new(OPEN_SELECT);
            sql.bind(Arg::Uuid(tenant.0));
            if let Some(link) = q.link {
                sql.push(" AND o.link_id = ").bind(Arg::Uuid(link));
            }
            if let Some(staff) = &q.visible_staff {
                sql.push(" AND o.staff_id IN ").bind_list(staff.iter().copied());
            }
            if let Some(since) = q.since {
                sql.push(" AND o.opened_at >= ").bind(Arg::Time(since));
            }
            sql.push(" ORDER BY o.opened_at DESC, o.id DESC").limit(q.limit);
            sql
        };
        Ok(on_pool!(self.0, p => dyn_query_as!(OpenRow, build()).fetch_all(p).await)?)
    }
}
