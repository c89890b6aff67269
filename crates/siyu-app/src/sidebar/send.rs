//! What staff send from the sidebar. The page shows scripts already rendered for the open chat's customer
//! (nothing is counted yet), sends one with `wx.invoke('sendChatMessage')`, and on WeCom's success reports
//! the send with an id it made beforehand: the use is counted once per (member, send id), so a retried
//! report, a double tap or a reloaded page never counts twice. In a group chat the audience is the group:
//! `{客户昵称}` reads 「大家」 and sends are kept in `sidebar_group_sends`.

use siyu_domain::id::{MaterialId, ScriptId};
use siyu_domain::script::{self, ScriptScope};
use siyu_store::sidebar::{GroupSent, NewGroupSend, NewSend};

use super::{Audience, GROUP_NICKNAME, SidebarIdentity};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A script as the send tab lists it: its text rendered for the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct SidebarScript {
    pub id: ScriptId,
    pub group: String,
    /// A team script (else the member's own).
    pub team: bool,
    pub title: String,
    pub text: String,
    pub uses: i64,
}

/// A send the page reports after WeCom confirmed it.
#[derive(Debug, Clone)]
pub struct SidebarSend {
    /// The id the page made before sending (8–64 letters, digits, `-` or `_`).
    pub send_id: String,
    /// The chat's customer or group.
    pub audience: Audience,
    pub item: SentItem,
}

/// What was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentItem {
    Script(ScriptId),
    /// Counted in the material's usage ledger (`sent`).
    Material(MaterialId),
}

fn valid_send_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl App {
    /// The team and personal scripts matching `query` (title or text, any case; all when empty), rendered for
    /// `audience` (a group is 「大家」), most used first within their group order. Nothing is counted.
    pub async fn sidebar_scripts(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        audience: Audience,
        query: &str,
    ) -> AppResult<Vec<SidebarScript>> {
        let nickname = match audience {
            Audience::Customer(customer) => self.get_customer(actor, customer).await?.customer.name,
            Audience::Group(group) => {
                self.sidebar_group_row(actor, identity, group).await?;
                GROUP_NICKNAME.to_owned()
            }
        };
        let needle = query.trim().to_lowercase();
        let mut out = Vec::new();
        for group in self.script_groups(actor).await? {
            let team = group.scope == ScriptScope::Team;
            for s in group.scripts {
                let hit = needle.is_empty()
                    || s.title.to_lowercase().contains(&needle)
                    || s.body.to_lowercase().contains(&needle)
                    || group.name.to_lowercase().contains(&needle);
                if hit {
                    out.push(SidebarScript {
                        id: s.id,
                        group: group.name.clone(),
                        team,
                        title: s.title,
                        text: script::render(&s.body, &nickname, &actor.name),
                        uses: s.uses,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records a script or material the member sent to the chat's customer or group and counts its use, once
    /// per send id. True when this send was new.
    pub async fn sidebar_record_send(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        send: &SidebarSend,
    ) -> AppResult<bool> {
        if !valid_send_id(&send.send_id) {
            return Err(AppError::invalid("send_id", "8–64 letters, digits, - or _"));
        }
        self.sidebar_audience(actor, identity, send.audience).await?;
        let group = match send.audience {
            Audience::Customer(customer) => return self.record_customer_send(actor, customer, send).await,
            Audience::Group(group) => group,
        };
        let new = NewGroupSend { user: actor.user, send_id: &send.send_id, group, at: self.now() };
        match send.item {
            SentItem::Script(script) => {
                self.get_script(actor, script).await?;
                Ok(self.store.sidebar().record_group_send(actor.tenant, GroupSent::Script(script.0), &new).await?)
            }
            SentItem::Material(m) => {
                // The ledger counts the send (no customer); the group's row says where it went.
                let counted = self.record_material_send(actor, m, None, &send.send_id).await?;
                self.store.sidebar().record_group_send(actor.tenant, GroupSent::Material(m.0), &new).await?;
                Ok(counted)
            }
        }
    }

    async fn record_customer_send(
        &self,
        actor: &Actor,
        customer: siyu_domain::id::CustomerId,
        send: &SidebarSend,
    ) -> AppResult<bool> {
        let script = match send.item {
            SentItem::Script(script) => script,
            SentItem::Material(m) => {
                return self.record_material_send(actor, m, Some(customer), &send.send_id).await;
            }
        };
        // The script must be one the member may use (a team script or their own): NotFound otherwise.
        self.get_script(actor, script).await?;
        let new = NewSend { user: actor.user, send_id: &send.send_id, customer, at: self.now() };
        Ok(self.store.sidebar().record_script_send(actor.tenant, script, &new).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_send_id;

    #[test]
    fn send_ids_are_short_plain_tokens() {
        assert!(valid_send_id("0190f5a2-7b3c-7d4e-8f00-112233445566"));
        assert!(!valid_send_id("short"));
        assert!(!valid_send_id("has space in it"));
        assert!(!valid_send_id(&"x".repeat(65)));
    }
}
