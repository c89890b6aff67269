//! Console pages of customer value: "RFM 价值分层" (`values/rfm.rs`: the eight classes, the four layers,
//! the R × F heatmap, movement between classes, the configuration and its form in `values/config.rs`) and
//! "客户终身价值 CLV" (`values/clv.rs`: the fitted BG/NBD and Gamma-Gamma models, the value distribution and
//! the top customers). The SVG geometry of their charts is in `values/charts.rs`; the customer page's
//! "价值" card in `customers/values.rs`.

pub mod charts;
pub mod clv;
pub mod config;
pub mod rfm;

use axum::Router;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_domain::rfm::{RfmClass, RfmLayer};

use super::customers::view::error_message;
use super::page::{Chrome, ConsoleResult};
use crate::auth::{ConsoleActor, urlencode};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(rfm::PATH, rfm::page)
        .post("/console/rfm/config", rfm::configure)
        .post("/console/rfm/run", rfm::run)
        .get(clv::PATH, clv::page)
        .post("/console/clv/run", clv::run)
        .into_router()
}

/// A class's name in the console's language.
pub fn class_label(tr: Tr, c: RfmClass) -> &'static str {
    if tr.is_en() { c.label_en() } else { c.label_zh() }
}

/// A layer's name in the console's language.
pub fn layer_label(tr: Tr, l: RfmLayer) -> &'static str {
    if tr.is_en() { l.label_en() } else { l.label_zh() }
}

/// `n` of `total` as a percentage with one decimal (`12.5%`; `0.0%` of nothing).
pub fn share(n: u64, total: u64) -> String {
    if total == 0 {
        return "0.0%".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / total as f64)
}

/// A probability as a percentage with one decimal.
pub fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

/// A fitted parameter or statistic, four significant digits for small values and two decimals for large.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.2}"),
        a if a >= 1.0 || a == 0.0 => format!("{x:.4}"),
        a if a >= 1e-4 => format!("{x:.6}"),
        _ => format!("{x:.3e}"),
    }
}

/// Where a run or fit button posts back to: the page with a notice, or the translated error.
pub fn after_post(ca: &ConsoleActor, path: &str, result: Result<&str, AppError>) -> ConsoleResult {
    let target = match result {
        Ok(done) => format!("{path}?done={done}"),
        Err(e @ (AppError::NotFound | AppError::Forbidden)) => return Err(e.into()),
        Err(e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "rfm").tr;
            format!("{path}?error={}", urlencode(&error_message(tr, &e)))
        }
    };
    Ok(Redirect::to(&target).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_numbers_read_well() {
        assert_eq!(share(1, 8), "12.5%");
        assert_eq!(share(3, 0), "0.0%");
        assert_eq!(percent(0.8316), "83.2%");
        assert_eq!(num(0.242_593), "0.242593");
        assert_eq!(num(4.413_59), "4.4136");
        assert_eq!(num(-9582.4567), "-9582.46");
        assert_eq!(num(f64::NAN), "—");
        assert_eq!(num(3.2e-7), "3.200e-7");
    }
}
