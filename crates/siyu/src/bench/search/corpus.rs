//! The generated corpus of `siyu bench search`: materials and scripts of a retail brand, written in
//! sentences built from real Chinese words (products, brands, marketing and customer-service phrases), and
//! the queries drawn from the same words. The same seed gives the same files.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The tenant's own words: brand and product-line names, given to both segmenters.
pub const BRANDS: &[&str] = &[
    "企业微信",
    "小米之家",
    "花西子",
    "完美日记",
    "元气森林",
    "喜茶",
    "蕉内",
    "认养一头牛",
    "三顿半",
    "钟薛高",
    "观夏",
    "珀莱雅",
    "薇诺娜",
    "内外",
    "茶颜悦色",
    "泡泡玛特",
];

const PRODUCTS: &[&str] = &[
    "面霜",
    "精华液",
    "口红",
    "粉底液",
    "防晒霜",
    "洗面奶",
    "面膜",
    "香水",
    "眼霜",
    "卸妆水",
    "连衣裙",
    "运动鞋",
    "羽绒服",
    "牛仔裤",
    "衬衫",
    "毛衣",
    "背包",
    "手表",
    "耳机",
    "手机",
    "平板电脑",
    "充电宝",
    "咖啡",
    "牛奶",
    "酸奶",
    "奶粉",
    "零食",
    "坚果",
    "茶叶",
    "气泡水",
    "月饼",
    "礼盒",
    "保温杯",
    "床品",
    "四件套",
    "枕头",
    "洗衣液",
    "纸巾",
    "宠物粮",
    "猫砂",
    "玩具",
    "绘本",
    "盲盒",
    "冰淇淋",
    "蛋糕",
    "面包",
    "红酒",
    "白酒",
];

const ADJECTIVES: &[&str] = &[
    "限时", "优惠", "新品", "爆款", "专属", "免费", "正品", "热销", "经典", "高端", "实惠", "清爽", "保湿", "温和",
    "轻薄", "舒适", "时尚", "简约", "健康", "天然", "有机", "低糖", "进口", "国货", "定制", "限量", "超值", "官方",
];

const VERBS: &[&str] = &[
    "购买", "领取", "参加", "下单", "咨询", "退款", "发货", "预约", "试用", "兑换", "分享", "收藏", "推荐", "评价",
    "退货", "换货", "签收", "支付", "充值", "升级", "续费", "报名", "抢购", "体验", "安装", "维修", "注册", "登录",
];

const NOUNS: &[&str] = &[
    "会员",
    "积分",
    "优惠券",
    "满减",
    "折扣",
    "红包",
    "赠品",
    "包邮",
    "活动",
    "直播间",
    "社群",
    "门店",
    "商城",
    "小程序",
    "客服",
    "顾问",
    "订单",
    "物流",
    "快递",
    "售后",
    "发票",
    "地址",
    "库存",
    "价格",
    "质量",
    "尺码",
    "颜色",
    "款式",
    "成分",
    "功效",
    "口味",
    "包装",
    "保质期",
    "生日",
    "节日",
    "周年庆",
    "双十一",
    "年货节",
    "新年",
    "春季",
    "夏季",
    "秋冬",
    "朋友圈",
    "公众号",
    "视频号",
    "二维码",
];

const PEOPLE: &[&str] = &["亲", "您", "宝子", "姐妹", "老客户", "新客户", "会员朋友", "各位家人"];

const TITLE_TEMPLATES: &[&str] = &[
    "{brand}{adj}{product}{noun}",
    "{adj}{product}{verb}指南",
    "{noun}{verb}话术：{product}篇",
    "{brand}{noun}{adj}{verb}",
    "{product}{noun}常见问题",
    "{adj}{noun}：{brand}{product}",
];

const SENTENCE_TEMPLATES: &[&str] = &[
    "{people}好，{brand}的{adj}{product}现在{verb}可以享受{noun}。",
    "{people}，这款{product}是我们家的{adj}款，很多{people}都在{verb}。",
    "如需{verb}，请联系{noun}，我们会尽快为您处理。",
    "本次{noun}期间，{adj}{product}满三百减五十，{verb}还送{noun}。",
    "{product}的{noun}和{noun}都写在详情页里，{people}可以先{verb}再决定。",
    "关于{verb}，一般三到五个工作日完成，{noun}会同步更新。",
    "欢迎添加{brand}{noun}，每周都有{adj}{product}的{noun}。",
    "{people}如果对{product}不满意，七天内可以申请{verb}。",
    "扫描{noun}即可进入{brand}{noun}，{verb}后自动累计{noun}。",
    "我们的{product}采用{adj}配方，适合日常使用，{verb}前请确认{noun}。",
    "今晚八点{noun}开播，{adj}{product}{verb}立享{noun}。",
    "已为{people}登记{verb}，{noun}信息请在{noun}查看。",
];

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words.choose(rng).copied().unwrap_or_default()
}

fn fill(rng: &mut StdRng, template: &str) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        let slot = &rest[open + 1..open + close];
        out.push_str(match slot {
            "brand" => pick(rng, BRANDS),
            "product" => pick(rng, PRODUCTS),
            "adj" => pick(rng, ADJECTIVES),
            "verb" => pick(rng, VERBS),
            "noun" => pick(rng, NOUNS),
            "people" => pick(rng, PEOPLE),
            _ => "",
        });
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A sentence of chat, product or marketing text.
pub fn sentence(rng: &mut StdRng) -> String {
    let template = pick(rng, SENTENCE_TEMPLATES);
    fill(rng, template)
}

/// One document: a title and a body of 3–8 sentences.
pub fn document(rng: &mut StdRng) -> (String, String) {
    let template = pick(rng, TITLE_TEMPLATES);
    let title = fill(rng, template);
    let n = rng.gen_range(3..=8);
    let body: String = (0..n).map(|_| sentence(rng)).collect();
    (title, body)
}

/// A query of 1–3 words from the vocabulary (brands, products, nouns, verbs, adjectives), space-separated
/// about half the time and run together otherwise, as people type them.
pub fn query(rng: &mut StdRng) -> String {
    let n = rng.gen_range(1..=3);
    let words: Vec<&str> = (0..n)
        .map(|_| match rng.gen_range(0..10) {
            0 => pick(rng, BRANDS),
            1..=3 => pick(rng, PRODUCTS),
            4..=6 => pick(rng, NOUNS),
            7..=8 => pick(rng, VERBS),
            _ => pick(rng, ADJECTIVES),
        })
        .collect();
    words.join(if rng.gen_bool(0.5) { " " } else { "" })
}

/// The files of one corpus, under `dir`.
pub struct Files {
    /// `id<TAB>title<TAB>body` a line.
    pub docs: PathBuf,
    /// One query a line.
    pub queries: PathBuf,
    /// Sentences, one a line, at least the requested megabytes.
    pub text: PathBuf,
    /// The tenant's words, one a line.
    pub words: PathBuf,
}

fn write_lines(path: &Path, mut line: impl FnMut(&mut dyn Write) -> std::io::Result<bool>) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
    while line(&mut w)? {}
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Writes (or reuses) the corpus files: `docs` documents, `queries` queries and `text_mb` MB of text.
pub fn ensure(dir: &Path, docs: usize, queries: usize, text_mb: usize, seed: u64) -> anyhow::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        docs: dir.join(format!("docs-{docs}-{seed}.tsv")),
        queries: dir.join(format!("queries-{queries}-{seed}.txt")),
        text: dir.join(format!("text-{text_mb}mb-{seed}.txt")),
        words: dir.join("words.txt"),
    };
    std::fs::write(&files.words, BRANDS.join("\n") + "\n")?;
    if !files.docs.exists() {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut i = 0;
        write_lines(&files.docs, |w| {
            if i == docs {
                return Ok(false);
            }
            let (title, body) = document(&mut rng);
            writeln!(w, "{i}\t{title}\t{body}")?;
            i += 1;
            Ok(true)
        })?;
    }
    if !files.queries.exists() {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0001);
        let mut i = 0;
        write_lines(&files.queries, |w| {
            i += 1;
            writeln!(w, "{}", query(&mut rng))?;
            Ok(i < queries)
        })?;
    }
    if !files.text.exists() {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0002);
        let target = text_mb * 1_000_000;
        let mut written = 0;
        write_lines(&files.text, |w| {
            // A line is a paragraph of 5–15 sentences, as a chat log or an article would be.
            let n = rng.gen_range(5..=15);
            let line: String = (0..n).map(|_| sentence(&mut rng)).collect();
            writeln!(w, "{line}")?;
            written += line.len() + 1;
            Ok(written < target)
        })?;
    }
    Ok(files)
}

/// Reads the documents file back.
pub fn read_docs(path: &Path) -> anyhow::Result<Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(3, '\t');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some(title), Some(body)) => Ok((id.to_string(), title.to_string(), body.to_string())),
                _ => anyhow::bail!("{}: malformed line {line:?}", path.display()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_documents_and_queries() {
        let mut a = StdRng::seed_from_u64(3);
        let mut b = StdRng::seed_from_u64(3);
        assert_eq!(document(&mut a), document(&mut b));
        assert_eq!(query(&mut a), query(&mut b));
    }

    #[test]
    fn documents_hold_no_tab_or_newline_and_no_empty_slot() {
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..200 {
            let (title, body) = document(&mut rng);
            for s in [&title, &body] {
                assert!(!s.contains('\t') && !s.contains('\n') && !s.contains('{'), "{s}");
            }
            assert!(body.chars().count() > 40);
        }
    }
}
