//! The fake's memory: every corp's staff, customers, relations, tags, ways, groups and tasks, plus the
//! server-wide token table, rate windows, injections and the request log. Lives behind one std `Mutex`
//! that is never held across an await.

use std::collections::{BTreeMap, HashMap};

use sha1::{Digest, Sha1};

use super::config::FakeConfig;
use super::groups::Group;
use super::join_ways::JoinWay;
use super::limits::{Injection, RateWindow};
use super::mass::MsgTemplate;
use super::messages::AppMessage;
use super::moments::MomentJob;
use super::tags::TagGroup;
use super::tokens::{IssuedTicket, Token};
use super::transfers::{Transfer, Unassigned};
use super::ways::ContactWay;
use super::welcome::{DeliveredWelcome, WelcomeCode};
use super::{LoggedRequest, PushRecord};

/// One corp of the fake, as `FakeHandle::add_corp` receives it.
#[derive(Clone, Debug, Default)]
pub struct CorpSetup {
    /// The corpid (`ww…`), also the callback receiveid.
    pub corp_id: String,
    /// The secrets `gettoken` accepts, one per app or special secret (客户联系, 通讯录同步).
    pub secrets: Vec<String>,
    /// Where console-side events are pushed; `None` = nowhere (pushes are still recorded).
    pub callback_url: Option<String>,
    /// The callback Token.
    pub token: String,
    /// The 43-character callback EncodingAESKey.
    pub encoding_aes_key: String,
    /// The self-built app's AgentID.
    pub agent_id: String,
}

/// The time and settings a state change happens under.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub now: i64,
    pub config: &'a FakeConfig,
}

/// Everything the server knows.
#[derive(Default)]
pub(crate) struct State {
    pub corps: BTreeMap<String, Corp>,
    pub tokens: HashMap<String, Token>,
    pub rates: HashMap<(String, String), RateWindow>,
    pub injections: HashMap<String, Injection>,
    pub log: Vec<LoggedRequest>,
    pub pushes: Vec<PushRecord>,
    pub hints: u64,
}

/// A department of the corp's address book.
#[derive(Clone, Debug)]
pub(crate) struct Department {
    pub id: u64,
    pub name: String,
    pub parentid: u64,
    pub order: u64,
}

/// A member of the corp (员工).
#[derive(Clone, Debug)]
pub(crate) struct Staff {
    pub seq: u64,
    pub userid: String,
    pub name: String,
    pub departments: Vec<u64>,
    /// 1 active, 2 disabled, 4 inactive, 5 left.
    pub status: u8,
    /// Has the 客户联系 function.
    pub contact: bool,
    pub left_at: Option<i64>,
}

/// An external contact (客户) as WeCom knows them.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub external_userid: String,
    pub name: String,
    pub avatar: String,
    pub kind: u8,
    pub gender: u8,
    pub unionid: Option<String>,
    pub corp_name: String,
    pub corp_full_name: String,
    pub position: String,
}

/// One (staff, customer) relation: what `follow_user` / `follow_info` show.
#[derive(Clone, Debug)]
pub(crate) struct Follow {
    pub userid: String,
    pub external_userid: String,
    pub remark: String,
    pub description: String,
    pub createtime: i64,
    pub tag_ids: Vec<String>,
    pub remark_corp_name: String,
    pub remark_mobiles: Vec<String>,
    pub add_way: u8,
    pub oper_userid: String,
    pub state: String,
}

/// One corp's data.
pub(crate) struct Corp {
    pub setup: CorpSetup,
    /// Short corp-specific part of every generated id.
    pub tag: String,
    seq: u64,
    pub departments: BTreeMap<u64, Department>,
    pub staff: BTreeMap<String, Staff>,
    pub customers: BTreeMap<String, Customer>,
    /// Keyed by creation sequence, so cursors over it stay stable while relations come and go. Write it only
    /// through `insert_follow` / `remove_follow`, which keep `follow_keys` in step.
    pub follows: BTreeMap<u64, Follow>,
    /// (external_userid, userid) → the relation's key in `follows` (lookups stay O(1) at 100 k relations).
    follow_keys: HashMap<(String, String), u64>,
    /// external_userid → the keys of their relations, in creation order.
    customer_follows: HashMap<String, std::collections::BTreeSet<u64>>,
    pub tag_groups: BTreeMap<u64, TagGroup>,
    pub contact_ways: BTreeMap<u64, ContactWay>,
    pub join_ways: BTreeMap<u64, JoinWay>,
    /// Group welcome templates (入群欢迎语素材) by template_id: their text and attachment fields as given.
    pub group_welcomes: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    pub groups: BTreeMap<u64, Group>,
    pub welcome_codes: HashMap<String, WelcomeCode>,
    pub native_welcome: bool,
    pub welcomes: Vec<DeliveredWelcome>,
    pub templates: BTreeMap<u64, MsgTemplate>,
    /// Mass messages received per (customer or chat, month number).
    pub receptions: HashMap<(String, i64), u32>,
    pub moments: BTreeMap<u64, MomentJob>,
    pub transfers: BTreeMap<u64, Transfer>,
    pub unassigned: BTreeMap<u64, Unassigned>,
    /// Groups received per (new owner, day number).
    pub group_transfers: HashMap<(String, i64), u32>,
    pub tickets: Vec<IssuedTicket>,
    /// Unspent web OAuth2 codes (`auth/getuserinfo`).
    pub oauth_codes: HashMap<String, super::oauth::OauthCode>,
    /// Temporary media (`media/upload`) by media_id.
    pub media: HashMap<String, super::media::StoredMedia>,
    pub app_messages: Vec<AppMessage>,
    /// Events produced by the passing of time (transfer takeovers), delivered by `deliver_pending`.
    pub outbox: Vec<String>,
    /// The session archive (`archive_messages`).
    pub archive: super::archive::ArchiveLog,
}

impl Corp {
    pub fn new(setup: CorpSetup) -> Self {
        let digest = hex::encode(Sha1::digest(setup.corp_id.as_bytes()));
        let tag: String = digest.chars().take(6).collect();
        let mut departments = BTreeMap::new();
        let root = Department { id: 1, name: setup.corp_id.clone(), parentid: 0, order: 100_000_000 };
        departments.insert(1, root);
        Self {
            setup,
            tag,
            seq: 0,
            departments,
            staff: BTreeMap::new(),
            customers: BTreeMap::new(),
            follows: BTreeMap::new(),
            follow_keys: HashMap::new(),
            customer_follows: HashMap::new(),
            tag_groups: BTreeMap::new(),
            contact_ways: BTreeMap::new(),
            join_ways: BTreeMap::new(),
            group_welcomes: BTreeMap::new(),
            groups: BTreeMap::new(),
            welcome_codes: HashMap::new(),
            native_welcome: false,
            welcomes: Vec::new(),
            templates: BTreeMap::new(),
            receptions: HashMap::new(),
            moments: BTreeMap::new(),
            transfers: BTreeMap::new(),
            unassigned: BTreeMap::new(),
            group_transfers: HashMap::new(),
            tickets: Vec::new(),
            oauth_codes: HashMap::new(),
            media: HashMap::new(),
            app_messages: Vec::new(),
            outbox: Vec::new(),
            archive: Default::default(),
        }
    }

    /// The next value of the corp's id counter.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh id `prefix` + corp tag + counter, e.g. `wm1a2b3c00000007`.
    pub fn new_id(&mut self, prefix: &str) -> (u64, String) {
        let seq = self.next_seq();
        (seq, format!("{prefix}{}{seq:08}", self.tag))
    }

    /// A fresh 32-hex-digit id (config ids, member versions, welcome codes).
    pub fn new_hex(&mut self) -> (u64, String) {
        let seq = self.next_seq();
        let digest = hex::encode(Sha1::digest(format!("{}/{seq}", self.setup.corp_id).as_bytes()));
        (seq, digest.chars().take(32).collect())
    }

    /// The relation of `userid` and `external_userid`, with its key.
    pub fn follow(&self, external_userid: &str, userid: &str) -> Option<(u64, &Follow)> {
        let key = *self.follow_keys.get(&(external_userid.to_owned(), userid.to_owned()))?;
        self.follows.get(&key).map(|f| (key, f))
    }

    /// The relation of `userid` and `external_userid`, mutably.
    pub fn follow_mut(&mut self, external_userid: &str, userid: &str) -> Option<&mut Follow> {
        let key = *self.follow_keys.get(&(external_userid.to_owned(), userid.to_owned()))?;
        self.follows.get_mut(&key)
    }

    /// Adds a relation under `key`.
    pub fn insert_follow(&mut self, key: u64, follow: Follow) {
        self.follow_keys.insert((follow.external_userid.clone(), follow.userid.clone()), key);
        self.customer_follows.entry(follow.external_userid.clone()).or_default().insert(key);
        self.follows.insert(key, follow);
    }

    /// Ends the relation under `key`.
    pub fn drop_follow(&mut self, key: u64) -> Option<Follow> {
        let follow = self.follows.remove(&key)?;
        self.follow_keys.remove(&(follow.external_userid.clone(), follow.userid.clone()));
        if let Some(keys) = self.customer_follows.get_mut(&follow.external_userid) {
            keys.remove(&key);
        }
        Some(follow)
    }

    /// Every relation of one customer, in creation order.
    pub fn follows_of(&self, external_userid: &str) -> impl Iterator<Item = (u64, &Follow)> {
        let keys = self.customer_follows.get(external_userid).into_iter().flatten();
        keys.filter_map(|k| self.follows.get(k).map(|f| (*k, f)))
    }

    /// A department and all departments below it.
    pub fn subtree(&self, id: u64) -> Vec<u64> {
        let mut ids = vec![id];
        let mut i = 0;
        while let Some(&current) = ids.get(i) {
            ids.extend(self.departments.values().filter(|d| d.parentid == current && d.id != current).map(|d| d.id));
            i += 1;
        }
        ids
    }

    /// Applies what the passage of time decided (transfer takeovers).
    pub fn settle(&mut self, env: Env<'_>) {
        self.settle_transfers(env);
    }
}
