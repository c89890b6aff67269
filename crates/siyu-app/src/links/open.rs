//! Opening a tracked link: `/l/{code}` finds the tenant by the code's key and the link by (tenant, code),
//! records the open once per visitor and half-hour window, and for a known customer sets off, exactly once
//! per open: the open tags on their first open of the link (the link's and its material's), an app message
//! to the link's staff member (at most one per customer, link and hour), the `link_opened` timeline entry
//! (written with the open, it is also the journey signal) and the material's usage count. A retried or replayed request finds its open
//! and only finishes what a crash left undone (`effects_done`); so does the worker's sweep
//! ([`App::finish_link_opens`]) for opens nobody retried. Bots, previews and HEAD requests are not
//! opens. Reading time comes in as beats, bounded and kept as the longest per open.

use serde_json::json;
use siyu_domain::id::{CustomerId, LinkId, LinkOpenId, TagId, TenantId, TimelineId, UserId};
use siyu_domain::link::{self, LINK_OPENED};
use siyu_domain::timeline::TimelineEntry;
use siyu_store::links::{LinkRow, NewOpen};
use siyu_store::tags::{ChangeContext, TagChange};
use uuid::Uuid;

use crate::App;
use crate::error::AppResult;

/// One request for `/l/{code}`.
#[derive(Debug, Clone, Default)]
pub struct Visit<'a> {
    pub code: &'a str,
    pub user_agent: &'a str,
    /// The client address (hashed with the tenant's key before anything is stored).
    pub ip: Option<&'a str>,
    /// False for requests that must not count whatever their user agent (HEAD, prefetches).
    pub countable: bool,
}

/// What `/l/{code}` shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Landing {
    /// No such link.
    NotFound,
    /// Send the browser on (a URL link that does not ask for the page).
    Redirect { url: String },
    /// The landing page: the link's content and, when the visit was an open, its id for the beats.
    Page { code: String, content: LandingContent, material_id: Option<Uuid>, open: Option<LinkOpenId> },
}

/// What the landing page shows of a link's target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandingContent {
    pub title: String,
    /// A text material's text, or a material's description.
    pub body: String,
    /// Where the reader goes on: the link's URL, a link material's page.
    pub href: Option<String>,
    /// The material has a picture to show inline (`/l/{code}/file`, an image or poster).
    pub image: bool,
    /// The material has a file to download (`/l/{code}/file?download=1`): its name.
    pub file_name: Option<String>,
    /// A mini-program card's cover, shown with a note to open it in WeChat.
    pub cover_url: Option<String>,
    pub miniprogram: bool,
}

impl App {
    /// The link of a public code, whatever tenant it belongs to; `None` for unknown or garbled codes.
    async fn link_by_code(&self, code: &str) -> AppResult<Option<(TenantId, LinkRow)>> {
        let Some(key) = link::parse_code(code) else { return Ok(None) };
        let Some(tenant) = self.store.links().tenant_by_key(key).await? else { return Ok(None) };
        Ok(self.store.links().by_code(tenant, code).await?.map(|l| (tenant, l)))
    }

    /// Answers `/l/{code}`: records the open (unless a bot, preview or HEAD) with what it sets off, and says
    /// what to show.
    pub async fn open_link(&self, v: &Visit<'_>) -> AppResult<Landing> {
        let Some((tenant, l)) = self.link_by_code(v.code).await? else { return Ok(Landing::NotFound) };
        let open = if v.countable && !link::is_bot(v.user_agent) {
            Some(self.record_link_open(tenant, &l, v, self.now()).await?)
        } else {
            None
        };
        match (&l.url, l.show_page) {
            (Some(url), false) => Ok(Landing::Redirect { url: url.clone() }),
            _ => {
                let content = self.landing_content(tenant, &l).await?;
                Ok(Landing::Page { code: l.code, content, material_id: l.material_id, open })
            }
        }
    }

    /// What the landing page shows of a link's target: a material as the library holds it now (its current
    /// version: text, picture, file, link or card); a URL, or a material gone from the library, by the link's
    /// title.
    async fn landing_content(&self, tenant: TenantId, l: &LinkRow) -> AppResult<LandingContent> {
        let plain = LandingContent { title: l.title.clone(), href: l.url.clone(), ..LandingContent::default() };
        let Some(m) = l.material_id else { return Ok(plain) };
        let found = match self.material_for_landing(tenant, siyu_domain::id::MaterialId(m)).await {
            Ok(found) => found,
            Err(crate::AppError::NotFound) => return Ok(plain),
            Err(e) => return Err(e),
        };
        use siyu_domain::material::MaterialKind as K;
        let picture = matches!(found.kind, K::Image | K::Poster) && found.has_file;
        Ok(LandingContent {
            title: found.title,
            body: found.body,
            href: match found.kind {
                K::Link => found.content.url.clone(),
                _ => None,
            },
            image: picture,
            file_name: found.file_name.filter(|_| found.has_file && !picture),
            cover_url: found.content.cover_url.clone().filter(|_| found.kind == K::Miniprogram),
            miniprogram: found.kind == K::Miniprogram,
        })
    }

    /// The file behind a material link's landing page (`thumbnail`: the small picture; a poster: drawn for
    /// the link's staff member, `App::link_landing_picture`), for whoever holds the code; `None` for an
    /// unknown code, a URL link or a material without a file.
    pub async fn link_material_file(
        &self,
        code: &str,
        thumbnail: bool,
    ) -> AppResult<Option<crate::materials::MaterialFile>> {
        let Some((tenant, l)) = self.link_by_code(code).await? else { return Ok(None) };
        let Some(m) = l.material_id else { return Ok(None) };
        let id = siyu_domain::id::MaterialId(m);
        let file = if thumbnail {
            self.material_landing_file(tenant, id, true).await
        } else {
            self.link_landing_picture(tenant, &l, id).await
        };
        match file {
            Ok(f) => Ok(Some(f)),
            Err(crate::AppError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records one open at `now` (or finds it again) and finishes its effects.
    async fn record_link_open(
        &self,
        tenant: TenantId,
        l: &LinkRow,
        v: &Visit<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<LinkOpenId> {
        let keys = self.vault.keys(&self.store, tenant).await?;
        let ip_hash = v.ip.map(|ip| keys.keyed_hash("link_ip", ip));
        let visitor = keys.keyed_hash("link_visitor", &format!("{}\n{}", v.ip.unwrap_or(""), v.user_agent));
        let link_id = LinkId(l.id);
        let dedupe = link::open_key(link_id, &visitor, now);
        let id = LinkOpenId::new();
        let customer = l.customer_id.map(CustomerId);
        let ua = link::kept_user_agent(v.user_agent);
        let in_wechat = link::in_wechat(v.user_agent);
        let entry = customer.map(|c| TimelineEntry {
            id: TimelineId(id.0),
            customer_id: c,
            occurred_at: now,
            source: "link".into(),
            kind: LINK_OPENED.into(),
            actor_id: None,
            payload: json!({
                "link_id": link_id, "code": l.code, "title": l.title, "material_id": l.material_id, "url": l.url,
                "staff_id": l.staff_id, "open_id": id, "in_wechat": in_wechat,
            }),
        });
        let open = NewOpen {
            id,
            link_id,
            dedupe_key: &dedupe,
            customer_id: customer,
            staff_id: l.staff_id,
            at: now,
            user_agent: ua.as_deref(),
            ip_hash: ip_hash.as_deref(),
            in_wechat,
        };
        let (id, _) = self.store.links().record_open(tenant, &open, entry.as_ref()).await?;
        // The reader gets the page whatever the effects do; what fails here the worker finishes later.
        if let Err(e) = self.finish_open(tenant, l, id).await {
            tracing::warn!(open = %id.0, error = %e, "link open effects failed; the sweep retries them");
        }
        Ok(id)
    }

    /// Finishes the effects of opens older than a minute that a crash or an error left undone (each effect is
    /// keyed, so nothing happens twice); how many were finished.
    pub async fn finish_link_opens(&self) -> AppResult<usize> {
        let before = self.now() - chrono::Duration::minutes(1);
        let mut done = 0;
        for tenant in self.store.links().tenants_with_links().await? {
            for (link, open) in self.store.links().unfinished_opens(tenant, before, 200).await? {
                let l = match self.store.links().get(tenant, link).await {
                    Ok(l) => l,
                    Err(siyu_store::StoreError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                };
                match self.finish_open(tenant, &l, open).await {
                    Ok(()) => done += 1,
                    Err(e) => tracing::warn!(open = %open.0, error = %e, "link open effects failed again"),
                }
            }
        }
        Ok(done)
    }

    /// The effects of an open not yet marked done: tag, alert, activity, usage; then the mark. Each is keyed
    /// so that running this twice (a crash between an effect and the mark) does nothing twice.
    async fn finish_open(&self, tenant: TenantId, l: &LinkRow, id: LinkOpenId) -> AppResult<()> {
        let Some(open) = self.store.links().open(tenant, id).await? else { return Ok(()) };
        if open.effects_done {
            return Ok(());
        }
        if let Some(c) = open.customer_id.map(CustomerId) {
            self.store.customers().touch_active(tenant, c, open.opened_at).await?;
            let tags = self.open_tags(tenant, l).await?;
            if !tags.is_empty() && !self.store.links().opened_before(tenant, LinkId(l.id), c, id).await? {
                let mut changes = Vec::with_capacity(tags.len());
                for tag in tags {
                    if let Ok(t) = self.store.tags().tag(tenant, tag).await {
                        changes.push(TagChange { tag, tag_name: t.name, add: true });
                    }
                }
                if !changes.is_empty() {
                    let ctx = ChangeContext { actor: None, source: "link", reason: "link_opened", at: open.opened_at };
                    let applied = self.store.tags().change(tenant, c, &changes, &ctx).await?;
                    self.queue_tag_push(tenant, c, &applied).await;
                    self.after_customer_change(tenant, c).await;
                }
            }
            self.alert_link_owner(tenant, l, c, open.customer_name.as_deref().unwrap_or(""), open.opened_at).await?;
        }
        if let Some(m) = l.material_id {
            let usage = crate::materials::usage::MaterialUsage {
                material_id: siyu_domain::id::MaterialId(m),
                action: siyu_domain::material::UsageAction::Opened,
                user_id: Some(UserId(l.staff_id)),
                customer_id: open.customer_id.map(CustomerId),
                dedupe_key: format!("open:{}", id.0.simple()),
                at: Some(open.opened_at),
            };
            match self.record_material_usage(tenant, &usage).await {
                Ok(_) | Err(crate::AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        self.store.links().mark_effects_done(tenant, id).await?;
        Ok(())
    }

    /// The tags an open of the link gives: the link's own, then its material's (as the library holds them
    /// now), each once. Tags deleted since are skipped when applied.
    async fn open_tags(&self, tenant: TenantId, l: &LinkRow) -> AppResult<Vec<TagId>> {
        let mut tags: Vec<TagId> = l.open_tag_id.map(TagId).into_iter().collect();
        if let Some(m) = l.material_id {
            for row in self.store.materials().open_tags_of(tenant, &[m]).await? {
                if !tags.contains(&TagId(row.tag_id)) {
                    tags.push(TagId(row.tag_id));
                }
            }
        }
        Ok(tags)
    }

    /// Tells the link's staff member in WeCom that the customer opened it: one app message per customer,
    /// link and hour (the notice's dedupe key). Staff not linked to WeCom are not told.
    async fn alert_link_owner(
        &self,
        tenant: TenantId,
        l: &LinkRow,
        customer: CustomerId,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        let Some(staff) = self.store.wecom().staff_of_user(tenant, UserId(l.staff_id)).await? else { return Ok(()) };
        let hour = at.timestamp().div_euclid(3600);
        let key = format!("link_open:{}:{}:{hour}", l.id.simple(), customer.0.simple());
        let offset = self.tenant_offset(tenant).await?;
        let when = at.with_timezone(&offset).format("%H:%M");
        let content = format!("【互动雷达】客户「{name}」{when} 打开了「{}」，趁热跟进吧", l.title);
        if self.queue_text_notice(tenant, staff.corp, &staff.userid, staff.user_id, &key, content).await? {
            self.notify_staff_soon();
        }
        Ok(())
    }

    /// An open in the past with its reading time, through the same path as a real one: for the demo's
    /// history (a real open is always now).
    pub async fn record_past_link_open(
        &self,
        tenant: TenantId,
        link: LinkId,
        v: &Visit<'_>,
        at: chrono::DateTime<chrono::Utc>,
        seconds: i64,
    ) -> AppResult<LinkOpenId> {
        let l = self.store.links().get(tenant, link).await?;
        let id = self.record_link_open(tenant, &l, v, at).await?;
        if let Some(secs) = link::bounded_duration(seconds, at, self.now()) {
            self.store.links().beat(tenant, link, id, secs, at).await?;
        }
        Ok(id)
    }

    /// A beat from the landing page: the open has been read for `seconds`. Kept when it is the longest so far
    /// and plausible (bounded by the time since the open and 4 h); anything else is ignored. Never fails.
    pub async fn link_beat(&self, code: &str, open: &str, seconds: i64) {
        let result: AppResult<()> = async {
            let Ok(open) = open.parse::<Uuid>() else { return Ok(()) };
            let Some((tenant, l)) = self.link_by_code(code).await? else { return Ok(()) };
            let Some(row) = self.store.links().open(tenant, LinkOpenId(open)).await? else { return Ok(()) };
            if row.link_id != l.id {
                return Ok(());
            }
            let now = self.now();
            if let Some(secs) = link::bounded_duration(seconds, row.opened_at, now) {
                self.store.links().beat(tenant, LinkId(l.id), LinkOpenId(open), secs, now).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "link beat not recorded");
        }
    }
}
