//! Detectors for sensitive behaviours inside a message's text: mainland mobile numbers (also written with
//! full-width digits, spaces or dashes), links (with or without a scheme) and QR-code / add-friend links.

use std::ops::Range;

/// Top-level domains accepted for links written without a scheme (`shop.example.com/x`).
const BARE_TLDS: &[&str] = &[
    "com", "cn", "net", "org", "cc", "top", "vip", "xyz", "io", "me", "shop", "store", "club", "site", "info", "co",
    "tv", "ink", "link", "online", "wang", "ltd", "hk",
];

/// Hosts (and path prefixes) that are WeChat/WeCom/Alipay QR or add-friend links.
const QR_LINKS: &[(&str, &str)] = &[
    ("weixin.qq.com", "/g/"),
    ("weixin.qq.com", "/r/"),
    ("weixin.qq.com", "/q/"),
    ("u.wechat.com", "/"),
    ("work.weixin.qq.com", "/ca/"),
    ("work.weixin.qq.com", "/gm/"),
    ("work.weixin.qq.com", "/u/"),
    ("qr.alipay.com", "/"),
    ("wxaurl.cn", "/"),
];

fn fold_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
        _ => None,
    }
}

/// A phone number found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPhone {
    /// Byte range in the text, separators included.
    pub range: Range<usize>,
    /// The 11 digits.
    pub digits: String,
}

/// Mainland mobile numbers in `text`: 11 digits starting 13–19, optionally written with full-width digits,
/// single spaces or dashes between digits and a `+86`/`86` prefix, not part of a longer digit run.
pub fn find_phones(text: &str) -> Vec<FoundPhone> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_run = fold_digit(chars[i].1).is_some() && (i == 0 || fold_digit(chars[i - 1].1).is_none());
        if !starts_run {
            i += 1;
            continue;
        }
        // Collect digits allowing single separators between them.
        let mut digits = String::new();
        let mut j = i;
        let mut last_digit = i;
        while j < chars.len() {
            if let Some(d) = fold_digit(chars[j].1) {
                digits.push(d);
                last_digit = j;
                j += 1;
            } else if matches!(chars[j].1, ' ' | '-' | '－' | '\u{3000}')
                && j + 1 < chars.len()
                && fold_digit(chars[j + 1].1).is_some()
            {
                j += 1;
            } else {
                break;
            }
        }
        let national = digits.strip_prefix("86").filter(|d| d.len() == 11).unwrap_or(&digits);
        let is_mobile = national.len() == 11
            && national.starts_with('1')
            && national.as_bytes().get(1).is_some_and(|b| (b'3'..=b'9').contains(b));
        if is_mobile {
            let end = chars.get(last_digit + 1).map_or(text.len(), |(b, _)| *b);
            out.push(FoundPhone { range: chars[i].0..end, digits: national.to_string() });
        }
        i = j.max(i + 1);
    }
    out
}

/// A link found in text, with its host lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLink {
    pub range: Range<usize>,
    pub url: String,
    pub host: String,
    pub path: String,
}

fn url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// Splits `url` (with or without scheme) into a lowercased host and a path; None when the host is not a
/// plausible domain.
pub fn host_and_path(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let valid = labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    valid.then(|| (host, rest[end..].to_string()))
}

/// Links in `text`: `http(s)://…`, `www.…`, and bare `name.tld/…` with a common top-level domain.
pub fn find_links(text: &str) -> Vec<FoundLink> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let at_word_start = i == 0 || !text[..i].chars().next_back().is_some_and(url_char);
        let c = text[i..].chars().next().unwrap_or(' ');
        if !at_word_start || !c.is_ascii_alphanumeric() {
            i += c.len_utf8();
            continue;
        }
        let end = text[i..].find(|ch: char| !url_char(ch)).map_or(text.len(), |e| i + e);
        let candidate = text[i..end].trim_end_matches(['.', ',', ')', '!', '?', ';', ':', '\'']);
        let lower = candidate.to_ascii_lowercase();
        let schemed = lower.starts_with("http://") || lower.starts_with("https://");
        let www = lower.starts_with("www.");
        if let Some((host, path)) = host_and_path(candidate) {
            let tld_ok = host.rsplit('.').next().is_some_and(|t| BARE_TLDS.contains(&t));
            if schemed || www || tld_ok {
                out.push(FoundLink { range: i..i + candidate.len(), url: candidate.to_string(), host, path });
            }
        }
        i = end.max(i + 1);
        while i < bytes.len() && !text.is_char_boundary(i) {
            i += 1;
        }
    }
    out
}

/// Whether `host` is `domain` or one of its subdomains.
pub fn host_matches(host: &str, domain: &str) -> bool {
    let domain = domain.trim().trim_start_matches("*.").trim_end_matches('.').to_ascii_lowercase();
    !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")))
}

/// Whether a link is a WeChat/WeCom/Alipay QR-code or add-friend link.
pub fn is_qr_link(host: &str, path: &str) -> bool {
    QR_LINKS.iter().any(|(h, p)| host_matches(host, h) && path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_found_in_plain_spaced_dashed_and_full_width_forms() {
        let digits = |t: &str| find_phones(t).into_iter().map(|p| p.digits).collect::<Vec<_>>();
        assert_eq!(digits("加我13812345678详聊"), vec!["13812345678"]);
        assert_eq!(digits("电话 138 1234 5678。"), vec!["13812345678"]);
        assert_eq!(digits("138-1234-5678"), vec!["13812345678"]);
        assert_eq!(digits("１３８１２３４５６７８"), vec!["13812345678"]);
        assert_eq!(digits("+86 13812345678"), vec!["13812345678"]);
        let text = "号码：139 0000 1111 谢谢";
        let found = find_phones(text);
        assert_eq!(&text[found[0].range.clone()], "139 0000 1111");
    }

    #[test]
    fn order_numbers_and_short_numbers_are_not_phones() {
        assert!(find_phones("订单号 202311231381234567890").is_empty());
        assert!(find_phones("12812345678").is_empty());
        assert!(find_phones("价格 138 元").is_empty());
        assert!(find_phones("").is_empty());
    }

    #[test]
    fn links_are_found_with_or_without_a_scheme() {
        let hosts = |t: &str| find_links(t).into_iter().map(|l| l.host).collect::<Vec<_>>();
        assert_eq!(hosts("看这个https://Shop.Rival.com/a?b=1。"), vec!["shop.rival.com"]);
        assert_eq!(hosts("去 www.rival.cn 买"), vec!["www.rival.cn"]);
        assert_eq!(hosts("rival.vip/x 更便宜"), vec!["rival.vip"]);
        assert!(hosts("版本1.2.3 发布, 文件 a.txt").is_empty());
    }

    #[test]
    fn subdomains_match_a_competitor_domain_but_lookalikes_do_not() {
        assert!(host_matches("m.rival.com", "rival.com"));
        assert!(host_matches("rival.com", "*.rival.com"));
        assert!(!host_matches("notrival.com", "rival.com"));
        assert!(!host_matches("rival.com", ""));
    }

    #[test]
    fn wechat_group_and_add_friend_links_are_qr_links() {
        let l = &find_links("扫码进群 https://weixin.qq.com/g/AbCd")[0];
        assert!(is_qr_link(&l.host, &l.path));
        assert!(is_qr_link("work.weixin.qq.com", "/ca/cawcde"));
        assert!(!is_qr_link("weixin.qq.com", "/cgi-bin/readtemplate"));
    }
}
