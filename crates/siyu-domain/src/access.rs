//! Roles, permissions and data scopes.
//!
//! A role says *what* a member may do; a data scope says *which customers* they may see: all of the
//! tenant's, those followed by anyone in their department tree, or only those they follow themselves.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Operator,
    Staff,
    Auditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    All,
    Department,
    #[serde(rename = "self")]
    SelfOnly,
}

/// Everything a member can be allowed to do. Checked in `siyu-app` services, never in handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    CustomersRead,
    CustomersWrite,
    CustomersImport,
    CustomersExport,
    /// Erase a customer's personal data for good (PIPL Art. 47): irreversible, audited.
    CustomersErase,
    /// See full phone numbers and emails (each reveal is audited).
    PiiReveal,
    TagsManage,
    /// Create, change and refresh segments.
    SegmentsManage,
    /// Create and publish journeys, enrol customers in them.
    JourneysManage,
    FieldsManage,
    UsersManage,
    TokensManage,
    AuditRead,
    /// Read the session archive (会话存档) and review its alerts.
    ArchiveAudit,
    /// Keep the team's content: quick-reply scripts (and later materials).
    ContentManage,
    /// Keep the sensitive-word lists, archive rules and the search dictionary; forward archived messages.
    ArchiveManage,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Self::CustomersRead,
        Self::CustomersWrite,
        Self::CustomersImport,
        Self::CustomersExport,
        Self::CustomersErase,
        Self::PiiReveal,
        Self::TagsManage,
        Self::SegmentsManage,
        Self::JourneysManage,
        Self::FieldsManage,
        Self::UsersManage,
        Self::TokensManage,
        Self::AuditRead,
        Self::ArchiveAudit,
        Self::ArchiveManage,
        Self::ContentManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomersRead => "customers_read",
            Self::CustomersWrite => "customers_write",
            Self::CustomersImport => "customers_import",
            Self::CustomersExport => "customers_export",
            Self::CustomersErase => "customers_erase",
            Self::PiiReveal => "pii_reveal",
            Self::TagsManage => "tags_manage",
            Self::SegmentsManage => "segments_manage",
            Self::JourneysManage => "journeys_manage",
            Self::FieldsManage => "fields_manage",
            Self::UsersManage => "users_manage",
            Self::TokensManage => "tokens_manage",
            Self::AuditRead => "audit_read",
            Self::ArchiveAudit => "archive_audit",
            Self::ArchiveManage => "archive_manage",
            Self::ContentManage => "content_manage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Owner, Self::Admin, Self::Operator, Self::Staff, Self::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Staff => "staff",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Owner => true,
            Self::Admin => true,
            Self::Operator => matches!(
                p,
                CustomersRead
                    | CustomersWrite
                    | CustomersImport
                    | CustomersExport
                    | TagsManage
                    | SegmentsManage
                    | JourneysManage
                    | FieldsManage
                    | ContentManage
            ),
            Self::Staff => matches!(p, CustomersRead | CustomersWrite),
            Self::Auditor => matches!(p, CustomersRead | AuditRead | ArchiveAudit),
        }
    }

    /// The scope a new member of this role gets unless told otherwise.
    pub fn default_scope(self) -> DataScope {
        match self {
            Self::Owner | Self::Admin | Self::Operator | Self::Auditor => DataScope::All,
            Self::Staff => DataScope::SelfOnly,
        }
    }

    /// Whether a member of this role may grant `other` (no one creates a role above their own).
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Self::Owner => true,
            Self::Admin => other != Self::Owner,
            _ => false,
        }
    }
}

impl DataScope {
    pub const ALL: [DataScope; 3] = [Self::All, Self::Department, Self::SelfOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Department => "department",
            Self::SelfOnly => "self",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Scopes an API token may carry. `read` covers GETs, `write` covers changes, `admin` users and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    Write,
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [Self::Read, Self::Write, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// `write` includes `read`; `admin` includes both.
    pub fn covers(self, needed: TokenScope) -> bool {
        let rank = |s: TokenScope| match s {
            Self::Read => 0,
            Self::Write => 1,
            Self::Admin => 2,
        };
        rank(self) >= rank(needed)
    }

    /// The token scope a permission needs.
    pub fn needed_for(p: Permission) -> TokenScope {
        use Permission::*;
        match p {
            CustomersRead | AuditRead | CustomersExport => Self::Read,
            ArchiveAudit => Self::Read,
            CustomersWrite | CustomersImport | TagsManage | SegmentsManage | JourneysManage | FieldsManage
            | PiiReveal | ArchiveManage | ContentManage => Self::Write,
            UsersManage | TokensManage | CustomersErase => Self::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_see_only_their_own_customers_by_default() {
        assert_eq!(Role::Staff.default_scope(), DataScope::SelfOnly);
        assert!(!Role::Staff.can(Permission::PiiReveal));
        assert!(!Role::Staff.can(Permission::UsersManage));
    }

    #[test]
    fn auditors_read_but_never_write() {
        assert!(Role::Auditor.can(Permission::AuditRead));
        assert!(!Role::Auditor.can(Permission::CustomersWrite));
    }

    #[test]
    fn only_owners_and_admins_may_erase_customers_and_tokens_need_the_admin_scope() {
        let erasers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.can(Permission::CustomersErase)).collect();
        assert_eq!(erasers, vec![Role::Owner, Role::Admin]);
        assert_eq!(TokenScope::needed_for(Permission::CustomersErase), TokenScope::Admin);
    }

    #[test]
    fn admins_cannot_create_owners() {
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Operator.may_grant(Role::Staff));
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        for d in DataScope::ALL {
            assert_eq!(DataScope::parse(d.as_str()), Some(d));
        }
    }
}
