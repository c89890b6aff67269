//! The sidebar opened from a customer group's chat (`getCurExternalChat` names the group's chat_id): the
//! group as siyu synced it (name, owner, members, which members are known customers, group tags), never
//! read from WeCom per page view. Staff see a group they own or are in (or any group of the corp with an
//! all data scope); anything else, an unknown chat_id or another corp's group, is NotFound.
//!
//! What is sent to a group has the group as its audience: scripts render `{客户昵称}` as 「大家」, and a
//! material's tracked link is the member's link for the material without a customer (links are minted per
//! (material, staff, customer) and a link without a customer is the links domain's "anyone may open"
//! link), so opens from a group count for the material and the member but name no customer.

use siyu_domain::access::{DataScope, Permission};
use siyu_domain::id::{CustomerId, GroupId};
use siyu_domain::wecom::CustomerGroup;
use siyu_store::sidebar::GroupCustomer;

use super::SidebarIdentity;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Whom a sidebar send or list is for: the customer of a one-to-one chat, or a customer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Customer(CustomerId),
    Group(GroupId),
}

/// What `{客户昵称}` becomes in a script sent to a group.
pub const GROUP_NICKNAME: &str = "大家";

/// Everything the group panel shows.
#[derive(Debug, Clone)]
pub struct SidebarGroup {
    pub group: CustomerGroup,
    /// Staff members in the group (the owner included).
    pub staff_count: usize,
    /// External members (WeChat users) in the group.
    pub external_count: usize,
    /// External members siyu knows as customers, in join order; `visible` ones link to their profile.
    pub customers: Vec<GroupCustomer>,
    /// The group's tags (群标签), by name.
    pub tags: Vec<String>,
}

impl App {
    /// The group of the chat `chat_id` in the identity's corp, as the member may see it: NotFound when
    /// siyu has not synced it or it is outside the member's reach.
    pub async fn sidebar_group_by_chat(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        chat_id: &str,
    ) -> AppResult<GroupId> {
        actor.require(Permission::CustomersRead)?;
        let chat_id = chat_id.trim();
        if chat_id.is_empty() || chat_id.len() > 128 {
            return Err(AppError::NotFound);
        }
        let found = self.store.wecom().group_by_chat(actor.tenant, identity.corp, chat_id).await?;
        let (group, _) = found.ok_or(AppError::NotFound)?;
        self.sidebar_group_row(actor, identity, group).await?;
        Ok(group)
    }

    /// A group of the identity's corp the member may see: one they own or are in, or any with an all
    /// data scope.
    pub(crate) async fn sidebar_group_row(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        id: GroupId,
    ) -> AppResult<CustomerGroup> {
        actor.require(Permission::CustomersRead)?;
        let group = self.store.wecom().group(actor.tenant, id).await?;
        if group.corp != identity.corp {
            return Err(AppError::NotFound);
        }
        if actor.scope == DataScope::All || group.owner_id == Some(actor.user) {
            return Ok(group);
        }
        let members = self.store.wecom().group_members(actor.tenant, id).await?;
        if members.iter().any(|m| m.member_type == 1 && m.member_key == identity.userid) {
            Ok(group)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The group panel.
    pub async fn sidebar_group(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        id: GroupId,
    ) -> AppResult<SidebarGroup> {
        let group = self.sidebar_group_row(actor, identity, id).await?;
        let members = self.store.wecom().group_members(actor.tenant, id).await?;
        let staff_count = members.iter().filter(|m| m.member_type == 1).count();
        let external_count = members.iter().filter(|m| m.member_type == 2).count();
        let corp = self.store.wecom().corp(actor.tenant, identity.corp).await?;
        let customers =
            self.store.sidebar().group_customers(actor.tenant, id, &corp.corp_id, &actor.visibility).await?;
        let tags = self.store.wecom().tags_of_groups(actor.tenant, &[id]).await?;
        let tags = tags.into_iter().map(|(_, _, name)| name).collect();
        Ok(SidebarGroup { group, staff_count, external_count, customers, tags })
    }

    /// The groups a development identity can pretend to chat in: the live groups of the corp the member
    /// owns or is in, as (chat_id, name).
    pub async fn sidebar_dev_groups(&self, identity: &SidebarIdentity) -> AppResult<Vec<(String, String)>> {
        Ok(self.store.sidebar().staff_groups(identity.tenant, identity.corp, &identity.userid).await?)
    }

    /// Checks the member may address `audience` from this sidebar (NotFound otherwise).
    pub(crate) async fn sidebar_audience(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        audience: Audience,
    ) -> AppResult<()> {
        match audience {
            Audience::Customer(c) => self.ensure_visible(actor, c).await,
            Audience::Group(g) => self.sidebar_group_row(actor, identity, g).await.map(|_| ()),
        }
    }
}
