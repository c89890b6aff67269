//! The fields a segment can test: built-in profile and aggregate fields, and the tenant's custom fields.

use serde::Serialize;

use super::Op;
use crate::field::FieldKind;

/// The type of a field, which decides the comparisons it takes and how values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Integers, fen and custom numbers.
    Number,
    Text,
    /// Text from a fixed list of options.
    Choice,
    /// An instant (UTC in the database).
    Time,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// A list of text values.
    List,
}

impl FieldType {
    pub fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            FieldType::Number => &[Eq, Ne, Lt, Le, Gt, Ge, IsSet, IsNotSet],
            FieldType::Text => &[Eq, Ne, In, Contains, StartsWith, IsSet, IsNotSet],
            FieldType::Choice => &[Eq, Ne, In, IsSet, IsNotSet],
            FieldType::Time => &[WithinDays, OlderThanDays, Lt, Le, Gt, Ge, IsSet, IsNotSet],
            FieldType::Date => &[WithinDays, OlderThanDays, Eq, Ne, Lt, Le, Gt, Ge, IsSet, IsNotSet],
            FieldType::List => &[HasAny, HasAll, IsSet, IsNotSet],
        }
    }

    pub fn of_custom(kind: FieldKind) -> Self {
        match kind {
            FieldKind::Text => FieldType::Text,
            FieldKind::Number => FieldType::Number,
            FieldKind::Date => FieldType::Date,
            FieldKind::SingleChoice => FieldType::Choice,
            FieldKind::MultiChoice => FieldType::List,
        }
    }
}

/// A built-in field. Profile fields live on the customer row, order and event figures on its aggregates
/// row, RFM results on its `customer_rfm` row, CLV predictions on its `customer_clv` row and the lifecycle
/// stage on its `customer_stages` row (absent until computed or entered: a test on them is then false,
/// `is not set` true).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    Name,
    Gender,
    Remark,
    Source,
    CreatedAt,
    LastActiveAt,
    OrderCount,
    OrderDays,
    PaidFen,
    RefundFen,
    AvgPaidFen,
    FirstOrderAt,
    LastOrderAt,
    EventCount,
    ProductCount,
    FirstSeenAt,
    Platforms,
    RfmClass,
    RfmLayer,
    RfmR,
    RfmF,
    RfmM,
    SuperUser,
    ClvFen,
    PAlive,
    ExpectedPurchases,
    Stage,
    StageEnteredAt,
}

impl Builtin {
    pub const ALL: [Builtin; 28] = [
        Builtin::Name,
        Builtin::Gender,
        Builtin::Remark,
        Builtin::Source,
        Builtin::CreatedAt,
        Builtin::LastActiveAt,
        Builtin::OrderCount,
        Builtin::OrderDays,
        Builtin::PaidFen,
        Builtin::RefundFen,
        Builtin::AvgPaidFen,
        Builtin::FirstOrderAt,
        Builtin::LastOrderAt,
        Builtin::EventCount,
        Builtin::ProductCount,
        Builtin::FirstSeenAt,
        Builtin::Platforms,
        Builtin::RfmClass,
        Builtin::RfmLayer,
        Builtin::RfmR,
        Builtin::RfmF,
        Builtin::RfmM,
        Builtin::SuperUser,
        Builtin::ClvFen,
        Builtin::PAlive,
        Builtin::ExpectedPurchases,
        Builtin::Stage,
        Builtin::StageEnteredAt,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Builtin::Name => "name",
            Builtin::Gender => "gender",
            Builtin::Remark => "remark",
            Builtin::Source => "source",
            Builtin::CreatedAt => "created_at",
            Builtin::LastActiveAt => "last_active_at",
            Builtin::OrderCount => "order_count",
            Builtin::OrderDays => "order_days",
            Builtin::PaidFen => "paid_fen",
            Builtin::RefundFen => "refund_fen",
            Builtin::AvgPaidFen => "avg_paid_fen",
            Builtin::FirstOrderAt => "first_order_at",
            Builtin::LastOrderAt => "last_order_at",
            Builtin::EventCount => "event_count",
            Builtin::ProductCount => "product_count",
            Builtin::FirstSeenAt => "first_seen_at",
            Builtin::Platforms => "platforms",
            Builtin::RfmClass => "rfm_class",
            Builtin::RfmLayer => "rfm_layer",
            Builtin::RfmR => "rfm_r",
            Builtin::RfmF => "rfm_f",
            Builtin::RfmM => "rfm_m",
            Builtin::SuperUser => "super_user",
            Builtin::ClvFen => "clv_fen",
            Builtin::PAlive => "p_alive",
            Builtin::ExpectedPurchases => "expected_purchases",
            Builtin::Stage => "stage",
            Builtin::StageEnteredAt => "stage_entered_at",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.key() == key)
    }

    pub fn field_type(self) -> FieldType {
        use Builtin::*;
        match self {
            Name | Remark | Source | Stage => FieldType::Text,
            Gender | RfmClass | RfmLayer => FieldType::Choice,
            RfmR | RfmF | RfmM | SuperUser | ClvFen | PAlive | ExpectedPurchases => FieldType::Number,
            CreatedAt | LastActiveAt | FirstOrderAt | LastOrderAt | FirstSeenAt | StageEnteredAt => FieldType::Time,
            OrderCount | OrderDays | PaidFen | RefundFen | AvgPaidFen | EventCount | ProductCount => FieldType::Number,
            Platforms => FieldType::List,
        }
    }

    /// The values a choice or list field may take (empty: free values).
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Builtin::Gender => &["unknown", "male", "female"],
            Builtin::Platforms => &["taobao", "jd", "pinduoduo", "youzan", "douyin", "own_mall", "generic"],
            Builtin::RfmClass => &[
                "important_value",
                "important_develop",
                "important_keep",
                "important_win_back",
                "general_value",
                "general_develop",
                "general_keep",
                "general_win_back",
            ],
            Builtin::RfmLayer => &["value", "develop", "keep", "win_back"],
            _ => &[],
        }
    }

    /// Whether the field is money in fen (shown as yuan in the console).
    pub fn is_money(self) -> bool {
        matches!(self, Builtin::PaidFen | Builtin::RefundFen | Builtin::AvgPaidFen | Builtin::RfmM | Builtin::ClvFen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_from_its_key() {
        for b in Builtin::ALL {
            assert_eq!(Builtin::parse(b.key()), Some(b));
        }
    }

    #[test]
    fn every_type_takes_the_set_tests() {
        for t in
            [FieldType::Number, FieldType::Text, FieldType::Choice, FieldType::Time, FieldType::Date, FieldType::List]
        {
            assert!(t.ops().contains(&Op::IsSet) && t.ops().contains(&Op::IsNotSet));
        }
    }
}
