//! Which customer field each column of a file fills: suggested from the headers, overridable by the user.

use serde::{Deserialize, Serialize};
use siyu_domain::field::FieldDef;

use crate::error::{AppError, AppResult};

/// What a column is imported as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Target {
    Ignore,
    Name,
    Phone,
    Email,
    Gender,
    Remark,
    /// Tag names separated by `,` `，` `、` `;` `；`, each `组名:标签名` or just `标签名`.
    Tags,
    Unionid,
    /// Needs [`ColumnMapping::appid`].
    Openid,
    /// Needs [`ColumnMapping::corp_id`].
    ExternalUserid,
    /// A custom profile field, by key.
    Custom(String),
}

impl Target {
    /// The built-in targets, in the order forms list them.
    pub const BUILTIN: [Target; 10] = [
        Self::Ignore,
        Self::Name,
        Self::Phone,
        Self::Email,
        Self::Gender,
        Self::Remark,
        Self::Tags,
        Self::Unionid,
        Self::Openid,
        Self::ExternalUserid,
    ];

    /// The stable key (`phone`, `custom:birthday`) forms and `--map` use.
    pub fn key(&self) -> String {
        match self {
            Self::Custom(k) => format!("custom:{k}"),
            other => other.builtin_key().to_string(),
        }
    }

    fn builtin_key(&self) -> &'static str {
        match self {
            Self::Ignore => "ignore",
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Gender => "gender",
            Self::Remark => "remark",
            Self::Tags => "tags",
            Self::Unionid => "unionid",
            Self::Openid => "openid",
            Self::ExternalUserid => "external_userid",
            Self::Custom(_) => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(k) = s.strip_prefix("custom:") {
            return (!k.trim().is_empty()).then(|| Self::Custom(k.trim().to_string()));
        }
        Self::BUILTIN.into_iter().find(|t| t.builtin_key() == s)
    }

    /// Whether the column is an identity that finds an existing customer.
    pub fn is_identity(&self) -> bool {
        matches!(self, Self::Phone | Self::Email | Self::Unionid | Self::Openid | Self::ExternalUserid)
    }
}

impl From<Target> for String {
    fn from(t: Target) -> Self {
        t.key()
    }
}

impl TryFrom<String> for Target {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Target::parse(&s).ok_or_else(|| format!("unknown target {s}"))
    }
}

/// A target per column, plus the namespaces openid and external_userid columns need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: Vec<Target>,
    /// The appid (公众号/小程序) the openids belong to.
    pub appid: Option<String>,
    /// The WeCom corp the external_userids belong to.
    pub corp_id: Option<String>,
}

/// Header spellings seen in Chinese CRM, WeCom and e-commerce exports, normalised (see [`normalise`]).
const SYNONYMS: &[(Target, &[&str])] = &[
    (
        Target::Name,
        &[
            "姓名",
            "名字",
            "客户姓名",
            "客户名称",
            "客户名",
            "联系人",
            "称呼",
            "昵称",
            "微信昵称",
            "name",
            "fullname",
            "customername",
            "nickname",
        ],
    ),
    (
        Target::Phone,
        &[
            "手机号",
            "手机",
            "手机号码",
            "电话",
            "电话号码",
            "联系电话",
            "联系方式",
            "移动电话",
            "mobile",
            "phone",
            "phonenumber",
            "mobilephone",
            "cellphone",
            "tel",
        ],
    ),
    (Target::Email, &["邮箱", "电子邮箱", "邮箱地址", "电子邮件", "邮件", "email", "mail", "emailaddress"]),
    (Target::Gender, &["性别", "gender", "sex"]),
    (
        Target::Remark,
        &[
            "备注",
            "客户备注",
            "备注信息",
            "说明",
            "描述",
            "remark",
            "remarks",
            "note",
            "notes",
            "comment",
            "description",
        ],
    ),
    (Target::Tags, &["标签", "客户标签", "企业标签", "标签名称", "tags", "tag", "labels", "label"]),
    (Target::Unionid, &["unionid", "微信unionid"]),
    (Target::Openid, &["openid", "公众号openid", "小程序openid", "微信openid"]),
    (Target::ExternalUserid, &["externaluserid", "外部联系人id", "外部联系人userid", "企微客户id", "企业微信客户id"]),
];

/// Lower-cased, without spaces, `_`, `-`, `*` (required markers), colons, or a bracketed note.
pub fn normalise(header: &str) -> String {
    let cut = header.find(['(', '（', '[', '【']).map(|i| &header[..i]).unwrap_or(header);
    let base = if cut.trim().is_empty() { header } else { cut };
    base.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '*' | ':' | '：' | '\u{feff}'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl ColumnMapping {
    /// Suggests a target per header from common Chinese and English names and the custom field labels.
    /// Each target but tags is suggested once (the first matching column).
    pub fn suggest(headers: &[String], fields: &[FieldDef]) -> Self {
        let mut columns: Vec<Target> = Vec::with_capacity(headers.len());
        for h in headers {
            let n = normalise(h);
            let builtin = SYNONYMS.iter().find(|(_, names)| names.contains(&n.as_str())).map(|(t, _)| t.clone());
            let custom = || {
                fields.iter().find(|f| normalise(&f.label) == n || f.key == n).map(|f| Target::Custom(f.key.clone()))
            };
            let t = builtin.or_else(custom).unwrap_or(Target::Ignore);
            let taken = t != Target::Tags && t != Target::Ignore && columns.contains(&t);
            columns.push(if taken { Target::Ignore } else { t });
        }
        Self { columns, appid: None, corp_id: None }
    }

    /// Applies overrides like `手机号=phone,姓名=name,C=ignore`: a column by header, letter or 1-based number.
    pub fn apply_spec(&mut self, headers: &[String], spec: &str) -> AppResult<()> {
        for part in spec.split([',', '，']).map(str::trim).filter(|p| !p.is_empty()) {
            let (col, target) = part
                .split_once('=')
                .ok_or_else(|| AppError::invalid("mapping", format!("expected column=target: {part}")))?;
            let (col, target) = (col.trim(), target.trim());
            let index = headers
                .iter()
                .position(|h| h.trim() == col)
                .or_else(|| col.parse::<usize>().ok().filter(|n| *n >= 1).map(|n| n - 1))
                .or_else(|| (0..headers.len()).find(|i| super::table::column_letter(*i) == col))
                .filter(|i| *i < headers.len())
                .ok_or_else(|| AppError::invalid("mapping", format!("unknown column {col}")))?;
            let t = Target::parse(target)
                .ok_or_else(|| AppError::invalid("mapping", format!("unknown target {target}")))?;
            if self.columns.len() < headers.len() {
                self.columns.resize(headers.len(), Target::Ignore);
            }
            self.columns[index] = t;
        }
        Ok(())
    }

    pub fn column_of(&self, t: &Target) -> Option<usize> {
        self.columns.iter().position(|c| c == t)
    }

    /// Checks the mapping fits a file of `width` columns and the tenant's fields.
    pub fn validate(&self, width: usize, fields: &[FieldDef]) -> AppResult<()> {
        let bad = |reason: String| Err(AppError::invalid("mapping", reason));
        if self.columns.len() > width.max(1) {
            return bad(format!("more_targets_than_columns ({width})"));
        }
        for (i, t) in self.columns.iter().enumerate() {
            if *t != Target::Ignore && *t != Target::Tags && self.columns[..i].contains(t) {
                return bad(format!("target_used_twice ({})", t.key()));
            }
            if let Target::Custom(k) = t
                && !fields.iter().any(|f| &f.key == k)
            {
                return bad(format!("unknown_field ({k})"));
            }
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if self.columns.contains(&Target::Openid) && blank(&self.appid) {
            return bad("openid_needs_an_appid".into());
        }
        if self.columns.contains(&Target::ExternalUserid) && blank(&self.corp_id) {
            return bad("external_userid_needs_a_corp_id".into());
        }
        if !self.columns.iter().any(|t| *t == Target::Name || t.is_identity()) {
            return bad("map_a_name_or_an_identity_column".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use siyu_domain::field::FieldKind;
    use siyu_domain::id::FieldId;

    use super::*;

    fn headers(hs: &[&str]) -> Vec<String> {
        hs.iter().map(|s| s.to_string()).collect()
    }

    fn field(key: &str, label: &str) -> FieldDef {
        FieldDef {
            id: FieldId::new(),
            key: key.into(),
            label: label.into(),
            kind: FieldKind::Text,
            options: vec![],
            sort: 0,
        }
    }

    #[test]
    fn chinese_and_english_headers_are_recognised() {
        let hs = headers(&[
            "*姓名",
            "手机号码（必填）",
            "性别",
            "备注",
            "标签",
            "邮箱",
            "客户来源",
            "UnionID",
            "open_id",
            "生日",
        ]);
        let m = ColumnMapping::suggest(&hs, &[field("birthday", "生日")]);
        assert_eq!(
            m.columns,
            vec![
                Target::Name,
                Target::Phone,
                Target::Gender,
                Target::Remark,
                Target::Tags,
                Target::Email,
                Target::Ignore,
                Target::Unionid,
                Target::Openid,
                Target::Custom("birthday".into()),
            ]
        );
    }

    #[test]
    fn a_target_is_suggested_once_but_tags_may_repeat() {
        let m = ColumnMapping::suggest(&headers(&["手机", "电话", "标签", "tags"]), &[]);
        assert_eq!(m.columns, vec![Target::Phone, Target::Ignore, Target::Tags, Target::Tags]);
    }

    #[test]
    fn overrides_name_columns_by_header_letter_or_number() {
        let hs = headers(&["客户", "号码", "x"]);
        let mut m = ColumnMapping::suggest(&hs, &[]);
        m.apply_spec(&hs, "客户=name, B=phone，3=remark").unwrap();
        assert_eq!(m.columns, vec![Target::Name, Target::Phone, Target::Remark]);
        assert!(m.apply_spec(&hs, "nope=name").is_err());
        assert!(m.apply_spec(&hs, "客户=shoe_size").is_err());
    }

    #[test]
    fn validation_catches_duplicates_missing_namespaces_and_unknown_fields() {
        let m = |cols: Vec<Target>| ColumnMapping { columns: cols, appid: None, corp_id: None };
        assert!(m(vec![Target::Phone, Target::Phone]).validate(2, &[]).is_err());
        assert!(m(vec![Target::Openid]).validate(1, &[]).is_err());
        assert!(m(vec![Target::Name, Target::Custom("x".into())]).validate(2, &[]).is_err());
        assert!(m(vec![Target::Remark]).validate(1, &[]).is_err());
        assert!(m(vec![Target::Name, Target::Tags, Target::Tags]).validate(3, &[]).is_ok());
        let with_appid = ColumnMapping { appid: Some("wx1".into()), ..m(vec![Target::Openid]) };
        assert!(with_appid.validate(1, &[]).is_ok());
    }

    #[test]
    fn targets_round_trip_through_their_keys() {
        for t in Target::BUILTIN.into_iter().chain([Target::Custom("skin".into())]) {
            assert_eq!(Target::parse(&t.key()), Some(t));
        }
    }
}
