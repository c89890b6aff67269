//! The data of `siyu bench scan`, generated deterministically from a seed and written once to files both
//! sides read: `patterns-N-seedS.txt` (one pattern a line) and `chat-MMB-seedS.txt` (one chat message a
//! line), plus a small JSON manifest of what was planted in the chat.
//!
//! Patterns are sensitive words of a private-domain shop: a verb or modifier and an object (代开发票,
//! 低价出售银行卡, 内部渠道), sometimes a suffix (刷单群), and contact diversions mixing ASCII and digits
//! (加vx, qq群, 私聊tg, 12306代购); 2–6 characters, distinct, ASCII in lowercase. The chat is customer
//! service small talk (greetings, products, sizes, orders, delivery, prices, emoji and punctuation); about
//! 3 % of messages get one pattern planted between two clauses, a fifth of those disguised (a space, a dot,
//! an emoji or a zero-width space inside, or full-width or uppercase ASCII) the way customers dodge filters.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// One message in this many gets a pattern planted.
const PLANT_ONE_IN: u32 = 33;
/// One planted pattern in this many is disguised.
const DISGUISE_ONE_IN: u32 = 5;

const PREFIXES: &[&str] = &[
    "代开",
    "代办",
    "代缴",
    "代购",
    "代充",
    "代刷",
    "私下",
    "私聊",
    "私信",
    "低价",
    "特价",
    "高价",
    "回收",
    "出售",
    "收购",
    "求购",
    "批发",
    "免费领",
    "免费送",
    "内部",
    "加急",
    "包过",
    "秒到",
    "无抵押",
    "无门槛",
    "兼职",
    "刷",
    "套现",
    "转卖",
    "倒卖",
    "高仿",
    "原单",
    "复刻",
    "加",
    "返现",
    "返利",
    "直招",
    "日结",
    "黑",
    "假",
    "办",
    "买",
    "卖",
    "租",
    "借",
    "贷",
    "换",
    "解封",
    "解冻",
    "提额",
    "秒批",
    "急用",
    "零首付",
    "一手",
    "外围",
    "境外",
    "隐形",
    "私人",
    "匿名",
    "批量",
    "实名",
    "海外",
    "走私",
    "包装",
    "定制",
    "特供",
    "专供",
    "非法",
    "违规",
    "违禁",
];

const OBJECTS: &[&str] = &[
    "发票",
    "增值税票",
    "信用卡",
    "银行卡",
    "身份证",
    "驾照",
    "学历",
    "文凭",
    "证书",
    "护照",
    "贷款",
    "网贷",
    "彩票",
    "账号",
    "手机号",
    "手机卡",
    "电话卡",
    "微信号",
    "支付宝",
    "花呗",
    "白条",
    "流量",
    "粉丝",
    "好评",
    "差评",
    "点赞",
    "积分",
    "优惠券",
    "红包",
    "茅台",
    "香烟",
    "烟草",
    "药品",
    "处方药",
    "减肥药",
    "保健品",
    "偏方",
    "秘方",
    "名额",
    "车牌",
    "指标",
    "房票",
    "学位",
    "户口",
    "社保",
    "公积金",
    "医保卡",
    "病假条",
    "证明",
    "公章",
    "印章",
    "合同",
    "论文",
    "答案",
    "考题",
    "彩金",
    "筹码",
    "赌资",
    "外汇",
    "期货",
    "原油",
    "黄金",
    "虚拟币",
    "比特币",
    "数字货币",
    "股票",
    "内幕",
    "配资",
    "杠杆",
    "理财",
    "高息",
    "私募",
    "基金",
    "会员",
    "激活码",
    "充值卡",
    "游戏币",
    "点卡",
    "代练",
    "外挂",
    "破解版",
    "梯子",
    "节点",
    "通道",
    "渠道",
    "资源",
    "平台",
    "链接",
    "二维码",
    "口令",
    "暗号",
    "联系方式",
    "小号",
    "大号",
    "水军",
    "刷单",
    "返佣",
    "提成",
    "佣金",
    "回扣",
    "现金",
    "黑卡",
    "实名卡",
    "流水",
    "征信",
    "额度",
];

const SUFFIXES: &[&str] =
    &["群", "网", "号", "商", "团队", "中介", "服务", "专线", "代理", "技术", "教程", "软件", "渠道", "平台", "工作室"];

const ASCII_WORDS: &[&str] =
    &["vx", "wx", "v", "qq", "q", "tg", "dy", "ks", "wb", "vip", "app", "usdt", "vpn", "wechat"];
const ASCII_BEFORE: &[&str] = &["加", "私", "加我", "有", "发", "留", "换", "扫", "进", "下载", "注册", "开通", "代充"];
const ASCII_AFTER: &[&str] =
    &["号", "群", "聊", "私聊", "联系", "账号", "小号", "好友", "转账", "代充", "节点", "会员"];
const DIGIT_WORDS: &[&str] = &["3q", "520", "1314", "666", "888", "12306", "95588", "10086", "2333", "998"];

/// `count` distinct patterns of 2–6 characters, in a shuffled order fixed by `seed`.
pub fn patterns(count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tiers: Vec<Vec<String>> = vec![Vec::new(); 4];
    for a in ASCII_WORDS.iter().chain(DIGIT_WORDS) {
        tiers[0].push((*a).to_string());
        tiers[0].extend(ASCII_BEFORE.iter().map(|b| format!("{b}{a}")));
        tiers[0].extend(ASCII_AFTER.iter().map(|s| format!("{a}{s}")));
    }
    for p in PREFIXES {
        for o in OBJECTS {
            tiers[1].push(format!("{p}{o}"));
            tiers[3].extend(SUFFIXES.iter().map(|s| format!("{p}{o}{s}")));
        }
    }
    for o in OBJECTS {
        tiers[2].extend(SUFFIXES.iter().map(|s| format!("{o}{s}")));
    }
    for tier in &mut tiers {
        tier.retain(|w| (2..=6).contains(&w.chars().count()));
        tier.shuffle(&mut rng);
    }
    // A twentieth mixed with ASCII or digits; then verb + object, object + suffix, verb + object + suffix.
    tiers[0].truncate(count / 20);
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = tiers.into_iter().flatten().filter(|w| seen.insert(w.clone())).take(count).collect();
    out.shuffle(&mut rng);
    out
}

const GREETINGS: &[&str] =
    &["您好", "你好", "亲", "在吗", "哈喽", "早上好", "晚上好", "老师好", "姐妹们", "宝子", "hello", "Hi", "亲爱的"];
const SUBJECTS: &[&str] =
    &["我", "我们", "你们", "这边", "您", "宝宝", "我妈", "客服", "店长", "快递", "我老公", "同事"];
const VERBS: &[&str] = &[
    "想买",
    "想问一下",
    "收到了",
    "看了下",
    "下单了",
    "用了",
    "试了",
    "很喜欢",
    "推荐",
    "需要",
    "在等",
    "退了",
    "换了",
    "咨询一下",
    "预约了",
    "拍了",
    "付款了",
    "想换",
    "还没收到",
    "已经签收了",
    "刚到手",
];
const THINGS: &[&str] = &[
    "这款连衣裙",
    "那个面霜",
    "精华液",
    "口红色号",
    "奶粉",
    "洗发水",
    "手机壳",
    "蓝牙耳机",
    "运动鞋",
    "羽绒服",
    "保温杯",
    "新品",
    "会员卡",
    "优惠",
    "订单",
    "快递",
    "尺码",
    "颜色",
    "赠品",
    "积分",
    "iPhone 15",
    "M码",
    "XL",
    "套装",
    "礼盒",
    "试用装",
    "防晒霜",
    "面膜",
    "小米手环",
    "扫地机器人",
    "空气炸锅",
    "纸尿裤",
    "猫粮",
    "咖啡豆",
    "儿童座椅",
];
const TAILS: &[&str] = &["吗", "呢", "吧", "啊", "了", "哦", "呀", "", "", ""];
const PHRASES: &[&str] = &[
    "什么时候发货",
    "包邮吗",
    "可以便宜点吗",
    "能退换吗",
    "有货吗",
    "到了吗",
    "效果怎么样",
    "怎么用",
    "好的谢谢",
    "收到",
    "OK",
    "ok的",
    "没问题",
    "稍等一下",
    "马上安排",
    "已经帮您备注了",
    "明天下午三点前发出",
    "大概3到5天",
    "满299减50",
    "今天下单送小样",
    "拍两件打八折",
    "麻烦看一下物流",
    "尺码偏大一码",
    "七天无理由退换",
    "质量真不错",
    "颜色和图片一样",
    "下次还来",
    "已经给您改价了",
    "亲亲这边查一下哈",
    "感谢您的耐心等待",
    "周末有活动",
    "直播间有优惠",
    "会员日双倍积分",
    "顺丰包邮",
    "发的中通",
    "支持货到付款",
    "可以开发票",
    "加入会员群领券",
];
const PUNCT: &[&str] = &["，", "，", "。", "？", "！", "～", " ", "...", "😊", "👍", "", "，"];
const DISGUISES: &[&str] = &[" ", "·", "💗", ".", "\u{200B}", "*", "、"];

/// What the chat file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub lines: u64,
    pub bytes: u64,
    /// Patterns planted as written.
    pub planted: u64,
    /// Patterns planted with a filler inside or in full-width/uppercase ASCII.
    pub disguised: u64,
}

/// The two files and what they hold.
pub struct Files {
    pub patterns: PathBuf,
    pub chat: PathBuf,
    pub manifest: Manifest,
    /// Whether this run wrote them (or found them from an earlier run).
    pub generated: bool,
}

/// Generates the files into `dir` unless they are there already.
pub fn ensure(dir: &Path, count: usize, megabytes: u64, seed: u64) -> anyhow::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let patterns_path = dir.join(format!("patterns-{count}-seed{seed}.txt"));
    let chat_path = dir.join(format!("chat-{megabytes}mb-{count}-seed{seed}.txt"));
    let manifest_path = chat_path.with_extension("json");
    let found = std::fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|m| serde_json::from_str::<Manifest>(&m).ok())
        .filter(|_| patterns_path.exists() && chat_path.exists());
    if let Some(manifest) = found {
        return Ok(Files { patterns: patterns_path, chat: chat_path, manifest, generated: false });
    }
    let words = patterns(count, seed);
    anyhow::ensure!(words.len() == count, "the vocabulary makes only {} distinct patterns", words.len());
    write_atomically(&patterns_path, |out| {
        for w in &words {
            writeln!(out, "{w}")?;
        }
        Ok(())
    })?;
    let bar = super::super::wecom::bar(megabytes, "chat text, MB");
    let mut manifest = Manifest { lines: 0, bytes: 0, planted: 0, disguised: 0 };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5ca7);
    let mut line = String::new();
    write_atomically(&chat_path, |out| {
        while manifest.bytes < megabytes * 1_000_000 {
            line.clear();
            message(&mut rng, &words, &mut line, &mut manifest);
            line.push('\n');
            out.write_all(line.as_bytes())?;
            manifest.bytes += line.len() as u64;
            manifest.lines += 1;
            if manifest.lines.is_multiple_of(10_000) {
                bar.set_position(manifest.bytes / 1_000_000);
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    std::fs::write(&manifest_path, serde_json::to_string(&manifest)?)?;
    Ok(Files { patterns: patterns_path, chat: chat_path, manifest, generated: true })
}

fn write_atomically(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    fill(&mut out)?;
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

/// One chat message: 1–5 clauses joined by punctuation, maybe with a pattern planted between two.
fn message(rng: &mut StdRng, words: &[String], line: &mut String, manifest: &mut Manifest) {
    let clauses = rng.gen_range(1..=5);
    let plant_at = (rng.gen_ratio(1, PLANT_ONE_IN)).then(|| rng.gen_range(0..clauses));
    for i in 0..clauses {
        match rng.gen_range(0..10) {
            0 if i == 0 => line.push_str(pick(rng, GREETINGS)),
            0..=3 => {
                line.push_str(pick(rng, SUBJECTS));
                line.push_str(pick(rng, VERBS));
                line.push_str(pick(rng, THINGS));
                line.push_str(pick(rng, TAILS));
            }
            4 => {
                line.push_str("订单号");
                line.push_str(&rng.gen_range(100_000_000u64..999_999_999).to_string());
            }
            _ => line.push_str(pick(rng, PHRASES)),
        }
        if plant_at == Some(i) {
            line.push_str(pick(rng, &["可以", "有", "需要", "这边", "我们", ""]));
            let word = words.choose(rng).map(String::as_str).unwrap_or_default();
            if rng.gen_ratio(1, DISGUISE_ONE_IN) {
                disguise(rng, word, line);
                manifest.disguised += 1;
            } else {
                line.push_str(word);
                manifest.planted += 1;
            }
        }
        line.push_str(pick(rng, PUNCT));
    }
}

/// `word` written the way customers dodge filters: full-width or uppercase ASCII, or a filler inside.
fn disguise(rng: &mut StdRng, word: &str, line: &mut String) {
    let ascii = word.bytes().any(|b| b.is_ascii_alphanumeric());
    if ascii && rng.gen_bool(0.5) {
        let wide = rng.gen_bool(0.5);
        line.extend(word.chars().map(|c| match c {
            'a'..='z' | '0'..='9' if wide => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            'a'..='z' => c.to_ascii_uppercase(),
            _ => c,
        }));
        return;
    }
    let chars: Vec<char> = word.chars().collect();
    let cut = rng.gen_range(1..chars.len().max(2));
    line.extend(&chars[..cut.min(chars.len())]);
    line.push_str(pick(rng, DISGUISES));
    line.extend(&chars[cut.min(chars.len())..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_distinct_short_and_fixed_by_the_seed() {
        let a = patterns(10_000, 1);
        assert_eq!(a.len(), 10_000);
        assert_eq!(a, patterns(10_000, 1));
        assert_ne!(a, patterns(10_000, 2));
        assert_eq!(a.iter().collect::<std::collections::HashSet<_>>().len(), 10_000);
        assert!(a.iter().all(|w| (2..=6).contains(&w.chars().count())));
        let mixed = a.iter().filter(|w| w.bytes().any(|b| b.is_ascii())).count();
        assert!((300..=600).contains(&mixed), "{mixed} mixed patterns");
    }

    #[test]
    fn a_small_chat_file_is_written_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure(dir.path(), 500, 1, 7).unwrap();
        assert!(first.generated);
        let m = &first.manifest;
        assert!(m.bytes >= 1_000_000 && m.lines > 5_000, "{m:?}");
        assert!(m.planted > 50 && m.disguised > 10, "{m:?}");
        let text = std::fs::read_to_string(&first.chat).unwrap();
        assert_eq!(text.len() as u64, m.bytes);
        assert_eq!(text.lines().count() as u64, m.lines);
        let again = ensure(dir.path(), 500, 1, 7).unwrap();
        assert!(!again.generated);
        assert_eq!(std::fs::read_to_string(&again.chat).unwrap(), text);
    }
}
