//! Recognising an export from its header row, and the [`Mapping`] of columns to fields the normaliser
//! runs on.
//!
//! [`detect`] scores every built-in format against the headers: each field the format can fill counts 1,
//! each of its signature headers (columns only that platform writes) counts 3, and the score is the share
//! of the format's total weight that the file has, in percent. A format needs an order id column, a paid
//! amount column and at least one signature header to be chosen, and a score of [`MIN_SCORE`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::catalogue::{FORMATS, Format, format_of};
use super::cell::fold;
use super::field::{Field, OrderTotals};
use super::platform::Platform;

/// The lowest score [`Detection::best`] accepts.
pub const MIN_SCORE: u32 = 25;

/// How well one format fits a header row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    pub platform: Platform,
    /// 0–100.
    pub score: u32,
    /// How many of the format's signature headers the file has.
    pub signature_hits: usize,
    /// The fields the file can fill.
    pub fields: Vec<Field>,
    /// Whether the file has what the format needs (order id, paid amount, one signature header).
    pub usable: bool,
}

/// Every format's fit, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Detection {
    pub candidates: Vec<Candidate>,
}

impl Detection {
    /// The recognised platform: the best usable candidate scoring at least [`MIN_SCORE`].
    pub fn best(&self) -> Option<Platform> {
        self.candidates.iter().find(|c| c.usable && c.score >= MIN_SCORE).map(|c| c.platform)
    }
}

/// Folded header name → first column with that name.
fn header_index(headers: &[String]) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        index.entry(fold(h)).or_insert(i);
    }
    index
}

fn find(index: &HashMap<String, usize>, aliases: &[&str]) -> Option<usize> {
    aliases.iter().find_map(|a| index.get(&fold(a)).copied())
}

/// Scores every built-in format against a header row.
pub fn detect(headers: &[String]) -> Detection {
    let index = header_index(headers);
    let mut candidates: Vec<(usize, Candidate)> = FORMATS
        .iter()
        .enumerate()
        .map(|(order, format)| {
            let fields: Vec<Field> =
                format.columns.iter().filter(|(_, aliases)| find(&index, aliases).is_some()).map(|(f, _)| *f).collect();
            let signature_hits = format.signature.iter().filter(|s| index.contains_key(&fold(s))).count();
            let total = format.columns.len() + 3 * format.signature.len();
            let got = fields.len() + 3 * signature_hits;
            let score = u32::try_from(got * 100 / total.max(1)).unwrap_or(100);
            let usable = fields.contains(&Field::OrderId)
                && (fields.contains(&Field::PaidAmount) || fields.contains(&Field::LinePaidAmount))
                && signature_hits > 0;
            (order, Candidate { platform: format.platform, score, signature_hits, fields, usable })
        })
        .collect();
    candidates.sort_by(|(ia, a), (ib, b)| b.score.cmp(&a.score).then(ia.cmp(ib)));
    Detection { candidates: candidates.into_iter().map(|(_, c)| c).collect() }
}

/// Why a mapping cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the header row matches no known platform export")]
    Unrecognised,
    #[error("{0} has no built-in export format; map the columns instead")]
    NoFormat(Platform),
    #[error("no column for {}", .0.as_str())]
    MissingColumn(Field),
}

impl MappingError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unrecognised => "unrecognised_format",
            Self::NoFormat(_) => "no_builtin_format",
            Self::MissingColumn(_) => "missing_column",
        }
    }
}

/// Which column fills which field, for one file. The normaliser only ever sees a mapping, so built-in
/// formats and user-made mappings behave the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mapping {
    pub platform: Platform,
    pub totals: OrderTotals,
    /// Field → 0-based column index. One column may fill several fields.
    pub columns: BTreeMap<Field, usize>,
}

impl Mapping {
    /// Recognises the platform from the headers and maps its columns.
    pub fn detect(headers: &[String]) -> Result<Self, MappingError> {
        let platform = detect(headers).best().ok_or(MappingError::Unrecognised)?;
        Self::for_platform(platform, headers)
    }

    /// Maps the headers with a platform's built-in format (its header names and aliases).
    pub fn for_platform(platform: Platform, headers: &[String]) -> Result<Self, MappingError> {
        let format: &Format = format_of(platform).ok_or(MappingError::NoFormat(platform))?;
        let index = header_index(headers);
        let columns = format.columns.iter().filter_map(|(f, aliases)| find(&index, aliases).map(|c| (*f, c))).collect();
        Self::custom(platform, columns, format.totals)
    }

    /// A user-made mapping (the generic format). Needs an order id and a paid amount (order or line).
    pub fn custom(
        platform: Platform,
        columns: BTreeMap<Field, usize>,
        totals: OrderTotals,
    ) -> Result<Self, MappingError> {
        if !columns.contains_key(&Field::OrderId) {
            return Err(MappingError::MissingColumn(Field::OrderId));
        }
        if !columns.contains_key(&Field::PaidAmount) && !columns.contains_key(&Field::LinePaidAmount) {
            return Err(MappingError::MissingColumn(Field::PaidAmount));
        }
        Ok(Self { platform, totals, columns })
    }

    /// A starting point for a user mapping: every header any built-in format knows, or named after our
    /// field keys (`order_id`, `paid_amount`, …). The user confirms or edits it.
    pub fn suggest(headers: &[String]) -> BTreeMap<Field, usize> {
        let index = header_index(headers);
        let mut out = BTreeMap::new();
        for field in Field::ALL {
            let found = index
                .get(&fold(field.as_str()))
                .copied()
                .or_else(|| FORMATS.iter().find_map(|format| find(&index, format.aliases(field))));
            if let Some(c) = found {
                out.insert(field, c);
            }
        }
        out
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns.get(&field).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn each_platform_is_recognised_from_its_headers() {
        let cases = [
            ("订单编号,买家会员名,买家应付货款,买家应付邮费,买家实际支付金额,订单状态,宝贝标题", Platform::Taobao),
            ("订单号,商品ID,商品名称,订购数量,京东价,应付金额,订单状态,下单时间,下单帐号", Platform::Jd),
            ("商品,订单号,订单状态,商品总价(元),用户实付金额(元),商品数量(件),商品id", Platform::Pinduoduo),
            ("订单号,订单状态,粉丝昵称,买家手机号,订单实付金额,商品名称,商品数量", Platform::Youzan),
            ("主订单编号,子订单编号,选购商品,商品ID,商品数量,订单应付金额,订单状态", Platform::Douyin),
        ];
        for (h, p) in cases {
            assert_eq!(detect(&headers(h)).best(), Some(p), "{h}");
        }
    }

    #[test]
    fn unrelated_headers_are_not_recognised() {
        assert_eq!(detect(&headers("name,phone,email")).best(), None);
        assert_eq!(detect(&headers("订单号,金额")).best(), None);
        assert_eq!(Mapping::detect(&headers("a,b")), Err(MappingError::Unrecognised));
    }

    #[test]
    fn headers_match_despite_spaces_bom_and_full_width_brackets() {
        let h = headers("\u{feff}订单号 ,商品总价（元）,用户实付金额（元）, 订单状态");
        let m = Mapping::for_platform(Platform::Pinduoduo, &h).unwrap();
        assert_eq!(m.column(Field::OrderId), Some(0));
        assert_eq!(m.column(Field::TotalAmount), Some(1));
        assert_eq!(m.column(Field::PaidAmount), Some(2));
        assert_eq!(m.totals, OrderTotals::Summed);
    }

    #[test]
    fn aliases_are_tried_in_preference_order() {
        let h = headers("订单编号,宝贝标题,标题,买家实付金额");
        let m = Mapping::for_platform(Platform::Taobao, &h).unwrap();
        assert_eq!(m.column(Field::Title), Some(2));
        assert_eq!(m.column(Field::PaidAmount), Some(3));
    }

    #[test]
    fn a_mapping_needs_an_order_id_and_a_paid_amount() {
        let only_id = BTreeMap::from([(Field::OrderId, 0)]);
        assert_eq!(
            Mapping::custom(Platform::Generic, only_id, OrderTotals::Repeated),
            Err(MappingError::MissingColumn(Field::PaidAmount))
        );
        assert_eq!(Mapping::for_platform(Platform::OwnMall, &[]), Err(MappingError::NoFormat(Platform::OwnMall)));
        assert_eq!(MappingError::Unrecognised.code(), "unrecognised_format");
    }

    #[test]
    fn suggestions_use_field_keys_and_known_header_names() {
        let s = Mapping::suggest(&headers("order_id,unionid,实付,订单状态,用户实付金额(元)"));
        assert_eq!(s.get(&Field::OrderId), Some(&0));
        assert_eq!(s.get(&Field::Unionid), Some(&1));
        assert_eq!(s.get(&Field::Status), Some(&3));
        assert_eq!(s.get(&Field::PaidAmount), Some(&4));
    }
}
