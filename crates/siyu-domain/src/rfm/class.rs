//! The eight RFM classes used in China and the four-class layering by R × F (cdp.md §5).

use serde::{Deserialize, Serialize};

/// One of the eight classes: R high/low × F high/low × M high/low. The "important" (重要) four are the
/// high-M half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RfmClass {
    /// R high, F high, M high: 重要价值.
    ImportantValue,
    /// R high, F low, M high: 重要发展.
    ImportantDevelop,
    /// R low, F high, M high: 重要保持.
    ImportantKeep,
    /// R low, F low, M high: 重要挽留.
    ImportantWinBack,
    /// R high, F high, M low: 一般价值.
    GeneralValue,
    /// R high, F low, M low: 一般发展.
    GeneralDevelop,
    /// R low, F high, M low: 一般保持.
    GeneralKeep,
    /// R low, F low, M low: 一般挽留.
    GeneralWinBack,
}

impl RfmClass {
    const ALL: [RfmClass; 8] = [
        Self::ImportantValue,
        Self::ImportantDevelop,
        Self::ImportantKeep,
        Self::ImportantWinBack,
        Self::GeneralValue,
        Self::GeneralDevelop,
        Self::GeneralKeep,
        Self::GeneralWinBack,
    ];

    /// Every class, 重要价值 first, in the order of the table in cdp.md §5.
    pub fn all() -> [RfmClass; 8] {
        Self::ALL
    }

    /// The class of a customer whose R, F and M are high (`true`) or low.
    pub fn of(r_high: bool, f_high: bool, m_high: bool) -> Self {
        match (m_high, RfmLayer::of(r_high, f_high)) {
            (true, RfmLayer::Value) => Self::ImportantValue,
            (true, RfmLayer::Develop) => Self::ImportantDevelop,
            (true, RfmLayer::Keep) => Self::ImportantKeep,
            (true, RfmLayer::WinBack) => Self::ImportantWinBack,
            (false, RfmLayer::Value) => Self::GeneralValue,
            (false, RfmLayer::Develop) => Self::GeneralDevelop,
            (false, RfmLayer::Keep) => Self::GeneralKeep,
            (false, RfmLayer::WinBack) => Self::GeneralWinBack,
        }
    }

    /// The stable snake_case code (`important_value`, ...), as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImportantValue => "important_value",
            Self::ImportantDevelop => "important_develop",
            Self::ImportantKeep => "important_keep",
            Self::ImportantWinBack => "important_win_back",
            Self::GeneralValue => "general_value",
            Self::GeneralDevelop => "general_develop",
            Self::GeneralKeep => "general_keep",
            Self::GeneralWinBack => "general_win_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::ImportantValue => "重要价值",
            Self::ImportantDevelop => "重要发展",
            Self::ImportantKeep => "重要保持",
            Self::ImportantWinBack => "重要挽留",
            Self::GeneralValue => "一般价值",
            Self::GeneralDevelop => "一般发展",
            Self::GeneralKeep => "一般保持",
            Self::GeneralWinBack => "一般挽留",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::ImportantValue => "Important value",
            Self::ImportantDevelop => "Important to develop",
            Self::ImportantKeep => "Important to keep",
            Self::ImportantWinBack => "Important to win back",
            Self::GeneralValue => "General value",
            Self::GeneralDevelop => "General to develop",
            Self::GeneralKeep => "General to keep",
            Self::GeneralWinBack => "General to win back",
        }
    }

    /// Whether M is high (the 重要 half).
    pub fn is_important(self) -> bool {
        matches!(self, Self::ImportantValue | Self::ImportantDevelop | Self::ImportantKeep | Self::ImportantWinBack)
    }

    /// The R × F layer the class falls in (M dropped).
    pub fn layer(self) -> RfmLayer {
        match self {
            Self::ImportantValue | Self::GeneralValue => RfmLayer::Value,
            Self::ImportantDevelop | Self::GeneralDevelop => RfmLayer::Develop,
            Self::ImportantKeep | Self::GeneralKeep => RfmLayer::Keep,
            Self::ImportantWinBack | Self::GeneralWinBack => RfmLayer::WinBack,
        }
    }
}

/// The four-class layering by R × F only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RfmLayer {
    /// R high, F high: 价值.
    Value,
    /// R high, F low: 发展.
    Develop,
    /// R low, F high: 保持.
    Keep,
    /// R low, F low: 挽留.
    WinBack,
}

impl RfmLayer {
    const ALL: [RfmLayer; 4] = [Self::Value, Self::Develop, Self::Keep, Self::WinBack];

    pub fn all() -> [RfmLayer; 4] {
        Self::ALL
    }

    pub fn of(r_high: bool, f_high: bool) -> Self {
        match (r_high, f_high) {
            (true, true) => Self::Value,
            (true, false) => Self::Develop,
            (false, true) => Self::Keep,
            (false, false) => Self::WinBack,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Value => "value",
            Self::Develop => "develop",
            Self::Keep => "keep",
            Self::WinBack => "win_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Value => "价值",
            Self::Develop => "发展",
            Self::Keep => "保持",
            Self::WinBack => "挽留",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Value => "Value",
            Self::Develop => "Develop",
            Self::Keep => "Keep",
            Self::WinBack => "Win back",
        }
    }
}
