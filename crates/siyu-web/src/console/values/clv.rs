//! Console page "客户终身价值 CLV": the tenant's fitted models — BG/NBD (r, α, a, b) for repeat purchases and
//! Gamma-Gamma (p, q, v) for spend per purchase — with standard errors and how each fit went, the horizon
//! and discounting, the CLV distribution and the 20 most valuable customers; "重新拟合" refits now. Without
//! a model (no orders yet, or nobody bought twice) an empty state offers the button; a fit that did not
//! converge is shown with a warning, as the service then predicts nobody.

use askama::Template;
use axum::extract::{Query, State};
use siyu_app::AppError;
use siyu_domain::access::{DataScope, Permission};
use siyu_domain::clv::{Fit, TimeUnit};
use siyu_domain::id::CustomerId;

use super::charts::{self, Bucket};
use super::rfm::PageQuery;
use super::{after_post, num, percent};
use crate::auth::ConsoleActor;
use crate::console::customers::view::{fmt_time, label, yuan};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

pub const PATH: &str = "/console/clv";

/// One parameter: its symbol, estimate and standard error (`—` when not computed).
pub struct ParamRow {
    pub name: &'static str,
    pub estimate: String,
    pub error: String,
}

/// One fitted model and how the fit went.
pub struct FitView {
    pub params: Vec<ParamRow>,
    pub initial_log_likelihood: String,
    pub log_likelihood: String,
    pub customers: u64,
    pub patterns: usize,
    pub iterations: u32,
    pub converged: bool,
    pub gradient_norm: String,
}

impl FitView {
    fn new<P>(fit: &Fit<P>, values: impl Fn(&P) -> Vec<(&'static str, f64)>) -> Self {
        let errors = fit.standard_errors.as_ref().map(&values);
        let params = values(&fit.params)
            .into_iter()
            .enumerate()
            .map(|(i, (name, v))| ParamRow {
                name,
                estimate: num(v),
                error: errors.as_ref().and_then(|e| e.get(i)).map_or_else(|| "—".into(), |e| num(e.1)),
            })
            .collect();
        Self {
            params,
            initial_log_likelihood: format!("{:.2}", fit.initial_log_likelihood),
            log_likelihood: format!("{:.2}", fit.log_likelihood),
            customers: fit.customers,
            patterns: fit.patterns,
            iterations: fit.iterations,
            converged: fit.converged,
            gradient_norm: format!("{:.2e}", fit.gradient_norm),
        }
    }
}

/// One model's card; `fit` is `None` for a Gamma-Gamma model not fitted yet (nobody bought twice).
pub struct FitCard {
    pub id: &'static str,
    pub title: String,
    pub hint: String,
    pub fit: Option<FitView>,
}

pub struct ModelView {
    pub fitted: String,
    /// A fit that did not converge is shown, but no customer was predicted from it.
    pub converged: bool,
    pub customers: u64,
    pub horizon_days: u32,
    pub months: u32,
    pub discount: String,
    /// BG/NBD, then Gamma-Gamma.
    pub fits: Vec<FitCard>,
}

/// One of the most valuable customers; `id` is `None` when outside the viewer's data scope.
pub struct TopRow {
    pub id: Option<String>,
    pub name: String,
    pub frequency: u32,
    pub p_alive: String,
    pub expected_purchases: String,
    pub expected_spend: String,
    pub clv: String,
}

#[derive(Template)]
#[template(path = "clv.html")]
struct ClvPage {
    chrome: Chrome,
    model: Option<ModelView>,
    buckets: Vec<Bucket>,
    top: Vec<TopRow>,
    can_manage: bool,
    error: Option<String>,
    notice: Option<String>,
}

async fn top_rows(
    state: &AppState,
    ca: &ConsoleActor,
    tr: Tr,
    top: Vec<siyu_domain::clv::CustomerClv>,
) -> Result<Vec<TopRow>, AppError> {
    let (app, a) = (&state.app, &ca.actor);
    let ids: Vec<CustomerId> = top.iter().map(|c| c.customer_id).collect();
    let customers = app.store.customers().by_ids(a.tenant, &ids).await?;
    let mut rows = Vec::with_capacity(top.len());
    for c in top {
        // The ranking is the tenant's; a scoped member sees who only for the customers they may see.
        let visible = a.scope == DataScope::All || app.ensure_visible(a, c.customer_id).await.is_ok();
        let name = customers.iter().find(|x| x.id == c.customer_id).map(|x| x.name.clone());
        let (id, name) = match (visible, name) {
            (true, Some(n)) => (Some(c.customer_id.to_string()), n),
            (true, None) => (None, tr.t("clv.deleted_customer").to_string()),
            (false, _) => (None, tr.t("clv.outside_scope").to_string()),
        };
        rows.push(TopRow {
            id,
            name,
            frequency: c.frequency,
            p_alive: percent(c.p_alive),
            expected_purchases: format!("{:.2}", c.expected_purchases),
            expected_spend: yuan(c.expected_spend_fen),
            clv: yuan(c.clv_fen),
        });
    }
    Ok(rows)
}

pub async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<PageQuery>) -> ConsoleResult {
    let a = &ca.actor;
    let chrome = Chrome::new(&ca.user, Some(a), "clv");
    let tr = chrome.tr;
    let overview = state.app.clv_overview(a).await?;
    let model = overview.model.as_ref().map(|m| {
        let unit = tr.t(if m.unit == TimeUnit::Weeks { "clv.unit.weeks" } else { "clv.unit.days" });
        let purchases = FitCard {
            id: "bgnbd",
            title: tr.t("clv.bgnbd").to_string(),
            hint: tr.t("clv.bgnbd_hint").replace("{unit}", unit),
            fit: Some(FitView::new(&m.purchases, |p| vec![("r", p.r), ("α", p.alpha), ("a", p.a), ("b", p.b)])),
        };
        let spend = FitCard {
            id: "gamma-gamma",
            title: tr.t("clv.gamma_gamma").to_string(),
            hint: tr.t("clv.gamma_gamma_hint").to_string(),
            fit: m.spend.as_ref().map(|s| FitView::new(s, |p| vec![("p", p.p), ("q", p.q), ("v", p.v)])),
        };
        ModelView {
            fitted: fmt_time(&m.fitted_at),
            converged: m.purchases.converged,
            customers: m.purchases.customers,
            horizon_days: m.horizon_days,
            months: m.settings.months,
            discount: format!("{:.1}%", m.settings.monthly_discount_rate * 100.0),
            fits: vec![purchases, spend],
        }
    });
    let page = ClvPage {
        buckets: if model.is_some() { charts::distribution(&overview.distribution) } else { Vec::new() },
        top: top_rows(&state, &ca, tr, overview.top).await?,
        model,
        can_manage: a.can(Permission::SegmentsManage),
        error: q.error,
        notice: q.done.as_deref().map(|d| label(tr, "clv.done", d)),
        chrome,
    };
    Ok(render(&page))
}

/// `POST /console/clv/run`: refits now; without enough data the page says so.
pub async fn run(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let result = state.app.run_clv(&post.ca.actor).await.map(|m| if m.is_some() { "fitted" } else { "not_enough" });
    after_post(&post.ca, PATH, result)
}
