//! The edge file `siyu bench identity` resolves: one observation a line, two identifiers seen together
//! separated by a tab (`a<TAB>b`), an identifier seen alone as `a<TAB>a`.
//!
//! People of one brand with 1–8 identifiers each. A fifth are passers-by: an anonymous id from the SDK,
//! with an openid half the time. The others have a unionid (most), openids in 1–3 of the brand's six
//! official accounts and mini-programs, a WeCom external_userid (some), a phone as its blind index (half),
//! a buyer id on an e-commerce platform (some) and 1–3 anonymous ids. Each identifier after a person's
//! first is observed with an earlier one (so the person is connected), some pairs are observed again, and
//! noise links people: families sharing a phone, a few store phones typed in for walk-in buyers, and the odd
//! identifier observed with a stranger's. The same size and seed give the same file, byte for byte.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::super::report::thousands;

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8; 16] = b"0123456789abcdef";
const DIGITS: &[u8; 10] = b"0123456789";
const LOWER36: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of Taobao nicknames.
const NICK: [&str; 40] = [
    "小", "明", "红", "华", "丽", "芳", "静", "伟", "强", "磊", "洋", "艳", "娟", "敏", "军", "杰", "涛", "超", "秀",
    "霞", "平", "刚", "桂", "英", "兰", "玉", "梅", "云", "飞", "燕", "鹏", "辉", "宇", "晨", "欣", "怡", "爱", "猫",
    "星", "月",
];
/// Identifiers of earlier people that noise may reuse or link to.
const RECENT: usize = 4096;
/// Distinct identifiers per store phone: one phone shared by walk-in buyers for every this many.
const IDENTIFIERS_PER_STORE_PHONE: u64 = 200_000;

/// What a generated file holds, kept beside it (`<file>.json`) so a reused file is described too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgeFile {
    #[serde(skip)]
    pub path: PathBuf,
    pub people: u64,
    /// New identifiers generated: the distinct count, give or take the rare random nickname collision.
    pub identifiers: u64,
    pub lines: u64,
    pub bytes: u64,
    pub seed: u64,
}

/// The file for `identifiers` and `seed` in `dir`: reused when a complete one is there, else generated.
pub fn ensure(dir: &Path, identifiers: u64, seed: u64) -> anyhow::Result<EdgeFile> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("edges-{identifiers}-seed{seed}.tsv"));
    let meta = path.with_extension("tsv.json");
    let described = std::fs::read(&meta).ok().and_then(|b| serde_json::from_slice::<EdgeFile>(&b).ok());
    if let Some(mut file) = described.filter(|_| path.exists()) {
        file.path = path;
        println!("edges: reusing {} ({} lines)", file.path.display(), thousands(file.lines as f64));
        return Ok(file);
    }
    let partial = path.with_extension("tsv.partial");
    let mut file = generate(&partial, identifiers, seed)?;
    std::fs::write(&meta, serde_json::to_vec_pretty(&file)?)?;
    std::fs::rename(&partial, &path)?;
    file.path = path;
    println!(
        "edges: {} people, {} identifiers, {} lines, {:.2} GB in {}",
        thousands(file.people as f64),
        thousands(file.identifiers as f64),
        thousands(file.lines as f64),
        file.bytes as f64 / 1e9,
        file.path.display()
    );
    Ok(file)
}

fn generate(path: &Path, target: u64, seed: u64) -> anyhow::Result<EdgeFile> {
    let bar = ProgressBar::new(target).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40.cyan/blue}] {human_pos}/{human_len} identifiers, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(format!("edges: writing {}", path.display()));
    let mut out = BufWriter::with_capacity(1 << 22, File::create(path)?);
    let mut people = People::new(seed, target);
    let (mut count, mut lines, mut bytes) = (0u64, 0u64, 0u64);
    while people.fresh < target {
        people.person();
        for &(a, b) in &people.pairs {
            let (a, b) = (people.id(a), people.id(b));
            out.write_all(a)?;
            out.write_all(b"\t")?;
            out.write_all(b)?;
            out.write_all(b"\n")?;
            bytes += (a.len() + b.len() + 2) as u64;
        }
        lines += people.pairs.len() as u64;
        count += 1;
        if count % 16_384 == 0 {
            bar.set_position(people.fresh);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(EdgeFile { path: path.to_path_buf(), people: count, identifiers: people.fresh, lines, bytes, seed })
}

/// Generates people one at a time; the current person's identifiers sit in `buf`, spans in `ids`.
struct People {
    rng: StdRng,
    /// `(appid, openid prefix)` of the brand's official accounts and mini-programs.
    apps: Vec<(String, String)>,
    corps: Vec<String>,
    store_phones: Vec<(Vec<u8>, bool)>,
    /// Identifiers of earlier people (a ring), for noise; with the family phones among them.
    recent: Vec<Vec<u8>>,
    recent_phones: Vec<Vec<u8>>,
    fresh: u64,
    buf: Vec<u8>,
    ids: Vec<(usize, usize)>,
    pairs: Vec<(usize, usize)>,
}

impl People {
    fn new(seed: u64, target: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut word = |prefix: &str, alphabet: &[u8], n: usize| {
            let mut s = prefix.to_string();
            s.extend((0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char));
            s
        };
        let apps = (0..6).map(|_| (word("wx", HEX, 16), word("o", BASE64URL, 5))).collect();
        let corps = (0..2).map(|_| word("ww", HEX, 16)).collect();
        let stores = target.div_ceil(IDENTIFIERS_PER_STORE_PHONE) as usize;
        let store_phones = (0..stores).map(|_| (word("phone:", HEX, 64).into_bytes(), false)).collect();
        Self {
            rng,
            apps,
            corps,
            store_phones,
            recent: Vec::with_capacity(RECENT),
            recent_phones: Vec::with_capacity(RECENT),
            fresh: 0,
            buf: Vec::with_capacity(1024),
            ids: Vec::with_capacity(16),
            pairs: Vec::with_capacity(32),
        }
    }

    fn id(&self, i: usize) -> &[u8] {
        let (start, end) = self.ids[i];
        &self.buf[start..end]
    }

    /// The next person: their identifiers and the pairs observed together.
    fn person(&mut self) {
        self.buf.clear();
        self.ids.clear();
        self.pairs.clear();
        if self.rng.gen_bool(0.2) {
            // A passer-by: a visitor the SDK saw once or twice, or a mini-program user who never logged in.
            if self.rng.gen_bool(0.5) {
                let app = self.rng.gen_range(0..self.apps.len());
                let (appid, prefix) = &self.apps[app];
                let prefix = format!("openid@{appid}:{prefix}");
                self.fresh_id(&prefix, BASE64URL, 22);
            }
            self.anon();
            self.observe();
            return;
        }
        if self.rng.gen_bool(0.85) {
            self.fresh_id("unionid:o6_bm", BASE64URL, 23);
        }
        let mut apps: Vec<usize> = (0..self.apps.len()).collect();
        apps.shuffle(&mut self.rng);
        let in_apps = if self.rng.gen_bool(0.9) { self.rng.gen_range(1..=3) } else { 0 };
        for &app in &apps[..in_apps] {
            let (appid, prefix) = &self.apps[app];
            let prefix = format!("openid@{appid}:{prefix}");
            self.fresh_id(&prefix, BASE64URL, 22);
        }
        if self.rng.gen_bool(0.3) {
            let corp = format!("external_userid@{}:wm", self.corps[usize::from(self.rng.gen_bool(0.2))]);
            self.fresh_id(&corp, BASE64URL, 30);
        }
        if self.rng.gen_bool(0.5) {
            self.phone();
        }
        if self.rng.gen_bool(0.4) {
            self.buyer();
        }
        // At most 8 identifiers of their own: the anonymous ids fill up to that.
        for _ in 0..self.rng.gen_range(1..=3).min(8 - self.ids.len()) {
            self.anon();
        }
        self.observe();
    }

    fn anon(&mut self) {
        let uuid = uuid::Builder::from_random_bytes(self.rng.r#gen()).into_uuid();
        self.push_id(format!("anon:{}", uuid.hyphenated()).as_bytes(), true);
    }

    /// Pairs seen together: each identifier with an earlier one, some again, and now and then a stranger's.
    fn observe(&mut self) {
        let n = self.ids.len();
        if n == 1 {
            self.pairs.push((0, 0));
        }
        for i in 1..n {
            let j = self.rng.gen_range(0..i);
            self.pairs.push(if self.rng.gen_bool(0.5) { (i, j) } else { (j, i) });
        }
        if n > 1 && self.rng.gen_bool(0.3) {
            self.pairs.push((self.rng.gen_range(0..n), self.rng.gen_range(0..n)));
        }
        if self.recent.len() == RECENT && self.rng.gen_bool(0.01) {
            let stranger = self.recent[self.rng.gen_range(0..RECENT)].clone();
            let own = self.rng.gen_range(0..n);
            self.push_id(&stranger, false);
            self.pairs.push((own, self.ids.len() - 1));
        }
        let pick = self.rng.gen_range(0..n);
        let keep = self.id(pick).to_vec();
        self.remember(keep, false);
    }

    fn phone(&mut self) {
        let roll = self.rng.gen_range(0..10_000);
        if roll < 5 {
            let i = self.rng.gen_range(0..self.store_phones.len());
            let (phone, used) = &mut self.store_phones[i];
            let first = !std::mem::replace(used, true);
            let phone = phone.clone();
            self.push_id(&phone, first);
        } else if roll < 200 && self.recent_phones.len() == RECENT {
            let phone = self.recent_phones[self.rng.gen_range(0..RECENT)].clone();
            self.push_id(&phone, false);
        } else {
            self.fresh_id("phone:", HEX, 64);
            let phone = self.id(self.ids.len() - 1).to_vec();
            self.remember(phone, true);
        }
    }

    fn buyer(&mut self) {
        match self.rng.gen_range(0..10) {
            0..=3 => self.fresh_id("buyer@taobao:tb", DIGITS, 12),
            4..=5 => {
                let mut nick = String::from("buyer@taobao:");
                for _ in 0..self.rng.gen_range(2..=4) {
                    nick.push_str(NICK[self.rng.gen_range(0..NICK.len())]);
                }
                self.fresh_id(&nick, DIGITS, 6);
            }
            6..=7 => self.fresh_id("buyer@jd:jd_", LOWER36, 12),
            8 => self.fresh_id("buyer@douyin:", DIGITS, 15),
            _ => self.fresh_id("buyer@pdd:pdd", DIGITS, 11),
        }
    }

    /// A new identifier: `prefix` then `n` random characters of `alphabet`.
    fn fresh_id(&mut self, prefix: &str, alphabet: &[u8], n: usize) {
        let start = self.buf.len();
        self.buf.extend_from_slice(prefix.as_bytes());
        let bits = alphabet.len().next_power_of_two().trailing_zeros();
        let mut word = 0u64;
        let mut left = 0;
        for _ in 0..n {
            loop {
                if left < bits {
                    word = self.rng.r#gen();
                    left = 64;
                }
                let v = (word & ((1 << bits) - 1)) as usize;
                word >>= bits;
                left -= bits;
                if v < alphabet.len() {
                    self.buf.push(alphabet[v]);
                    break;
                }
            }
        }
        self.ids.push((start, self.buf.len()));
        self.fresh += 1;
    }

    fn push_id(&mut self, id: &[u8], fresh: bool) {
        let start = self.buf.len();
        self.buf.extend_from_slice(id);
        self.ids.push((start, self.buf.len()));
        self.fresh += u64::from(fresh);
    }

    fn remember(&mut self, id: Vec<u8>, phone: bool) {
        let ring = if phone { &mut self.recent_phones } else { &mut self.recent };
        if ring.len() < RECENT {
            ring.push(id);
        } else {
            let i = self.rng.gen_range(0..RECENT);
            ring[i] = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(seed: u64, target: u64) -> Vec<String> {
        let mut people = People::new(seed, target);
        let mut out = Vec::new();
        while people.fresh < target {
            people.person();
            for &(a, b) in &people.pairs {
                out.push(format!(
                    "{}\t{}",
                    String::from_utf8_lossy(people.id(a)),
                    String::from_utf8_lossy(people.id(b))
                ));
            }
        }
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_edges_and_another_seed_others() {
        assert_eq!(lines(7, 5_000), lines(7, 5_000));
        assert_ne!(lines(7, 5_000), lines(8, 5_000));
    }

    #[test]
    fn the_file_holds_about_the_requested_identifiers_of_every_kind() {
        let lines = lines(1, 20_000);
        let mut ids: Vec<&str> = lines.iter().flat_map(|l| l.split('\t')).collect();
        ids.sort_unstable();
        ids.dedup();
        assert!((19_900..=20_100).contains(&ids.len()), "{} distinct identifiers", ids.len());
        for prefix in
            ["unionid:o6_bm", "openid@wx", "external_userid@ww", "phone:", "buyer@taobao:", "buyer@jd:", "anon:"]
        {
            assert!(ids.iter().any(|id| id.starts_with(prefix)), "no {prefix} identifier");
        }
        assert!(lines.iter().all(|l| l.split('\t').count() == 2));
    }
}
