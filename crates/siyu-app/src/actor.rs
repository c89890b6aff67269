//! Who is acting: a member of one tenant, through a console session or an API token.

use siyu_domain::access::{DataScope, Permission, Role, TokenScope};
use siyu_domain::id::{ApiTokenId, CustomerId, DepartmentId, TenantId, UserId};
use siyu_domain::tenancy::{self, Member};
use siyu_store::customers::Visibility;

use crate::error::{AppError, AppResult};
use crate::{App, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session,
    Token {
        id: ApiTokenId,
        name: String,
        scopes: Vec<TokenScope>,
    },
    /// The CLI and background jobs acting for a member.
    System,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub user: UserId,
    pub name: String,
    pub role: Role,
    pub scope: DataScope,
    pub department: Option<DepartmentId>,
    /// Which customers this actor may see, derived from the scope.
    pub visibility: Visibility,
    pub via: Via,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// Builds the actor of an active member, resolving its data scope into visible staff.
    pub async fn for_member(store: &Store, member: &Member, via: Via) -> AppResult<Self> {
        let visibility = match member.scope {
            DataScope::All => None,
            DataScope::SelfOnly => Some(vec![member.user_id]),
            DataScope::Department => match member.department_id {
                None => Some(vec![member.user_id]),
                Some(dept) => {
                    let all = store.departments().list(member.tenant_id).await?;
                    let tree = tenancy::subtree(&all, dept);
                    let mut users = store.members().in_departments(member.tenant_id, &tree).await?;
                    if !users.contains(&member.user_id) {
                        users.push(member.user_id);
                    }
                    Some(users)
                }
            },
        };
        Ok(Self {
            tenant: member.tenant_id,
            user: member.user_id,
            name: member.display_name.clone(),
            role: member.role,
            scope: member.scope,
            department: member.department_id,
            visibility,
            via,
            ip: None,
            user_agent: None,
        })
    }

    pub fn with_origin(mut self, ip: Option<String>, user_agent: Option<String>) -> Self {
        self.ip = ip;
        self.user_agent = user_agent;
        self
    }

    pub fn can(&self, p: Permission) -> bool {
        let token_ok = match &self.via {
            Via::Token { scopes, .. } => scopes.iter().any(|s| s.covers(TokenScope::needed_for(p))),
            _ => true,
        };
        self.role.can(p) && token_ok
    }

    pub fn require(&self, p: Permission) -> AppResult<()> {
        if self.can(p) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// How the audit log names this actor.
    pub fn audit_name(&self) -> String {
        match &self.via {
            Via::Token { name, .. } => format!("{} (API token {name})", self.name),
            _ => self.name.clone(),
        }
    }

    /// The idempotency principal: who the key belongs to.
    pub fn principal(&self) -> String {
        match &self.via {
            Via::Token { id, .. } => format!("token:{id}"),
            _ => format!("user:{}", self.user),
        }
    }
}

impl App {
    /// NotFound unless the customer exists in the actor's tenant and is within their data scope.
    pub async fn ensure_visible(&self, actor: &Actor, customer: CustomerId) -> AppResult<()> {
        if self.store.customers().is_visible(actor.tenant, customer, &actor.visibility).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
