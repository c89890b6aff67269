//! The console's string catalogue: zh-CN (default) and en. Templates call `tr.t("key")`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Self {
        if s.starts_with("en") { Self::En } else { Self::Zh }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }
}

/// A translator for one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr(pub Lang);

impl Tr {
    /// The string for `key`; the key itself when missing (a test keeps the catalogue complete).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        match CATALOGUE.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => match self.0 {
                Lang::Zh => CATALOGUE[i].1,
                Lang::En => CATALOGUE[i].2,
            },
            Err(_) => key,
        }
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

/// (key, zh-CN, en), sorted by key.
pub static CATALOGUE: &[(&str, &str, &str)] = &[
    ("action.add", "添加", "Add"),
    ("action.apply", "应用", "Apply"),
    ("action.back", "返回", "Back"),
    ("action.cancel", "取消", "Cancel"),
    ("action.create", "新建", "Create"),
    ("action.delete", "删除", "Delete"),
    ("action.edit", "编辑", "Edit"),
    ("action.export_csv", "导出 CSV", "Export CSV"),
    ("action.export_xlsx", "导出 Excel", "Export Excel"),
    ("action.filter", "筛选", "Filter"),
    ("action.next", "下一页", "Next"),
    ("action.reset", "重置", "Reset"),
    ("action.reveal", "查看完整号码", "Reveal"),
    ("action.revoke", "吊销", "Revoke"),
    ("action.save", "保存", "Save"),
    ("action.search", "搜索", "Search"),
    ("app.name", "私域运营平台", "siyu"),
    ("app.tagline", "品牌自己的客户池，从这里运营", "Run your own customer pool"),
    ("audit.action", "操作", "Action"),
    ("audit.actor", "操作人", "Actor"),
    ("audit.at", "时间", "Time"),
    ("audit.from", "来源 IP", "From"),
    ("audit.object", "对象", "Object"),
    ("audit.title", "审计日志", "Audit log"),
    ("auth.login", "登录", "Sign in"),
    ("auth.logout", "退出登录", "Sign out"),
    ("auth.password", "密码", "Password"),
    ("auth.switch_tenant", "切换品牌", "Switch brand"),
    ("auth.username", "用户名", "Username"),
    ("common.all", "全部", "All"),
    ("common.empty", "暂无数据", "Nothing here yet"),
    ("common.loading", "加载中…", "Loading…"),
    ("common.none", "无", "None"),
    ("common.total", "共", "Total"),
    ("customer.add_way", "添加方式", "Added via"),
    ("customer.created_at", "创建时间", "Created"),
    ("customer.custom", "自定义字段", "Custom fields"),
    ("customer.email", "邮箱", "Email"),
    ("customer.follows", "跟进员工", "Followed by"),
    ("customer.gender", "性别", "Gender"),
    ("customer.identities", "身份标识", "Identities"),
    ("customer.last_active", "最近活跃", "Last active"),
    ("customer.name", "姓名", "Name"),
    ("customer.new", "新建客户", "New customer"),
    ("customer.notes", "备注记录", "Notes"),
    ("customer.phone", "手机号", "Phone"),
    ("customer.profile", "客户资料", "Profile"),
    ("customer.remark", "备注", "Remark"),
    ("customer.source", "来源", "Source"),
    ("customer.tags", "标签", "Tags"),
    ("customer.timeline", "客户动态", "Timeline"),
    ("customers.bulk_tag", "批量打标签", "Bulk tag"),
    ("customers.search_hint", "姓名、备注或手机号", "Name, remark or phone"),
    ("customers.selected", "已选", "Selected"),
    ("customers.title", "客户", "Customers"),
    ("dashboard.new_7d", "近 7 天新增", "New in 7 days"),
    ("dashboard.title", "工作台", "Dashboard"),
    ("dashboard.top_tags", "热门标签", "Top tags"),
    ("gender.female", "女", "Female"),
    ("gender.male", "男", "Male"),
    ("gender.unknown", "未知", "Unknown"),
    ("import.title", "导入", "Import"),
    ("nav.acquisition", "获客", "Acquisition"),
    ("nav.analytics", "数据分析", "Analytics"),
    ("nav.coming_soon", "即将上线", "Coming soon"),
    ("nav.conversion", "转化", "Conversion"),
    ("nav.customers", "客户", "Customers"),
    ("nav.journeys", "旅程 / SOP", "Journeys / SOP"),
    ("nav.retention", "留存", "Retention"),
    ("nav.settings", "设置", "Settings"),
    ("nav.tags", "标签管理", "Tags"),
    ("nav.tokens", "API 令牌", "API tokens"),
    ("nav.users", "成员与部门", "Members"),
    ("role.admin", "管理员", "Admin"),
    ("role.auditor", "审计员", "Auditor"),
    ("role.operator", "运营", "Operator"),
    ("role.owner", "所有者", "Owner"),
    ("role.staff", "员工", "Staff"),
    ("scope.all", "全部客户", "All customers"),
    ("scope.department", "本部门及下级", "Department tree"),
    ("scope.self", "仅本人", "Own customers"),
    ("tags.exclusive", "单选组", "Exclusive"),
    ("tags.group", "标签组", "Tag group"),
    ("tags.new_group", "新建标签组", "New tag group"),
    ("tags.title", "标签管理", "Tags"),
    ("tokens.title", "API 令牌", "API tokens"),
    ("users.departments", "部门", "Departments"),
    ("users.title", "成员与部门", "Members & departments"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_and_has_no_duplicate_keys() {
        for w in CATALOGUE.windows(2) {
            assert!(w[0].0 < w[1].0, "{} must come before {}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn every_key_used_in_templates_and_console_code_is_in_the_catalogue() {
        let dirs =
            [concat!(env!("CARGO_MANIFEST_DIR"), "/templates"), concat!(env!("CARGO_MANIFEST_DIR"), "/src/console")];
        let mut missing = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for part in text.split("t(\"").skip(1) {
                    let key = part.split('"').next().unwrap();
                    if key.contains('.') && !CATALOGUE.iter().any(|(k, _, _)| *k == key) {
                        missing.push(key.to_string());
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }
}
