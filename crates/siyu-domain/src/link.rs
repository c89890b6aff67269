//! Tracked links (互动雷达): one short link per (target × staff × customer) whose opens are recorded.
//!
//! A public code is the tenant's short key ([`TENANT_KEY_LEN`] base62 characters, fixed per tenant) followed
//! by [`SECRET_LEN`] base62 characters holding 64 random bits, so `/l/{code}` finds the tenant without a
//! tenant in the URL and nobody guesses another link. Parsing never panics and refuses anything but exactly
//! that shape. An open is counted once per visitor and half-hour window ([`open_window`]); what a page reports
//! as its reading time is bounded by the time since the open and by [`MAX_DURATION_SECS`].
//! Link previews and bots ([`is_bot`]) are not opens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;
use crate::id::{CustomerId, LinkId, LinkOpenId, TagId, UserId};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of a tenant's key at the start of every code.
pub const TENANT_KEY_LEN: usize = 5;
/// Characters of a code's random part: 62^11 > 2^64, so every u64 fits.
pub const SECRET_LEN: usize = 11;
pub const CODE_LEN: usize = TENANT_KEY_LEN + SECRET_LEN;
/// The longest reading time a page may report for one open (4 h).
pub const MAX_DURATION_SECS: i64 = 4 * 3600;
/// Slack over the wall-clock time since the open a reported duration may have (clocks, queued beats).
pub const BEAT_SLACK_SECS: i64 = 15;
/// Repeated requests of one visitor within this window are one open (reloads, retries).
pub const OPEN_WINDOW_SECS: i64 = 30 * 60;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_URL_CHARS: usize = 2048;
/// User agents are kept to this many characters.
pub const MAX_USER_AGENT_CHARS: usize = 300;
/// The timeline kind (and journey event name) of an open by a known customer.
pub const LINK_OPENED: &str = "link_opened";

fn base62(mut n: u64, len: usize) -> String {
    let mut out = vec![b'0'; len];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A tenant key from random bits.
pub fn tenant_key(random: u64) -> String {
    base62(random, TENANT_KEY_LEN)
}

/// A code for a tenant key and 64 random bits.
pub fn code(tenant_key: &str, random: u64) -> String {
    format!("{tenant_key}{}", base62(random, SECRET_LEN))
}

/// The tenant key of a well-formed code; `None` for anything else (any length, any characters).
pub fn parse_code(code: &str) -> Option<&str> {
    if code.len() != CODE_LEN || !is_base62(code) {
        return None;
    }
    code.get(..TENANT_KEY_LEN)
}

/// The half-hour window an open at `at` falls in.
pub fn open_window(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(OPEN_WINDOW_SECS)
}

/// The dedupe key of an open: one per link, visitor and window.
pub fn open_key(link: LinkId, visitor: &str, at: DateTime<Utc>) -> String {
    format!("{}:{visitor}:{}", link.0.simple(), open_window(at))
}

/// A reading time reported by the page, bounded: `None` when it is no duration at all (negative, or more
/// than the time since the open allows), else at most [`MAX_DURATION_SECS`].
pub fn bounded_duration(reported: i64, opened_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
    let elapsed = (now - opened_at).num_seconds();
    if reported < 0 || elapsed < 0 || reported > elapsed.saturating_add(BEAT_SLACK_SECS) {
        return None;
    }
    Some(reported.min(MAX_DURATION_SECS))
}

/// Whether a user agent is a crawler, link-preview fetcher or script rather than a person's browser.
/// WeChat and WeCom fetch a shared link's title and picture before anyone taps it; those fetches are not
/// opens. An empty user agent is not a browser either.
pub fn is_bot(user_agent: &str) -> bool {
    const MARKS: [&str; 22] = [
        "bot",
        "spider",
        "crawl",
        "preview",
        "slurp",
        "facebookexternalhit",
        "whatsapp",
        "headless",
        "curl/",
        "wget",
        "python",
        "go-http-client",
        "java/",
        "okhttp",
        "httpclient",
        "libwww",
        "scrapy",
        "phantomjs",
        "mpcrawler",
        "wxwork-spider",
        "wechat-spider",
        "feedfetcher",
    ];
    let ua = user_agent.trim().to_ascii_lowercase();
    ua.is_empty() || MARKS.iter().any(|m| ua.contains(m))
}

/// Whether the page was opened inside WeChat or WeCom (their in-app browsers say `MicroMessenger`).
pub fn in_wechat(user_agent: &str) -> bool {
    user_agent.contains("MicroMessenger")
}

/// A user agent as kept: at most [`MAX_USER_AGENT_CHARS`] characters.
pub fn kept_user_agent(user_agent: &str) -> Option<String> {
    let ua: String = user_agent.trim().chars().take(MAX_USER_AGENT_CHARS).collect();
    (!ua.is_empty()).then_some(ua)
}

/// What a link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A material of the library (its id; the library answers what it shows).
    Material(Uuid),
    /// An https URL.
    Url(String),
}

impl LinkTarget {
    /// The (target, staff, customer) triple a link is unique by, as text (stored hashed).
    pub fn triple(&self, staff: UserId, customer: Option<CustomerId>) -> String {
        let target = match self {
            Self::Material(id) => format!("m:{}", id.simple()),
            Self::Url(url) => format!("u:{url}"),
        };
        let customer = customer.map(|c| c.0.simple().to_string()).unwrap_or_else(|| "-".into());
        format!("{target}\n{}\n{customer}", staff.0.simple())
    }
}

/// A link to mint: a material or a URL (with its title), for a staff member and optionally one customer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct NewLink {
    /// A material's id (either this or `url`).
    #[serde(default)]
    pub material_id: Option<Uuid>,
    /// An https URL (either this or `material_id`).
    #[serde(default)]
    pub url: Option<String>,
    /// What the link is called (required for a URL; a material's own title otherwise).
    #[serde(default)]
    pub title: Option<String>,
    /// The staff member the link is for (who is alerted when it is opened).
    pub staff_id: UserId,
    /// The customer it is sent to; absent for a staff member's link anyone may open.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// A tag given to the customer on their first open.
    #[serde(default)]
    pub open_tag_id: Option<TagId>,
    /// Show the landing page for a URL instead of redirecting at once.
    #[serde(default)]
    pub show_page: bool,
}

impl NewLink {
    /// The target and the trimmed title, or what is wrong.
    pub fn check(&self) -> Result<(LinkTarget, String), Invalid> {
        let title = self.title.as_deref().unwrap_or("").trim().to_string();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(Invalid::new("title", "too_long"));
        }
        let url = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let target = match (self.material_id, url) {
            (Some(_), Some(_)) => return Err(Invalid::new("url", "material_or_url")),
            (None, None) => return Err(Invalid::new("url", "material_or_url_needed")),
            (Some(m), None) => LinkTarget::Material(m),
            (None, Some(u)) => {
                check_url(u)?;
                if title.is_empty() {
                    return Err(Invalid::new("title", "required"));
                }
                LinkTarget::Url(u.to_string())
            }
        };
        Ok((target, title))
    }
}

/// An https URL with a host, no spaces or control characters, at most [`MAX_URL_CHARS`].
pub fn check_url(url: &str) -> Result<(), Invalid> {
    let bad = || Invalid::new("url", "https_url_needed");
    if url.chars().count() > MAX_URL_CHARS || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let rest = url.strip_prefix("https://").ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || !host.contains('.') {
        return Err(bad());
    }
    Ok(())
}

/// A tracked link with its counts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub id: LinkId,
    /// The public code (`/l/{code}`).
    pub code: String,
    pub material_id: Option<Uuid>,
    pub url: Option<String>,
    pub title: String,
    pub staff_id: UserId,
    pub staff_name: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub open_tag_id: Option<TagId>,
    pub show_page: bool,
    pub opens: i64,
    pub last_opened_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One recorded open.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LinkOpen {
    pub id: LinkOpenId,
    pub link_id: LinkId,
    pub title: String,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub staff_id: UserId,
    pub staff_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// Seconds the page reported being read (the longest report).
    pub duration_secs: i64,
    pub in_wechat: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_code_is_the_tenant_key_and_eleven_random_characters() {
        let key = tenant_key(u64::MAX);
        assert_eq!(key.len(), TENANT_KEY_LEN);
        let c = code(&key, u64::MAX);
        assert_eq!(c.len(), CODE_LEN);
        assert_eq!(parse_code(&c), Some(key.as_str()));
        assert_eq!(code("abcde", 0), "abcde00000000000");
        assert_ne!(code("abcde", 1), code("abcde", 2));
        assert!(62f64.powi(SECRET_LEN as i32) > 2f64.powi(64), "64 random bits fit");
    }

    #[test]
    fn garbled_codes_are_refused() {
        for bad in [
            "",
            "abc",
            "abcde0000000000",
            "abcde000000000000",
            "abcde00000-00000",
            "abcde0000000000é",
            "../../etc/passwd",
        ] {
            assert_eq!(parse_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_reported_duration_is_bounded_by_the_time_since_the_open_and_four_hours() {
        let t0 = Utc::now();
        assert_eq!(bounded_duration(30, t0, t0 + Duration::seconds(31)), Some(30));
        assert_eq!(bounded_duration(40, t0, t0 + Duration::seconds(31)), Some(40), "within the slack");
        assert_eq!(bounded_duration(600, t0, t0 + Duration::seconds(31)), None, "more than elapsed");
        assert_eq!(bounded_duration(-1, t0, t0 + Duration::seconds(31)), None);
        assert_eq!(bounded_duration(20_000, t0, t0 + Duration::hours(6)), Some(MAX_DURATION_SECS));
        assert_eq!(bounded_duration(0, t0, t0 - Duration::seconds(1)), None, "an open in the future");
    }

    #[test]
    fn bots_and_previews_are_told_from_browsers() {
        let wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN";
        assert!(!is_bot(wechat));
        assert!(in_wechat(wechat));
        assert!(is_bot(""));
        assert!(is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)"));
        assert!(is_bot("WhatsApp/2.23"));
        assert!(is_bot("curl/8.0"));
        assert!(!in_wechat("Mozilla/5.0 (Windows NT 10.0) Chrome/120"));
    }

    #[test]
    fn a_link_needs_a_material_or_an_https_url_with_a_title() {
        let staff = UserId(Uuid::now_v7());
        let url = NewLink {
            url: Some("https://shop.example.com/p/1".into()),
            title: Some(" 新品 ".into()),
            staff_id: staff,
            ..NewLink::default()
        };
        assert_eq!(url.check().unwrap(), (LinkTarget::Url("https://shop.example.com/p/1".into()), "新品".into()));
        let untitled = NewLink { title: None, ..url.clone() };
        assert_eq!(untitled.check().unwrap_err().field, "title");
        for bad in
            ["http://shop.example.com", "https://", "https://localhost", "javascript:alert(1)", "https://a.com/x y"]
        {
            let l = NewLink { url: Some(bad.into()), ..url.clone() };
            assert_eq!(l.check().unwrap_err().field, "url", "{bad}");
        }
        let both = NewLink { material_id: Some(Uuid::now_v7()), ..url.clone() };
        assert!(both.check().is_err());
        let material = NewLink { material_id: Some(Uuid::now_v7()), staff_id: staff, ..NewLink::default() };
        assert!(material.check().is_ok());
        assert!(NewLink { staff_id: staff, ..NewLink::default() }.check().is_err());
    }

    #[test]
    fn the_triple_tells_customers_and_the_anonymous_link_apart() {
        let staff = UserId(Uuid::now_v7());
        let t = LinkTarget::Url("https://a.example.com".into());
        let c = CustomerId(Uuid::now_v7());
        assert_eq!(t.triple(staff, Some(c)), t.triple(staff, Some(c)));
        assert_ne!(t.triple(staff, Some(c)), t.triple(staff, None));
        assert_ne!(t.triple(staff, None), LinkTarget::Material(Uuid::nil()).triple(staff, None));
    }

    proptest! {
        #[test]
        fn parsing_any_string_never_panics(s in ".*") {
            let _ = parse_code(&s);
        }

        #[test]
        fn every_minted_code_parses_back(key in any::<u64>(), secret in any::<u64>()) {
            let k = tenant_key(key);
            let c = code(&k, secret);
            prop_assert_eq!(parse_code(&c), Some(k.as_str()));
        }

        #[test]
        fn a_bounded_duration_stays_within_four_hours(reported in any::<i64>(), elapsed in -100i64..1_000_000) {
            let t0 = Utc::now();
            if let Some(d) = bounded_duration(reported, t0, t0 + Duration::seconds(elapsed)) {
                prop_assert!((0..=MAX_DURATION_SECS).contains(&d));
            }
        }
    }
}
