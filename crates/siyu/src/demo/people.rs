//! The demo brand's customers: a deterministic stream (fixed seed) in order of arrival (see
//! [`Calendar`]), each with identities, follows by 导购, tags, notes and custom values.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use siyu_app::customers::IdentityInput;
use siyu_app::seed::{NewCustomerBulk, TagInput};
use siyu_domain::customer::{Customer, Follow, Gender, Note};
use siyu_domain::id::{CustomerId, NoteId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::phone::{self, Phone};

use super::brand::{Brand, Region, SKINS};
use super::calendar::Calendar;
use super::words;

pub const SEED: u64 = 0x5349_5955_2026;
pub const MINI_PROGRAM_APPID: &str = "wx8f3c2a1b9d7e6f50";
pub const OFFICIAL_ACCOUNT_APPID: &str = "wx2b7d9e4c1a6f3085";
pub const CORP_ID: &str = "ww7a3f9c2e1b4d6058";

const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157", "158", "159",
    "166", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
];
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// (channel index into `CHANNELS`, weight, add_way, live-code states)
const CHANNELS: [(usize, u32, &str, &[&str]); 5] = [
    (
        0,
        40,
        "qr_code",
        &["store_sh_001", "store_sh_002", "store_hz_001", "store_gz_001", "store_sz_001", "store_sz_002"],
    ),
    (1, 20, "qr_code", &["live_room_0618", "live_room_1111", "live_room_weekly"]),
    (2, 18, "card_share", &["mini_member_center", "mini_order_success"]),
    (3, 10, "card_share", &["referral_invite"]),
    (4, 12, "group_chat", &["group_vip_01", "group_newbie_02"]),
];

/// An endless-until-`total` stream of customers in creation order.
pub struct People {
    /// Draws what customers are (names, identities, tags, notes): the same sequence whatever the date.
    rng: StdRng,
    /// Draws when things happen and id bits, which depend on the seeding day.
    clock: StdRng,
    brand: Brand,
    calendar: Calendar,
    /// The seeding time: nothing happens after it.
    now: DateTime<Utc>,
    index: u64,
    channels: WeightedIndex<u32>,
    /// Front-line staff of East, South and Online.
    by_region: [Vec<UserId>; 3],
}

impl People {
    pub fn new(brand: Brand, total: u64, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let by_region = [Region::East, Region::South, Region::Online]
            .map(|r| brand.staff.iter().filter(|s| s.region == r).map(|s| s.user).collect());
        let calendar = Calendar::new(total, now)?;
        Ok(Self {
            by_region,
            rng: StdRng::seed_from_u64(SEED),
            clock: StdRng::seed_from_u64(SEED ^ 0xC10C),
            brand,
            now: calendar.now,
            calendar,
            index: 0,
            channels: WeightedIndex::new(CHANNELS.map(|c| c.1))?,
        })
    }

    /// The next `n` customers (fewer at the end).
    pub fn batch(&mut self, n: usize) -> Vec<NewCustomerBulk> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.calendar.next(&mut self.clock) {
                Some(at) => out.push(self.customer(at)),
                None => break,
            }
        }
        out
    }

    /// A time-ordered id stamped with `at`, its random part from the seeded generator.
    fn id_at(&mut self, at: DateTime<Utc>) -> uuid::Uuid {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &self.clock.r#gen::<[u8; 10]>()).into_uuid()
    }

    /// `len` id characters ending in the customer's index, so ids never collide.
    fn opaque(&mut self, prefix: &str, len: usize) -> String {
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len - 5 {
            s.push(char::from(ID_CHARS[self.rng.gen_range(0..ID_CHARS.len())]));
        }
        // An odd multiplier permutes 0..2^30, so the tail stays unique (below 2^30 customers) but looks random.
        let mut i = self.index.wrapping_mul(0x9E37_79B1) & ((1 << 30) - 1);
        for _ in 0..5 {
            s.push(char::from(ID_CHARS[(i % 64) as usize]));
            i /= 64;
        }
        s
    }

    /// A time up to `max_minutes` after `at`, never after now (recent customers get a share of what is left).
    fn later(&mut self, at: DateTime<Utc>, max_minutes: i64) -> DateTime<Utc> {
        let t = at + Duration::minutes(self.clock.gen_range(1..=max_minutes));
        if t <= self.now {
            return t;
        }
        let left = (self.now - at).num_milliseconds().max(0);
        at + Duration::milliseconds(self.clock.gen_range(0..=left))
    }

    fn pick_staff(&mut self, region: Region) -> UserId {
        let pool = match region {
            Region::East => &self.by_region[0],
            Region::South => &self.by_region[1],
            Region::Online | Region::Hq => &self.by_region[2],
        };
        match pool.choose(&mut self.rng) {
            Some(u) => *u,
            None => self.brand.owner.user,
        }
    }

    fn real_name(&mut self, gender: Gender) -> String {
        let n = words::SURNAMES.len();
        let surname = words::SURNAMES[self.rng.gen_range(0..n).min(self.rng.gen_range(0..n))];
        let given = match gender {
            Gender::Male => words::MALE_GIVEN.choose(&mut self.rng),
            _ => words::FEMALE_GIVEN.choose(&mut self.rng),
        };
        format!("{surname}{}", given.copied().unwrap_or("静"))
    }

    fn phone(&mut self) -> Option<String> {
        let suffix = (self.index.wrapping_mul(48_271) + 12_345_679) % 100_000_000;
        let prefix = PHONE_PREFIXES.choose(&mut self.rng).copied().unwrap_or("138");
        let p = Phone::parse(&format!("{prefix}{suffix:08}")).ok()?;
        (!phone::is_placeholder(&p)).then(|| p.national().to_string())
    }

    fn customer(&mut self, at: DateTime<Utc>) -> NewCustomerBulk {
        let gender = match self.rng.gen_range(0..100) {
            0..86 => Gender::Female,
            86..95 => Gender::Male,
            _ => Gender::Unknown,
        };
        let real = self.real_name(gender);
        let nickname = self.rng.gen_bool(0.5);
        let name = if nickname {
            let nick = words::NICKNAMES.choose(&mut self.rng).copied().unwrap_or("小鱼儿");
            let suffix = words::NICK_SUFFIXES.choose(&mut self.rng).copied().unwrap_or("");
            format!("{nick}{suffix}")
        } else {
            real.clone()
        };
        let (channel, _, add_way, states) = CHANNELS[self.channels.sample(&mut self.rng)];
        let state = states.choose(&mut self.rng).copied().unwrap_or("");
        let region = match channel {
            0 if state.contains("_sh_") || state.contains("_hz_") => Region::East,
            0 => Region::South,
            3 => [Region::East, Region::South, Region::Online][self.rng.gen_range(0..3)],
            _ if self.rng.gen_bool(0.85) => Region::Online,
            _ => [Region::East, Region::South][self.rng.gen_range(0..2)],
        };
        let phone_search = self.rng.gen_bool(0.1);
        let id = CustomerId(self.id_at(at));
        let first = self.pick_staff(region);
        let mut follows = vec![Follow {
            customer_id: id,
            user_id: first,
            remark: (nickname && self.rng.gen_bool(0.6)).then(|| real.clone()),
            description: (channel == 0).then(|| format!("门店到店客户（{state}）")),
            add_way: if phone_search { "phone_search".into() } else { add_way.into() },
            state: (!phone_search).then(|| state.to_string()),
            added_at: at,
        }];
        let extra = match self.rng.gen_range(0..100) {
            0..72 => 0,
            72..93 => 1,
            _ => 2,
        };
        for _ in 0..extra {
            let other = [Region::East, Region::South, Region::Online][self.rng.gen_range(0..3)];
            let user = self.pick_staff(other);
            let added_at = self.later(at, 60 * 24 * 90);
            follows.push(Follow {
                customer_id: id,
                user_id: user,
                remark: None,
                description: None,
                add_way: ["card_share", "group_chat", "phone_search"][self.rng.gen_range(0..3)].into(),
                state: None,
                added_at,
            });
        }
        follows.dedup_by_key(|f| f.user_id);
        let level = self.rng.gen_bool(0.85).then(|| match self.rng.gen_range(0..100) {
            0..60 => 0,
            60..85 => 1,
            85..97 => 2,
            _ => 3,
        });
        let skin = self.rng.gen_bool(0.45).then(|| self.rng.gen_range(0..SKINS.len()));
        let mut tag_ids = vec![self.brand.channels[channel]];
        tag_ids.extend(level.map(|l| self.brand.levels[l]));
        tag_ids.extend(skin.map(|s| self.brand.skins[s]));
        for _ in 0..self.rng.gen_range(0..=2) {
            let t = self.brand.interests[self.rng.gen_range(0..self.brand.interests.len())];
            if !tag_ids.contains(&t) {
                tag_ids.push(t);
            }
        }
        tag_ids.truncate(4);
        let mut tags: Vec<TagInput> = Vec::with_capacity(5);
        for t in tag_ids {
            let tag_at = self.later(at, 60 * 24 * 3);
            tags.push(TagInput { tag: t, actor: Some(first), at: tag_at });
        }
        let (keeper, personal) = self.brand.personal.clone();
        if follows.iter().any(|f| f.user_id == keeper)
            && tags.len() < 4
            && self.rng.gen_bool(0.5)
            && let Some(t) = personal.choose(&mut self.rng)
        {
            let tag_at = self.later(at, 60 * 24 * 14);
            tags.push(TagInput { tag: *t, actor: Some(keeper), at: tag_at });
        }
        let identities = self.identities();
        let notes = self.notes(&follows, at);
        let custom = self.custom(level, skin, at);
        let mut last = tags.iter().map(|t| t.at).chain(notes.iter().map(|n| n.created_at)).max().unwrap_or(at);
        let active = self.rng.gen_bool(0.88).then(|| {
            let span = (self.now - at).num_milliseconds().max(1) as f64;
            let u: f64 = self.clock.r#gen();
            last = last.max(at + Duration::milliseconds((span * (1.0 - u * u * u)) as i64));
            last.min(self.now)
        });
        let source = match channel {
            _ if (at - self.calendar.start).num_days() < 90 && self.clock.gen_bool(0.5) => "import",
            2 => "api",
            _ => "wecom",
        };
        let remark = self
            .rng
            .gen_bool(0.06)
            .then(|| words::REMARKS.choose(&mut self.rng).copied().unwrap_or(""))
            .map(String::from);
        self.index += 1;
        NewCustomerBulk {
            customer: Customer {
                id,
                name,
                gender,
                avatar_url: None,
                remark,
                source: source.into(),
                custom,
                created_at: at,
                updated_at: at,
                last_active_at: active,
            },
            created_by: (source != "wecom").then_some(self.brand.owner.user),
            identities,
            follows,
            tags,
            notes,
        }
    }

    fn identities(&mut self) -> Vec<IdentityInput> {
        let mut out = Vec::with_capacity(5);
        let mut add = |kind, namespace: Option<&str>, value: String| {
            out.push(IdentityInput { kind, namespace: namespace.map(String::from), value })
        };
        if self.rng.gen_bool(0.92)
            && let Some(p) = self.phone()
        {
            add(IdentityKind::Phone, None, p);
        }
        add(IdentityKind::ExternalUserid, Some(CORP_ID), self.opaque("wm", 30));
        if self.rng.gen_bool(0.85) {
            add(IdentityKind::Unionid, None, self.opaque("o", 27));
        }
        if self.rng.gen_bool(0.6) {
            add(IdentityKind::Openid, Some(MINI_PROGRAM_APPID), self.opaque("o", 27));
        }
        if self.rng.gen_bool(0.35) {
            add(IdentityKind::Openid, Some(OFFICIAL_ACCOUNT_APPID), self.opaque("o", 27));
        }
        if self.rng.gen_bool(0.12) {
            let i = self.index;
            let email = match self.rng.gen_range(0..4) {
                0 | 1 => format!("{}@qq.com", 100_000_000 + i * 13 + self.rng.gen_range(0..13)),
                2 => format!("huayang{i}@163.com"),
                _ => format!("hy.member{i}@outlook.com"),
            };
            add(IdentityKind::Email, None, email);
        }
        out
    }

    fn notes(&mut self, follows: &[Follow], at: DateTime<Utc>) -> Vec<Note> {
        let n = match self.rng.gen_range(0..100) {
            0..64 => 0,
            64..92 => 1,
            _ => 2,
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let author = follows.choose(&mut self.rng).map(|f| f.user_id).unwrap_or(self.brand.owner.user);
            let template = words::NOTES.choose(&mut self.rng).copied().unwrap_or("已回访");
            let product = words::PRODUCTS.choose(&mut self.rng).copied().unwrap_or("修护精华");
            let created_at = self.later(at, 60 * 24 * 60);
            let id = NoteId(self.id_at(created_at));
            out.push(Note {
                id,
                customer_id: CustomerId(uuid::Uuid::nil()),
                author_id: author,
                body: template.replace("{p}", product),
                created_at,
            });
        }
        out
    }

    fn custom(&mut self, level: Option<usize>, skin: Option<usize>, at: DateTime<Utc>) -> Map<String, Value> {
        let mut m = Map::new();
        if self.rng.gen_bool(0.6) {
            let year = 1970 + self.rng.gen_range(0..20).max(self.rng.gen_range(0..36));
            let day = NaiveDate::from_yo_opt(year, self.rng.gen_range(1..=365));
            if let Some(d) = day {
                m.insert("birthday".into(), json!(d.format("%Y-%m-%d").to_string()));
            }
        }
        if let Some(s) = skin.filter(|_| self.rng.gen_bool(0.8)) {
            m.insert("skin_type".into(), json!(SKINS[s]));
        }
        if self.rng.gen_bool(0.75) {
            m.insert("member_no".into(), json!(format!("HY{:02}{:07}", at.year() % 100, self.index)));
        }
        if let Some(l) = level.filter(|_| self.rng.gen_bool(0.65)) {
            let (lo, hi) = [(0, 2_000), (2_000, 6_000), (6_000, 20_000), (20_000, 80_000)][l];
            m.insert("annual_spend".into(), json!(self.rng.gen_range(lo..hi)));
        }
        m
    }
}
