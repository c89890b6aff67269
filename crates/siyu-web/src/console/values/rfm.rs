//! Console page "RFM 价值分层": the latest run's eight classes (the important four first, each linking to
//! its built-in segment), the four layers by R × F and the super users; the R × F heatmap; who moved
//! between classes in the latest run and the class sizes across runs; the configuration, with a form
//! (for those who manage segments) that saves a new version and recomputes (`values/config.rs`), and a
//! "立即计算" button.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_domain::access::Permission;
use siyu_domain::rfm::{HighRule, RfmClass, RfmConfig, RfmLayer, RfmRun, RfmSource, Scoring, Window};

use super::charts::{self, Heatmap, Stack};
use super::config::{ConfigDraft, ConfigForm, serde_name};
use super::{after_post, class_label, layer_label, share};
use crate::auth::ConsoleActor;
use crate::console::customers::view::{FormErrors, fmt_time, label, sep, yuan};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

pub const PATH: &str = "/console/rfm";

/// Runs the class-size chart shows.
const CHART_RUNS: usize = 12;
/// Movement rows shown.
const MOVES_SHOWN: usize = 20;

/// One of the eight classes.
pub struct ClassCard {
    pub code: &'static str,
    pub label: String,
    pub customers: u64,
    pub share: String,
    pub important: bool,
    pub colour: &'static str,
    /// The built-in segment `RFM·<label>`, once created by a run.
    pub segment: Option<String>,
}

/// One of the four layers.
pub struct LayerCard {
    pub code: &'static str,
    pub label: String,
    pub customers: u64,
    pub share: String,
    pub segment: Option<String>,
}

/// Customers who moved from one class to another in the latest run.
pub struct MoveRow {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// The latest run's headline.
pub struct Latest {
    pub when: String,
    /// `第 2 版配置`.
    pub version: String,
    pub scored: u64,
    pub super_users: u64,
    pub super_share: String,
    pub super_segment: Option<String>,
}

#[derive(Template)]
#[template(path = "rfm.html")]
struct RfmPage {
    chrome: Chrome,
    latest: Option<Latest>,
    classes: Vec<ClassCard>,
    layers: Vec<LayerCard>,
    heatmap: Heatmap,
    moves: Vec<MoveRow>,
    stacks: Vec<Stack>,
    config: Vec<(String, String)>,
    form: ConfigForm,
    /// The form opens by itself after a failed post.
    form_open: bool,
    can_manage: bool,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub error: Option<String>,
    pub done: Option<String>,
}

/// The built-in segments by name → id.
async fn segment_ids(state: &AppState, ca: &ConsoleActor) -> Result<HashMap<String, String>, AppError> {
    let list = state.app.list_segments(&ca.actor).await?;
    Ok(list.into_iter().map(|s| (s.name, s.id.to_string())).collect())
}

fn class_cards(tr: Tr, run: Option<&RfmRun>, segments: &HashMap<String, String>) -> Vec<ClassCard> {
    let scored = run.map_or(0, |r| r.scored);
    RfmClass::all()
        .into_iter()
        .map(|c| {
            let customers = run.and_then(|r| r.classes.get(c.as_str())).copied().unwrap_or(0);
            ClassCard {
                code: c.as_str(),
                label: class_label(tr, c).to_string(),
                customers,
                share: share(customers, scored),
                important: c.is_important(),
                colour: charts::class_colour(c),
                segment: segments.get(&format!("RFM·{}", c.label_zh())).cloned(),
            }
        })
        .collect()
}

fn layer_cards(tr: Tr, classes: &[ClassCard], scored: u64, segments: &HashMap<String, String>) -> Vec<LayerCard> {
    RfmLayer::all()
        .into_iter()
        .map(|l| {
            let customers = RfmClass::all()
                .iter()
                .zip(classes)
                .filter(|(c, _)| c.layer() == l)
                .map(|(_, card)| card.customers)
                .sum();
            LayerCard {
                code: l.as_str(),
                label: layer_label(tr, l).to_string(),
                customers,
                share: share(customers, scored),
                segment: segments.get(&format!("RFM分层·{}", l.label_zh())).cloned(),
            }
        })
        .collect()
}

fn move_rows(tr: Tr, run: Option<&RfmRun>) -> Vec<MoveRow> {
    let name = |code: &str| match code {
        "none" => tr.t("rfm.moves.new").to_string(),
        code => RfmClass::parse(code).map_or_else(|| code.to_string(), |c| class_label(tr, c).to_string()),
    };
    let mut moves: Vec<&(String, String, u64)> = run.map(|r| r.moves.iter().collect()).unwrap_or_default();
    moves.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    moves
        .into_iter()
        .take(MOVES_SHOWN)
        .map(|(from, to, n)| MoveRow { from: name(from), to: name(to), customers: *n })
        .collect()
}

async fn load(
    state: &AppState,
    ca: &ConsoleActor,
    q: PageQuery,
    posted: Option<(ConfigDraft, FormErrors)>,
) -> Result<RfmPage, AppError> {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "rfm");
    let tr = chrome.tr;
    let overview = app.rfm_overview(a).await?;
    let segments = segment_ids(state, ca).await?;
    let run = overview.runs.first();
    let classes = class_cards(tr, run, &segments);
    let scored = run.map_or(0, |r| r.scored);
    let excluded = if overview.config.exclude_tags.is_empty() {
        Vec::new()
    } else {
        let groups = app.tag_groups(a).await?;
        let names: HashMap<_, _> =
            groups.iter().flat_map(|g| g.tags.iter().map(|t| (t.tag.id, t.tag.name.clone()))).collect();
        overview.config.exclude_tags.iter().filter_map(|t| names.get(t).cloned()).collect()
    };
    let form_open = posted.is_some();
    let (draft, errors) = posted.unwrap_or_else(|| (ConfigDraft::from_config(&overview.config), FormErrors::default()));
    Ok(RfmPage {
        latest: run.map(|r| Latest {
            when: fmt_time(&r.as_of),
            version: tr.t("rfm.version_n").replace("{n}", &r.config_version.to_string()),
            scored: r.scored,
            super_users: r.super_users,
            super_share: share(r.super_users, r.scored),
            super_segment: segments.get("超级用户").cloned(),
        }),
        layers: layer_cards(tr, &classes, scored, &segments),
        classes,
        heatmap: charts::heatmap(&overview.heatmap),
        moves: move_rows(tr, run),
        stacks: charts::stacks(&overview.runs, CHART_RUNS, |c| class_label(tr, c).to_string()),
        config: describe(tr, &overview.config, &excluded),
        form: ConfigForm::new(tr, draft, errors),
        form_open,
        can_manage: a.can(Permission::SegmentsManage),
        error: q.error,
        notice: q.done.as_deref().map(|d| label(tr, "rfm.done", d)),
        chrome,
    })
}

pub async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<PageQuery>) -> ConsoleResult {
    Ok(render(&load(&state, &ca, q, None).await?))
}

/// `POST /console/rfm/config`: saves the form as a new configuration version and recomputes; a bad field
/// shows the page again with the typed text and the error next to it.
pub async fn configure(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    // Refused before the form is read, so that a member who may not configure learns nothing from it.
    ca.actor.require(Permission::SegmentsManage)?;
    let draft = ConfigDraft::from_fields(&fields);
    let current = state.app.rfm_config(&ca.actor).await?;
    let result = match draft.parse(current.exclude_tags) {
        Ok(config) => state.app.set_rfm_config(&ca.actor, config).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=configured#config")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "rfm").tr;
            let errors = FormErrors::from_error(tr, &e, "config");
            let page = load(&state, &ca, PageQuery::default(), Some((draft, errors))).await?;
            Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/rfm/run`: recomputes now.
pub async fn run(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let result = state.app.run_rfm(&post.ca.actor).await.map(|_| "run");
    after_post(&post.ca, PATH, result)
}

/// The configuration as (what, how) rows.
pub fn describe(tr: Tr, c: &RfmConfig, excluded: &[String]) -> Vec<(String, String)> {
    let t = |k: &str| tr.t(k).to_string();
    let n = |k: &str, v: &dyn std::fmt::Display| tr.t(k).replace("{n}", &v.to_string());
    let window = |w: Window| match w {
        Window::Lifetime => t("rfm.window.lifetime"),
        Window::Days(d) => n("rfm.window.days", &d),
    };
    let high = |h: HighRule| match h {
        HighRule::ScoreAtLeast(s) => n("rfm.high.at_least", &s),
        HighRule::AboveMeanScore => t("rfm.high.mean"),
    };
    let dot = " · ";
    let source = match c.source {
        RfmSource::Orders => t("rfm.source.orders"),
        RfmSource::Interactions { spend_threshold_fen } => {
            format!(
                "{}{dot}{}",
                t("rfm.source.interactions"),
                tr.t("rfm.spend_threshold").replace("{amount}", &yuan(spend_threshold_fen))
            )
        }
    };
    let mut rows = vec![
        (t("rfm.config.version"), n("rfm.version_n", &c.version)),
        (t("rfm.config.source"), source),
        (
            t("rfm.config.frequency"),
            format!("{}{dot}{}", t(&format!("rfm.frequency.{}", serde_name(&c.frequency))), window(c.frequency_window)),
        ),
        (
            t("rfm.config.monetary"),
            format!("{}{dot}{}", t(&format!("rfm.monetary.{}", serde_name(&c.monetary))), window(c.monetary_window)),
        ),
    ];
    match &c.scoring {
        Scoring::Quantiles => rows.push((t("rfm.config.scoring"), t("rfm.scoring.quantiles"))),
        Scoring::Fixed { r_days, f, m_fen } => {
            rows.push((t("rfm.config.scoring"), t("rfm.scoring.fixed")));
            let join = |v: Vec<String>| v.join(dot);
            rows.push((t("rfm.config.r_cuts"), join(r_days.iter().map(|d| format!("≤ {d}")).collect())));
            rows.push((t("rfm.config.f_cuts"), join(f.iter().map(|v| format!("≥ {v}")).collect())));
            rows.push((t("rfm.config.m_cuts"), join(m_fen.iter().map(|v| format!("≥ {}", yuan(*v))).collect())));
        }
    }
    rows.push((
        t("rfm.config.high"),
        format!("R {}{dot}F {}{dot}M {}", high(c.high.r), high(c.high.f), high(c.high.m)),
    ));
    let s = &c.super_users;
    let mut rule: Vec<String> = Vec::new();
    rule.extend(s.top_monetary_percent.map(|p| n("rfm.super.top", &p)));
    rule.extend(s.min_frequency.map(|f| n("rfm.super.min_f", &f)));
    rule.extend(s.class.map(|c| class_label(tr, c).to_string()));
    rows.push((t("rfm.config.super_users"), rule.join(dot)));
    let excluded = if excluded.is_empty() { t("rfm.none") } else { excluded.join(sep(tr)) };
    rows.push((t("rfm.config.exclude"), excluded));
    rows
}
