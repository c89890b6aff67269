//! Tenants, accounts, members and departments.
//!
//! An *account* is a person who can log in; a *member* is that account inside one tenant, with a role, a
//! data scope and a department. An agency operator's single account is a member of many tenants.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{DataScope, Role, TokenScope};
use crate::id::{ApiTokenId, DepartmentId, TenantId, UserId};
use crate::{Invalid, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub platform_admin: bool,
    pub locale: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// An account's membership in one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: DataScope,
    pub department_id: Option<DepartmentId>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Department {
    pub id: DepartmentId,
    pub parent_id: Option<DepartmentId>,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub scopes: Vec<TokenScope>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Usernames: 3–32 of lower-case letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn parse_username(s: &str) -> Result<String, Invalid> {
    let u = text::required("username", s, 32)?.to_lowercase();
    let ok = u.len() >= 3
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(u) } else { Err(Invalid::new("username", "invalid_username")) }
}

/// Passwords: 10–128 characters, not all of one kind of character.
pub fn check_password(p: &str) -> Result<(), Invalid> {
    let n = p.chars().count();
    if n < 10 {
        return Err(Invalid::new("password", "too_short (min 10 characters)"));
    }
    if n > 128 {
        return Err(Invalid::new("password", "too_long (max 128 characters)"));
    }
    let first = p.chars().next();
    if p.chars().all(|c| Some(c) == first) {
        return Err(Invalid::new("password", "too_simple"));
    }
    Ok(())
}

/// All departments in the subtree rooted at `root` (including it), given every department.
pub fn subtree(all: &[Department], root: DepartmentId) -> Vec<DepartmentId> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        for d in all {
            if d.parent_id == Some(parent) && !out.contains(&d.id) {
                out.push(d.id);
            }
        }
        i += 1;
    }
    out
}

/// Whether making `parent` the parent of `dept` would create a cycle.
pub fn would_cycle(all: &[Department], dept: DepartmentId, parent: DepartmentId) -> bool {
    subtree(all, dept).contains(&parent)
}

/// The UTC offset of a tenant's time zone, where business days are counted (default Asia/Shanghai, +08:00).
/// The zones tenants use have no daylight saving time, so a fixed offset is exact.
pub fn utc_offset(timezone: &str) -> FixedOffset {
    let hours = match timezone {
        "UTC" | "Etc/UTC" => 0,
        "Asia/Tokyo" | "Asia/Seoul" => 9,
        "Asia/Bangkok" | "Asia/Ho_Chi_Minh" | "Asia/Jakarta" => 7,
        _ => 8,
    };
    FixedOffset::east_opt(hours * 3600).unwrap_or_else(|| Utc.fix())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dept(id: DepartmentId, parent: Option<DepartmentId>) -> Department {
        Department { id, parent_id: parent, name: "d".into(), created_at: Utc::now() }
    }

    #[test]
    fn a_department_tree_includes_all_descendants() {
        let (a, b, c, d) = (DepartmentId::new(), DepartmentId::new(), DepartmentId::new(), DepartmentId::new());
        let all = vec![dept(a, None), dept(b, Some(a)), dept(c, Some(b)), dept(d, None)];
        let t = subtree(&all, a);
        assert_eq!(t.len(), 3);
        assert!(!t.contains(&d));
        assert!(would_cycle(&all, a, c));
        assert!(!would_cycle(&all, c, d));
    }

    #[test]
    fn usernames_and_passwords_have_rules() {
        assert_eq!(parse_username("Li.Lei").unwrap(), "li.lei");
        assert!(parse_username("a").is_err());
        assert!(parse_username("李雷").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("aaaaaaaaaaaa").is_err());
        assert!(check_password("correct horse").is_ok());
    }
}
