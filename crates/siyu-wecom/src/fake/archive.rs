//! The session archive (会话内容存档, reference/wecom.md §7): a generator of the decrypted messages a
//! sidecar would forward to siyu's ingest, in the ingest's item shape
//! `{"seq", "publickey_ver": 1, "message": {msgid, action, from, tolist, roomid, msgtime, msgtype, <msgtype>: {…}}}`.
//!
//! The generator writes conversations for the chats the fake knows: 1:1 chats of staff with customers they
//! have a relation with, and chats in the corp's live groups among their members. The lines are ordinary
//! retail chat (greetings, product questions, orders and shipping, after-sales), with a few of each kind an
//! auditor watches for: a staff member's phone number (and its recall), a red packet, links to `jd.com` and
//! `taobao.com`, a business card, sensitive words, a customer waiting 45+ minutes for a reply, and in groups
//! customers posting a WeChat group QR link, a mini-program card, an outside link or a business card.
//! Everything is deterministic from [`ArchiveSetup::seed`] and the fake's data; `msgtime` is in ms on the
//! fake's clock, within the last [`ArchiveSetup::days`] days; `seq` grows by one per message. Every 1:1
//! conversation ends with a staff message, so only the scripted slow reply makes a reply-time alert.
//!
//! `push_msgaudit_notify` (in `push.rs`) tells the callback URL that new data is ready.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::state::Corp;
use super::{FakeError, FakeHandle};

/// Items `archive_messages` returns at most (GetChatData's page).
pub const ARCHIVE_PAGE: usize = 1000;

/// What `generate_archive` writes.
#[derive(Clone, Debug)]
pub struct ArchiveSetup {
    pub seed: u64,
    /// 1:1 conversations (staff ↔ customer with a relation), at most one per relation.
    pub single_chats: usize,
    /// Messages per live group (the first `groups` groups by creation).
    pub group_messages: usize,
    /// Groups written to at most.
    pub groups: usize,
    /// The conversations start within this many days before the fake's now.
    pub days: i64,
    /// Product names the lines talk about.
    pub products: Vec<String>,
}

impl Default for ArchiveSetup {
    fn default() -> Self {
        Self {
            seed: 0x00A2_C41E,
            single_chats: 30,
            group_messages: 12,
            groups: 6,
            days: 3,
            products: ["修护精华", "补水面霜", "氨基酸洁面", "防晒乳", "丝绒口红", "身体乳"].map(String::from).to_vec(),
        }
    }
}

/// One corp's archive: the messages so far, by seq (seq = index + 1).
#[derive(Clone, Debug, Default)]
pub(crate) struct ArchiveLog {
    messages: Vec<Value>,
    /// Messages generated or appended so far (feeds msgids).
    made: u64,
    /// `generate_archive` ran (`archive_messages` then generates nothing by itself).
    generated: bool,
}

impl ArchiveLog {
    fn push(&mut self, message: Value) -> u64 {
        self.messages.push(message);
        self.messages.len() as u64
    }
}

/// A message before it gets its seq.
struct Draft {
    at_ms: i64,
    message: Value,
}

/// The script writer: messages of one conversation at a time, each a little after the last.
struct Writer<'a> {
    rng: StdRng,
    products: &'a [String],
    id_prefix: String,
    made: u64,
    drafts: Vec<Draft>,
    /// Time of the last line of the current conversation, ms.
    at_ms: i64,
}

const CUSTOMER_OPENERS: &[&str] = &["在吗？", "你好～", "您好，想咨询一下", "hello", "打扰一下"];
const STAFF_CLOSERS: &[&str] = &[
    "不客气，有问题随时找我～",
    "好的，祝您生活愉快😊",
    "收到，有任何问题随时联系我哦",
    "应该的，后续有活动第一时间通知您",
];
const CUSTOMER_THANKS: &[&str] = &["好的谢谢", "收到啦👍", "OK，麻烦了", "好嘞", "明白了，谢谢"];
const COMPETITORS: &[(&str, &str)] = &[
    ("这款在京东也有卖，您可以对比一下价格 https://item.jd.com/100012043978.html", "jd"),
    ("淘宝那家店今天有券，链接发您 https://item.taobao.com/item.htm?id=652481937205", "taobao"),
];
const GROUP_CHATTER: &[&str] = &[
    "请问{p}还有货吗",
    "昨天收到了，包装很用心",
    "会员日是几号呀？",
    "有没有姐妹用过{p}，效果怎么样",
    "用了一个月{p}，皮肤稳定多了",
    "蹲一个{p}的链接",
    "[强][强]",
    "直播几点开始？",
];
const OWNER_LINES: &[&str] = &[
    "欢迎新朋友进群🎉 每周三会员日有群专属福利",
    "今晚8点直播间{p}限时秒杀，记得预约哦",
    "群公告：本群禁止发广告、二维码和外链，违者移出",
    "{p}已补货，小程序直接下单就行",
    "本周晒单有礼，晒{p}使用感受抽3位送正装",
];

impl Writer<'_> {
    fn product(&mut self) -> String {
        self.products.choose(&mut self.rng).cloned().unwrap_or_else(|| "精华".to_owned())
    }

    fn fill(&mut self, line: &str) -> String {
        let p = self.product();
        line.replace("{p}", &p)
    }

    fn pick(&mut self, lines: &[&str]) -> String {
        let line = lines.choose(&mut self.rng).copied().unwrap_or("好的");
        self.fill(line)
    }

    fn msgid(&mut self) -> String {
        self.made += 1;
        format!("{}{:06}_external", self.id_prefix, self.made)
    }

    /// Starts a conversation at `at_ms`.
    fn begin(&mut self, at_ms: i64) {
        self.at_ms = at_ms;
    }

    /// Moves the conversation's clock on by `lo..hi` seconds.
    fn wait(&mut self, lo: i64, hi: i64) -> i64 {
        self.at_ms += self.rng.gen_range(lo * 1000..hi * 1000);
        self.at_ms
    }

    /// Adds a message; returns its msgid.
    fn say(&mut self, from: &str, tolist: &[&str], roomid: &str, msgtype: &str, body: Value) -> String {
        let at_ms = self.wait(15, 240);
        self.say_at(at_ms, from, tolist, roomid, msgtype, body)
    }

    fn say_at(&mut self, at_ms: i64, from: &str, tolist: &[&str], roomid: &str, msgtype: &str, body: Value) -> String {
        let msgid = self.msgid();
        let mut message = json!({"msgid": msgid, "action": "send", "from": from, "tolist": tolist,
                                 "roomid": roomid, "msgtime": at_ms, "msgtype": msgtype});
        message[msgtype] = body;
        self.drafts.push(Draft { at_ms, message });
        msgid
    }

    fn text(&mut self, from: &str, tolist: &[&str], roomid: &str, content: &str) -> String {
        self.say(from, tolist, roomid, "text", json!({ "content": content }))
    }

    fn image(&mut self, from: &str, tolist: &[&str], roomid: &str) {
        let n: u64 = self.rng.r#gen();
        let body = json!({"sdkfileid": format!("CtYBMzA2OTAyMDEwMjA0NjIwNjAy{n:016x}"),
                          "md5sum": format!("{:016x}{:016x}", n, n.rotate_left(17)),
                          "filesize": self.rng.gen_range(40_000..900_000)});
        self.say(from, tolist, roomid, "image", body);
    }

    fn phone(&mut self) -> String {
        let second = ['3', '5', '7', '8', '9'].choose(&mut self.rng).copied().unwrap_or('3');
        let a: u32 = self.rng.gen_range(0..10);
        let b: u32 = self.rng.gen_range(0..10_000);
        let c: u32 = self.rng.gen_range(0..10_000);
        format!("1{second}{a} {b:04} {c:04}")
    }

    /// A 1:1 chat of staff `s` (called `staff_name`) and customer `c` (called `name`), with `special`
    /// (0 none, 1..=10 one of the watched behaviours) somewhere in it.
    fn single(&mut self, s: &str, staff_name: &str, c: &str, name: &str, special: u8) {
        let to_c = [c];
        let to_s = [s];
        let topic = self.rng.gen_range(0..8);
        match topic {
            0 => {
                let p = self.product();
                let opener = self.pick(CUSTOMER_OPENERS);
                self.text(c, &to_s, "", &opener);
                self.text(c, &to_s, "", &format!("想问下{p}适合敏感肌用吗"));
                self.text(s, &to_c, "", &format!("在的～{p}是温和配方，敏感肌也可以放心用，建议先在耳后试用两天"));
                self.text(c, &to_s, "", "有小样吗，想先试试");
                self.text(s, &to_c, "", "有的，下单备注一下，我给您配两份小样🎁");
            }
            1 => {
                let p = self.product();
                self.text(c, &to_s, "", &format!("{p}现在有活动吗？"));
                self.text(s, &to_c, "", &format!("本周会员日全场8.5折，{p}还能叠加满299减30，很划算的"));
                self.text(c, &to_s, "", "那我买两瓶");
                self.text(s, &to_c, "", "好嘞，下单后把订单号发我，我帮您备注优先发货");
            }
            2 => {
                self.text(c, &to_s, "", "我前天下的单，怎么还没发货呀");
                self.text(s, &to_c, "", "亲，我帮您查一下，稍等哈");
                let tracking: u64 = self.rng.gen_range(7_000_000_000..8_000_000_000);
                self.text(s, &to_c, "", &format!("已经出库了，顺丰单号 SF{tracking}，预计明天送到"));
                self.text(c, &to_s, "", "好的收到");
                self.text(s, &to_c, "", "到了记得检查一下包装哦，有问题随时联系我");
            }
            3 => {
                let p = self.product();
                self.text(c, &to_s, "", &format!("收到的{p}瓶口有点漏液"));
                self.image(c, &to_s, "");
                self.text(s, &to_c, "", "非常抱歉给您带来不好的体验！我马上给您登记");
                self.text(s, &to_c, "", "已经给您安排补发一瓶，今天寄出，原来那瓶不用退回了");
                self.text(c, &to_s, "", "好的，服务不错👍");
            }
            4 => {
                self.text(c, &to_s, "", "可以开发票吗？公司报销用");
                self.text(s, &to_c, "", "可以的，把抬头和税号发我，电子发票1个工作日内发到您邮箱");
                self.text(c, &to_s, "", "抬头：上海禾木贸易有限公司，税号稍后发您");
                self.text(s, &to_c, "", "收到，已经帮您提交开票申请");
            }
            5 => {
                self.text(
                    s,
                    &to_c,
                    "",
                    &format!("{name}您好，我是您的专属顾问{staff_name}，以后有任何问题都可以找我哦～"),
                );
                let body = json!({"type": 1, "width": 240, "height": 240, "imagesize": 35_812,
                                  "md5sum": "4a8f2c9e7d1b3a5f6e0c8b2d4f6a8c0e", "sdkfileid": "CtYBMzA2OTAyMDEwMjA0NjIwNjAyemo"});
                self.say(c, &to_s, "", "emotion", body);
                self.text(s, &to_c, "", "新人有一张50元无门槛券，已经发到您的会员账户啦");
            }
            6 => {
                let p = self.product();
                self.text(c, &to_s, "", &format!("{p}是早上用还是晚上用？"));
                self.text(s, &to_c, "", "早晚都可以，洁面后取两三滴按压全脸，白天记得搭配防晒");
                self.text(c, &to_s, "", "明白了");
                self.text(s, &to_c, "", "用完一周可以跟我说说感受～");
            }
            _ => {
                let p = self.product();
                self.text(c, &to_s, "", &format!("{p}什么时候补货？"));
                self.text(s, &to_c, "", "下周三到货，到了第一时间通知您");
                self.text(c, &to_s, "", "好，帮我留一瓶");
                self.text(s, &to_c, "", "已经帮您登记了😊");
            }
        }
        match special {
            1 => {
                let phone = self.phone();
                let id = self.text(s, &to_c, "", &format!("有问题也可以直接打我电话 {phone}，随时找我"));
                let at = self.wait(20, 100);
                let recall = self.msgid();
                let message = json!({"msgid": recall, "action": "recall", "from": s, "tolist": to_c, "roomid": "",
                                     "msgtime": at, "msgtype": "revoke", "revoke": {"pre_msgid": id}});
                self.drafts.push(Draft { at_ms: at, message });
                self.text(s, &to_c, "", "刚才发错了，您有事直接在这里找我就行");
            }
            2 => {
                let wish =
                    ["感谢支持，一点心意", "恭喜发财，大吉大利", "好评红包，谢谢亲"].choose(&mut self.rng).copied();
                let amount = [520, 666, 888, 1_000, 1_888].choose(&mut self.rng).copied().unwrap_or(888);
                let body = json!({"type": 1, "wish": wish.unwrap_or("谢谢"), "totalcnt": 1, "totalamount": amount});
                self.say(s, &to_c, "", "external_redpacket", body);
                self.text(c, &to_s, "", "谢谢～");
            }
            3 => {
                let line = COMPETITORS[0].0;
                self.text(s, &to_c, "", line);
            }
            4 => {
                let p = self.product();
                let body = json!({"title": format!("【旗舰店】{p} 限时特惠"), "description": "淘宝 - 点击查看详情",
                                  "link_url": "https://item.taobao.com/item.htm?id=652481937205",
                                  "image_url": "https://img.alicdn.com/imgextra/i1/652481937205.jpg"});
                self.say(s, &to_c, "", "link", body);
            }
            5 => {
                self.text(s, &to_c, "", "以后加我这个号，福利更多");
                let body = json!({"corpname": "", "userid": format!("{s}_private")});
                self.say(s, &to_c, "", "card", body);
            }
            6 | 7 => {
                let p = self.product();
                self.text(c, &to_s, "", &format!("{p}和上次买的能一起用吗？会不会搓泥"));
                let at = self.wait(46 * 60, 95 * 60);
                let reply = format!("不好意思刚才在忙，{p}可以一起用，等前一步吸收了再上就不会搓泥");
                self.say_at(at, s, &to_c, "", "text", json!({ "content": reply }));
            }
            8 => {
                self.text(s, &to_c, "", "这边不方便说，加我vx私聊，给您更低的价");
            }
            9 => {
                self.text(c, &to_s, "", "听说晒图好评返现是真的吗？");
                self.text(s, &to_c, "", "是的，五星好评返现5元，截图发我就行");
            }
            10 => {
                let line = COMPETITORS[1].0;
                self.text(s, &to_c, "", line);
            }
            _ => {}
        }
        // Ends with the staff member: nobody is left waiting.
        let thanks = self.pick(CUSTOMER_THANKS);
        self.text(c, &to_s, "", &thanks);
        let closer = self.pick(STAFF_CLOSERS);
        self.text(s, &to_c, "", &closer);
    }

    /// `n` lines in group `roomid` of `owner` and `customers`, with `specials` (group behaviours 1..=5).
    fn group(
        &mut self,
        roomid: &str,
        owner: &str,
        members: &[String],
        customers: &[String],
        n: usize,
        specials: &[u8],
    ) {
        let others = |from: &str| -> Vec<String> { members.iter().filter(|m| *m != from).cloned().collect() };
        let slots: Vec<usize> = (0..specials.len()).map(|i| (i + 1) * n / (specials.len() + 1)).collect();
        for i in 0..n {
            let from_owner = customers.is_empty() || i % 4 == 0;
            let from = if from_owner {
                owner.to_owned()
            } else {
                customers.choose(&mut self.rng).cloned().unwrap_or_else(|| owner.to_owned())
            };
            let to = others(&from);
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            let line = if from_owner { self.pick(OWNER_LINES) } else { self.pick(GROUP_CHATTER) };
            self.text(&from, &to, roomid, &line);
            let Some(k) = slots.iter().position(|s| *s == i) else { continue };
            let Some(customer) = customers.choose(&mut self.rng).cloned() else { continue };
            let to = others(&customer);
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            match specials.get(k).copied().unwrap_or(0) {
                1 => {
                    let code: u64 = self.rng.r#gen();
                    let line = format!("进群领福利，扫码或点这个 https://weixin.qq.com/g/AQYAA{code:016x}");
                    self.text(&customer, &to, roomid, &line);
                }
                2 => {
                    let body = json!({"title": "9.9元拼团抢大牌小样", "description": "限时拼团，手慢无",
                                      "username": "gh_5bd2f33b1c7e@app", "displayname": "拼多多"});
                    self.say(&customer, &to, roomid, "weapp", body);
                }
                3 => {
                    self.text(&customer, &to, roomid, "同款超低价，戳 https://m.tb.cn/h.5Vq8rGk 手慢无");
                }
                4 => {
                    self.text(&customer, &to, roomid, "刷单兼职，日结200，有意私聊");
                }
                5 => {
                    let body = json!({"corpname": "", "userid": format!("{customer}_friend")});
                    self.say(&customer, &to, roomid, "card", body);
                }
                _ => {}
            }
        }
    }
}

/// Writes the archive of `setup` for `corp`'s chats as of `now` (unix seconds), after `made` messages.
fn generate(corp: &Corp, setup: &ArchiveSetup, now: i64, made: u64) -> (Vec<Draft>, u64) {
    let mut w = Writer {
        rng: StdRng::seed_from_u64(setup.seed),
        products: &setup.products,
        id_prefix: format!("{}{:x}_", corp.tag, setup.seed & 0xffff),
        made,
        drafts: Vec::new(),
        at_ms: 0,
    };
    let span = setup.days.max(1) * 86_400;
    let start = now - span;
    // Conversations start early enough to end before now (a slow reply adds up to 95 minutes).
    let latest = (span - 4 * 3600).max(1);

    let follows: Vec<(&str, &str)> = corp
        .follows
        .values()
        .filter(|f| corp.staff.get(&f.userid).is_some_and(|s| s.status == 1))
        .map(|f| (f.userid.as_str(), f.external_userid.as_str()))
        .collect();
    let n = setup.single_chats.min(follows.len());
    let mut picks = rand::seq::index::sample(&mut w.rng, follows.len(), n).into_vec();
    picks.sort_unstable();
    for (i, pick) in picks.into_iter().enumerate() {
        let Some(&(s, c)) = follows.get(pick) else { continue };
        let staff_name = corp.staff.get(s).map(|x| x.name.clone()).unwrap_or_default();
        let name = corp.customers.get(c).map(|x| x.name.clone()).unwrap_or_default();
        // The watched behaviours go to the first conversations, twice over when there are enough.
        let special = if i < 20 { (i % 10) as u8 + 1 } else { 0 };
        let at = (start + w.rng.gen_range(0..latest)) * 1000 + w.rng.gen_range(0..1000);
        w.begin(at);
        w.single(s, &staff_name, c, &name, special);
    }

    let groups: Vec<_> =
        corp.groups.values().filter(|g| !g.dismissed && g.members.len() >= 2).take(setup.groups).collect();
    for (j, g) in groups.into_iter().enumerate() {
        let members: Vec<String> = g.members.iter().map(|m| m.userid.clone()).collect();
        let customers: Vec<String> = g.members.iter().filter(|m| m.kind == 2).map(|m| m.userid.clone()).collect();
        let specials: Vec<u8> = match j % 3 {
            0 => vec![1, 4],
            1 => vec![2, 3],
            _ => vec![5, 1],
        };
        let at = (start + w.rng.gen_range(0..latest)) * 1000;
        w.begin(at);
        w.group(&g.chat_id, &g.owner, &members, &customers, setup.group_messages, &specials);
    }
    let mut drafts = w.drafts;
    drafts.sort_by_key(|d| d.at_ms);
    (drafts, w.made)
}

/// The ingest item of the message with `seq`.
fn item(seq: u64, message: &Value) -> Value {
    json!({"seq": seq, "publickey_ver": 1, "message": message})
}

impl FakeHandle {
    /// Writes `setup`'s conversations into `corp`'s archive (after what it holds); returns how many messages.
    pub fn generate_archive(&self, corp: &str, setup: &ArchiveSetup) -> Result<usize, FakeError> {
        self.with_corp(corp, |c, env| {
            let (drafts, made) = generate(c, setup, env.now, c.archive.made);
            c.archive.made = made;
            c.archive.generated = true;
            let n = drafts.len();
            for d in drafts {
                c.archive.push(d.message);
            }
            Ok(n)
        })
    }

    /// The archive items after `since_seq`, at most `limit` (≤ 1000), as `GetChatData` pages them and the
    /// ingest takes them: `{"seq", "publickey_ver": 1, "message"}`. A corp whose archive is still empty
    /// gets [`ArchiveSetup::default`]'s conversations first. Unknown corps have none.
    pub fn archive_messages(&self, corp: &str, since_seq: u64, limit: usize) -> Vec<Value> {
        let page = self.with_corp(corp, |c, env| {
            if !c.archive.generated && c.archive.messages.is_empty() {
                let (drafts, made) = generate(c, &ArchiveSetup::default(), env.now, c.archive.made);
                c.archive.made = made;
                c.archive.generated = true;
                for d in drafts {
                    c.archive.push(d.message);
                }
            }
            let skip = usize::try_from(since_seq).unwrap_or(usize::MAX);
            Ok(c.archive
                .messages
                .iter()
                .enumerate()
                .skip(skip)
                .take(limit.min(ARCHIVE_PAGE))
                .map(|(i, m)| item(i as u64 + 1, m))
                .collect())
        });
        page.unwrap_or_default()
    }

    /// Appends one message (a test's own); fills `msgid`, `action` (`send`) and `msgtime` (now, ms) when
    /// absent. Returns its seq.
    pub fn append_archive_message(&self, corp: &str, mut message: Value) -> Result<u64, FakeError> {
        if !message.is_object() {
            return Err(FakeError::Invalid("an archive message is a JSON object".into()));
        }
        self.with_corp(corp, |c, env| {
            if message.get("msgid").is_none() {
                c.archive.made += 1;
                message["msgid"] = json!(format!("{}custom_{:06}_external", c.tag, c.archive.made));
            }
            if message.get("action").is_none() {
                message["action"] = json!("send");
            }
            if message.get("msgtime").is_none() && message.get("time").is_none() {
                message["msgtime"] = json!(env.now * 1000);
            }
            Ok(c.archive.push(message))
        })
    }

    /// The highest seq of `corp`'s archive (0 when empty).
    pub fn archive_max_seq(&self, corp: &str) -> Result<u64, FakeError> {
        self.with_corp(corp, |c, _| Ok(c.archive.messages.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::{BTreeMap, BTreeSet};

    use super::super::tests::{CORP, Harness};
    use super::super::{CustomerSetup, FakeConfig};
    use super::*;

    async fn corp_with_chats() -> Harness {
        let h = Harness::start(FakeConfig::default()).await;
        let mut customers = Vec::new();
        for i in 0..40 {
            let id = h.fake.add_customer(CORP, CustomerSetup::named(&format!("客户{i}"))).unwrap();
            let staff = if i % 2 == 0 { "zhangsan" } else { "lisi" };
            h.fake.customer_adds_staff(CORP, &id, staff, None).await.unwrap();
            customers.push(id);
        }
        let members: Vec<&str> = customers.iter().take(12).map(String::as_str).collect();
        h.fake.create_group(CORP, "zhangsan", "会员福利群", &members).await.unwrap();
        let members: Vec<&str> = customers.iter().skip(12).take(8).map(String::as_str).collect();
        h.fake.create_group(CORP, "lisi", "新品体验群", &members).await.unwrap();
        h
    }

    #[tokio::test]
    async fn every_generated_item_has_the_decrypted_shape() {
        let h = corp_with_chats().await;
        let items = h.fake.archive_messages(CORP, 0, 1000);
        assert!(items.len() > 150, "{} items", items.len());
        let now_ms = h.fake.clock().now() * 1000;
        let mut last_seq = 0;
        let mut last_time = 0;
        let mut ids = BTreeSet::new();
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        for item in &items {
            let seq = item["seq"].as_u64().unwrap();
            assert_eq!(seq, last_seq + 1);
            last_seq = seq;
            assert_eq!(item["publickey_ver"], 1);
            let m = &item["message"];
            assert!(ids.insert(m["msgid"].as_str().unwrap().to_owned()), "duplicate msgid");
            assert!(!m["from"].as_str().unwrap().is_empty());
            let tolist = m["tolist"].as_array().unwrap();
            assert!(!tolist.is_empty());
            let roomid = m["roomid"].as_str().unwrap();
            if roomid.is_empty() {
                assert_eq!(tolist.len(), 1);
            }
            let t = m["msgtime"].as_i64().unwrap();
            assert!(t >= last_time && t <= now_ms, "msgtime {t} out of order or in the future");
            last_time = t;
            let msgtype = m["msgtype"].as_str().unwrap();
            assert!(m[msgtype].is_object(), "no {msgtype} object in {m}");
            assert!(["send", "recall"].contains(&m["action"].as_str().unwrap()));
            *types.entry(msgtype.to_owned()).or_default() += 1;
        }
        for t in ["text", "image", "revoke", "external_redpacket", "link", "card", "weapp"] {
            assert!(types.contains_key(t), "no {t} in {types:?}");
        }
        let texts: Vec<&str> = items.iter().filter_map(|i| i["message"]["text"]["content"].as_str()).collect();
        assert!(texts.iter().any(|t| t.contains("https://weixin.qq.com/g/")));
        assert!(texts.iter().any(|t| t.contains("jd.com")));
        let phone = texts.iter().find(|t| t.contains("打我电话")).unwrap();
        assert_eq!(phone.chars().filter(char::is_ascii_digit).count(), 11, "{phone}");
        // Pages continue where the last one stopped.
        let page = h.fake.archive_messages(CORP, 100, 10);
        assert_eq!(page.len(), 10);
        assert_eq!(page[0]["seq"], 101);
        assert_eq!(page[0], items[100]);
    }

    #[tokio::test]
    async fn the_generator_is_deterministic_from_its_seed() {
        let a = corp_with_chats().await;
        let b = corp_with_chats().await;
        let msgs = |h: &Harness| -> Vec<Value> {
            h.fake.archive_messages(CORP, 0, 1000).into_iter().map(|mut i| i["message"].take()).collect()
        };
        let (ma, mb) = (msgs(&a), msgs(&b));
        let strip = |v: &[Value]| -> Vec<(String, String)> {
            v.iter().map(|m| (m["msgid"].to_string(), m["msgtype"].to_string())).collect()
        };
        assert_eq!(strip(&ma), strip(&mb));
    }

    #[tokio::test]
    async fn a_slow_reply_is_scripted_and_every_single_chat_ends_with_staff() {
        let h = corp_with_chats().await;
        let setup = ArchiveSetup { single_chats: 20, group_messages: 0, ..ArchiveSetup::default() };
        h.fake.generate_archive(CORP, &setup).unwrap();
        let mut last: BTreeMap<(String, String), (String, i64)> = BTreeMap::new();
        let mut slow = 0;
        for item in h.fake.archive_messages(CORP, 0, 1000) {
            let m = &item["message"];
            let from = m["from"].as_str().unwrap().to_owned();
            let to = m["tolist"][0].as_str().unwrap().to_owned();
            let customer_sent = from.starts_with("wm");
            let key = if customer_sent { (to, from.clone()) } else { (from.clone(), to) };
            let t = m["msgtime"].as_i64().unwrap();
            if let Some((prev, at)) = last.get(&key)
                && prev.starts_with("wm")
                && !customer_sent
                && t - at >= 45 * 60 * 1000
            {
                slow += 1;
            }
            last.insert(key, (from, t));
        }
        assert!(slow >= 2, "{slow} slow replies");
        assert!(last.values().all(|(from, _)| !from.starts_with("wm")), "a customer is left waiting");
    }

    #[tokio::test]
    async fn custom_messages_are_appended_with_the_next_seq() {
        let h = Harness::start(FakeConfig::default()).await;
        let seq = h
            .fake
            .append_archive_message(
                CORP,
                json!({"from": "zhangsan", "tolist": ["wmX"], "roomid": "", "msgtype": "text",
                       "text": {"content": "已发货"}}),
            )
            .unwrap();
        assert_eq!(seq, 1);
        let items = h.fake.archive_messages(CORP, 0, 10);
        assert_eq!(items.len(), 1, "a custom message stops the default generation");
        let m = &items[0]["message"];
        assert_eq!(m["action"], "send");
        assert_eq!(m["msgtime"], h.fake.clock().now() * 1000);
        assert!(m["msgid"].as_str().unwrap().contains("custom"));
        assert!(h.fake.append_archive_message(CORP, json!("text")).is_err());
        assert!(h.fake.archive_messages("wwnobody", 0, 10).is_empty());
        assert_eq!(h.fake.archive_max_seq(CORP).unwrap(), 1);
    }

    #[tokio::test]
    async fn msgaudit_notify_is_pushed_encrypted() {
        let h = Harness::start(FakeConfig::default()).await;
        let delivery = h.fake.push_msgaudit_notify(CORP).await.unwrap();
        assert_eq!(delivery.events, 1);
        let push = h.fake.pushes().pop().unwrap();
        assert!(push.xml.contains("msgaudit_notify"));
    }
}
