//! The demo brand's organisation: tenant, departments, staff, tag groups and custom fields.

use anyhow::Context;
use siyu_app::actor::Via;
use siyu_app::fields::NewField;
use siyu_app::tags::NewTagGroup;
use siyu_app::tenancy::NewMember;
use siyu_app::{Actor, App, AppError};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::field::FieldKind;
use siyu_domain::id::{DepartmentId, TagId, TenantId, UserId};
use siyu_domain::tag::TagKind;

/// The brand's name once seeding has finished; while it runs the tenant carries [`SEEDING_SUFFIX`].
pub const TENANT_NAME: &str = "花漾美妆 Huayang Beauty";
pub const SEEDING_SUFFIX: &str = "（初始化中）";
pub const OWNER: &str = "demo";
/// Every demo account's password.
pub const PASSWORD: &str = "siyu-demo-2026";

/// Where a staff member works; it decides which customers they follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Hq,
    East,
    South,
    Online,
}

pub const DEPARTMENTS: [(Region, &str); 4] =
    [(Region::Hq, "总部运营"), (Region::East, "华东门店"), (Region::South, "华南门店"), (Region::Online, "线上商城")];

/// (username, display name, role, department, department scope instead of the role's default)
const STAFF: [(&str, &str, Role, Region, bool); 19] = [
    ("zhou.wanqing", "周婉清", Role::Admin, Region::Hq, false),
    ("chen.siyuan", "陈思远", Role::Admin, Region::Hq, false),
    ("xu.jiayi", "许嘉怡", Role::Operator, Region::Hq, false),
    ("sun.haoran", "孙浩然", Role::Operator, Region::Hq, false),
    ("he.yuxuan", "何雨萱", Role::Operator, Region::Hq, false),
    ("zhao.mingzhe", "赵明哲", Role::Auditor, Region::Hq, false),
    ("wang.ting", "王婷", Role::Staff, Region::East, true),
    ("li.mengyao", "李梦瑶", Role::Staff, Region::East, false),
    ("zhang.yaqi", "张雅琪", Role::Staff, Region::East, false),
    ("liu.xinran", "刘欣然", Role::Staff, Region::East, false),
    ("huang.shiqi", "黄诗琪", Role::Staff, Region::South, true),
    ("wu.jiaxin", "吴佳欣", Role::Staff, Region::South, false),
    ("zheng.xiaotong", "郑晓彤", Role::Staff, Region::South, false),
    ("liang.keer", "梁可儿", Role::Staff, Region::South, false),
    ("yang.liu", "杨柳", Role::Staff, Region::Online, true),
    ("ma.chenxi", "马晨曦", Role::Staff, Region::Online, false),
    ("lin.zhiruo", "林芷若", Role::Staff, Region::Online, false),
    ("guo.zihan", "郭子涵", Role::Staff, Region::Online, false),
    ("xie.yutong", "谢雨桐", Role::Staff, Region::Online, false),
];

/// Logins worth trying besides the owner: (username, what they show).
pub const OTHER_LOGINS: [(&str, &str); 3] = [
    ("wang.ting", "华东门店店长, department scope"),
    ("li.mengyao", "门店导购, sees only her own customers"),
    ("zhao.mingzhe", "auditor, read-only with the audit log"),
];

pub const LEVELS: [&str; 4] = ["普通会员", "银卡", "金卡", "黑金"];
pub const SKINS: [&str; 4] = ["干皮", "油皮", "混合皮", "敏感肌"];
pub const INTERESTS: [&str; 4] = ["护肤", "彩妆", "香水", "身体护理"];
pub const CHANNELS: [&str; 5] = ["门店扫码", "直播间", "小程序", "朋友推荐", "社群"];
pub const PERSONAL: [&str; 3] = ["高意向", "已到店", "待回访"];

/// A staff member who follows customers.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: UserId,
    pub region: Region,
}

/// What the customer generator needs to know about the brand.
#[derive(Debug, Clone)]
pub struct Brand {
    pub tenant: TenantId,
    pub owner: Actor,
    /// Staff following customers (front-line staff, by region).
    pub staff: Vec<Staff>,
    pub levels: Vec<TagId>,
    pub skins: Vec<TagId>,
    pub interests: Vec<TagId>,
    pub channels: Vec<TagId>,
    /// The staff member with a personal tag group, and its tags.
    pub personal: (UserId, Vec<TagId>),
}

fn err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e, e.code().name())
}

/// Creates the tenant (named as still seeding), its owner, departments, staff, tags and fields.
pub async fn create(app: &App) -> anyhow::Result<Brand> {
    let owner_account = match app.store.accounts().by_username(OWNER).await? {
        Some((a, _)) => a,
        None => app.create_account(OWNER, "林若溪", PASSWORD, false).await.map_err(err)?,
    };
    let tenant = app.create_tenant(&format!("{TENANT_NAME}{SEEDING_SUFFIX}")).await.map_err(err)?;
    let member = app.add_membership(tenant.id, &owner_account, Role::Owner, None, None).await.map_err(err)?;
    let owner = Actor::for_member(&app.store, &member, Via::System).await.map_err(err)?;
    let mut departments: Vec<(Region, DepartmentId)> = Vec::new();
    for (region, name) in DEPARTMENTS {
        departments.push((region, app.create_department(&owner, name, None).await.map_err(err)?.id));
    }
    let mut staff = Vec::new();
    let mut members = Vec::new();
    for (username, name, role, region, dept_scope) in STAFF {
        let department = departments.iter().find(|d| d.0 == region).map(|d| d.1);
        let input = NewMember {
            username: username.into(),
            display_name: name.into(),
            password: Some(PASSWORD.into()),
            role,
            scope: dept_scope.then_some(DataScope::Department),
            department_id: department,
        };
        let m = app.add_member(&owner, input).await.map_err(err).with_context(|| format!("member {username}"))?;
        if role == Role::Staff {
            staff.push(Staff { user: m.user_id, region });
        }
        members.push(m);
    }
    let group = |name: &str, exclusive: bool, sort: i64, tags: &[&str]| NewTagGroup {
        name: name.into(),
        exclusive,
        kind: TagKind::Enterprise,
        sort,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    let ids = |v: siyu_app::tags::TagGroupView| v.tags.into_iter().map(|t| t.tag.id).collect::<Vec<_>>();
    let levels = ids(app.create_tag_group(&owner, group("客户等级", true, 0, &LEVELS)).await.map_err(err)?);
    let skins = ids(app.create_tag_group(&owner, group("肤质", true, 1, &SKINS)).await.map_err(err)?);
    let interests = ids(app.create_tag_group(&owner, group("兴趣偏好", false, 2, &INTERESTS)).await.map_err(err)?);
    let channels = ids(app.create_tag_group(&owner, group("来源渠道", false, 3, &CHANNELS)).await.map_err(err)?);
    let keeper = members.iter().find(|m| m.username == "wang.ting").context("personal tag owner")?;
    let keeper_actor = Actor::for_member(&app.store, keeper, Via::System).await.map_err(err)?;
    let personal = NewTagGroup { kind: TagKind::Personal, ..group("王婷的跟进", false, 10, &PERSONAL) };
    let personal = ids(app.create_tag_group(&keeper_actor, personal).await.map_err(err)?);
    let fields = [
        ("birthday", "生日", FieldKind::Date, &[][..]),
        ("skin_type", "肤质", FieldKind::SingleChoice, &SKINS[..]),
        ("member_no", "会员卡号", FieldKind::Text, &[][..]),
        ("annual_spend", "年消费(元)", FieldKind::Number, &[][..]),
    ];
    for (sort, (key, label, kind, options)) in fields.into_iter().enumerate() {
        let input = NewField {
            key: key.into(),
            label: label.into(),
            kind,
            options: options.iter().map(|o| o.to_string()).collect(),
            sort: sort as i64,
        };
        app.create_field(&owner, input).await.map_err(err)?;
    }
    Ok(Brand {
        tenant: tenant.id,
        owner,
        staff,
        levels,
        skins,
        interests,
        channels,
        personal: (keeper.user_id, personal),
    })
}
