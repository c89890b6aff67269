//! Group codes at work: after every group sync the members who came through a code (join scene 3 with the
//! code's `state`) are recorded as its joins, members who are gone close their joins, and every code holding the
//! group is rolled over; the worker's 30 s sweep rolls every active code over too (a dismissed group, a missed
//! callback). A roll-over that changes the groups updates the join way first and then saves under the code's
//! version, so two callbacks at once cannot undo each other.

use std::collections::{HashMap, HashSet};

use siyu_domain::id::{GroupCodeId, GroupId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::wecom::group_code::{self, GroupCode, MAX_GROUPS};
use siyu_store::wecom::{CodeJoin, GroupSync};

use super::group_codes::{all_chats, fill_of, join_way_of};
use super::{CorpHandle, wecom_error};
use crate::App;
use crate::error::{AppError, AppResult};

impl App {
    /// Joins and leaves through group codes in a just-synced group, then the roll-over of the codes holding it.
    pub(crate) async fn after_group_code_sync(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        group: GroupId,
        sync: &GroupSync,
    ) -> AppResult<()> {
        let wecom = self.store.wecom();
        let mut codes: HashMap<String, Option<GroupCode>> = HashMap::new();
        let mut touched: HashSet<GroupCodeId> = HashSet::new();
        for m in &sync.members {
            let Some(state) = m.state.as_deref().filter(|s| s.starts_with("gc")) else { continue };
            if m.join_scene != Some(3) {
                continue;
            }
            if !codes.contains_key(state) {
                codes.insert(state.to_owned(), wecom.group_code_by_state(tenant, state).await?);
            }
            let Some(code) = codes.get(state).and_then(Option::as_ref).filter(|c| c.corp == handle.corp) else {
                continue;
            };
            let customer = if m.member_type == 2 {
                self.store
                    .identities()
                    .resolve(tenant, IdentityKind::ExternalUserid, &handle.corp_id, &m.member_key)
                    .await?
            } else {
                None
            };
            let join = CodeJoin {
                code: code.id,
                group,
                member_key: m.member_key.clone(),
                member_type: m.member_type,
                customer,
                at: m.join_time.unwrap_or(sync.at),
            };
            wecom.record_code_join(tenant, &join).await?;
            touched.insert(code.id);
        }
        let present: HashSet<&str> = sync.members.iter().map(|m| m.member_key.as_str()).collect();
        for (id, key) in wecom.open_code_joins(tenant, group).await? {
            if !present.contains(key.as_str()) {
                wecom.close_code_join(tenant, id, sync.at).await?;
            }
        }
        for code in wecom.group_codes(tenant, false).await? {
            let holds = code.chat_ids.contains(&sync.chat_id) || code.reserve.contains(&sync.chat_id);
            if code.corp == handle.corp && (holds || touched.contains(&code.id)) {
                // A group WeCom opened for the code by itself (auto_create_room) joins the code's groups.
                let adopt = (touched.contains(&code.id) && !all_chats(&code).contains(&sync.chat_id))
                    .then_some(sync.chat_id.as_str());
                self.roll_group_code(tenant, code.id, adopt).await?;
            }
        }
        Ok(())
    }

    /// Rolls one code over with the stored member counts; `true` when its groups or warning changed.
    pub(crate) async fn roll_group_code(
        &self,
        tenant: TenantId,
        id: GroupCodeId,
        adopt: Option<&str>,
    ) -> AppResult<bool> {
        let mut handle: Option<CorpHandle> = None;
        for _ in 0..3 {
            let mut code = self.store.wecom().group_code(tenant, id).await?;
            if !code.active {
                return Ok(false);
            }
            let mut adopted = false;
            if let Some(chat) = adopt.filter(|c| !all_chats(&code).iter().any(|x| x == c))
                && code.chat_ids.len() < MAX_GROUPS
            {
                code.chat_ids.push(chat.to_owned());
                code.slots = code.slots.max(code.chat_ids.len() as i64);
                adopted = true;
            }
            let fills = self.store.wecom().group_fills(tenant, code.corp, &all_chats(&code)).await?;
            let plan = group_code::roll(&code, |c| fill_of(fills.get(c)));
            if !plan.changes(&code) && !adopted {
                return Ok(false);
            }
            let moved = plan.chat_ids != code.chat_ids;
            code.chat_ids = plan.chat_ids;
            code.reserve = plan.reserve;
            code.filled = plan.filled;
            code.needs_groups = plan.needs_groups;
            if moved && !code.chat_ids.is_empty() && code.config_id.is_some() {
                if handle.is_none() {
                    handle = Some(self.corp_handle(tenant, code.corp).await?);
                }
                if let Some(h) = &handle {
                    h.client.update_join_way(&h.contact, &join_way_of(&code)).await.map_err(wecom_error)?;
                }
            }
            if self.store.wecom().save_group_code(tenant, &code, self.now()).await? {
                if moved {
                    tracing::info!(code = %id, groups = ?code.chat_ids, needs_groups = code.needs_groups,
                        "group code rolled over");
                }
                return Ok(true);
            }
        }
        Err(AppError::Unavailable)
    }

    /// Rolls every active group code over (groups that filled or were dismissed since); returns how many changed.
    pub async fn rotate_group_codes(&self) -> AppResult<usize> {
        let mut changed = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            for code in self.store.wecom().group_codes(tenant, false).await? {
                match self.roll_group_code(tenant, code.id, None).await {
                    Ok(true) => changed += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(code = %code.id, error = %e, "group code roll-over failed"),
                }
            }
        }
        Ok(changed)
    }
}
