//! The tenant full-text index: Chinese queries, the tenant's own words, ranking, filters, upserts and
//! deletes, reopening from disk, highlighting, and arbitrary query text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use siyu_search::Segmenter;
use siyu_search::index::{DocKind, Opened, SearchDoc, SearchQuery, TenantIndex};

fn doc(kind: DocKind, id: &str, title: &str, body: &str) -> SearchDoc {
    SearchDoc {
        kind,
        id: id.to_string(),
        title: title.to_string(),
        body: body.to_string(),
        folder: None,
        tags: Vec::new(),
        visibility: vec!["all".to_string()],
        updated_at: 0,
    }
}

fn index_with(segmenter: Segmenter, docs: &[SearchDoc]) -> TenantIndex {
    let index = TenantIndex::in_ram(segmenter).unwrap();
    index.upsert(docs).unwrap();
    index.commit().unwrap();
    index
}

fn ids(index: &TenantIndex, q: &SearchQuery) -> Vec<String> {
    index.search(q).unwrap().hits.into_iter().map(|h| h.id).collect()
}

fn text(t: &str) -> SearchQuery {
    SearchQuery::text(t)
}

#[test]
fn a_chinese_word_finds_the_document_about_it() {
    let index = index_with(
        Segmenter::new(),
        &[
            doc(DocKind::Script, "refund", "售后话术", "客户申请退款时，先安抚情绪，再说明退款流程和到账时间。"),
            doc(DocKind::Script, "greet", "欢迎语", "您好，欢迎添加我们的客服，有任何问题随时联系。"),
        ],
    );
    assert_eq!(ids(&index, &text("退款")), vec!["refund"]);
    assert_eq!(ids(&index, &text("退款流程")), vec!["refund"]);
    assert_eq!(ids(&index, &text("火箭")), Vec::<String>::new());
}

#[test]
fn every_word_of_the_query_is_required() {
    let index = index_with(
        Segmenter::new(),
        &[
            doc(DocKind::Material, "a", "会员活动", "会员专享优惠券"),
            doc(DocKind::Material, "b", "新品上市", "新品优惠券限时领取"),
        ],
    );
    assert_eq!(ids(&index, &text("会员 优惠券")), vec!["a"]);
    assert_eq!(index.search(&text("优惠券")).unwrap().total, 2);
}

#[test]
fn a_lone_particle_in_the_query_is_not_required() {
    // 的 is cut as its own one-character word: it only adds to the score, so 退款的流程 still finds a
    // document that says 退款流程.
    let index = index_with(Segmenter::new(), &[doc(DocKind::Script, "refund", "退款流程", "申请后三天到账")]);
    assert_eq!(ids(&index, &text("退款的流程")), vec!["refund"]);
}

#[test]
fn a_tenant_word_matches_only_where_it_stands_whole() {
    // The query is cut with the same search-mode tokenizer as the documents. With 企业微信 as a tenant
    // word, the query 企业微信 becomes the terms 企业 and 企业微信 (search mode adds the dictionary words
    // inside a long word), all required; a document where 企业 and 微信 stand apart lacks the term 企业微信,
    // so it does not match at all.
    let docs = [
        doc(DocKind::Material, "whole", "使用指南", "请先下载企业微信，再扫码添加顾问。"),
        doc(DocKind::Material, "apart", "使用指南", "这家企业的客服只用个人微信联系客户。"),
    ];
    let tenant = index_with(Segmenter::with_user_words(["企业微信"]), &docs);
    assert_eq!(ids(&tenant, &text("企业微信")), vec!["whole"]);
    // Only the sub-words the dictionary knows are indexed, and jieba's default dictionary lacks 微信 (it
    // is found by the HMM where it stands alone): so 微信 alone does not find the 企业微信 document...
    assert_eq!(ids(&tenant, &text("微信")), vec!["apart"]);
    // ...unless the tenant adds 微信 as a word too.
    let both_words = index_with(Segmenter::with_user_words(["企业微信", "微信"]), &docs);
    let mut both = ids(&both_words, &text("微信"));
    both.sort();
    assert_eq!(both, vec!["apart", "whole"]);
    assert_eq!(ids(&both_words, &text("企业微信")), vec!["whole"]);

    // Without the tenant word, 企业微信 is only 企业 + 微信: both documents match.
    let plain = index_with(Segmenter::new(), &docs);
    assert_eq!(plain.search(&text("企业微信")).unwrap().total, 2);
}

#[test]
fn a_title_match_ranks_above_a_body_only_match() {
    let index = index_with(
        Segmenter::new(),
        &[
            doc(DocKind::Material, "body", "本周推荐", "限时活动：满减优惠，会员积分翻倍，新品八折。"),
            doc(DocKind::Material, "title", "会员积分规则", "消费一元得一分，可兑换礼品。"),
        ],
    );
    let hits = index.search(&text("会员积分")).unwrap().hits;
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec!["title", "body"]);
    assert!(hits[0].score > hits[1].score);
}

fn filtered_index() -> TenantIndex {
    let mut a = doc(DocKind::Material, "a", "会员海报", "会员日海报");
    a.folder = Some("活动".into());
    a.tags = vec!["会员".into(), "海报".into()];
    a.visibility = vec!["all".into()];
    a.updated_at = 10;
    let mut b = doc(DocKind::Script, "b", "会员话术", "会员日怎么介绍");
    b.folder = Some("话术库".into());
    b.tags = vec!["会员".into()];
    b.visibility = vec!["dept:3".into()];
    b.updated_at = 30;
    let mut c = doc(DocKind::Chat, "c", "", "客户问会员日有什么优惠");
    c.visibility = vec!["staff:zhangsan".into()];
    c.updated_at = 20;
    index_with(Segmenter::new(), &[a, b, c])
}

#[test]
fn filters_by_kind_folder_tag_and_visibility() {
    let index = filtered_index();
    let q = |f: &dyn Fn(&mut SearchQuery)| {
        let mut q = text("会员");
        f(&mut q);
        let mut found = ids(&index, &q);
        found.sort();
        found
    };
    assert_eq!(q(&|_| {}), vec!["a", "b", "c"]);
    assert_eq!(q(&|q| q.kinds = vec![DocKind::Script, DocKind::Chat]), vec!["b", "c"]);
    assert_eq!(q(&|q| q.folder = Some("活动".into())), vec!["a"]);
    assert_eq!(q(&|q| q.tags = vec!["会员".into()]), vec!["a", "b"]);
    assert_eq!(q(&|q| q.tags = vec!["会员".into(), "海报".into()]), vec!["a"]);
    assert_eq!(q(&|q| q.visible_to = vec!["all".into(), "staff:zhangsan".into()]), vec!["a", "c"]);
    assert_eq!(q(&|q| q.visible_to = vec!["dept:4".into()]), Vec::<String>::new());
}

#[test]
fn empty_text_lists_the_filtered_documents_newest_first() {
    let index = filtered_index();
    assert_eq!(ids(&index, &SearchQuery::default()), vec!["b", "c", "a"]);
    let mut q = text("  ，！ ");
    q.visible_to = vec!["all".into(), "dept:3".into()];
    assert_eq!(ids(&index, &q), vec!["b", "a"]);
    assert_eq!(index.search(&q).unwrap().total, 2);
}

#[test]
fn limit_and_offset_page_through_the_hits() {
    let docs: Vec<SearchDoc> = (0..25)
        .map(|i| {
            let mut d = doc(DocKind::Script, &format!("s{i:02}"), "欢迎语", "欢迎添加");
            d.updated_at = i;
            d
        })
        .collect();
    let index = index_with(Segmenter::new(), &docs);
    let mut q = SearchQuery { limit: 10, offset: 20, ..SearchQuery::default() };
    let page = index.search(&q).unwrap();
    assert_eq!(page.total, 25);
    assert_eq!(page.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec!["s04", "s03", "s02", "s01", "s00"]);
    q.limit = 0;
    let counted = index.search(&q).unwrap();
    assert_eq!((counted.total, counted.hits.len()), (25, 0));
}

#[test]
fn a_page_past_the_deepest_offset_is_empty_rather_than_the_deepest_page_again() {
    let max = siyu_search::index::MAX_OFFSET;
    let docs: Vec<SearchDoc> = (0..max + 15).map(|i| doc(DocKind::Chat, &format!("m{i:05}"), "", "好的")).collect();
    let index = index_with(Segmenter::new(), &docs);
    let at = |offset| index.search(&SearchQuery { limit: 10, offset, ..text("好的") }).unwrap();
    let deepest = at(max);
    assert_eq!((deepest.total, deepest.hits.len()), (max + 15, 10));
    let past = at(max + 10);
    assert_eq!((past.total, past.hits.len()), (max + 15, 0), "a next link past the deepest page ends");
}

#[test]
fn a_deleted_document_is_not_found_after_commit() {
    let index = index_with(
        Segmenter::new(),
        &[doc(DocKind::Script, "1", "退款话术", "退款流程"), doc(DocKind::Material, "1", "退款海报", "退款")],
    );
    assert_eq!(index.doc_count(), 2);
    index.delete(DocKind::Script, "1").unwrap();
    assert_eq!(index.search(&text("退款")).unwrap().total, 2, "not visible before the commit");
    index.commit().unwrap();
    let hits = index.search(&text("退款")).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].kind, hits[0].id.as_str()), (DocKind::Material, "1"));
    assert_eq!(index.doc_count(), 1);
}

#[test]
fn upserting_the_same_kind_and_id_replaces_the_document() {
    let index = index_with(Segmenter::new(), &[doc(DocKind::Script, "7", "旧标题", "退款流程")]);
    index.upsert(&[doc(DocKind::Script, "7", "新标题", "发货时间")]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.doc_count(), 1);
    assert!(index.search(&text("退款")).unwrap().hits.is_empty());
    assert_eq!(ids(&index, &text("发货")), vec!["7"]);
    // Twice in one batch: the last one wins.
    index.upsert(&[doc(DocKind::Script, "7", "甲", "苹果"), doc(DocKind::Script, "7", "乙", "香蕉")]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.doc_count(), 1);
    assert_eq!(ids(&index, &text("香蕉")), vec!["7"]);
}

#[test]
fn clear_empties_the_index_at_the_next_commit() {
    let index = index_with(Segmenter::new(), &[doc(DocKind::Script, "1", "退款", "退款")]);
    index.clear().unwrap();
    index.upsert(&[doc(DocKind::Script, "2", "发货", "发货")]).unwrap();
    assert_eq!(index.doc_count(), 1);
    index.commit().unwrap();
    assert_eq!(ids(&index, &SearchQuery::default()), vec!["2"]);
}

#[test]
fn reopening_an_index_on_disk_finds_it_existing_with_its_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant-1");
    {
        let (index, opened) = TenantIndex::open(&path, Segmenter::new()).unwrap();
        assert_eq!(opened, Opened::Created);
        index.upsert(&[doc(DocKind::Material, "m1", "退款流程说明", "七天无理由退款")]).unwrap();
        index.commit().unwrap();
    }
    let (index, opened) = TenantIndex::open(&path, Segmenter::new()).unwrap();
    assert_eq!(opened, Opened::Existing);
    assert_eq!(index.doc_count(), 1);
    assert_eq!(ids(&index, &text("退款")), vec!["m1"]);
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_first, _) = TenantIndex::open(dir.path(), Segmenter::new()).unwrap();
    assert!(TenantIndex::open(dir.path(), Segmenter::new()).is_err());
}

#[test]
fn a_removed_directory_comes_back_created_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant-2");
    {
        let (index, _) = TenantIndex::open(&path, Segmenter::new()).unwrap();
        index.upsert(&[doc(DocKind::Material, "m1", "退款", "退款")]).unwrap();
        index.commit().unwrap();
    }
    std::fs::remove_dir_all(&path).unwrap();
    let (index, opened) = TenantIndex::open(&path, Segmenter::new()).unwrap();
    assert_eq!(opened, Opened::Created);
    assert_eq!(index.doc_count(), 0);
}

#[test]
fn a_corrupt_index_comes_back_created_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (index, _) = TenantIndex::open(dir.path(), Segmenter::new()).unwrap();
        index.upsert(&[doc(DocKind::Material, "m1", "退款", "退款")]).unwrap();
        index.commit().unwrap();
    }
    std::fs::write(dir.path().join("meta.json"), "{ not json").unwrap();
    let (index, opened) = TenantIndex::open(dir.path(), Segmenter::new()).unwrap();
    assert_eq!(opened, Opened::Created);
    assert_eq!(index.doc_count(), 0);
}

#[test]
fn highlighting_marks_the_matched_word_and_escapes_html() {
    let index = index_with(
        Segmenter::new(),
        &[doc(DocKind::Material, "x", "退款<script>alert(1)</script>", "说明：<script>退款</script> & 到账")],
    );
    let hit = &index.search(&text("退款")).unwrap().hits[0];
    assert_eq!(hit.title_html, "<mark>退款</mark>&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_eq!(hit.snippet_html, "说明：&lt;script&gt;<mark>退款</mark>&lt;/script&gt; &amp; 到账");
}

#[test]
fn a_long_body_is_cut_to_a_snippet_around_the_match() {
    let body = format!("{}客户最关心的是退款到账时间。{}", "今天天气很好。".repeat(40), "欢迎再次光临。".repeat(40));
    let index = index_with(Segmenter::new(), &[doc(DocKind::Material, "long", "常见问题", &body)]);
    let hit = &index.search(&text("退款")).unwrap().hits[0];
    assert!(hit.snippet_html.starts_with('…') && hit.snippet_html.ends_with('…'), "{}", hit.snippet_html);
    assert!(hit.snippet_html.contains("<mark>退款</mark>到账"), "{}", hit.snippet_html);
    assert!(hit.snippet_html.chars().count() < 160);
    assert_eq!(hit.title_html, "常见问题");
}

#[test]
fn query_syntax_is_just_text() {
    let index =
        index_with(Segmenter::new(), &[doc(DocKind::Script, "1", "退款 AND 发货", "title:退款 \"引号\" -排除 *")]);
    for q in ["title:退款", "\"退款", "退款 AND", "-排除", "*", "(", "退款)", "~2^3", "[a TO b]"] {
        let _ = index.search(&text(q)).unwrap();
    }
    assert_eq!(ids(&index, &text("AND")), vec!["1"]);
}

#[test]
fn a_commit_is_visible_to_the_next_search_at_once() {
    let index = TenantIndex::in_ram(Segmenter::new()).unwrap();
    for i in 0..5 {
        index.upsert(&[doc(DocKind::Chat, &i.to_string(), "", "新消息到了")]).unwrap();
        index.commit().unwrap();
        assert_eq!(index.search(&text("消息")).unwrap().total, i + 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_query_text_never_panics_or_fails(query in "\\PC{0,40}", limit in 0usize..5000, offset in 0usize..50_000) {
        let index = shared_index();
        let q = SearchQuery { text: query, limit, offset, ..SearchQuery::default() };
        let found = index.search(&q);
        prop_assert!(found.is_ok());
    }
}

fn shared_index() -> &'static TenantIndex {
    static INDEX: std::sync::OnceLock<TenantIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        index_with(
            Segmenter::with_user_words(["企业微信"]),
            &[
                doc(DocKind::Material, "1", "企业微信使用指南", "添加客户、群发消息、<b>退款</b>流程 AND OR NOT \"x\""),
                doc(DocKind::Script, "2", "iPhone 15 Pro", "Hello World! 价格：¥7999，支持以旧换新。"),
            ],
        )
    })
}

fn chat(id: &str, folder: &str, body: &str, at: i64) -> SearchDoc {
    SearchDoc {
        folder: Some(folder.to_string()),
        updated_at: at,
        visibility: Vec::new(),
        ..doc(DocKind::Chat, id, "", body)
    }
}

#[test]
fn matches_gathered_per_folder_count_each_folders_hits_and_name_its_best() {
    let index = index_with(
        Segmenter::new(),
        &[
            chat("m1", "c1", "您好，这件衣服的尺码不太合适，想问一下能不能退款，还有运费谁出呢", 1),
            chat("m2", "c1", "退款退款", 2),
            chat("m3", "c2", "请问退款多久到账", 3),
            chat("m4", "c3", "今天发货", 4),
            doc(DocKind::Script, "s1", "退款话术", "退款"),
        ],
    );
    let q = SearchQuery { kinds: vec![DocKind::Chat], ..text("退款") };
    let groups = index.folders(&q).unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    let c1 = groups.iter().find(|g| g.folder == "c1").unwrap();
    assert_eq!((c1.hits, c1.best_id.as_str()), (2, "m2"));
    let c2 = groups.iter().find(|g| g.folder == "c2").unwrap();
    assert_eq!((c2.hits, c2.best_id.as_str()), (1, "m3"));

    let only = index.search_in_folders(&q, &["c2".to_string(), "c3".to_string()]).unwrap();
    assert_eq!((only.total, only.hits[0].id.as_str()), (1, "m3"));
    assert_eq!(index.search_in_folders(&q, &[]).unwrap().total, 0);

    let marked = index.highlight(DocKind::Chat, &["m3".to_string(), "gone".to_string()], "退款").unwrap();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].snippet_html, "请问<mark>退款</mark>多久到账");
    assert!(index.has_words("退款") && !index.has_words(" ，！"));
}
