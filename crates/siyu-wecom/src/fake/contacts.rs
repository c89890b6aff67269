//! Customers (客户) and their relations with staff: `externalcontact/list`, `get`, `batch/get_by_user`,
//! `remark`; console-side hooks (a customer adds or deletes a member, a member deletes or edits a customer)
//! that push `change_external_contact`. API-made changes push nothing.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, at_most, page, reply, strings_in};
use super::state::{Corp, Customer, Env, Follow};
use super::{Delivery, FakeError, FakeHandle, tags};

/// A customer to seed with `FakeHandle::add_customer`.
#[derive(Clone, Debug)]
pub struct CustomerSetup {
    pub name: String,
    pub unionid: Option<String>,
    /// 0 unknown, 1 male, 2 female.
    pub gender: u8,
    pub avatar: Option<String>,
    /// 1 WeChat user, 2 WeCom user.
    pub kind: u8,
    /// The customer's company (WeCom users only).
    pub corp_name: Option<String>,
}

impl CustomerSetup {
    /// A WeChat customer called `name`.
    pub fn named(name: &str) -> Self {
        Self { name: name.to_owned(), ..Self::default() }
    }
}

impl Default for CustomerSetup {
    fn default() -> Self {
        Self { name: String::new(), unionid: None, gender: 0, avatar: None, kind: 1, corp_name: None }
    }
}

/// A relation a customer already has, for [`FakeHandle::import_contact`].
#[derive(Clone, Debug, Default)]
pub struct ImportedFollow {
    pub userid: String,
    pub remark: String,
    pub description: String,
    /// The channel `state`, empty for none.
    pub state: String,
    pub add_way: u8,
    /// Unix seconds.
    pub createtime: i64,
}

/// What `customer_adds_staff` did.
#[derive(Clone, Debug)]
pub struct Added {
    /// The `WelcomeCode` of the pushed event (absent when a native welcome message is configured).
    pub welcome_code: Option<String>,
    pub delivery: Delivery,
}

/// A member's edit of a customer in the client (`staff_edits_customer`).
#[derive(Clone, Debug, Default)]
pub struct CustomerEdit {
    pub remark: Option<String>,
    pub description: Option<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

pub(crate) fn customer_json(c: &Customer) -> Value {
    let mut v = json!({"external_userid": c.external_userid, "name": c.name, "avatar": c.avatar,
                       "type": c.kind, "gender": c.gender});
    if let Some(unionid) = &c.unionid {
        v["unionid"] = json!(unionid);
    }
    if c.kind == 2 {
        v["corp_name"] = json!(c.corp_name);
        v["corp_full_name"] = json!(c.corp_full_name);
        v["position"] = json!(c.position);
        v["external_profile"] = json!({"external_attr": []});
    }
    v
}

/// `follow_user` (with `tags`) or, for `batch/get_by_user`, `follow_info` (with `tag_id`).
fn follow_json(corp: &Corp, f: &Follow, batch: bool) -> Value {
    let mut v = json!({"userid": f.userid, "remark": f.remark, "description": f.description,
                       "createtime": f.createtime, "remark_mobiles": f.remark_mobiles, "add_way": f.add_way,
                       "oper_userid": f.oper_userid});
    if batch {
        v["tag_id"] = json!(f.tag_ids);
    } else {
        let tags: Vec<Value> = f
            .tag_ids
            .iter()
            .filter_map(|id| tags::describe(corp, id).map(|(group, name)| (id, group, name)))
            .map(|(id, group, name)| json!({"group_name": group, "tag_name": name, "type": 1, "tag_id": id}))
            .collect();
        v["tags"] = json!(tags);
    }
    if !f.remark_corp_name.is_empty() {
        v["remark_corp_name"] = json!(f.remark_corp_name);
    }
    if !f.state.is_empty() {
        v["state"] = json!(f.state);
    }
    v
}

/// 60111 unless `userid` is a member; 84074 when they lack the 客户联系 function.
pub(crate) fn check_staff(corp: &Corp, userid: &str) -> Result<(), ApiError> {
    match corp.staff.get(userid) {
        None => Err(ApiError::code(60111)),
        Some(s) if !s.contact => Err(ApiError::code(84074)),
        Some(_) => Ok(()),
    }
}

/// `GET externalcontact/list?userid=`: 84061 when the member has no customers.
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?;
    check_staff(corp, userid)?;
    let ids: Vec<&str> =
        corp.follows.values().filter(|f| f.userid == userid).map(|f| f.external_userid.as_str()).collect();
    if ids.is_empty() {
        return Err(ApiError::code(84061));
    }
    reply(json!({ "external_userid": ids }))
}

/// `GET externalcontact/get?external_userid=&cursor=`: followers paginate above `follow_page_size`.
pub(crate) fn get(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.require("external_userid")?;
    let customer = corp.customers.get(id).ok_or(ApiError::code(40096))?;
    let total = corp.follows_of(id).count();
    if total == 0 {
        return Err(ApiError::code(84061));
    }
    let cursor = ctx.cursor()?;
    let (follows, next) = page(corp.follows_of(id), cursor, ctx.env.config.follow_page_size);
    let follow_user: Vec<Value> = follows.into_iter().map(|f| follow_json(corp, f, false)).collect();
    let mut v = json!({"external_contact": customer_json(customer), "follow_user": follow_user});
    if !next.is_empty() || cursor.is_some() {
        v["next_cursor"] = json!(next);
    }
    reply(v)
}

/// `externalcontact/batch/get_by_user` `{userid_list ≤ 100 | userid, cursor, limit ≤ 100}`.
pub(crate) fn batch_get_by_user(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let mut userids = ctx.strings("userid_list")?;
    if let Some(single) = ctx.str("userid") {
        userids.push(single.to_owned());
    }
    if userids.is_empty() || userids.len() > 100 {
        return Err(ApiError::invalid("userid_list must hold 1–100 userids"));
    }
    let known: BTreeSet<String> = userids.into_iter().filter(|u| corp.staff.contains_key(u)).collect();
    if known.is_empty() {
        return Err(ApiError::code(60111));
    }
    let limit = ctx.limit("limit", 50, 100);
    let rows = corp.follows.iter().filter(|(_, f)| known.contains(&f.userid)).map(|(k, f)| (*k, f));
    let (follows, next) = page(rows, ctx.cursor()?, limit);
    let list: Vec<Value> = follows
        .into_iter()
        .filter_map(|f| corp.customers.get(&f.external_userid).map(|c| (c, f)))
        .map(|(c, f)| json!({"external_contact": customer_json(c), "follow_info": follow_json(corp, f, true)}))
        .collect();
    reply(json!({"external_contact_list": list, "next_cursor": next}))
}

/// `externalcontact/remark`: remark ≤ 20, description ≤ 150, remark_company ≤ 20 characters.
pub(crate) fn remark(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?;
    let external_userid = ctx.require("external_userid")?;
    check_staff(corp, userid)?;
    if !corp.customers.contains_key(external_userid) {
        return Err(ApiError::code(40096));
    }
    let text = |key: &str| ctx.body.get(key).and_then(Value::as_str);
    at_most("remark", text("remark"), 20)?;
    at_most("description", text("description"), 150)?;
    at_most("remark_company", text("remark_company"), 20)?;
    let mobiles = match ctx.body.get("remark_mobiles") {
        Some(_) => Some(strings_in(ctx.body, "remark_mobiles")?),
        None => None,
    };
    let follow = corp.follow_mut(external_userid, userid).ok_or(ApiError::code(84061))?;
    if let Some(v) = text("remark") {
        follow.remark = v.to_owned();
    }
    if let Some(v) = text("description") {
        follow.description = v.to_owned();
    }
    if let Some(v) = text("remark_company") {
        follow.remark_corp_name = v.to_owned();
    }
    if let Some(m) = mobiles {
        follow.remark_mobiles = m;
    }
    reply(json!({}))
}

impl Corp {
    /// A customer adds (or is added by) a member: the relation, a welcome code and the event to push.
    pub(crate) fn add_follow(
        &mut self,
        env: Env<'_>,
        external_userid: &str,
        userid: &str,
        state: Option<&str>,
        add_way: u8,
    ) -> Result<(Option<String>, String), FakeError> {
        if !self.customers.contains_key(external_userid) {
            return Err(FakeError::unknown("customer", external_userid));
        }
        match self.staff.get(userid) {
            Some(s) if s.status == 1 => {}
            _ => return Err(FakeError::unknown("active staff", userid)),
        }
        if self.follow(external_userid, userid).is_some() {
            return Err(FakeError::Invalid(format!("{external_userid} already follows {userid}")));
        }
        let seq = self.next_seq();
        let follow = Follow {
            userid: userid.to_owned(),
            external_userid: external_userid.to_owned(),
            remark: String::new(),
            description: String::new(),
            createtime: env.now,
            tag_ids: Vec::new(),
            remark_corp_name: String::new(),
            remark_mobiles: Vec::new(),
            add_way,
            oper_userid: external_userid.to_owned(),
            state: state.unwrap_or_default().to_owned(),
        };
        self.insert_follow(seq, follow);
        let code = self.issue_welcome_code(env, external_userid, userid);
        let mut xml = EventXml::new(&self.setup.corp_id, env.now, "change_external_contact")
            .text("ChangeType", "add_external_contact")
            .text("UserID", userid)
            .text("ExternalUserID", external_userid);
        if let Some(state) = state.filter(|s| !s.is_empty()) {
            xml = xml.text("State", state);
        }
        if let Some(code) = &code {
            xml = xml.text("WelcomeCode", code);
        }
        Ok((code, xml.finish()))
    }

    /// Removes a relation and returns the `change_external_contact` event of `change_type`.
    fn remove_follow(
        &mut self,
        env: Env<'_>,
        external_userid: &str,
        userid: &str,
        change_type: &str,
    ) -> Result<String, FakeError> {
        let (key, _) = self
            .follow(external_userid, userid)
            .ok_or_else(|| FakeError::unknown("relation", &format!("{userid}/{external_userid}")))?;
        self.drop_follow(key);
        Ok(EventXml::new(&self.setup.corp_id, env.now, "change_external_contact")
            .text("ChangeType", change_type)
            .text("UserID", userid)
            .text("ExternalUserID", external_userid)
            .finish())
    }
}

impl FakeHandle {
    /// Seeds a customer (no relation, no event) and returns their `external_userid` (`wm…`).
    pub fn add_customer(&self, corp: &str, setup: CustomerSetup) -> Result<String, FakeError> {
        self.with_corp(corp, |c, _| {
            let (seq, id) = c.new_id("wm");
            let customer = Customer {
                external_userid: id.clone(),
                name: setup.name,
                avatar: setup.avatar.unwrap_or_else(|| format!("https://wework.qpic.cn/fake/avatar/{seq}/0")),
                kind: setup.kind,
                gender: setup.gender,
                unionid: setup.unionid,
                corp_name: setup.corp_name.clone().unwrap_or_default(),
                corp_full_name: setup.corp_name.unwrap_or_default(),
                position: String::new(),
            };
            c.customers.insert(id.clone(), customer);
            Ok(id)
        })
    }

    /// A customer with a known external_userid and the relations they already have (no events): how the
    /// demo mirrors the customers its database has. An existing customer only gains the missing relations.
    pub fn import_contact(
        &self,
        corp: &str,
        external_userid: &str,
        name: &str,
        follows: &[ImportedFollow],
    ) -> Result<(), FakeError> {
        self.with_corp(corp, |c, env| {
            if !c.customers.contains_key(external_userid) {
                let customer = Customer {
                    external_userid: external_userid.to_owned(),
                    name: name.to_owned(),
                    avatar: String::new(),
                    kind: 1,
                    gender: 0,
                    unionid: None,
                    corp_name: String::new(),
                    corp_full_name: String::new(),
                    position: String::new(),
                };
                c.customers.insert(external_userid.to_owned(), customer);
            }
            for f in follows {
                if c.follow(external_userid, &f.userid).is_some() {
                    continue;
                }
                let state = (!f.state.is_empty()).then_some(f.state.as_str());
                let (code, _) = c.add_follow(env, external_userid, &f.userid, state, f.add_way)?;
                if let Some(code) = code {
                    c.welcome_codes.remove(&code);
                }
                if let Some(follow) = c.follow_mut(external_userid, &f.userid) {
                    follow.remark.clone_from(&f.remark);
                    follow.description.clone_from(&f.description);
                    follow.createtime = f.createtime;
                }
            }
            Ok(())
        })
    }

    /// `n` customers who were already the member's before siyu was connected (add_way 1, no events pushed,
    /// no welcome codes left open): how a benchmark or the demo fills a corp. Returns their external_userids.
    pub fn seed_contacts(
        &self,
        corp: &str,
        userid: &str,
        n: usize,
        name_prefix: &str,
    ) -> Result<Vec<String>, FakeError> {
        self.with_corp(corp, |c, env| {
            let mut ids = Vec::with_capacity(n);
            for i in 0..n {
                let (_, id) = c.new_id("wm");
                let customer = Customer {
                    external_userid: id.clone(),
                    name: format!("{name_prefix}{i}"),
                    avatar: String::new(),
                    kind: 1,
                    gender: 0,
                    unionid: None,
                    corp_name: String::new(),
                    corp_full_name: String::new(),
                    position: String::new(),
                };
                c.customers.insert(id.clone(), customer);
                let (code, _) = c.add_follow(env, &id, userid, None, 1)?;
                if let Some(code) = code {
                    c.welcome_codes.remove(&code);
                }
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// The customer adds the member (add_way 1): pushes `add_external_contact` with `State` and a fresh
    /// `WelcomeCode`.
    pub async fn customer_adds_staff(
        &self,
        corp: &str,
        external_userid: &str,
        userid: &str,
        state: Option<&str>,
    ) -> Result<Added, FakeError> {
        let (welcome_code, xml) =
            self.with_corp(corp, |c, env| c.add_follow(env, external_userid, userid, state, 1))?;
        let delivery = self.deliver(corp, vec![xml]).await?;
        Ok(Added { welcome_code, delivery })
    }

    /// The customer deletes the member: pushes `del_follow_user`.
    pub async fn customer_deletes_staff(
        &self,
        corp: &str,
        external_userid: &str,
        userid: &str,
    ) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| c.remove_follow(env, external_userid, userid, "del_follow_user"))?;
        self.deliver(corp, vec![xml]).await
    }

    /// The member deletes the customer: pushes `del_external_contact`.
    pub async fn staff_deletes_customer(
        &self,
        corp: &str,
        external_userid: &str,
        userid: &str,
    ) -> Result<Delivery, FakeError> {
        let xml =
            self.with_corp(corp, |c, env| c.remove_follow(env, external_userid, userid, "del_external_contact"))?;
        self.deliver(corp, vec![xml]).await
    }

    /// The member edits remark, description or tags in the client: pushes `edit_external_contact`.
    pub async fn staff_edits_customer(
        &self,
        corp: &str,
        external_userid: &str,
        userid: &str,
        edit: CustomerEdit,
    ) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            if let Some(bad) = edit.add_tags.iter().find(|t| tags::describe(c, t).is_none()) {
                return Err(FakeError::unknown("tag", bad));
            }
            let corp_id = c.setup.corp_id.clone();
            let follow = c
                .follow_mut(external_userid, userid)
                .ok_or_else(|| FakeError::unknown("relation", &format!("{userid}/{external_userid}")))?;
            if let Some(remark) = edit.remark {
                follow.remark = remark;
            }
            if let Some(description) = edit.description {
                follow.description = description;
            }
            follow.tag_ids.retain(|t| !edit.remove_tags.contains(t));
            for tag in edit.add_tags {
                if !follow.tag_ids.contains(&tag) {
                    follow.tag_ids.push(tag);
                }
            }
            Ok(EventXml::new(&corp_id, env.now, "change_external_contact")
                .text("ChangeType", "edit_external_contact")
                .text("UserID", userid)
                .text("ExternalUserID", external_userid)
                .finish())
        })?;
        self.deliver(corp, vec![xml]).await
    }
}
