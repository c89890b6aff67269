//! The demo's session archive (会话存档): a word list 「引流与违规词」, the brand's dictionary and rules of most
//! kinds, then a few hundred archived chats from the fake WeCom's generator ingested as a sidecar would, so
//! the archive pages have conversations and a handful of alerts of each kind; and a join-and-leave flood in
//! one group for the flood rule.
//!
//! Runs once per database, in the background once the first WeCom sync has stored the fake's groups (group
//! chats then link to their groups and owners). A corp whose archive cursor has messages is left alone, so a
//! re-run changes nothing; the ingest is idempotent on msgid besides.

use std::collections::BTreeSet;
use std::time::Duration;

use siyu_app::archive::{RuleInput, WordListInput, WordsInput};
use siyu_app::{Actor, App};
use siyu_domain::archive::{RuleConfig, RuleKind};
use siyu_domain::id::{CorpId, WordListId};
use siyu_wecom::fake::{ARCHIVE_PAGE, ArchiveSetup, FakeHandle};

use super::err;
use super::people::CORP_ID;
use super::words::PRODUCTS;

const LIST_NAME: &str = "引流与违规词";
const WORDS: &[&str] = &[
    "加微信",
    "加我微信",
    "vx",
    "加v",
    "威信",
    "私聊",
    "私下交易",
    "返现",
    "好评返现",
    "刷单",
    "代购",
    "淘宝",
    "拼多多",
    "转账给我",
    "低价出",
    "兼职日结",
];
/// Brand and product words: they keep hits out of longer words (企业微信 is not 微信).
const BRAND_WORDS: &[&str] = &["企业微信", "花漾", "花漾美妆", "会员日", "小金瓶", "玻尿酸精华", "氨基酸洁面乳"];
const COMPETITORS: &[&str] = &["jd.com", "taobao.com", "tmall.com", "pinduoduo.com", "yangkeduo.com"];
/// The brand's own domains: links to them in groups are fine.
const OWN_DOMAINS: &[&str] = &["huayang-beauty.cn"];
/// How long to wait for the first sync to store the groups.
const SYNC_WAIT: Duration = Duration::from_secs(120);

/// Seeds the archive in the background (see the module's description); failures are logged only.
pub fn spawn(app: App, owner: Actor, fake: FakeHandle, corp: CorpId) {
    tokio::spawn(async move {
        if let Err(error) = seed(&app, &owner, &fake, corp).await {
            tracing::warn!(%error, "demo archive not seeded");
        }
    });
}

/// Whether the corp's archive already has messages.
async fn seeded(app: &App, owner: &Actor, corp: CorpId) -> anyhow::Result<bool> {
    let cursors = app.store.archive().cursors(owner.tenant).await?;
    Ok(cursors.iter().any(|c| c.corp_row_id == corp.0 && c.messages > 0))
}

async fn seed(app: &App, owner: &Actor, fake: &FakeHandle, corp: CorpId) -> anyhow::Result<()> {
    if seeded(app, owner, corp).await? {
        return Ok(());
    }
    rules(app, owner).await?;
    let setup = ArchiveSetup {
        seed: super::people::SEED,
        single_chats: 40,
        group_messages: 16,
        groups: 6,
        days: 3,
        products: PRODUCTS.iter().map(|p| (*p).to_owned()).collect(),
    };
    fake.generate_archive(CORP_ID, &setup)?;
    let mut items = Vec::new();
    loop {
        let page = fake.archive_messages(CORP_ID, items.len() as u64, ARCHIVE_PAGE);
        if page.is_empty() {
            break;
        }
        items.extend(page);
    }
    let rooms: BTreeSet<&str> =
        items.iter().filter_map(|i| i["message"]["roomid"].as_str()).filter(|r| !r.is_empty()).collect();
    wait_for_groups(app, owner, corp, &rooms).await?;
    let (mut messages, mut alerts) = (0, 0);
    for page in items.chunks(ARCHIVE_PAGE) {
        let result = app.ingest_items(owner.tenant, corp, CORP_ID, page).await.map_err(err)?;
        messages += result.accepted;
        alerts += result.alerts;
    }
    fake.push_msgaudit_notify(CORP_ID).await?;
    if let Some(room) = rooms.first() {
        flood(app, owner, fake, room).await?;
    }
    tracing::info!(messages, alerts, "demo archive seeded");
    Ok(())
}

/// The word list, dictionary and rules, each made once.
async fn rules(app: &App, owner: &Actor) -> anyhow::Result<()> {
    let list = match app.word_lists(owner).await.map_err(err)?.into_iter().find(|l| l.name == LIST_NAME) {
        Some(l) => WordListId(l.id),
        None => {
            let input = WordListInput {
                name: LIST_NAME.into(), description: "引流到个人号、站外交易和刷单".into()
            };
            WordListId(app.create_word_list(owner, &input).await.map_err(err)?.id)
        }
    };
    let words = WordsInput { words: WORDS.iter().map(|w| (*w).to_owned()).collect(), strict: false };
    app.add_words(owner, list, &words).await.map_err(err)?;
    let mut dictionary: Vec<String> = BRAND_WORDS.iter().map(|w| (*w).to_owned()).collect();
    dictionary.extend(PRODUCTS.iter().map(|p| (*p).to_owned()));
    app.set_dictionary(owner, &dictionary).await.map_err(err)?;

    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let with = |kind: RuleKind, f: &dyn Fn(&mut RuleConfig)| {
        let mut c = RuleConfig::defaults(kind);
        f(&mut c);
        c
    };
    let wanted: Vec<(RuleKind, &str, RuleConfig)> = vec![
        (RuleKind::Words, "引流与违规词", with(RuleKind::Words, &|c| c.word_lists = vec![list.0])),
        (RuleKind::Phone, "员工发送手机号", RuleConfig::defaults(RuleKind::Phone)),
        (RuleKind::RedPacket, "员工发红包", RuleConfig::defaults(RuleKind::RedPacket)),
        (RuleKind::Card, "员工发名片", RuleConfig::defaults(RuleKind::Card)),
        (
            RuleKind::CompetitorLink,
            "发送竞品链接",
            with(RuleKind::CompetitorLink, &|c| c.domains = strings(COMPETITORS)),
        ),
        (RuleKind::ResponseTime, "30 分钟未回复", with(RuleKind::ResponseTime, &|c| c.minutes = Some(30))),
        (RuleKind::GroupQr, "群内发二维码", RuleConfig::defaults(RuleKind::GroupQr)),
        (RuleKind::GroupLink, "群内发外链", with(RuleKind::GroupLink, &|c| c.domains = strings(OWN_DOMAINS))),
        (RuleKind::GroupWeapp, "群内发小程序", RuleConfig::defaults(RuleKind::GroupWeapp)),
        (RuleKind::GroupCard, "群内发名片", RuleConfig::defaults(RuleKind::GroupCard)),
        (
            RuleKind::GroupFlood,
            "频繁进退群",
            with(RuleKind::GroupFlood, &|c| (c.minutes, c.count) = (Some(10), Some(3))),
        ),
    ];
    let existing = app.rules(owner).await.map_err(err)?;
    for (kind, name, config) in wanted {
        if existing.iter().any(|r| r.kind == kind) {
            continue;
        }
        let input = RuleInput { kind, name: name.into(), enabled: true, config: Some(config) };
        app.save_rule(owner, None, &input).await.map_err(err)?;
    }
    Ok(())
}

/// Waits until siyu knows every group in `rooms` (the first sync runs on the server's worker).
async fn wait_for_groups(app: &App, owner: &Actor, corp: CorpId, rooms: &BTreeSet<&str>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    while started.elapsed() < SYNC_WAIT {
        let mut known = 0;
        for room in rooms {
            known += usize::from(app.store.wecom().group_by_chat(owner.tenant, corp, room).await?.is_some());
        }
        if known == rooms.len() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tracing::warn!("the demo's groups were not synced in time; group chats are archived without their group");
    Ok(())
}

/// Four customers join `room` by QR code and leave again at once (the callbacks reach the demo server),
/// then the sweep runs so the flood rule sees it.
async fn flood(app: &App, owner: &Actor, fake: &FakeHandle, room: &str) -> anyhow::Result<()> {
    let contacts = app.store.wecom().corp_contacts(owner.tenant, CORP_ID, 2_000).await?;
    let mut done = 0;
    for (ext, ..) in contacts.iter().rev() {
        if done == 4 {
            break;
        }
        // Members already in the group are refused: try the next.
        if fake.join_group(CORP_ID, room, ext, 3).await.is_ok() {
            fake.leave_group(CORP_ID, room, ext, 0).await?;
            done += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.sweep_archive().await.map_err(err)?;
    Ok(())
}
