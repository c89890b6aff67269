//! Our fields of an order export: what a column means, whatever a platform calls it.
//!
//! A [`super::Mapping`] assigns columns to these fields, for a built-in platform format (from its header
//! names) or for a user-made generic mapping (`{"order_id": 0, "paid_amount": 7, …}`).

use serde::{Deserialize, Serialize};

/// One meaning a column can have. The snake_case names are stable: they are the keys of saved mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    // Order level: the same for every row of an order.
    OrderId,
    Shop,
    BuyerId,
    BuyerNick,
    BuyerPhone,
    Unionid,
    Openid,
    ReceiverName,
    ReceiverPhone,
    ReceiverAddress,
    Status,
    RefundStatus,
    CreatedAt,
    PaidAt,
    ShippedAt,
    FinishedAt,
    /// Goods amount before order discounts (excluding shipping).
    TotalAmount,
    /// Seller (shop) discounts.
    DiscountAmount,
    /// Platform-funded discounts; added to the order's discount.
    PlatformDiscountAmount,
    ShippingAmount,
    /// What the buyer paid, shipping included.
    PaidAmount,
    RefundedAmount,
    // Line level: one line item per row.
    LineId,
    SkuId,
    ProductId,
    Title,
    Spec,
    Quantity,
    UnitPrice,
    /// What the buyer paid for this line after discounts, shipping excluded.
    LinePaidAmount,
    LineRefundStatus,
    LineRefundAmount,
}

impl Field {
    pub const ALL: [Field; 32] = [
        Self::OrderId,
        Self::Shop,
        Self::BuyerId,
        Self::BuyerNick,
        Self::BuyerPhone,
        Self::Unionid,
        Self::Openid,
        Self::ReceiverName,
        Self::ReceiverPhone,
        Self::ReceiverAddress,
        Self::Status,
        Self::RefundStatus,
        Self::CreatedAt,
        Self::PaidAt,
        Self::ShippedAt,
        Self::FinishedAt,
        Self::TotalAmount,
        Self::DiscountAmount,
        Self::PlatformDiscountAmount,
        Self::ShippingAmount,
        Self::PaidAmount,
        Self::RefundedAmount,
        Self::LineId,
        Self::SkuId,
        Self::ProductId,
        Self::Title,
        Self::Spec,
        Self::Quantity,
        Self::UnitPrice,
        Self::LinePaidAmount,
        Self::LineRefundStatus,
        Self::LineRefundAmount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderId => "order_id",
            Self::Shop => "shop",
            Self::BuyerId => "buyer_id",
            Self::BuyerNick => "buyer_nick",
            Self::BuyerPhone => "buyer_phone",
            Self::Unionid => "unionid",
            Self::Openid => "openid",
            Self::ReceiverName => "receiver_name",
            Self::ReceiverPhone => "receiver_phone",
            Self::ReceiverAddress => "receiver_address",
            Self::Status => "status",
            Self::RefundStatus => "refund_status",
            Self::CreatedAt => "created_at",
            Self::PaidAt => "paid_at",
            Self::ShippedAt => "shipped_at",
            Self::FinishedAt => "finished_at",
            Self::TotalAmount => "total_amount",
            Self::DiscountAmount => "discount_amount",
            Self::PlatformDiscountAmount => "platform_discount_amount",
            Self::ShippingAmount => "shipping_amount",
            Self::PaidAmount => "paid_amount",
            Self::RefundedAmount => "refunded_amount",
            Self::LineId => "line_id",
            Self::SkuId => "sku_id",
            Self::ProductId => "product_id",
            Self::Title => "title",
            Self::Spec => "spec",
            Self::Quantity => "quantity",
            Self::UnitPrice => "unit_price",
            Self::LinePaidAmount => "line_paid_amount",
            Self::LineRefundStatus => "line_refund_status",
            Self::LineRefundAmount => "line_refund_amount",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Whether the field describes one line item rather than the order.
    pub fn is_line_field(self) -> bool {
        self >= Self::LineId
    }

    /// Whether the cell is a yuan amount.
    pub fn is_amount(self) -> bool {
        matches!(
            self,
            Self::TotalAmount
                | Self::DiscountAmount
                | Self::PlatformDiscountAmount
                | Self::ShippingAmount
                | Self::PaidAmount
                | Self::RefundedAmount
                | Self::UnitPrice
                | Self::LinePaidAmount
                | Self::LineRefundAmount
        )
    }

    /// Amounts where a minus sign is a way of writing a refund (`-0.50`), read as its magnitude.
    pub fn is_refund_amount(self) -> bool {
        matches!(self, Self::RefundedAmount | Self::LineRefundAmount)
    }

    /// Whether the cell is a time.
    pub fn is_time(self) -> bool {
        matches!(self, Self::CreatedAt | Self::PaidAt | Self::ShippedAt | Self::FinishedAt)
    }

    /// Buyer identifiers: rows of one order that disagree on them are an error, never a merge.
    pub fn identifies_buyer(self) -> bool {
        matches!(self, Self::BuyerId | Self::BuyerPhone | Self::Unionid | Self::Openid)
    }
}

/// How order-level amounts behave when one order spans several rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderTotals {
    /// Every row repeats the order's totals (Taobao, JD, Youzan): they must agree and count once.
    #[default]
    Repeated,
    /// Each row carries its own share (Pinduoduo, Douyin sub-orders): the order's totals are the sums,
    /// and a line's paid amount defaults to its row's paid amount minus its row's shipping.
    Summed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_their_keys() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.as_str()), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
    }

    #[test]
    fn line_fields_follow_the_order_fields() {
        assert!(!Field::RefundedAmount.is_line_field());
        assert!(Field::LineId.is_line_field());
        assert!(Field::LineRefundAmount.is_line_field());
        assert!(Field::LineRefundAmount.is_refund_amount() && Field::LineRefundAmount.is_amount());
        assert!(!Field::PaidAmount.is_refund_amount());
        assert!(Field::BuyerPhone.identifies_buyer() && !Field::ReceiverPhone.identifies_buyer());
    }
}
