//! The commerce platforms orders come from.
//!
//! The platform's name is also the namespace of its buyer ids (`IdentityKind::PlatformBuyer`), so a Taobao
//! nick and a JD pin with the same text never meet. Tmall is sold through the same seller centre and buyer
//! accounts as Taobao and shares its export format, so it is the same platform here (`tmall` parses as
//! [`Platform::Taobao`]).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Taobao and Tmall (淘宝 / 天猫, seller centre 千牛).
    Taobao,
    /// JD POP shops (京东).
    Jd,
    /// Pinduoduo (拼多多).
    Pinduoduo,
    /// Youzan (有赞微商城).
    Youzan,
    /// Douyin shop (抖店).
    Douyin,
    /// The tenant's own mall or mini-program; buyers carry WeChat unionid/openid.
    OwnMall,
    /// Anything else, imported through a user-made column mapping.
    Generic,
}

impl Platform {
    pub const ALL: [Platform; 7] =
        [Self::Taobao, Self::Jd, Self::Pinduoduo, Self::Youzan, Self::Douyin, Self::OwnMall, Self::Generic];

    /// Stable name, used as the buyer-id namespace and in URLs and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taobao => "taobao",
            Self::Jd => "jd",
            Self::Pinduoduo => "pinduoduo",
            Self::Youzan => "youzan",
            Self::Douyin => "douyin",
            Self::OwnMall => "own_mall",
            Self::Generic => "generic",
        }
    }

    /// Parses the stable name and a few common spellings (`tmall`, `天猫`, `pdd`, `抖店`).
    pub fn parse(s: &str) -> Option<Self> {
        let key = s.trim().to_lowercase();
        let found = match key.as_str() {
            "taobao" | "tmall" | "淘宝" | "天猫" => Self::Taobao,
            "jd" | "jingdong" | "京东" => Self::Jd,
            "pinduoduo" | "pdd" | "拼多多" => Self::Pinduoduo,
            "youzan" | "有赞" => Self::Youzan,
            "douyin" | "doudian" | "抖音" | "抖店" => Self::Douyin,
            "own_mall" | "mall" | "商城" | "自营商城" => Self::OwnMall,
            "generic" => Self::Generic,
            _ => return None,
        };
        Some(found)
    }

    /// The name shown to users (zh-CN; the console translates through its catalogue).
    pub fn label(self) -> &'static str {
        match self {
            Self::Taobao => "淘宝/天猫",
            Self::Jd => "京东",
            Self::Pinduoduo => "拼多多",
            Self::Youzan => "有赞",
            Self::Douyin => "抖店",
            Self::OwnMall => "自营商城",
            Self::Generic => "其他",
        }
    }

    /// The namespace of this platform's buyer ids (`IdentityKind::PlatformBuyer`).
    pub fn buyer_namespace(self) -> &'static str {
        self.as_str()
    }

    /// Whether this platform has a built-in export format (the others need a user mapping).
    pub fn has_export_format(self) -> bool {
        !matches!(self, Self::OwnMall | Self::Generic)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_round_trip_through_their_names() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn tmall_is_the_taobao_platform() {
        assert_eq!(Platform::parse("Tmall"), Some(Platform::Taobao));
        assert_eq!(Platform::parse(" 天猫 "), Some(Platform::Taobao));
        assert_eq!(Platform::parse("pdd"), Some(Platform::Pinduoduo));
        assert_eq!(Platform::parse("shopify"), None);
    }

    #[test]
    fn buyer_ids_are_namespaced_by_the_platform_name() {
        assert_eq!(Platform::Jd.buyer_namespace(), "jd");
        assert_eq!(Platform::Taobao.to_string(), "taobao");
        assert!(!Platform::Generic.has_export_format());
        assert!(Platform::Douyin.has_export_format());
    }

    #[test]
    fn serde_uses_the_stable_names() {
        assert_eq!(serde_json::to_string(&Platform::OwnMall).unwrap(), "\"own_mall\"");
        assert_eq!(serde_json::from_str::<Platform>("\"pinduoduo\"").unwrap(), Platform::Pinduoduo);
    }
}
