//! Customer value: RFM scores and classes (cdp.md §5) and CLV predictions (BG/NBD + Gamma-Gamma), computed
//! per tenant from the orders, nightly by the worker and on demand; the built-in RFM segments (the eight
//! classes, the four layers, super users) follow each run. The rules are siyu_domain::rfm's and ::clv's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::clv::{self, ClvModel, ClvSettings, CustomerClv, CustomerSummary, FitOptions, Purchase, TimeUnit};
use siyu_domain::id::{CustomerId, SegmentId, TagId, TenantId};
use siyu_domain::rfm::{
    CustomerRfm, RfmClass, RfmConfig, RfmInput, RfmLayer, RfmRun, flag_super_users, retain_included, score_all,
};
use siyu_domain::segment::{Condition, Op, Segment, SegmentKind};
use siyu_domain::tenancy::TenantStatus;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// How often the worker recomputes RFM and refits CLV per tenant.
pub const VALUES_EVERY: Duration = Duration::hours(24);

/// Days ahead the stored expected purchases count.
pub const HORIZON_DAYS: u32 = 365;

/// The RFM page: configuration, latest runs and the R × F heatmap.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RfmOverview {
    pub config: RfmConfig,
    /// Newest first.
    pub runs: Vec<RfmRun>,
    /// (r, f, customers).
    pub heatmap: Vec<(u8, u8, i64)>,
}

/// The CLV page: the current model (parameters, likelihood, diagnostics) and the top customers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClvOverview {
    #[schema(value_type = Option<Object>)]
    pub model: Option<ClvModel>,
    /// The 20 most valuable customers (a scoped member: of their own customers).
    pub top: Vec<CustomerClv>,
    /// Every customer's CLV in fen, bucketed: (upper bound in fen, customers). Tenant-wide figures.
    pub distribution: Vec<(i64, i64)>,
}

impl App {
    pub async fn rfm_config(&self, actor: &Actor) -> AppResult<RfmConfig> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.rfm().config(actor.tenant).await?.unwrap_or_default())
    }

    /// Saves a new RFM configuration (its version one above the current) and recomputes at once.
    pub async fn set_rfm_config(&self, actor: &Actor, mut config: RfmConfig) -> AppResult<RfmRun> {
        actor.require(Permission::SegmentsManage)?;
        config.validate()?;
        let current = self.store.rfm().config(actor.tenant).await?.unwrap_or_default();
        config.version = current.version + 1;
        self.store.rfm().save_config(actor.tenant, &config, actor.user, self.now()).await?;
        let ev = AuditEvent {
            action: "rfm.configure",
            object_type: "rfm",
            object_id: None,
            detail: json!({"version": config.version}),
        };
        self.audit(actor, ev).await;
        self.compute_rfm(actor.tenant).await
    }

    /// Recomputes RFM now (and the RFM segments).
    pub async fn run_rfm(&self, actor: &Actor) -> AppResult<RfmRun> {
        actor.require(Permission::SegmentsManage)?;
        self.compute_rfm(actor.tenant).await
    }

    /// Scores every customer of the tenant and replaces the stored scores; the built-in RFM segments are
    /// created if missing and recomputed.
    pub async fn compute_rfm(&self, tenant: TenantId) -> AppResult<RfmRun> {
        let config = self.store.rfm().config(tenant).await?.unwrap_or_default();
        let offset = self.tenant_offset(tenant).await?;
        let now = self.now();
        let mut orders: HashMap<CustomerId, Vec<siyu_domain::rfm::RfmOrder>> = HashMap::new();
        for (c, o) in self.store.rfm().orders(tenant).await? {
            orders.entry(c).or_default().push(o);
        }
        let mut interactions: HashMap<CustomerId, Vec<DateTime<Utc>>> = HashMap::new();
        if matches!(config.source, siyu_domain::rfm::RfmSource::Interactions { .. }) {
            for (c, t) in self.store.rfm().interactions(tenant).await? {
                interactions.entry(c).or_default().push(t);
            }
        }
        let mut customers: Vec<CustomerId> = orders.keys().chain(interactions.keys()).copied().collect();
        customers.sort();
        customers.dedup();
        let mut inputs: Vec<RfmInput> = customers
            .iter()
            .map(|c| {
                let o = orders.get(c).map_or(&[][..], Vec::as_slice);
                let i = interactions.get(c).map_or(&[][..], Vec::as_slice);
                RfmInput::from_activity(&config, *c, o, i, now, offset)
            })
            .collect();
        let mut held: HashMap<CustomerId, Vec<TagId>> = HashMap::new();
        for (c, t) in self.store.rfm().holders(tenant, &config.exclude_tags).await? {
            held.entry(c).or_default().push(t);
        }
        retain_included(&config, &mut inputs, |c| held.get(&c).map_or(&[][..], Vec::as_slice));
        let scores = score_all(&config, &inputs, now, offset);
        let flags = flag_super_users(&config.super_users, &scores);
        let scored: Vec<_> = scores.into_iter().zip(flags).collect();
        let run = self.store.rfm().replace(tenant, &scored, config.version, now).await?;
        self.ensure_value_segments(tenant).await?;
        Ok(run)
    }

    pub async fn rfm_overview(&self, actor: &Actor) -> AppResult<RfmOverview> {
        actor.require(Permission::CustomersRead)?;
        let config = self.store.rfm().config(actor.tenant).await?.unwrap_or_default();
        let runs = self.store.rfm().runs(actor.tenant, 30).await?;
        let heatmap = self.store.rfm().heatmap(actor.tenant).await?;
        Ok(RfmOverview { config, runs, heatmap })
    }

    pub async fn customer_values(
        &self,
        actor: &Actor,
        customer: CustomerId,
    ) -> AppResult<(Option<CustomerRfm>, Option<CustomerClv>)> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rfm = self.store.rfm().of_customer(actor.tenant, customer).await?;
        let clv = self.store.clv().of_customer(actor.tenant, customer).await?;
        Ok((rfm, clv))
    }

    /// Refits CLV now.
    pub async fn run_clv(&self, actor: &Actor) -> AppResult<Option<ClvModel>> {
        actor.require(Permission::SegmentsManage)?;
        self.fit_clv(actor.tenant).await
    }

    /// Fits BG/NBD and Gamma-Gamma on the tenant's customer summaries (days; same-day purchases once;
    /// spend excludes the first purchase) and stores every customer's predictions. `None` when there are
    /// no purchases to fit on.
    pub async fn fit_clv(&self, tenant: TenantId) -> AppResult<Option<ClvModel>> {
        let offset = self.tenant_offset(tenant).await?;
        let now = self.now();
        let mut by_customer: Vec<(CustomerId, Vec<Purchase>)> = Vec::new();
        for (c, at, paid_fen) in self.store.clv().purchases(tenant).await? {
            match by_customer.last_mut() {
                Some((last, list)) if *last == c => list.push(Purchase { at, paid_fen }),
                _ => by_customer.push((c, vec![Purchase { at, paid_fen }])),
            }
        }
        let summaries: Vec<(CustomerId, CustomerSummary)> = by_customer
            .iter()
            .filter_map(|(c, p)| CustomerSummary::from_purchases(p, offset, now, TimeUnit::Days).map(|s| (*c, s)))
            .collect();
        if summaries.is_empty() {
            return Ok(None);
        }
        let all: Vec<CustomerSummary> = summaries.iter().map(|(_, s)| *s).collect();
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let options = FitOptions { threads, ..FitOptions::default() };
        let fitted = tokio::task::spawn_blocking(move || {
            let purchases = clv::bgnbd::fit(&all, &options);
            let spend = clv::gamma_gamma::fit(&all, &options).ok();
            (purchases, spend)
        })
        .await
        .map_err(AppError::internal)?;
        let purchases = match fitted.0 {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(tenant = %tenant.0, error = %e, "CLV fit not possible yet");
                return Ok(None);
            }
        };
        let settings = ClvSettings { months: 12, monthly_discount_rate: 0.01, unit: TimeUnit::Days };
        let model = ClvModel {
            fitted_at: now,
            unit: TimeUnit::Days,
            settings,
            horizon_days: HORIZON_DAYS,
            purchases,
            spend: fitted.1,
        };
        // A fit that did not converge (the data does not identify the parameters yet) is kept with its
        // diagnostics, but predicts nothing: no value is better than a wrong one.
        let values = if model.purchases.converged {
            let m = model.clone();
            let n = summaries.len();
            let values =
                tokio::task::spawn_blocking(move || predict(&m, &summaries, now)).await.map_err(AppError::internal)?;
            if values.len() < n {
                tracing::warn!(tenant = %tenant.0, failed = n - values.len(), "CLV predictions not accurate enough: left out");
            }
            values
        } else {
            tracing::warn!(tenant = %tenant.0, "CLV fit did not converge: no predictions stored");
            Vec::new()
        };
        self.store.clv().replace(tenant, &model, &values).await?;
        Ok(Some(model))
    }

    pub async fn clv_overview(&self, actor: &Actor) -> AppResult<ClvOverview> {
        actor.require(Permission::CustomersRead)?;
        let model = self.store.clv().model(actor.tenant).await?;
        let mut top = self.store.clv().top(actor.tenant, if actor.visibility.is_some() { 500 } else { 20 }).await?;
        if actor.visibility.is_some() {
            // A scoped member sees the top of their own customers only.
            let mut mine = Vec::new();
            for v in top {
                if mine.len() < 20
                    && self.store.customers().is_visible(actor.tenant, v.customer_id, &actor.visibility).await?
                {
                    mine.push(v);
                }
            }
            top = mine;
        }
        let values = self.store.clv().values(actor.tenant).await?;
        Ok(ClvOverview { model, top, distribution: buckets(&values) })
    }

    /// Recomputes RFM and refits CLV for every active tenant whose last run is older than
    /// [`VALUES_EVERY`] (or all with `force`). Returns how many tenants were computed.
    pub async fn sweep_values(&self, force: bool) -> AppResult<usize> {
        let mut n = 0;
        for tenant in self.store.tenants().list().await? {
            if tenant.status != TenantStatus::Active {
                continue;
            }
            let last = self.store.rfm().runs(tenant.id, 1).await?.first().map(|r| r.as_of);
            if !force && last.is_some_and(|at| self.now() - at < VALUES_EVERY) {
                continue;
            }
            self.compute_rfm(tenant.id).await?;
            self.fit_clv(tenant.id).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Creates the built-in value segments a tenant lacks (by name): the eight RFM classes, the four
    /// layers and super users. Their first materialisation is recorded as `initial`.
    async fn ensure_value_segments(&self, tenant: TenantId) -> AppResult<()> {
        let existing: Vec<String> = self.store.segments().list(tenant).await?.into_iter().map(|s| s.name).collect();
        let field = |f: &str, v: serde_json::Value| Condition::Field { field: f.into(), op: Op::Eq, value: v };
        let mut wanted: Vec<(String, Condition)> = RfmClass::all()
            .iter()
            .map(|c| (format!("RFM·{}", c.label_zh()), field("rfm_class", json!(c.as_str()))))
            .collect();
        wanted.extend(
            RfmLayer::all()
                .iter()
                .map(|l| (format!("RFM分层·{}", l.label_zh()), field("rfm_layer", json!(l.as_str())))),
        );
        wanted.push(("超级用户".to_string(), field("super_user", json!(1))));
        let catalog = self.segment_catalog(tenant, None).await?;
        let now = self.now();
        for (name, definition) in wanted.into_iter().filter(|(n, _)| !existing.contains(n)) {
            let rule = siyu_domain::segment::check(&definition, &catalog).map_err(AppError::InvalidDefinition)?;
            let s = Segment {
                id: SegmentId::new(),
                name,
                description: "内置：随 RFM 计算更新".into(),
                kind: SegmentKind::Dynamic,
                definition,
                rule_tag: None,
                archived: false,
                seq: 0,
                member_count: 0,
                refreshed_at: None,
                created_by: None,
                created_at: now,
                updated_at: now,
            };
            self.store.segments().create(tenant, &s).await?;
            self.materialise(tenant, s.id, &rule, siyu_domain::segment::ChangeReason::Initial).await?;
        }
        Ok(())
    }
}

/// Every customer's predictions under a model (customers whose prediction fails are left out).
fn predict(model: &ClvModel, summaries: &[(CustomerId, CustomerSummary)], now: DateTime<Utc>) -> Vec<CustomerClv> {
    let bg = &model.purchases.params;
    summaries
        .iter()
        .filter_map(|(c, s)| {
            let p_alive = bg.probability_alive(s).ok()?;
            let expected_purchases = bg.expected_purchases(s, f64::from(model.horizon_days)).ok()?;
            let (spend, value) = match &model.spend {
                Some(gg) => (
                    gg.params.expected_average_spend(s.frequency, s.monetary).ok()?,
                    clv::customer_lifetime_value(bg, &gg.params, s, &model.settings).ok()?,
                ),
                None => (0.0, 0.0),
            };
            Some(CustomerClv {
                customer_id: *c,
                frequency: s.frequency,
                recency: s.recency,
                t: s.t,
                monetary_fen: s.monetary,
                p_alive,
                expected_purchases,
                expected_spend_fen: spend.round() as i64,
                clv_fen: value.round() as i64,
                computed_at: now,
            })
        })
        .collect()
}

/// CLV values (ascending) in ten buckets by value: (upper bound, customers).
fn buckets(values: &[i64]) -> Vec<(i64, i64)> {
    let (Some(&lo), Some(&hi)) = (values.first(), values.last()) else { return Vec::new() };
    let width = ((hi - lo) / 10).max(1);
    let mut out: Vec<(i64, i64)> = (1..=10).map(|k| (lo + width * k, 0)).collect();
    for v in values {
        let k = (((v - lo) / width) as usize).min(9);
        out[k].1 += 1;
    }
    out
}
