//! The customer page's "价值" card (`customer_values.html`): the customer's RFM scores with their class,
//! layer and super-user flag and the values behind them, and the CLV prediction (probability alive,
//! purchases expected over the model's horizon, discounted value), or "尚未计算" for what has not run yet.

use siyu_app::AppError;
use siyu_domain::clv::CustomerClv;
use siyu_domain::id::CustomerId;
use siyu_domain::rfm::CustomerRfm;

use super::view::{fmt_time, yuan};
use crate::auth::ConsoleActor;
use crate::console::values::{class_label, layer_label, percent};
use crate::i18n::Tr;
use crate::state::AppState;

pub struct RfmView {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub class_code: &'static str,
    pub class: String,
    pub important: bool,
    pub layer: String,
    pub super_user: bool,
    /// `3 天前`.
    pub recency: String,
    pub frequency: u32,
    pub monetary: String,
    /// `2025-03-01 10:00 · 第 2 版配置`.
    pub computed: String,
}

pub struct ClvView {
    pub p_alive: String,
    pub expected_purchases: String,
    pub expected_spend: String,
    pub clv: String,
    pub computed: String,
}

pub struct ValuesCard {
    pub rfm: Option<RfmView>,
    pub clv: Option<ClvView>,
}

impl ValuesCard {
    pub async fn load(state: &AppState, ca: &ConsoleActor, tr: Tr, customer: CustomerId) -> Result<Self, AppError> {
        let (rfm, clv) = state.app.customer_values(&ca.actor, customer).await?;
        Ok(Self::new(tr, rfm.as_ref(), clv.as_ref()))
    }

    pub fn new(tr: Tr, rfm: Option<&CustomerRfm>, clv: Option<&CustomerClv>) -> Self {
        Self {
            rfm: rfm.map(|s| RfmView {
                r: s.r,
                f: s.f,
                m: s.m,
                class_code: s.class.as_str(),
                class: class_label(tr, s.class).to_string(),
                important: s.class.is_important(),
                layer: layer_label(tr, s.layer).to_string(),
                super_user: s.super_user,
                recency: tr.t("values.days_ago").replace("{n}", &s.recency_days.to_string()),
                frequency: s.frequency,
                monetary: yuan(s.monetary_fen),
                computed: format!(
                    "{} · {}",
                    fmt_time(&s.computed_at),
                    tr.t("rfm.version_n").replace("{n}", &s.config_version.to_string())
                ),
            }),
            clv: clv.map(|c| ClvView {
                p_alive: percent(c.p_alive),
                expected_purchases: format!("{:.2}", c.expected_purchases),
                expected_spend: yuan(c.expected_spend_fen),
                clv: yuan(c.clv_fen),
                computed: fmt_time(&c.computed_at),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use siyu_domain::rfm::{RfmClass, RfmLayer};

    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn the_card_shows_scores_class_and_value_in_yuan() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-03-01T02:00:00Z").unwrap().to_utc();
        let rfm = CustomerRfm {
            customer_id: CustomerId::new(),
            recency_days: 3,
            frequency: 4,
            monetary_fen: 123_456,
            r: 5,
            f: 3,
            m: 4,
            class: RfmClass::ImportantValue,
            layer: RfmLayer::Value,
            super_user: true,
            config_version: 2,
            computed_at: at,
        };
        let card = ValuesCard::new(Tr(Lang::Zh), Some(&rfm), None);
        let view = card.rfm.unwrap();
        assert_eq!(
            (view.class.as_str(), view.layer.as_str(), view.monetary.as_str()),
            ("重要价值", "价值", "¥1234.56")
        );
        assert!(view.computed.starts_with("2025-03-01 10:00"));
        assert!(card.clv.is_none());
    }
}
