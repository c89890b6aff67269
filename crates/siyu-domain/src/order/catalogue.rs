//! The export formats of each platform: which header means which [`Field`], in preference order, and the
//! headers only that platform writes (its signature, weighed most when recognising a file).
//!
//! Header names are compared folded ([`super::cell::fold`]): full-width brackets, case and spaces do not
//! matter (`商品总价（元）` = `商品总价(元)`, `收货地址 ` = `收货地址`). Sources are listed in
//! `crates/siyu-app/tests/fixtures/orders/README.md`.

use super::field::{Field, OrderTotals};
use super::platform::Platform;
use Field::*;

/// A platform's export layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub platform: Platform,
    pub totals: OrderTotals,
    /// Each field with the header names it may have, preferred first.
    pub columns: &'static [(Field, &'static [&'static str])],
    /// Headers only this platform's exports have.
    pub signature: &'static [&'static str],
}

impl Format {
    /// The header names a field may have in this format.
    pub fn aliases(&self, field: Field) -> &'static [&'static str] {
        self.columns.iter().find(|(f, _)| *f == field).map(|(_, a)| *a).unwrap_or(&[])
    }
}

/// Every built-in format, in the order used to break detection ties.
pub const FORMATS: [Format; 5] = [TAOBAO, JD, PINDUODUO, YOUZAN, DOUYIN];

/// The built-in format of a platform, if it has one.
pub fn format_of(platform: Platform) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.platform == platform)
}

/// 千牛 订单报表 (`ExportOrderList*.csv`, GBK, one row per order). Its items are in the separate 宝贝报表
/// (`ExportOrderDetailList*.csv`: 订单编号, 标题, 价格, 购买数量, 外部系统编号, 商品属性, 套餐信息, 备注, 订单状态,
/// 商家编码); joined on 订单编号 (one row per item, order columns repeated) the item columns take precedence.
/// Newer exports write 买家实付金额 for 买家实际支付金额 and 商品标题 for 宝贝标题, and may omit the buyer
/// columns entirely. 总金额 is not read: its meaning changed between export versions.
pub const TAOBAO: Format = Format {
    platform: Platform::Taobao,
    totals: OrderTotals::Repeated,
    columns: &[
        (OrderId, &["订单编号"]),
        (Shop, &["店铺名称"]),
        (BuyerId, &["买家会员名", "买家昵称", "买家open_uid", "open_uid"]),
        (BuyerPhone, &["买家手机号"]),
        (ReceiverName, &["收货人姓名"]),
        (ReceiverPhone, &["联系手机", "联系电话"]),
        (ReceiverAddress, &["收货地址"]),
        (Status, &["订单状态"]),
        (CreatedAt, &["订单创建时间"]),
        (PaidAt, &["订单付款时间"]),
        (ShippedAt, &["发货时间"]),
        (FinishedAt, &["确认收货时间"]),
        (TotalAmount, &["买家应付货款"]),
        (ShippingAmount, &["买家应付邮费"]),
        (PaidAmount, &["买家实际支付金额", "买家实付金额"]),
        (RefundedAmount, &["退款金额"]),
        (LineId, &["子订单编号"]),
        (SkuId, &["商家编码", "外部系统编号"]),
        (ProductId, &["商品ID", "宝贝ID"]),
        (Title, &["标题", "商品标题", "宝贝标题"]),
        (Spec, &["商品属性", "商品属性SKU", "销售属性"]),
        (Quantity, &["购买数量", "宝贝总数量"]),
        (UnitPrice, &["价格", "商品价格"]),
        (LineRefundStatus, &["退款状态"]),
    ],
    signature: &[
        "买家会员名",
        "买家支付宝账号",
        "买家应付货款",
        "买家应付邮费",
        "买家实际支付金额",
        "买家实付金额",
        "宝贝标题",
        "宝贝种类",
        "宝贝总数量",
        "联系手机",
        "订单关闭原因",
        "订单付款时间",
    ],
};

/// 京东商家后台 order export: one row per SKU, order columns repeated. 下单帐号 is the buyer's JD pin
/// (desensitised in newer exports); 客户姓名/客户地址/联系电话 are the consignee's.
pub const JD: Format = Format {
    platform: Platform::Jd,
    totals: OrderTotals::Repeated,
    columns: &[
        (OrderId, &["订单号"]),
        (Shop, &["店铺名称"]),
        (BuyerId, &["下单帐号", "下单账号"]),
        (ReceiverName, &["客户姓名"]),
        (ReceiverPhone, &["联系电话"]),
        (ReceiverAddress, &["客户地址"]),
        (Status, &["订单状态"]),
        (CreatedAt, &["下单时间"]),
        (PaidAt, &["付款确认时间"]),
        (ShippedAt, &["出库时间"]),
        (FinishedAt, &["订单完成时间"]),
        (TotalAmount, &["订单金额"]),
        (ShippingAmount, &["运费金额"]),
        (PaidAmount, &["应付金额", "结算金额"]),
        (ProductId, &["商品ID"]),
        (SkuId, &["货号"]),
        (Title, &["商品名称"]),
        (Quantity, &["订购数量"]),
        (UnitPrice, &["京东价"]),
    ],
    signature: &[
        "下单帐号",
        "下单账号",
        "客户姓名",
        "客户地址",
        "订购数量",
        "京东价",
        "应付金额",
        "结算金额",
        "付款确认时间",
        "运费金额",
    ],
};

/// 拼多多商家后台 order export: one row per order (an order is one goods item, 商品数量(件) of it). There is
/// no buyer id column; 手机 is the receiver's and is masked once the order ships.
pub const PINDUODUO: Format = Format {
    platform: Platform::Pinduoduo,
    totals: OrderTotals::Summed,
    columns: &[
        (OrderId, &["订单号"]),
        (Shop, &["店铺名称"]),
        (ReceiverName, &["收货人"]),
        (ReceiverPhone, &["手机"]),
        (ReceiverAddress, &["详细地址", "收货地址"]),
        (Status, &["订单状态"]),
        (RefundStatus, &["售后状态"]),
        (CreatedAt, &["订单成交时间"]),
        (PaidAt, &["支付时间", "订单成交时间"]),
        (ShippedAt, &["发货时间"]),
        (FinishedAt, &["确认收货时间"]),
        (TotalAmount, &["商品总价(元)"]),
        (DiscountAmount, &["店铺优惠折扣(元)"]),
        (PlatformDiscountAmount, &["平台优惠折扣(元)"]),
        (ShippingAmount, &["邮费(元)"]),
        (PaidAmount, &["用户实付金额(元)"]),
        (ProductId, &["商品id"]),
        (SkuId, &["商家编码-SKU维度", "样式ID", "商家编码-商品维度"]),
        (Title, &["商品"]),
        (Spec, &["商品规格"]),
        (Quantity, &["商品数量(件)"]),
    ],
    signature: &[
        "商品总价(元)",
        "店铺优惠折扣(元)",
        "平台优惠折扣(元)",
        "用户实付金额(元)",
        "商家实收金额(元)",
        "商品数量(件)",
        "订单成交时间",
        "邮费(元)",
        "样式ID",
    ],
};

/// 有赞微商城 order export, 商品维度 (one row per item, order columns repeated). 买家手机号 is the member's
/// own phone and is printed in full; 粉丝昵称 is a display name only.
pub const YOUZAN: Format = Format {
    platform: Platform::Youzan,
    totals: OrderTotals::Repeated,
    columns: &[
        (OrderId, &["订单号"]),
        (Shop, &["店铺名称", "归属店铺"]),
        (BuyerNick, &["粉丝昵称", "买家", "买家昵称"]),
        (BuyerPhone, &["买家手机号"]),
        (ReceiverName, &["收货人/提货人", "收货人"]),
        (ReceiverPhone, &["收货人手机号/提货人手机号", "收货人手机号"]),
        (ReceiverAddress, &["详细收货地址/提货地址", "详细收货地址"]),
        (Status, &["订单状态", "订单商品状态"]),
        (RefundStatus, &["订单退款状态"]),
        (CreatedAt, &["订单创建时间", "下单时间"]),
        (PaidAt, &["买家付款时间", "付款时间"]),
        (ShippedAt, &["商品发货时间", "发货时间"]),
        (FinishedAt, &["交易成功时间", "交易完成时间"]),
        (TotalAmount, &["商品金额合计"]),
        (DiscountAmount, &["店铺优惠合计"]),
        (ShippingAmount, &["运费"]),
        (PaidAmount, &["订单实付金额"]),
        (RefundedAmount, &["订单已退款金额"]),
        (SkuId, &["规格编码", "商品规格ID"]),
        (ProductId, &["商品ID", "商品编码"]),
        (Title, &["商品名称"]),
        (Spec, &["商品规格"]),
        (Quantity, &["商品数量"]),
        (UnitPrice, &["商品单价"]),
        (LinePaidAmount, &["商品实际成交金额"]),
        (LineRefundStatus, &["商品退款状态"]),
        (LineRefundAmount, &["商品已退款金额"]),
    ],
    signature: &[
        "粉丝昵称",
        "买家手机号",
        "订单实付金额",
        "订单已退款金额",
        "订单退款状态",
        "收货人/提货人",
        "收货人手机号/提货人手机号",
        "详细收货地址/提货地址",
        "商品实际成交金额",
        "商品已退款金额",
        "买家付款时间",
        "交易成功时间",
    ],
};

/// 抖店 order export: one row per sub-order (子订单), grouped by 主订单编号. 商品金额 is the unit price and
/// 订单应付金额 the sub-order's payable amount; cells often end in a tab to stay text in Excel.
pub const DOUYIN: Format = Format {
    platform: Platform::Douyin,
    totals: OrderTotals::Summed,
    columns: &[
        (OrderId, &["主订单编号"]),
        (Shop, &["店铺名称"]),
        (BuyerNick, &["买家昵称"]),
        (ReceiverName, &["收件人"]),
        (ReceiverPhone, &["收件人手机号", "收件人电话"]),
        (ReceiverAddress, &["详细地址", "收件地址"]),
        (Status, &["订单状态"]),
        (CreatedAt, &["订单提交时间"]),
        (PaidAt, &["支付完成时间"]),
        (ShippedAt, &["发货时间"]),
        (FinishedAt, &["订单完成时间"]),
        (DiscountAmount, &["商家优惠", "店铺优惠"]),
        (PlatformDiscountAmount, &["平台优惠", "平台实际承担优惠金额"]),
        (ShippingAmount, &["运费"]),
        (PaidAmount, &["订单应付金额"]),
        (LineId, &["子订单编号"]),
        (ProductId, &["商品ID"]),
        (SkuId, &["商家编码", "货号"]),
        (Title, &["选购商品"]),
        (Spec, &["商品规格"]),
        (Quantity, &["商品数量"]),
        (UnitPrice, &["商品金额"]),
        (LineRefundStatus, &["售后状态"]),
    ],
    signature: &[
        "主订单编号",
        "子订单编号",
        "选购商品",
        "订单应付金额",
        "订单提交时间",
        "支付完成时间",
        "收件人手机号",
        "取消原因",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::cell::fold;

    #[test]
    fn every_format_names_an_order_id_and_a_paid_amount() {
        for f in FORMATS {
            assert!(!f.aliases(OrderId).is_empty(), "{:?}", f.platform);
            assert!(!f.aliases(PaidAmount).is_empty(), "{:?}", f.platform);
            assert!(!f.signature.is_empty(), "{:?}", f.platform);
        }
    }

    #[test]
    fn a_field_is_listed_once_per_format() {
        for f in FORMATS {
            let mut fields: Vec<Field> = f.columns.iter().map(|(x, _)| *x).collect();
            fields.sort();
            let n = fields.len();
            fields.dedup();
            assert_eq!(n, fields.len(), "{:?}", f.platform);
        }
    }

    #[test]
    fn no_two_platforms_share_a_signature_header() {
        for a in FORMATS {
            for b in FORMATS.iter().filter(|b| b.platform != a.platform) {
                for s in a.signature {
                    assert!(
                        !b.signature.iter().any(|t| fold(t) == fold(s)),
                        "{s} in {:?} and {:?}",
                        a.platform,
                        b.platform
                    );
                }
            }
        }
        assert_eq!(format_of(Platform::Jd).map(|f| f.platform), Some(Platform::Jd));
        assert!(format_of(Platform::Generic).is_none());
    }
}
