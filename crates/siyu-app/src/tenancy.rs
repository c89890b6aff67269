//! Tenants, accounts, members and departments.

use serde_json::json;
use siyu_domain::access::{DataScope, Permission, Role};
use siyu_domain::id::{DepartmentId, TenantId, UserId};
use siyu_domain::tenancy::{self, Account, Department, Member, Tenant, TenantStatus};
use siyu_domain::text;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Input for adding a member: an existing account joins by username, a new one needs a password.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub username: String,
    pub display_name: String,
    pub password: Option<String>,
    pub role: Role,
    pub scope: Option<DataScope>,
    pub department_id: Option<DepartmentId>,
}

/// Changes to a member.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<DataScope>,
    pub department_id: Option<Option<DepartmentId>>,
    pub active: Option<bool>,
}

impl App {
    /// Creates a tenant with a fresh data key (platform administration and `siyu admin`).
    pub async fn create_tenant(&self, name: &str) -> AppResult<Tenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            name: text::required("name", name, 64)?,
            status: TenantStatus::Active,
            timezone: "Asia/Shanghai".into(),
            created_at: self.now(),
        };
        let wrapped = self.vault.new_wrapped_key()?;
        self.store.tenants().insert(&tenant, &wrapped).await?;
        tracing::info!(tenant = %tenant.id, "tenant created");
        Ok(tenant)
    }

    pub async fn set_tenant_status(
        &self,
        platform_admin: &Account,
        tenant: TenantId,
        status: TenantStatus,
    ) -> AppResult<()> {
        if !platform_admin.platform_admin {
            return Err(AppError::Forbidden);
        }
        self.store.tenants().set_status(tenant, status).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "tenant.status",
            object_type: "tenant",
            object_id: Some(tenant.to_string()),
            detail: json!({"status": status}),
        };
        self.audit_raw(tenant, Some((platform_admin.id, platform_admin.display_name.clone())), None, None, ev).await;
        Ok(())
    }

    /// A platform admin creates a brand with its owner (an existing account joins; a new one needs a password).
    pub async fn platform_create_tenant(
        &self,
        platform_admin: &Account,
        name: &str,
        owner_username: &str,
        owner_name: &str,
        password: Option<&str>,
    ) -> AppResult<Tenant> {
        if !platform_admin.platform_admin {
            return Err(AppError::Forbidden);
        }
        let username = tenancy::parse_username(owner_username)?;
        let owner = match self.store.accounts().by_username(&username).await? {
            Some((a, _)) => a,
            None => {
                let pw = password.filter(|p| !p.is_empty()).ok_or_else(|| AppError::invalid("password", "required"))?;
                self.create_account(&username, owner_name, pw, false).await?
            }
        };
        let tenant = self.create_tenant(name).await?;
        self.add_membership(tenant.id, &owner, Role::Owner, None, None).await?;
        let ev = AuditEvent {
            action: "tenant.create",
            object_type: "tenant",
            object_id: Some(tenant.id.to_string()),
            detail: json!({"name": tenant.name, "owner": owner.username}),
        };
        self.audit_raw(tenant.id, Some((platform_admin.id, platform_admin.display_name.clone())), None, None, ev).await;
        Ok(tenant)
    }

    pub async fn list_tenants(&self, platform_admin: &Account) -> AppResult<Vec<Tenant>> {
        if !platform_admin.platform_admin {
            return Err(AppError::Forbidden);
        }
        Ok(self.store.tenants().list().await?)
    }

    /// Creates a login account.
    pub async fn create_account(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        platform_admin: bool,
    ) -> AppResult<Account> {
        let username = tenancy::parse_username(username)?;
        let display_name = text::required("display_name", display_name, 64)?;
        tenancy::check_password(password)?;
        let account = Account {
            id: UserId::new(),
            username,
            display_name,
            platform_admin,
            locale: "zh-CN".into(),
            active: true,
            created_at: self.now(),
        };
        let hash = self.hash_password(password).await?;
        self.store.accounts().insert(&account, &hash).await?;
        Ok(account)
    }

    /// Adds an account to a tenant with a role (no permission check: for `siyu admin` and tenant setup).
    pub async fn add_membership(
        &self,
        tenant: TenantId,
        account: &Account,
        role: Role,
        scope: Option<DataScope>,
        department: Option<DepartmentId>,
    ) -> AppResult<Member> {
        let member = Member {
            tenant_id: tenant,
            user_id: account.id,
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role,
            scope: scope.unwrap_or(role.default_scope()),
            department_id: department,
            active: true,
            created_at: self.now(),
        };
        self.store.members().insert(&member).await?;
        self.token_cache.clear();
        Ok(member)
    }

    /// Sets a new password and ends the account's sessions.
    pub async fn reset_password(&self, username: &str, password: &str) -> AppResult<()> {
        tenancy::check_password(password)?;
        let (account, _) =
            self.store.accounts().by_username(&username.trim().to_lowercase()).await?.ok_or(AppError::NotFound)?;
        let hash = self.hash_password(password).await?;
        self.store.accounts().set_password(account.id, &hash).await?;
        self.store.sessions().delete_for_user(account.id).await?;
        Ok(())
    }

    pub async fn list_members(&self, actor: &Actor) -> AppResult<Vec<Member>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.members().list(actor.tenant).await?)
    }

    pub async fn get_member(&self, actor: &Actor, user: UserId) -> AppResult<Member> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.members().get(actor.tenant, user).await?)
    }

    pub async fn add_member(&self, actor: &Actor, input: NewMember) -> AppResult<Member> {
        actor.require(Permission::UsersManage)?;
        if !actor.role.may_grant(input.role) {
            return Err(AppError::Forbidden);
        }
        if let Some(d) = input.department_id {
            self.department(actor, d).await?;
        }
        let username = tenancy::parse_username(&input.username)?;
        let account = match self.store.accounts().by_username(&username).await? {
            Some((a, _)) => a,
            None => {
                let password = input.password.as_deref().ok_or_else(|| AppError::invalid("password", "required"))?;
                self.create_account(&username, &input.display_name, password, false).await?
            }
        };
        let member = self.add_membership(actor.tenant, &account, input.role, input.scope, input.department_id).await?;
        let ev = AuditEvent {
            action: "member.add",
            object_type: "member",
            object_id: Some(account.id.to_string()),
            detail: json!({"username": account.username, "role": member.role, "scope": member.scope}),
        };
        self.audit(actor, ev).await;
        Ok(member)
    }

    pub async fn update_member(&self, actor: &Actor, user: UserId, patch: MemberPatch) -> AppResult<Member> {
        actor.require(Permission::UsersManage)?;
        let mut m = self.store.members().get(actor.tenant, user).await?;
        if !actor.role.may_grant(m.role) || patch.role.is_some_and(|r| !actor.role.may_grant(r)) {
            return Err(AppError::Forbidden);
        }
        if user == actor.user && (patch.active == Some(false) || patch.role.is_some_and(|r| r != m.role)) {
            return Err(AppError::invalid("user", "cannot_demote_or_disable_yourself"));
        }
        if let Some(Some(d)) = patch.department_id {
            self.department(actor, d).await?;
        }
        if let Some(name) = &patch.display_name {
            let name = text::required("display_name", name, 64)?;
            // The name belongs to the account, which other brands may share: only its owner renames it then.
            if user != actor.user && self.store.members().of_account(user).await?.len() > 1 {
                return Err(AppError::invalid("display_name", "account_shared_with_other_brands"));
            }
            self.store.accounts().set_display_name(user, &name).await?;
            m.display_name = name;
        }
        if let Some(r) = patch.role {
            m.role = r;
        }
        if let Some(s) = patch.scope {
            m.scope = s;
        }
        if let Some(d) = patch.department_id {
            m.department_id = d;
        }
        if let Some(a) = patch.active {
            m.active = a;
        }
        self.store.members().update(&m).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "member.update",
            object_type: "member",
            object_id: Some(user.to_string()),
            detail: json!({"role": m.role, "scope": m.scope, "active": m.active}),
        };
        self.audit(actor, ev).await;
        Ok(m)
    }

    pub async fn departments(&self, actor: &Actor) -> AppResult<Vec<Department>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.departments().list(actor.tenant).await?)
    }

    async fn department(&self, actor: &Actor, id: DepartmentId) -> AppResult<Department> {
        self.store
            .departments()
            .list(actor.tenant)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| AppError::invalid("department_id", "unknown_department"))
    }

    pub async fn create_department(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<DepartmentId>,
    ) -> AppResult<Department> {
        actor.require(Permission::UsersManage)?;
        if let Some(p) = parent {
            self.department(actor, p).await.map_err(|_| AppError::invalid("parent_id", "unknown_department"))?;
        }
        let d = Department {
            id: DepartmentId::new(),
            parent_id: parent,
            name: text::required("name", name, 64)?,
            created_at: self.now(),
        };
        self.store.departments().insert(actor.tenant, &d).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "department.create",
            object_type: "department",
            object_id: Some(d.id.to_string()),
            detail: json!({"name": d.name}),
        };
        self.audit(actor, ev).await;
        Ok(d)
    }

    pub async fn update_department(
        &self,
        actor: &Actor,
        id: DepartmentId,
        name: &str,
        parent: Option<DepartmentId>,
    ) -> AppResult<Department> {
        actor.require(Permission::UsersManage)?;
        let all = self.store.departments().list(actor.tenant).await?;
        let mut d = all.iter().find(|d| d.id == id).cloned().ok_or(AppError::NotFound)?;
        if let Some(p) = parent {
            if !all.iter().any(|x| x.id == p) {
                return Err(AppError::invalid("parent_id", "unknown_department"));
            }
            if tenancy::would_cycle(&all, id, p) {
                return Err(AppError::invalid("parent_id", "would_create_a_cycle"));
            }
        }
        d.name = text::required("name", name, 64)?;
        d.parent_id = parent;
        self.store.departments().update(actor.tenant, &d).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "department.update",
            object_type: "department",
            object_id: Some(id.to_string()),
            detail: json!({"name": d.name}),
        };
        self.audit(actor, ev).await;
        Ok(d)
    }

    pub async fn delete_department(&self, actor: &Actor, id: DepartmentId) -> AppResult<()> {
        actor.require(Permission::UsersManage)?;
        self.store.departments().delete(actor.tenant, id).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "department.delete",
            object_type: "department",
            object_id: Some(id.to_string()),
            detail: json!({}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }
}
