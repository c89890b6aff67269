//! Order status, refund state, the moves a re-import may make, and the status words of each platform.
//!
//! ## Re-imports
//!
//! An export is a snapshot; the same order comes again in later exports. The stored status moves only
//! forward ([`OrderStatus::can_move_to`], [`reconcile`]):
//!
//! | from \ to            | accepted moves                                                   |
//! |----------------------|------------------------------------------------------------------|
//! | `pending_payment`    | every other status                                               |
//! | `paid`               | `shipped`, `received`, `partially_refunded`, `refunded`, `closed` |
//! | `shipped`            | `received`, `partially_refunded`, `refunded`, `closed`           |
//! | `received`           | `partially_refunded`, `refunded`                                 |
//! | `partially_refunded` | `refunded`, `closed`                                             |
//! | `closed`             | `refunded` (a closed paid order whose refund shows up later)     |
//! | `refunded`           | nothing (terminal)                                               |
//!
//! Anything else is an older snapshot (`received` → `shipped`, `closed` → `paid`, `refunded` →
//! `partially_refunded`) and is ignored: the stored status wins. Re-importing the same status is a no-op.

use serde::{Deserialize, Serialize};

use super::cell::fold;
use super::platform::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created, not paid (待付款).
    PendingPayment,
    /// Paid, waiting for shipment (待发货).
    Paid,
    /// Shipped or partly shipped, not yet received (已发货).
    Shipped,
    /// Received or the trade completed (已签收 / 交易成功).
    Received,
    /// Everything paid was refunded (退款成功).
    Refunded,
    /// Some of it was refunded (部分退款); the rest stands.
    PartiallyRefunded,
    /// Cancelled or closed without a refund on record (交易关闭 / 已取消).
    Closed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Shipped,
        Self::Received,
        Self::Refunded,
        Self::PartiallyRefunded,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether money was taken and not all given back (the order counts toward spend).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Paid | Self::Shipped | Self::Received | Self::PartiallyRefunded)
    }

    /// Whether a re-import that says `next` may replace `self` (see the module table).
    pub fn can_move_to(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        if self == next {
            return true;
        }
        match (self, next) {
            (Refunded, _) => false,
            (_, Refunded) => true,
            (Closed, _) => false,
            (PartiallyRefunded, Closed) => true,
            (PartiallyRefunded, _) => false,
            (_, PartiallyRefunded) => true,
            (PendingPayment | Paid | Shipped, Closed) => true,
            (_, Closed) => false,
            (from, to) => fulfilment_rank(to) > fulfilment_rank(from),
        }
    }
}

fn fulfilment_rank(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::PendingPayment => 0,
        OrderStatus::Paid => 1,
        OrderStatus::Shipped => 2,
        _ => 3,
    }
}

/// What a re-import does to a stored status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// The same status again: nothing to do.
    Same,
    /// A newer status: store `to` and append a status event.
    Moved { from: OrderStatus, to: OrderStatus },
    /// An older snapshot: keep `stored`, ignore the row's status (and treat the whole order as stale).
    Kept { stored: OrderStatus, incoming: OrderStatus },
}

/// Decides how a stored order's status changes when an import brings `incoming`.
pub fn reconcile(stored: OrderStatus, incoming: OrderStatus) -> StatusChange {
    if stored == incoming {
        StatusChange::Same
    } else if stored.can_move_to(incoming) {
        StatusChange::Moved { from: stored, to: incoming }
    } else {
        StatusChange::Kept { stored, incoming }
    }
}

/// After-sale state of a line or an order, from texts such as 退款成功 or 售后中.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// No refund, or one that was rejected, withdrawn or closed.
    #[default]
    None,
    /// An after-sale case is open (or its text is unknown): recorded, changes no amount.
    InProgress,
    /// Part of the amount was refunded.
    Partial,
    /// Refunded in full.
    Full,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::InProgress => "in_progress",
            Self::Partial => "partial",
            Self::Full => "full",
        }
    }

    /// Reads a platform's refund or after-sale text; unknown non-empty text counts as [`Self::InProgress`].
    pub fn from_text(text: &str) -> Self {
        let t = fold(text);
        const NONE: [&str; 12] =
            ["", "-", "--", "无", "无售后", "没有申请退款", "未申请", "无退款", "无退款申请", "正常", "none", "null"];
        if NONE.contains(&t.as_str()) {
            return Self::None;
        }
        if ["关闭", "取消", "撤销", "拒绝", "失败"].iter().any(|w| t.contains(w)) {
            return Self::None;
        }
        if t.contains("部分退款") || t == "partial" {
            return Self::Partial;
        }
        if ["退款成功", "已退款", "退款完成", "全额退款"].iter().any(|w| t.contains(w)) || t == "full" {
            return Self::Full;
        }
        Self::InProgress
    }
}

/// Maps a platform's 订单状态 text to a status; `None` when the word is unknown.
///
/// The text is compared after folding full-width characters and dropping whitespace, so
/// `买家已付款，等待卖家发货` and `买家已付款,等待卖家发货` are the same word. JD marks orders the buyer
/// deleted from their list with a `(删除)` prefix; the prefix is ignored.
pub fn status_from_text(platform: Platform, text: &str) -> Option<OrderStatus> {
    let folded = fold(text);
    let t = folded.strip_prefix("(删除)").unwrap_or(&folded);
    if let Some(s) = OrderStatus::parse(t) {
        return Some(s);
    }
    let table: &[(&str, OrderStatus)] = match platform {
        Platform::Taobao => TAOBAO,
        Platform::Jd => JD,
        Platform::Pinduoduo => PINDUODUO,
        Platform::Youzan => YOUZAN,
        Platform::Douyin => DOUYIN,
        Platform::OwnMall | Platform::Generic => &[],
    };
    // The tables are written folded (half-width, no spaces), so words compare as they are.
    let lookup = |table: &[(&str, OrderStatus)]| table.iter().find(|(w, _)| *w == t).map(|(_, s)| *s);
    lookup(table).or_else(|| lookup(COMMON)).or_else(|| {
        let refund = RefundState::from_text(t);
        match refund {
            RefundState::Full if t.contains("退款成功") => Some(OrderStatus::Refunded),
            RefundState::Partial => Some(OrderStatus::PartiallyRefunded),
            _ => None,
        }
    })
}

use OrderStatus::{Closed, Paid, PartiallyRefunded, PendingPayment, Received, Refunded, Shipped};

/// 千牛 order report (订单报表) and its 宝贝报表.
const TAOBAO: &[(&str, OrderStatus)] = &[
    ("等待买家付款", PendingPayment),
    ("买家已付款,等待卖家发货", Paid),
    ("等待卖家发货", Paid),
    ("买家已付款", Paid),
    ("卖家已发货,等待买家确认", Shipped),
    ("卖家已发货", Shipped),
    ("等待买家确认收货", Shipped),
    ("卖家部分发货", Shipped),
    ("买家已签收", Received),
    ("交易成功", Received),
    ("交易关闭", Closed),
    ("交易已关闭", Closed),
    ("交易被淘宝关闭", Closed),
];

/// JD seller-centre export (the API names are WAIT_SELLER_STOCK_OUT, WAIT_GOODS_RECEIVE_CONFIRM, FINISHED_L,
/// TRADE_CANCELED, LOCKED, PAUSE). 暂停 is usually a cancellation being decided: still paid.
const JD: &[(&str, OrderStatus)] = &[
    ("等待付款", PendingPayment),
    ("等待出库", Paid),
    ("等待发货", Paid),
    ("等待境外出库", Paid),
    ("等待境内发货", Paid),
    ("暂停", Paid),
    ("暂停订单", Paid),
    ("等待确认收货", Shipped),
    ("完成", Received),
    ("取消", Closed),
    ("锁定", Closed),
    ("锁定订单", Closed),
];

const PINDUODUO: &[(&str, OrderStatus)] = &[
    ("待支付", PendingPayment),
    ("已发货,待签收", Shipped),
    ("已发货,待收货", Shipped),
    ("未发货,退款成功", Refunded),
    ("已发货,退款成功", Refunded),
    ("已签收,退款成功", Refunded),
    ("交易取消", Closed),
];

const YOUZAN: &[(&str, OrderStatus)] = &[
    ("等待买家付款", PendingPayment),
    ("待成团", Paid),
    ("待接单", Paid),
    ("待收货", Shipped),
    ("交易完成", Received),
];

const DOUYIN: &[(&str, OrderStatus)] = &[("备货中", Paid), ("已支付", Paid)];

/// Words every platform (and the generic mapping) understands.
const COMMON: &[(&str, OrderStatus)] = &[
    ("待付款", PendingPayment),
    ("待支付", PendingPayment),
    ("未付款", PendingPayment),
    ("已付款", Paid),
    ("待发货", Paid),
    ("已发货", Shipped),
    ("部分发货", Shipped),
    ("已签收", Received),
    ("已收货", Received),
    ("已完成", Received),
    ("交易成功", Received),
    ("交易完成", Received),
    ("交易关闭", Closed),
    ("已关闭", Closed),
    ("已取消", Closed),
    ("退款成功", Refunded),
    ("已退款", Refunded),
    ("全额退款", Refunded),
    ("部分退款", PartiallyRefunded),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fulfilment_moves_forward_and_never_back() {
        use OrderStatus::*;
        assert!(Paid.can_move_to(Shipped));
        assert!(Shipped.can_move_to(Received));
        assert!(PendingPayment.can_move_to(Received));
        assert!(!Received.can_move_to(Shipped));
        assert!(!Shipped.can_move_to(Paid));
        assert!(!Closed.can_move_to(Paid));
    }

    #[test]
    fn any_state_may_become_refunded_and_refunded_is_final() {
        for s in OrderStatus::ALL {
            assert!(s.can_move_to(OrderStatus::Refunded), "{s:?}");
            assert_eq!(OrderStatus::Refunded.can_move_to(s), s == OrderStatus::Refunded, "{s:?}");
        }
        assert!(OrderStatus::Received.can_move_to(OrderStatus::PartiallyRefunded));
        assert!(!OrderStatus::PartiallyRefunded.can_move_to(OrderStatus::Received));
        assert!(!OrderStatus::Received.can_move_to(OrderStatus::Closed));
    }

    #[test]
    fn reconcile_keeps_the_stored_status_on_an_older_snapshot() {
        use OrderStatus::*;
        assert_eq!(reconcile(Paid, Paid), StatusChange::Same);
        assert_eq!(reconcile(Paid, Shipped), StatusChange::Moved { from: Paid, to: Shipped });
        assert_eq!(reconcile(Received, Paid), StatusChange::Kept { stored: Received, incoming: Paid });
    }

    #[test]
    fn platform_status_words_map_to_statuses() {
        use OrderStatus::*;
        assert_eq!(status_from_text(Platform::Taobao, "买家已付款，等待卖家发货"), Some(Paid));
        assert_eq!(status_from_text(Platform::Taobao, " 交易成功 "), Some(Received));
        assert_eq!(status_from_text(Platform::Jd, "(删除)等待确认收货"), Some(Shipped));
        assert_eq!(status_from_text(Platform::Jd, "锁定"), Some(Closed));
        assert_eq!(status_from_text(Platform::Pinduoduo, "已发货，待签收"), Some(Shipped));
        assert_eq!(status_from_text(Platform::Pinduoduo, "未发货，退款成功"), Some(Refunded));
        assert_eq!(status_from_text(Platform::Youzan, "待成团"), Some(Paid));
        assert_eq!(status_from_text(Platform::Douyin, "备货中"), Some(Paid));
        assert_eq!(status_from_text(Platform::Generic, "partially_refunded"), Some(PartiallyRefunded));
        assert_eq!(status_from_text(Platform::Generic, "部分退款成功"), Some(PartiallyRefunded));
        assert_eq!(status_from_text(Platform::Taobao, "外星人已接管"), None);
    }

    #[test]
    fn status_tables_are_written_folded() {
        for table in [TAOBAO, JD, PINDUODUO, YOUZAN, DOUYIN, COMMON] {
            for (word, _) in table {
                assert_eq!(fold(word), *word);
            }
        }
    }

    #[test]
    fn refund_texts_are_classified() {
        assert_eq!(RefundState::from_text("没有申请退款"), RefundState::None);
        assert_eq!(RefundState::from_text("无售后或售后取消"), RefundState::None);
        assert_eq!(RefundState::from_text("退款关闭"), RefundState::None);
        assert_eq!(RefundState::from_text("退款成功"), RefundState::Full);
        assert_eq!(RefundState::from_text("退款成功（部分退款）"), RefundState::Partial);
        assert_eq!(RefundState::from_text("退款成功（全额退款）"), RefundState::Full);
        assert_eq!(RefundState::from_text("买家已经申请退款，等待卖家同意"), RefundState::InProgress);
        assert_eq!(RefundState::from_text("售后完成"), RefundState::InProgress);
    }

    proptest! {
        #[test]
        fn no_sequence_of_reimports_moves_a_status_backwards(steps in prop::collection::vec(0usize..7, 1..20)) {
            let mut stored = OrderStatus::PendingPayment;
            for i in steps {
                let incoming = OrderStatus::ALL[i];
                if let StatusChange::Moved { to, .. } = reconcile(stored, incoming) {
                    prop_assert!(!to.can_move_to(stored) || to == stored);
                    stored = to;
                }
            }
        }
    }
}
