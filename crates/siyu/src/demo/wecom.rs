//! The demo's WeCom: a fake WeCom server (siyu_wecom's, real HTTP and crypto) holding the demo brand's corp,
//! started beside the demo server, so the WeCom pages work end to end on a laptop: live codes, welcome
//! messages, mass sends, moments, transfers and app messages about tasks all go to it.
//!
//! The fake mirrors what the demo database has: the brand's front-line staff (their usernames as WeCom
//! userids, in the brand's departments), every customer with an external_userid of the corp and the staff
//! following them, and a few customer groups. siyu's corp points at the fake (its port changes per run, so
//! the corp's API base is updated each start), staff are linked to their members before the first sync,
//! and a full sync is queued. The fake keeps its data in memory: what was created in it during one run
//! (contact ways, templates) is gone after a restart, while siyu still lists it.
//!
//! `siyu admin fake-wecom` runs the same fake on its own with generated staff and customers, printing what
//! to paste into the corp settings page.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use siyu_app::wecom::CorpInput;
use siyu_app::{Actor, App};
use siyu_domain::access::Role;
use siyu_domain::id::CorpId;
use siyu_domain::wecom::add_way_code;
use siyu_store::wecom::StaffSync;
use siyu_wecom::fake::{CorpSetup, FakeConfig, FakeHandle, FakeWecom, ImportedFollow};

use super::brand::DEPARTMENTS;
use super::err;
use super::people::CORP_ID;

pub const SECRET: &str = "siyuDemoContactSecret0001";
pub const APP_SECRET: &str = "siyuDemoAppSecret0001";
pub const TOKEN: &str = "siyuDemoToken";
pub const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub const AGENT_ID: i64 = 1_000_002;
/// Customers mirrored into the fake at most (the demo's default is 50,000).
const MAX_CONTACTS: i64 = 200_000;

/// A fake WeCom whose clock follows the wall clock, with one corp.
pub async fn start_fake(bind: std::net::SocketAddr, corp_id: &str) -> anyhow::Result<FakeHandle> {
    let now = chrono::Utc::now().timestamp();
    let fake = FakeWecom::start(FakeConfig { bind, start_time: now, ..FakeConfig::default() }).await?;
    fake.add_corp(CorpSetup {
        corp_id: corp_id.into(),
        secrets: vec![SECRET.into(), APP_SECRET.into()],
        callback_url: None,
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
        agent_id: AGENT_ID.to_string(),
    });
    let clock = fake.clock().clone();
    tokio::spawn(async move {
        loop {
            clock.set(chrono::Utc::now().timestamp());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    Ok(fake)
}

/// The demo corp: the fake filled from the demo database and siyu's corp pointed at it. `listen` is where
/// the demo server will answer (the fake pushes callbacks there).
pub async fn start(app: &App, owner: &Actor, listen: &str) -> anyhow::Result<(FakeHandle, CorpId)> {
    let fake = start_fake("127.0.0.1:0".parse()?, CORP_ID).await?;
    let tenant = owner.tenant;
    // Departments by name, as the brand made them.
    let names: HashMap<_, _> =
        app.store.departments().list(tenant).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let dept_of = |name: &str| DEPARTMENTS.iter().position(|(_, n)| *n == name).map(|i| i as u64 + 2);
    for (i, (_, name)) in DEPARTMENTS.iter().enumerate() {
        fake.add_department(CORP_ID, i as u64 + 2, name, 1)?;
    }
    let staff: Vec<_> = app
        .store
        .members()
        .list(tenant)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Staff && m.active && !m.username.starts_with("wecom."))
        .collect();
    let mut userids = HashMap::new();
    for m in &staff {
        let dept = m.department_id.and_then(|d| names.get(&d)).and_then(|n| dept_of(n)).unwrap_or(1);
        fake.add_staff(CORP_ID, &m.username, &m.display_name, &[dept])?;
        fake.set_contact_permission(CORP_ID, &m.username, true)?;
        userids.insert(m.user_id, (m.username.clone(), dept));
    }

    // Customers and their relations as siyu has them (remark, channel state, add way, time), so the sync
    // finds them unchanged; then a few groups of each region's first staff member's customers.
    let mut contacts: BTreeMap<String, (String, Vec<ImportedFollow>)> = BTreeMap::new();
    for (ext, name, f) in app.store.wecom().corp_contacts(tenant, CORP_ID, MAX_CONTACTS).await? {
        if let Some((userid, _)) = userids.get(&f.user_id) {
            let follow = ImportedFollow {
                userid: userid.clone(),
                remark: f.remark.unwrap_or_default(),
                description: f.description.unwrap_or_default(),
                state: f.state.unwrap_or_default(),
                add_way: u8::try_from(add_way_code(&f.add_way)).unwrap_or(0),
                createtime: f.added_at.timestamp(),
            };
            contacts.entry(ext).or_insert_with(|| (name, Vec::new())).1.push(follow);
        }
    }
    let mut by_staff: HashMap<&str, Vec<&str>> = HashMap::new();
    for (ext, (name, follows)) in &contacts {
        fake.import_contact(CORP_ID, ext, name, follows)?;
        if let Some(first) = follows.first() {
            by_staff.entry(first.userid.as_str()).or_default().push(ext);
        }
    }
    let mut owners: Vec<&str> = by_staff.keys().copied().collect();
    owners.sort_unstable();
    for (i, owner) in owners.iter().take(6).enumerate() {
        let members: Vec<&str> = by_staff[owner].iter().copied().take(40 + 25 * i).collect();
        let name = ["会员福利群", "新品体验群", "门店 VIP 群", "双 11 秒杀群", "护肤交流群", "老客回馈群"][i];
        fake.create_group(CORP_ID, owner, name, &members).await?;
    }

    let corp = connect(app, owner, &fake).await?;
    let now = app.now();
    for m in &staff {
        let (userid, dept) = &userids[&m.user_id];
        if app.store.wecom().staff_by_userid(tenant, corp, userid).await?.is_none() {
            let link = StaffSync {
                userid: userid.clone(),
                user_id: m.user_id,
                name: m.display_name.clone(),
                departments: vec![*dept as i64],
                main_department: Some(*dept as i64),
                position: Some("导购".into()),
                status: 1,
                contact_enabled: true,
                at: now,
            };
            app.store.wecom().upsert_staff(tenant, corp, &link).await?;
        }
    }
    fake.set_callback_url(CORP_ID, Some(format!("http://{listen}/wecom/callback/{corp}")))?;
    app.queue_wecom_sync(owner, corp).await.map_err(err)?;
    Ok((fake, corp))
}

/// Connects the demo corp to `fake`, or points the connected one at it.
async fn connect(app: &App, owner: &Actor, fake: &FakeHandle) -> anyhow::Result<CorpId> {
    let input = CorpInput {
        corp_id: CORP_ID.into(),
        name: "悦颜美妆（演示企业）".into(),
        agent_id: Some(AGENT_ID),
        contact_secret: SECRET.into(),
        app_secret: APP_SECRET.into(),
        callback_token: TOKEN.into(),
        callback_aes_key: AES_KEY.into(),
        api_base: fake.base_url(),
        active: true,
    };
    Ok(match app.store.wecom().corp_by_corp_id(owner.tenant, CORP_ID).await? {
        Some(c) => app.update_corp(owner, c.id, &input).await.map_err(err)?.corp.id,
        None => app.connect_corp(owner, &input).await.map_err(err)?.corp.id,
    })
}
