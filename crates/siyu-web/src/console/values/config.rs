//! The RFM configuration's form on the console, whose typed text survives a failed post ([`ConfigDraft`]).
//! Amounts are typed in yuan and stored in fen; an empty window is the whole history. Errors name the
//! configuration's own fields (`scoring.r_days`, `high.m`, `super_users.min_frequency`, ...), as
//! `RfmConfig::validate` does, so parse and validation errors both show next to their field.

use siyu_app::AppError;
use siyu_domain::id::TagId;
use siyu_domain::order::{format_fen, parse_fen};
use siyu_domain::rfm::{
    FrequencyBasis, HighRule, HighRules, MonetaryBasis, RfmClass, RfmConfig, RfmSource, Scoring, SuperUserRule, Window,
};

use super::class_label;
use crate::console::customers::view::{FieldError, FormErrors, all, text};
use crate::i18n::Tr;

/// The form's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct ConfigDraft {
    pub source: String,
    /// Yuan, for the interactions source.
    pub spend_threshold: String,
    pub frequency: String,
    /// Days; empty for the whole history.
    pub frequency_window: String,
    pub monetary: String,
    pub monetary_window: String,
    pub scoring: String,
    pub r_days: Vec<String>,
    pub f: Vec<String>,
    /// Yuan.
    pub m_yuan: Vec<String>,
    /// `1`–`5` or `mean`.
    pub high_r: String,
    pub high_f: String,
    pub high_m: String,
    pub top_percent: String,
    pub min_frequency: String,
    /// A class code or empty.
    pub super_class: String,
}

fn window_text(w: Window) -> String {
    match w {
        Window::Lifetime => String::new(),
        Window::Days(n) => n.to_string(),
    }
}

fn high_text(h: HighRule) -> String {
    match h {
        HighRule::ScoreAtLeast(n) => n.to_string(),
        HighRule::AboveMeanScore => "mean".into(),
    }
}

fn texts<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

impl ConfigDraft {
    /// The form filled with a stored configuration (fixed cut points from the default when it scores by
    /// quantiles, so switching back starts from sensible numbers).
    pub fn from_config(c: &RfmConfig) -> Self {
        let fixed = match &c.scoring {
            Scoring::Fixed { .. } => c.scoring.clone(),
            Scoring::Quantiles => RfmConfig::default().scoring,
        };
        let (r_days, f, m_fen) = match fixed {
            Scoring::Fixed { r_days, f, m_fen } => (r_days, f, m_fen),
            Scoring::Quantiles => Default::default(),
        };
        let (source, threshold) = match c.source {
            RfmSource::Orders => ("orders", 30_000),
            RfmSource::Interactions { spend_threshold_fen } => ("interactions", spend_threshold_fen),
        };
        Self {
            source: source.into(),
            spend_threshold: format_fen(threshold),
            frequency: serde_name(&c.frequency),
            frequency_window: window_text(c.frequency_window),
            monetary: serde_name(&c.monetary),
            monetary_window: window_text(c.monetary_window),
            scoring: if c.scoring == Scoring::Quantiles { "quantiles" } else { "fixed" }.into(),
            r_days: texts(&r_days),
            f: texts(&f),
            m_yuan: m_fen.iter().map(|v| format_fen(*v)).collect(),
            high_r: high_text(c.high.r),
            high_f: high_text(c.high.f),
            high_m: high_text(c.high.m),
            top_percent: c.super_users.top_monetary_percent.map(|p| p.to_string()).unwrap_or_default(),
            min_frequency: c.super_users.min_frequency.map(|p| p.to_string()).unwrap_or_default(),
            super_class: c.super_users.class.map(|c| c.as_str().to_string()).unwrap_or_default(),
        }
    }

    /// The form as posted.
    pub fn from_fields(fields: &[(String, String)]) -> Self {
        let field = |k: &str| text(fields, k).trim().to_string();
        let four = |k: &str| {
            let mut v: Vec<String> = all(fields, k).into_iter().map(|s| s.trim().to_string()).take(4).collect();
            v.resize(4, String::new());
            v
        };
        Self {
            source: field("source"),
            spend_threshold: field("spend_threshold"),
            frequency: field("frequency"),
            frequency_window: field("frequency_window"),
            monetary: field("monetary"),
            monetary_window: field("monetary_window"),
            scoring: field("scoring"),
            r_days: four("r_days"),
            f: four("f"),
            m_yuan: four("m_yuan"),
            high_r: field("high_r"),
            high_f: field("high_f"),
            high_m: field("high_m"),
            top_percent: field("top_percent"),
            min_frequency: field("min_frequency"),
            super_class: field("super_class"),
        }
    }

    /// Whether a choice field holds `value` (to mark the selected option).
    pub fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "source" => &self.source,
            "frequency" => &self.frequency,
            "monetary" => &self.monetary,
            "scoring" => &self.scoring,
            "high_r" => &self.high_r,
            "high_f" => &self.high_f,
            "high_m" => &self.high_m,
            "super_class" => &self.super_class,
            _ => return false,
        };
        current == value
    }

    /// The configuration the form describes (its version is set by the service); `exclude_tags` are kept
    /// from the stored one, as the form does not edit them. Only the shape is checked here.
    pub fn parse(&self, exclude_tags: Vec<TagId>) -> Result<RfmConfig, AppError> {
        let source = match self.source.as_str() {
            "orders" => RfmSource::Orders,
            "interactions" => RfmSource::Interactions {
                spend_threshold_fen: fen("source.spend_threshold_fen", &self.spend_threshold)?,
            },
            _ => return Err(AppError::invalid("source", "expected_option")),
        };
        let frequency = match self.frequency.as_str() {
            "orders" => FrequencyBasis::Orders,
            "purchase_days" => FrequencyBasis::PurchaseDays,
            _ => return Err(AppError::invalid("frequency", "expected_option")),
        };
        let monetary = match self.monetary.as_str() {
            "total" => MonetaryBasis::Total,
            "average_per_order" => MonetaryBasis::AveragePerOrder,
            _ => return Err(AppError::invalid("monetary", "expected_option")),
        };
        let scoring = match self.scoring.as_str() {
            "quantiles" => Scoring::Quantiles,
            "fixed" => Scoring::Fixed {
                r_days: numbers("scoring.r_days", &self.r_days)?,
                f: numbers("scoring.f", &self.f)?,
                m_fen: self.m_yuan.iter().map(|v| fen("scoring.m_fen", v)).collect::<Result<_, _>>()?,
            },
            _ => return Err(AppError::invalid("scoring", "expected_option")),
        };
        let super_users = SuperUserRule {
            top_monetary_percent: optional::<u32>("super_users.top_monetary_percent", &self.top_percent)?
                .map(|p| {
                    u8::try_from(p)
                        .map_err(|_| AppError::invalid("super_users.top_monetary_percent", "out_of_range (1..=100)"))
                })
                .transpose()?,
            min_frequency: optional("super_users.min_frequency", &self.min_frequency)?,
            class: match self.super_class.as_str() {
                "" => None,
                code => Some(
                    RfmClass::parse(code).ok_or_else(|| AppError::invalid("super_users.class", "expected_option"))?,
                ),
            },
        };
        Ok(RfmConfig {
            version: 0,
            source,
            frequency,
            frequency_window: window("frequency_window", &self.frequency_window)?,
            monetary,
            monetary_window: window("monetary_window", &self.monetary_window)?,
            scoring,
            high: HighRules {
                r: high("high.r", &self.high_r)?,
                f: high("high.f", &self.high_f)?,
                m: high("high.m", &self.high_m)?,
            },
            exclude_tags,
            super_users,
        })
    }
}

/// The snake_case name serde gives a unit variant (`purchase_days`).
pub fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn fen(field: &str, yuan_text: &str) -> Result<i64, AppError> {
    if yuan_text.is_empty() {
        return Err(AppError::invalid(field, "required"));
    }
    parse_fen(yuan_text).map_err(|e| AppError::invalid(field, e.code()))
}

fn numbers<T: std::str::FromStr>(field: &str, values: &[String]) -> Result<Vec<T>, AppError> {
    values
        .iter()
        .map(|v| match v.as_str() {
            "" => Err(AppError::invalid(field, "required")),
            v => v.parse().map_err(|_| AppError::invalid(field, "expected_number")),
        })
        .collect()
}

fn optional<T: std::str::FromStr>(field: &str, value: &str) -> Result<Option<T>, AppError> {
    match value {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| AppError::invalid(field, "expected_number")),
    }
}

fn window(field: &str, days: &str) -> Result<Window, AppError> {
    Ok(optional(field, days)?.map_or(Window::Lifetime, Window::Days))
}

fn high(field: &str, value: &str) -> Result<HighRule, AppError> {
    match value {
        "mean" => Ok(HighRule::AboveMeanScore),
        v => v.parse().map(HighRule::ScoreAtLeast).map_err(|_| AppError::invalid(field, "expected_option")),
    }
}

/// The fields the form shows an error next to; others go to its top.
const SHOWN: [&str; 17] = [
    "source",
    "source.spend_threshold_fen",
    "frequency",
    "frequency_window",
    "monetary",
    "monetary_window",
    "scoring",
    "scoring.r_days",
    "scoring.f",
    "scoring.m_fen",
    "high.r",
    "high.f",
    "high.m",
    "super_users",
    "super_users.top_monetary_percent",
    "super_users.min_frequency",
    "super_users.class",
];

/// The configuration form: the draft, its errors and the choices of its selects (value, label).
pub struct ConfigForm {
    pub draft: ConfigDraft,
    pub errors: FormErrors,
    pub sources: Vec<(&'static str, String)>,
    pub frequencies: Vec<(&'static str, String)>,
    pub monetaries: Vec<(&'static str, String)>,
    pub scorings: Vec<(&'static str, String)>,
    pub highs: Vec<(&'static str, String)>,
    pub classes: Vec<(&'static str, &'static str)>,
}

impl ConfigForm {
    pub fn new(tr: Tr, draft: ConfigDraft, errors: FormErrors) -> Self {
        let options = |prefix: &str, values: &[&'static str]| {
            values.iter().map(|v| (*v, tr.t(&format!("{prefix}.{v}")).to_string())).collect()
        };
        let mut highs: Vec<(&'static str, String)> =
            ["5", "4", "3", "2", "1"].iter().map(|n| (*n, tr.t("rfm.high.at_least").replace("{n}", n))).collect();
        highs.push(("mean", tr.t("rfm.high.mean").to_string()));
        Self {
            draft,
            errors,
            sources: options("rfm.source", &["orders", "interactions"]),
            frequencies: options("rfm.frequency", &["orders", "purchase_days"]),
            monetaries: options("rfm.monetary", &["total", "average_per_order"]),
            scorings: options("rfm.scoring", &["fixed", "quantiles"]),
            highs,
            classes: RfmClass::all().iter().map(|c| (c.as_str(), class_label(tr, *c))).collect(),
        }
    }

    /// The error of one field (named like the configuration's: `scoring.r_days`).
    pub fn error(&self, field: &str) -> Option<&FieldError> {
        self.errors.get(field)
    }

    /// Errors about fields the form shows nowhere (listed at its top).
    pub fn other_errors(&self) -> Vec<&FieldError> {
        self.errors.others(&SHOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(draft: &ConfigDraft) -> Vec<(String, String)> {
        let mut p = vec![
            ("source", draft.source.clone()),
            ("spend_threshold", draft.spend_threshold.clone()),
            ("frequency", draft.frequency.clone()),
            ("frequency_window", draft.frequency_window.clone()),
            ("monetary", draft.monetary.clone()),
            ("monetary_window", draft.monetary_window.clone()),
            ("scoring", draft.scoring.clone()),
            ("high_r", draft.high_r.clone()),
            ("high_f", draft.high_f.clone()),
            ("high_m", draft.high_m.clone()),
            ("top_percent", draft.top_percent.clone()),
            ("min_frequency", draft.min_frequency.clone()),
            ("super_class", draft.super_class.clone()),
        ];
        for (k, vs) in [("r_days", &draft.r_days), ("f", &draft.f), ("m_yuan", &draft.m_yuan)] {
            p.extend(vs.iter().map(|v| (k, v.clone())));
        }
        p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn the_default_configuration_goes_through_the_form_unchanged() {
        let config = RfmConfig::default();
        let draft = ConfigDraft::from_fields(&pairs(&ConfigDraft::from_config(&config)));
        assert_eq!(draft.m_yuan, vec!["100.00", "300.00", "800.00", "2000.00"]);
        let parsed = draft.parse(Vec::new()).unwrap();
        assert_eq!(parsed, RfmConfig { version: 0, ..config });
    }

    #[test]
    fn quantiles_lifetime_windows_the_mean_rule_and_an_open_super_user_rule_parse() {
        let mut draft = ConfigDraft::from_config(&RfmConfig::default());
        draft.scoring = "quantiles".into();
        draft.frequency_window = String::new();
        draft.high_m = "mean".into();
        draft.top_percent = String::new();
        draft.super_class = String::new();
        let c = draft.parse(Vec::new()).unwrap();
        assert_eq!(
            (c.scoring, c.frequency_window, c.high.m),
            (Scoring::Quantiles, Window::Lifetime, HighRule::AboveMeanScore)
        );
        assert_eq!(c.super_users, SuperUserRule { top_monetary_percent: None, min_frequency: Some(3), class: None });
    }

    #[test]
    fn bad_text_is_refused_on_the_field_it_was_typed_in() {
        let mut draft = ConfigDraft::from_config(&RfmConfig::default());
        draft.m_yuan[2] = "八百".into();
        let e = draft.parse(Vec::new()).unwrap_err();
        assert_eq!(e.field(), Some("scoring.m_fen"));
        draft.m_yuan[2] = "800".into();
        draft.r_days[0] = String::new();
        assert_eq!(draft.parse(Vec::new()).unwrap_err().field(), Some("scoring.r_days"));
        draft.r_days[0] = "30".into();
        draft.top_percent = "300".into();
        assert_eq!(draft.parse(Vec::new()).unwrap_err().field(), Some("super_users.top_monetary_percent"));
    }
}
