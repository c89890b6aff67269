use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

fn rule(id: i64, word: &str) -> WordRule {
    WordRule { id, word: word.to_string(), strict: false }
}

fn strict(id: i64, word: &str) -> WordRule {
    WordRule { id, word: word.to_string(), strict: true }
}

/// A tenant segmenter with brand words (built once: it copies the whole dictionary).
fn tenant() -> Segmenter {
    static TENANT: OnceLock<Segmenter> = OnceLock::new();
    TENANT.get_or_init(|| Segmenter::with_user_words(["企业微信", "企业微信群", "小米之家"])).clone()
}

fn scanner(rules: Vec<WordRule>) -> Scanner {
    Scanner::new(rules, tenant()).unwrap()
}

/// The hits as (rule id, original substring).
fn found<'a>(s: &Scanner, text: &'a str) -> Vec<(i64, &'a str)> {
    s.scan(text).iter().map(|h| (h.rule_id, &text[h.start..h.end])).collect()
}

#[test]
fn overlapping_rules_report_the_longest_match_at_each_position() {
    let s = scanner(vec![rule(1, "微信"), rule(2, "加微信"), rule(3, "微信号")]);
    assert_eq!(found(&s, "加微信吧"), vec![(2, "加微信")]);
    assert_eq!(found(&s, "我的微信号是"), vec![(3, "微信号")]);
    assert_eq!(found(&s, "用微信聊"), vec![(1, "微信")]);
    // Leftmost first: 加微信 starts before 微信号, and hits do not overlap.
    assert_eq!(found(&s, "加微信号"), vec![(2, "加微信")]);
    assert_eq!(found(&s, "微信微信号加微信"), vec![(1, "微信"), (3, "微信号"), (2, "加微信")]);
}

#[test]
fn mixed_chinese_english_and_digit_rules_hit_and_report_their_words_as_written() {
    let s = scanner(vec![rule(1, "vx"), rule(2, "qq"), rule(3, "V信"), rule(4, "加v"), rule(5, "3q")]);
    let hits = s.scan("我的VX是abc，QQ也行，V信聊，3Q");
    let words: Vec<&str> = hits.iter().map(|h| h.word.as_str()).collect();
    assert_eq!(words, ["vx", "qq", "V信", "3q"]);
    assert_eq!(found(&s, "加v好友"), vec![(4, "加v")]);
    // Leftmost wins: 加v starts before vx.
    assert_eq!(found(&s, "加VX"), vec![(4, "加V")]);
    assert_eq!(found(&s, "v信"), vec![(3, "v信")]);
    assert_eq!(found(&s, "q3q"), vec![(5, "3q")]);
    assert!(s.scan("这是一句普通的话 abc 123").is_empty());
    // QQ号 is a word of jieba's default dictionary: a loose qq does not hit inside it, a strict one does.
    assert!(s.scan("QQ号多少").is_empty());
    let hard = scanner(vec![strict(2, "qq")]);
    assert_eq!(found(&hard, "QQ号多少"), vec![(2, "QQ")]);
}

#[test]
fn full_width_letters_and_digits_hit_their_ascii_rules() {
    let s = scanner(vec![rule(1, "qq"), rule(2, "vx"), rule(3, "加v"), rule(4, "12345")]);
    assert_eq!(found(&s, "加我ＱＱ"), vec![(1, "ＱＱ")]);
    assert_eq!(found(&s, "ｖｘ：ａｂｃ"), vec![(2, "ｖｘ")]);
    assert_eq!(found(&s, "Ｖ Ｘ"), vec![(2, "Ｖ Ｘ")]);
    assert_eq!(found(&s, "快加Ｖ"), vec![(3, "加Ｖ")]);
    assert_eq!(found(&s, "号码１２３４５"), vec![(4, "１２３４５")]);
    assert_eq!(found(&s, "号码①②③④⑤"), vec![(4, "①②③④⑤")]);
}

#[test]
fn punctuation_spaces_zero_width_characters_and_emoji_inside_a_word_do_not_hide_it() {
    let s = scanner(vec![rule(1, "微信"), rule(2, "qq"), rule(3, "加微信"), rule(4, "vx")]);
    assert_eq!(found(&s, "我的微，信"), vec![(1, "微，信")]);
    assert_eq!(found(&s, "微 信"), vec![(1, "微 信")]);
    assert_eq!(found(&s, "微.信"), vec![(1, "微.信")]);
    assert_eq!(found(&s, "微★信"), vec![(1, "微★信")]);
    assert_eq!(found(&s, "微\u{200B}信"), vec![(1, "微\u{200B}信")]);
    assert_eq!(found(&s, "我Q Q多少"), vec![(2, "Q Q")]);
    assert_eq!(found(&s, "快加💗微💗信吧"), vec![(3, "加💗微💗信")]);
    assert_eq!(found(&s, "V.X：abc"), vec![(4, "V.X")]);
    assert_eq!(found(&s, "【微】【信】"), vec![(1, "微】【信")]);
    // Filler before and after the word stays out of the range.
    assert_eq!(found(&s, "，，微信！！"), vec![(1, "微信")]);
}

#[test]
fn a_rule_inside_a_longer_dictionary_word_is_not_a_hit_unless_strict() {
    let loose = scanner(vec![rule(1, "微信")]);
    assert!(loose.scan("请加我企业微信").is_empty());
    assert_eq!(found(&loose, "加我微信"), vec![(1, "微信")]);
    assert_eq!(found(&loose, "企业微信和微信"), vec![(1, "微信")]);
    let hard = scanner(vec![strict(1, "微信")]);
    assert_eq!(found(&hard, "请加我企业微信"), vec![(1, "微信")]);
    // Without the tenant's word, 企业微信 is two words and 微信 hits.
    let plain = Scanner::new(vec![rule(1, "微信")], Segmenter::new()).unwrap();
    assert_eq!(found(&plain, "请加我企业微信"), vec![(1, "微信")]);
}

#[test]
fn a_longer_word_that_is_itself_a_rule_is_reported() {
    let s = scanner(vec![rule(1, "微信"), rule(2, "企业微信")]);
    assert_eq!(found(&s, "请加我企业微信"), vec![(2, "企业微信")]);
}

#[test]
fn punctuation_between_two_words_does_not_join_them_into_a_dictionary_word() {
    let s = scanner(vec![rule(1, "微信")]);
    assert_eq!(found(&s, "我在企业。微信上找你"), vec![(1, "微信")]);
    assert_eq!(found(&s, "企业.微信"), vec![(1, "微信")]);
}

#[test]
fn a_dropped_longer_hit_still_lets_a_shorter_strict_rule_at_the_same_place_hit() {
    let s = scanner(vec![rule(1, "企业微信"), strict(2, "企业")]);
    assert_eq!(found(&s, "加入企业微信群"), vec![(2, "企业")]);
    let loose = scanner(vec![rule(1, "企业微信"), rule(2, "企业")]);
    assert!(loose.scan("加入企业微信群").is_empty());
    assert_eq!(found(&loose, "加入企业微信吧"), vec![(1, "企业微信")]);
}

#[test]
fn hit_offsets_map_to_the_exact_original_substring() {
    let s = scanner(vec![rule(1, "微信"), rule(2, "vx"), rule(3, "加v"), rule(4, "12345")]);
    let text = "Hi！ 加　Ｖ吗？ 我的 微 💗 信：１２３❹5，vX";
    let hits = s.scan(text);
    let got: Vec<(i64, &str)> = hits.iter().map(|h| (h.rule_id, &text[h.start..h.end])).collect();
    assert_eq!(got, vec![(3, "加　Ｖ"), (1, "微 💗 信"), (4, "１２３❹5"), (2, "vX")]);
    for h in &hits {
        assert_eq!(h.range(), h.start..h.end);
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
    }
}

#[test]
fn an_empty_rule_list_never_hits() {
    let s = scanner(Vec::new());
    assert!(s.is_empty());
    assert_eq!(s.len(), 0);
    assert!(s.scan("加微信 vx qq").is_empty());
    assert!(s.scan("").is_empty());
}

#[test]
fn blank_rules_are_skipped_and_duplicates_merged_keeping_the_first_id() {
    let s = scanner(vec![
        rule(1, "  "),
        rule(2, "，。"),
        rule(3, "微信"),
        strict(4, "微 信"),
        rule(5, "ＷＸ"),
        rule(6, "wx"),
        rule(7, ""),
    ]);
    assert_eq!(s.len(), 2);
    let hits = s.scan("企业微信, WX");
    assert_eq!(hits.len(), 2);
    // The merged rule is strict (one of its copies is), so it hits inside 企业微信.
    assert_eq!((hits[0].rule_id, hits[0].word.as_str()), (3, "微信"));
    assert_eq!((hits[1].rule_id, hits[1].word.as_str()), (5, "ＷＸ"));
}

#[test]
fn the_excerpt_shows_the_hit_with_context_either_side() {
    let s = scanner(vec![rule(1, "微信")]);
    let text = "你好呀今天天气不错\n加我微信吧我们聊聊好吗";
    let hits = s.scan(text);
    assert_eq!(hits.len(), 1);
    assert_eq!(excerpt(text, &hits[0], 3), "… 加我微信吧我们…");
    assert_eq!(excerpt(text, &hits[0], 100), "你好呀今天天气不错 加我微信吧我们聊聊好吗");
    assert_eq!(excerpt(text, &hits[0], 0), "…微信…");
    let stray = Hit { rule_id: 1, word: "x".into(), start: 1, end: 1000 };
    assert_eq!(excerpt("微信", &stray, 1), "微信");
}

#[test]
fn the_scanner_is_send_and_sync_and_cheap_to_share() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Scanner>();
    let s = std::sync::Arc::new(scanner(vec![rule(1, "微信")]));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.scan("加我微信").len())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 1);
    }
}

/// Text made mostly of characters the rules use, with fillers, full-width forms and odd characters.
fn chat_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "微", "信", "加", "企业", "号", "v", "V", "Ｖ", "x", "ｘ", "q", "Q", "3", "１", "①", " ", "，", ".", "💗",
        "\u{200B}", "\u{FE0F}", "é", "e\u{301}", "\n", "群", "我",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

fn check_hits(s: &Scanner, text: &str) {
    let hits = s.scan(text);
    let mut last_end = 0;
    for h in &hits {
        assert!(h.start < h.end && h.end <= text.len(), "{h:?} in {text:?}");
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end), "{h:?} in {text:?}");
        assert!(h.start >= last_end, "overlapping hits in {text:?}: {hits:?}");
        assert_eq!(normalize(&text[h.range()]), normalize(&h.word), "{h:?} in {text:?}");
        last_end = h.end;
        let _ = excerpt(text, h, 5);
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_hits_are_char_boundary_ranges(
        text in prop_oneof![any::<String>(), chat_text()]
    ) {
        static S: OnceLock<Scanner> = OnceLock::new();
        let s = S.get_or_init(|| scanner(vec![
            rule(1, "微信"), rule(2, "加微信"), strict(3, "企业"), rule(4, "vx"), rule(5, "qq"), rule(6, "3q"),
            rule(7, "加v"), rule(8, "1①"), rule(9, "é"), rule(10, "群"),
        ]));
        check_hits(s, &text);
    }

    #[test]
    fn arbitrary_rules_over_arbitrary_text_never_panic(
        words in prop::collection::vec(prop_oneof![any::<String>(), chat_text()], 0..8),
        text in prop_oneof![any::<String>(), chat_text()],
        hit_at in any::<prop::sample::Index>(),
    ) {
        let rules = words.iter().enumerate().map(|(i, w)| rule(i as i64, w));
        let s = Scanner::new(rules, Segmenter::new()).unwrap();
        check_hits(&s, &text);
        let start = hit_at.index(text.len() + 1);
        let _ = excerpt(&text, &Hit { rule_id: 0, word: String::new(), start, end: start + 3 }, 2);
    }
}
