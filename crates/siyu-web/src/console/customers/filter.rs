//! The customer list's filter as it travels in console URLs (`?q=&tags_any=..&created_from=2024-05-01`),
//! parsed from query or form pairs and written back as a query string. The export links use the same
//! query, so `/console/customers/export.*` can call [`parse_filter`] on their pairs.
//!
//! Tag lists may repeat the key (`tags_any=a&tags_any=b`, what multi-selects send) or be comma separated.
//! Dates are days in Asia/Shanghai; `*_to` days are inclusive.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use siyu_domain::Invalid;
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::{TagId, UserId};

use super::view::{all, cst, one};
use crate::auth::urlencode;

/// The filter fields exactly as the user typed them (re-shown in the form and carried in links).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    pub q: String,
    pub tags_any: Vec<String>,
    pub tags_all: Vec<String>,
    pub tags_none: Vec<String>,
    pub staff: String,
    pub created_from: String,
    pub created_to: String,
    pub active_from: String,
    pub active_to: String,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn list_of(pairs: &[(String, String)], key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in all(pairs, key) {
        for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !out.iter().any(|x| x == part) {
                out.push(part.to_string());
            }
        }
    }
    out
}

fn trimmed(pairs: &[(String, String)], key: &str) -> String {
    one(pairs, key).map(str::trim).unwrap_or("").to_string()
}

impl ListParams {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            q: trimmed(pairs, "q"),
            tags_any: list_of(pairs, "tags_any"),
            tags_all: list_of(pairs, "tags_all"),
            tags_none: list_of(pairs, "tags_none"),
            staff: trimmed(pairs, "staff"),
            created_from: trimmed(pairs, "created_from"),
            created_to: trimmed(pairs, "created_to"),
            active_from: trimmed(pairs, "active_from"),
            active_to: trimmed(pairs, "active_to"),
            cursor: one(pairs, "cursor").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string),
            limit: one(pairs, "limit").and_then(|l| l.trim().parse().ok()),
        }
    }

    /// The domain filter; an unparsable id or date is an inline error on that field.
    pub fn filter(&self) -> Result<CustomerFilter, Invalid> {
        let staff = match self.staff.as_str() {
            "" => None,
            s => Some(s.parse::<UserId>().map_err(|_| Invalid::new("staff", "invalid_id"))?),
        };
        Ok(CustomerFilter {
            tags_any: tag_ids("tags_any", &self.tags_any)?,
            tags_all: tag_ids("tags_all", &self.tags_all)?,
            tags_none: tag_ids("tags_none", &self.tags_none)?,
            staff,
            created_from: day("created_from", &self.created_from, false)?,
            created_to: day("created_to", &self.created_to, true)?,
            active_from: day("active_from", &self.active_from, false)?,
            active_to: day("active_to", &self.active_to, true)?,
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
        })
    }

    /// The filter as query pairs (no cursor), for links and hidden form fields.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |k: &'static str, v: &str| {
            if !v.is_empty() {
                out.push((k, v.to_string()));
            }
        };
        push("q", &self.q);
        for t in &self.tags_any {
            push("tags_any", t);
        }
        for t in &self.tags_all {
            push("tags_all", t);
        }
        for t in &self.tags_none {
            push("tags_none", t);
        }
        push("staff", &self.staff);
        push("created_from", &self.created_from);
        push("created_to", &self.created_to);
        push("active_from", &self.active_from);
        push("active_to", &self.active_to);
        if let Some(l) = self.limit {
            out.push(("limit", l.to_string()));
        }
        out
    }

    /// `q=..&tags_any=..` without the cursor (empty when no filter is set).
    pub fn query(&self) -> String {
        self.pairs().iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
    }

    /// How many filters besides the search text are set (the collapsed filter panel shows it).
    pub fn advanced_count(&self) -> usize {
        self.pairs().iter().filter(|(k, _)| !matches!(*k, "q" | "limit")).count()
    }

    /// Whether any filter (not paging) is set.
    pub fn is_filtered(&self) -> bool {
        self.pairs().iter().any(|(k, _)| *k != "limit")
    }

    /// A URL under `path` with this filter and an optional cursor.
    pub fn url(&self, path: &str, cursor: Option<&str>) -> String {
        let mut q = self.query();
        if let Some(c) = cursor {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str("cursor=");
            q.push_str(&urlencode(c));
        }
        if q.is_empty() { path.to_string() } else { format!("{path}?{q}") }
    }
}

fn tag_ids(field: &str, raw: &[String]) -> Result<Vec<TagId>, Invalid> {
    raw.iter().map(|s| s.parse().map_err(|_| Invalid::new(field, "invalid_id"))).collect()
}

/// A `YYYY-MM-DD` day in Asia/Shanghai (or an RFC 3339 time). `end` gives the start of the next day, so
/// the store's exclusive upper bound includes the whole day.
fn day(field: &str, raw: &str, end: bool) -> Result<Option<DateTime<Utc>>, Invalid> {
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let bad = || Invalid::new(field, "expected_date_yyyy_mm_dd");
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())?;
    let d = if end { d.checked_add_signed(Duration::days(1)).ok_or_else(bad)? } else { d };
    let local = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
    let t = local.and_local_timezone(cst()).single().ok_or_else(bad)?;
    Ok(Some(t.with_timezone(&Utc)))
}

/// Parses the console's customer filter from query pairs (what the list page and its export links use).
pub fn parse_filter(pairs: &[(String, String)]) -> Result<CustomerFilter, Invalid> {
    ListParams::from_pairs(pairs).filter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn repeated_and_comma_separated_tags_both_work() {
        let (a, b) = (TagId::new(), TagId::new());
        let p = ListParams::from_pairs(&pairs(&[("tags_any", &a.to_string()), ("tags_any", &format!("{b},{a}"))]));
        assert_eq!(p.filter().unwrap().tags_any, vec![a, b]);
        assert!(p.query().contains(&format!("tags_any={a}&tags_any={b}")));
    }

    #[test]
    fn days_are_shanghai_days_and_the_end_day_is_inclusive() {
        let p = ListParams::from_pairs(&pairs(&[("created_from", "2024-05-01"), ("created_to", "2024-05-01")]));
        let f = p.filter().unwrap();
        assert_eq!(f.created_from.unwrap().to_rfc3339(), "2024-04-30T16:00:00+00:00");
        assert_eq!(f.created_to.unwrap().to_rfc3339(), "2024-05-01T16:00:00+00:00");
        let bad = ListParams::from_pairs(&pairs(&[("active_to", "05/01")]));
        assert_eq!(bad.filter().unwrap_err().field, "active_to");
    }

    #[test]
    fn links_keep_the_filter_and_add_the_cursor() {
        let p = ListParams::from_pairs(&pairs(&[("q", "张 三"), ("cursor", "x")]));
        assert_eq!(p.url("/console/customers", Some("1_ab")), "/console/customers?q=%E5%BC%A0%20%E4%B8%89&cursor=1_ab");
        assert!(p.is_filtered());
        assert_eq!(ListParams::default().url("/c", None), "/c");
    }
}
