//! Transfers (在职/离职继承): `transfer_customer` and `resigned/transfer_customer` (≤ 100 per call,
//! per-customer errcodes, at most `transfer_limit` on-job transfers per customer per 90 days), their
//! `transfer_result`s (status 2 until `takeover_delay` passes, then 1; 3 refused, 4 takeover at its limit),
//! `get_unassigned_list`, and the group transfers `groupchat/transfer` and `groupchat/onjob_transfer`.

use serde_json::{Value, json};

use super::clock::day_number;
use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, chars, page, reply};
use super::state::{Corp, Env, Follow};
use super::{Delivery, FakeError, FakeHandle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferKind {
    OnJob,
    Resigned,
}

#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    pub kind: TransferKind,
    pub handover: String,
    pub takeover: String,
    pub external_userid: String,
    pub requested_at: i64,
    pub takeover_time: i64,
    /// 1 taken over, 2 waiting, 3 refused, 4 takeover member at their customer limit.
    pub status: u8,
}

/// A customer of a member who left, waiting for a new member.
#[derive(Clone, Debug)]
pub(crate) struct Unassigned {
    pub handover: String,
    pub external_userid: String,
    pub dimission_time: i64,
}

fn contact_event(corp_id: &str, now: i64, change: &str, userid: &str, external_userid: &str) -> EventXml {
    EventXml::new(corp_id, now, "change_external_contact")
        .text("ChangeType", change)
        .text("UserID", userid)
        .text("ExternalUserID", external_userid)
}

impl Corp {
    /// Completes the transfers whose takeover time has come: the relation moves to the takeover member; the
    /// events (`del_external_contact` with `Source=DELETE_BY_TRANSFER` for on-job transfers, and
    /// `add_external_contact` for the takeover member) wait in the outbox.
    pub(crate) fn settle_transfers(&mut self, env: Env<'_>) {
        let due: Vec<u64> = self
            .transfers
            .iter()
            .filter(|(_, t)| t.status == 2 && env.now >= t.takeover_time)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(t) = self.transfers.get_mut(&key) else { continue };
            t.status = 1;
            let t = t.clone();
            let old = self.follow(&t.external_userid, &t.handover).map(|(k, f)| (k, f.clone()));
            if let Some((old_key, _)) = old {
                self.drop_follow(old_key);
            }
            if self.follow(&t.external_userid, &t.takeover).is_none() {
                let base = old.map(|(_, f)| f);
                let seq = self.next_seq();
                let follow = Follow {
                    userid: t.takeover.clone(),
                    external_userid: t.external_userid.clone(),
                    remark: base.as_ref().map(|f| f.remark.clone()).unwrap_or_default(),
                    description: base.as_ref().map(|f| f.description.clone()).unwrap_or_default(),
                    createtime: t.takeover_time,
                    tag_ids: base.as_ref().map(|f| f.tag_ids.clone()).unwrap_or_default(),
                    remark_corp_name: base.as_ref().map(|f| f.remark_corp_name.clone()).unwrap_or_default(),
                    remark_mobiles: base.map(|f| f.remark_mobiles).unwrap_or_default(),
                    add_way: 202,
                    oper_userid: t.handover.clone(),
                    state: String::new(),
                };
                self.insert_follow(seq, follow);
            }
            let corp_id = self.setup.corp_id.clone();
            if t.kind == TransferKind::OnJob {
                let del =
                    contact_event(&corp_id, t.takeover_time, "del_external_contact", &t.handover, &t.external_userid);
                self.outbox.push(del.text("Source", "DELETE_BY_TRANSFER").finish());
            } else {
                self.unassigned.retain(|_, u| !(u.handover == t.handover && u.external_userid == t.external_userid));
            }
            let add = contact_event(&corp_id, t.takeover_time, "add_external_contact", &t.takeover, &t.external_userid);
            self.outbox.push(add.finish());
        }
    }

    fn pending_transfer(&self, external_userid: &str) -> Option<u64> {
        self.transfers.iter().find(|(_, t)| t.status == 2 && t.external_userid == external_userid).map(|(k, _)| *k)
    }

    /// Per-customer errcode of a transfer request (0 = started).
    fn start_transfer(&mut self, env: Env<'_>, kind: TransferKind, handover: &str, takeover: &str, ext: &str) -> i64 {
        let config = env.config;
        let related = match kind {
            TransferKind::OnJob => self.follow(ext, handover).is_some(),
            TransferKind::Resigned => {
                self.unassigned.values().any(|u| u.handover == handover && u.external_userid == ext)
            }
        };
        if !self.customers.contains_key(ext) || !related {
            return 40096;
        }
        if self.pending_transfer(ext).is_some() {
            return config.transfer_busy_errcode;
        }
        let recent = self
            .transfers
            .values()
            .filter(|t| t.kind == TransferKind::OnJob && t.external_userid == ext)
            .filter(|t| env.now - t.requested_at < config.transfer_window)
            .count();
        if kind == TransferKind::OnJob && recent >= config.transfer_limit {
            return config.transfer_limit_errcode;
        }
        let seq = self.next_seq();
        let transfer = Transfer {
            kind,
            handover: handover.into(),
            takeover: takeover.into(),
            external_userid: ext.into(),
            requested_at: env.now,
            takeover_time: env.now + config.takeover_delay,
            status: 2,
        };
        self.transfers.insert(seq, transfer);
        0
    }
}

fn transfer(corp: &mut Corp, ctx: &Ctx<'_>, kind: TransferKind) -> ApiResult {
    let handover = ctx.require("handover_userid")?;
    let takeover = ctx.require("takeover_userid")?;
    let customers = ctx.strings("external_userid")?;
    let (Some(from), Some(to)) = (corp.staff.get(handover), corp.staff.get(takeover)) else {
        return Err(ApiError::code(60111));
    };
    if handover == takeover || to.status != 1 || (kind == TransferKind::Resigned) != (from.status == 5) {
        return Err(ApiError::invalid("handover must be resigned for resigned transfers, active otherwise"));
    }
    if customers.is_empty() || customers.len() > 100 {
        return Err(ApiError::invalid("external_userid must hold 1–100 customers"));
    }
    if ctx.str("transfer_success_msg").is_some_and(|m| chars(m) > 200) {
        return Err(ApiError::invalid("transfer_success_msg longer than 200 characters"));
    }
    let results: Vec<Value> = customers
        .iter()
        .map(|ext| {
            let errcode = corp.start_transfer(ctx.env, kind, handover, takeover, ext);
            json!({"external_userid": ext, "errcode": errcode})
        })
        .collect();
    reply(json!({ "customer": results }))
}

fn result(corp: &mut Corp, ctx: &Ctx<'_>, kind: TransferKind) -> ApiResult {
    let handover = ctx.require("handover_userid")?;
    let takeover = ctx.require("takeover_userid")?;
    let rows =
        corp.transfers.iter().filter(|(_, t)| t.kind == kind && t.handover == handover && t.takeover == takeover).map(
            |(k, t)| {
                let time = if matches!(t.status, 1 | 2) { t.takeover_time } else { 0 };
                (*k, json!({"external_userid": t.external_userid, "status": t.status, "takeover_time": time}))
            },
        );
    let (items, next) = page(rows, ctx.cursor()?, 1000);
    reply(json!({"customer": items, "next_cursor": next}))
}

/// `externalcontact/transfer_customer` (on-job).
pub(crate) fn transfer_customer(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    transfer(corp, ctx, TransferKind::OnJob)
}

/// `externalcontact/resigned/transfer_customer`.
pub(crate) fn resigned_transfer_customer(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    transfer(corp, ctx, TransferKind::Resigned)
}

/// `externalcontact/transfer_result`.
pub(crate) fn transfer_result(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    result(corp, ctx, TransferKind::OnJob)
}

/// `externalcontact/resigned/transfer_result`.
pub(crate) fn resigned_transfer_result(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    result(corp, ctx, TransferKind::Resigned)
}

/// `externalcontact/get_unassigned_list` `{cursor, page_size ≤ 1000}` → `info`, `is_last`, `next_cursor`.
pub(crate) fn unassigned_list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let size = ctx.limit("page_size", 1000, 1000);
    let busy = |u: &Unassigned| {
        corp.transfers.values().any(|t| {
            t.kind == TransferKind::Resigned
                && matches!(t.status, 1 | 2)
                && t.handover == u.handover
                && t.external_userid == u.external_userid
        })
    };
    let rows = corp.unassigned.iter().filter(|(_, u)| !busy(u)).map(|(k, u)| {
        let row = json!({"handover_userid": u.handover, "external_userid": u.external_userid,
                         "dimission_time": u.dimission_time});
        (*k, row)
    });
    let (items, next) = page(rows, ctx.cursor()?, size);
    reply(json!({"info": items, "is_last": next.is_empty(), "next_cursor": next}))
}

/// Per-group errcode of a group transfer (0 = done).
fn move_group(corp: &mut Corp, ctx: &Ctx<'_>, chat_id: &str, new_owner: &str, resigned: bool) -> i64 {
    let config = ctx.env.config;
    let Some(group) = corp.live_group(chat_id) else { return config.chat_id_errcode };
    let owner_left = corp.staff.get(&group.owner).is_some_and(|s| s.status == 5);
    if resigned && !owner_left {
        return 90500;
    }
    if !resigned && (owner_left || group.owner == new_owner) {
        return if owner_left { 90501 } else { 40058 };
    }
    let day = (new_owner.to_owned(), day_number(ctx.now()));
    let moved = corp.group_transfers.get(&day).copied().unwrap_or(0);
    if moved >= config.group_transfer_daily_cap {
        return config.group_transfer_cap_errcode;
    }
    corp.group_transfers.insert(day, moved + 1);
    let now = ctx.now();
    if let Some(group) = corp.live_group_mut(chat_id) {
        group.owner = new_owner.to_owned();
        group.status = if resigned { 3 } else { 0 };
        if !group.members.iter().any(|m| m.userid == new_owner) {
            group.members.push(super::groups::Member {
                userid: new_owner.to_owned(),
                kind: 1,
                join_time: now,
                join_scene: 1,
                invitor: None,
                state: String::new(),
            });
        }
    }
    0
}

fn group_transfer_with(corp: &mut Corp, ctx: &Ctx<'_>, resigned: bool) -> ApiResult {
    let chats = ctx.strings("chat_id_list")?;
    let new_owner = ctx.require("new_owner")?;
    if chats.is_empty() || chats.len() > 100 {
        return Err(ApiError::invalid("chat_id_list must hold 1–100 chat ids"));
    }
    if corp.staff.get(new_owner).is_none_or(|s| s.status != 1) {
        return Err(ApiError::code(60111));
    }
    let mut failed = Vec::new();
    for chat_id in &chats {
        let errcode = move_group(corp, ctx, chat_id, new_owner, resigned);
        if errcode != 0 {
            failed.push(json!({"chat_id": chat_id, "errcode": errcode, "errmsg": super::limits::text(errcode)}));
        }
    }
    reply(json!({ "failed_chat_list": failed }))
}

/// `externalcontact/groupchat/transfer`: groups of members who left.
pub(crate) fn group_transfer(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    group_transfer_with(corp, ctx, true)
}

/// `externalcontact/groupchat/onjob_transfer`: groups of active members.
pub(crate) fn group_onjob_transfer(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    group_transfer_with(corp, ctx, false)
}

impl FakeHandle {
    async fn fail_transfer(
        &self,
        corp: &str,
        external_userid: &str,
        status: u8,
        reason: &str,
    ) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            let key = c
                .pending_transfer(external_userid)
                .ok_or_else(|| FakeError::unknown("waiting transfer of", external_userid))?;
            let t = c.transfers.get_mut(&key).ok_or_else(|| FakeError::unknown("transfer of", external_userid))?;
            t.status = status;
            let takeover = t.takeover.clone();
            Ok(EventXml::new(&c.setup.corp_id, env.now, "change_external_contact")
                .text("ChangeType", "transfer_fail")
                .text("FailReason", reason)
                .text("UserID", &takeover)
                .text("ExternalUserID", external_userid)
                .finish())
        })?;
        self.deliver(corp, vec![xml]).await
    }

    /// The customer refuses the waiting transfer: status 3, `transfer_fail` (`customer_refused`) pushed.
    pub async fn customer_refuses_transfer(&self, corp: &str, external_userid: &str) -> Result<Delivery, FakeError> {
        self.fail_transfer(corp, external_userid, 3, "customer_refused").await
    }

    /// The takeover member is at their customer limit: status 4, `transfer_fail` (`customer_limit_exceed`).
    pub async fn transfer_hits_customer_limit(&self, corp: &str, external_userid: &str) -> Result<Delivery, FakeError> {
        self.fail_transfer(corp, external_userid, 4, "customer_limit_exceed").await
    }
}
