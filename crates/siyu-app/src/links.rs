//! Tracked links (互动雷达): minting one link per (target × staff × customer), listing them within the
//! actor's data scope, one link with its opens. Opening a link (`/l/{code}`) and what an open sets off live
//! in `links/open.rs`; the radar's figures and export in `radar.rs`. See docs/links.md.

mod open;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, LinkId, LinkOpenId, TagId, TenantId, UserId};
use siyu_domain::link::{self, Link, LinkOpen, LinkTarget, NewLink};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_store::links::{LinkQuery, LinkRow, NewLinkRow, OpenQuery, OpenRow};
use uuid::Uuid;

pub use open::{Landing, LandingContent, Visit};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Opens shown with one link.
const OPENS_PER_LINK: i64 = 200;

/// Which links to list.
#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    pub staff: Option<UserId>,
    pub customer: Option<CustomerId>,
    pub material: Option<Uuid>,
}

/// A link with its opens, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkDetail {
    #[serde(flatten)]
    pub link: Link,
    /// The public short URL.
    pub short_url: String,
    pub opens_list: Vec<LinkOpen>,
}

pub(crate) fn link_of(r: LinkRow) -> Link {
    Link {
        id: LinkId(r.id),
        code: r.code,
        material_id: r.material_id,
        url: r.url,
        title: r.title,
        staff_id: UserId(r.staff_id),
        staff_name: r.staff_name,
        customer_id: r.customer_id.map(CustomerId),
        customer_name: r.customer_name,
        open_tag_id: r.open_tag_id.map(TagId),
        show_page: r.show_page,
        opens: r.opens,
        last_opened_at: r.last_opened_at,
        created_at: r.created_at,
    }
}

pub(crate) fn open_of(r: OpenRow) -> LinkOpen {
    LinkOpen {
        id: LinkOpenId(r.id),
        link_id: LinkId(r.link_id),
        title: r.title,
        customer_id: r.customer_id.map(CustomerId),
        customer_name: r.customer_name,
        staff_id: UserId(r.staff_id),
        staff_name: r.staff_name,
        opened_at: r.opened_at,
        duration_secs: r.duration_secs,
        in_wechat: r.in_wechat,
    }
}

/// A link to mint: its target and title, the staff member and customer it is for, the tag an open gives,
/// whether it shows the landing page, and who made it (`None`: a journey).
pub(crate) struct Mint<'a> {
    pub target: &'a LinkTarget,
    pub title: &'a str,
    pub staff: UserId,
    pub customer: Option<CustomerId>,
    pub open_tag: Option<siyu_domain::id::TagId>,
    pub show_page: bool,
    pub created_by: Option<UserId>,
}

/// The key a (target, staff, customer) triple's one link is unique by.
pub(crate) fn triple_key(target: &LinkTarget, staff: UserId, customer: Option<CustomerId>) -> String {
    hex::encode(Sha256::digest(target.triple(staff, customer).as_bytes()))
}

fn visible_staff(actor: &Actor) -> Option<Vec<Uuid>> {
    actor.visibility.as_ref().map(|users| users.iter().map(|u| u.0).collect())
}

impl App {
    /// The public short URL of a code (`{wecom.public_url}/l/{code}`, or the bare path without one).
    pub fn short_url(&self, code: &str) -> String {
        format!("{}/l/{code}", self.settings.wecom.public_url.trim_end_matches('/'))
    }

    /// The tenant's link key, made on first use (random, retried on the rare clash with another tenant's).
    async fn tenant_link_key(&self, tenant: TenantId) -> AppResult<String> {
        for _ in 0..8 {
            if let Some(key) = self.store.links().tenant_key(tenant).await? {
                return Ok(key);
            }
            let key = link::tenant_key(rand::rngs::OsRng.next_u64());
            match self.store.links().set_tenant_key(tenant, &key).await {
                Err(e) if e.is_conflict_on("link_key") => continue,
                other => other?,
            }
        }
        Err(AppError::internal(anyhow::anyhow!("no free link key")))
    }

    /// What a material is called in the library; `invalid material_id unknown_material` when it is not there.
    async fn material_title(&self, tenant: TenantId, material: Uuid) -> AppResult<String> {
        match self.material_for_landing(tenant, siyu_domain::id::MaterialId(material)).await {
            Ok(m) => Ok(m.title),
            Err(AppError::NotFound) => Err(AppError::invalid("material_id", "unknown_material")),
            Err(e) => Err(e),
        }
    }

    /// Mints the link of (target, staff, customer), or returns the one minted before. The staff member must be
    /// an active member within the actor's data scope, the customer visible and not erased. Says whether the
    /// link is new.
    pub async fn mint_link(&self, actor: &Actor, input: &NewLink) -> AppResult<(Link, bool)> {
        actor.require(Permission::CustomersWrite)?;
        let (target, mut title) = input.check()?;
        let staff = match self.store.members().get(actor.tenant, input.staff_id).await {
            Ok(m) if m.active => m,
            Ok(_) | Err(siyu_store::StoreError::NotFound) => {
                return Err(AppError::invalid("staff_id", "unknown_staff"));
            }
            Err(e) => return Err(e.into()),
        };
        if actor.visibility.as_ref().is_some_and(|v| !v.contains(&staff.user_id)) {
            return Err(AppError::invalid("staff_id", "outside_your_scope"));
        }
        if let Some(c) = input.customer_id {
            self.ensure_editable(actor, c).await?;
        }
        if let Some(tag) = input.open_tag_id {
            match self.store.tags().tag(actor.tenant, tag).await {
                Ok(_) => {}
                Err(siyu_store::StoreError::NotFound) => return Err(AppError::invalid("open_tag_id", "unknown_tag")),
                Err(e) => return Err(e.into()),
            }
        }
        let material = match &target {
            LinkTarget::Material(m) => Some(*m),
            LinkTarget::Url(_) => None,
        };
        if let Some(m) = material {
            let name = self.material_title(actor.tenant, m).await?;
            if title.is_empty() {
                title = name;
            }
        }
        let mint = Mint {
            target: &target,
            title: &title,
            staff: staff.user_id,
            customer: input.customer_id,
            open_tag: input.open_tag_id,
            show_page: input.show_page,
            created_by: Some(actor.user),
        };
        self.mint_link_row(actor.tenant, &mint).await
    }

    /// Mints the link of (target, staff, customer) with no access checks (the caller made them), or returns
    /// the one minted before; says whether the link is new.
    pub(crate) async fn mint_link_row(&self, tenant: TenantId, m: &Mint<'_>) -> AppResult<(Link, bool)> {
        let triple = triple_key(m.target, m.staff, m.customer);
        let key = self.tenant_link_key(tenant).await?;
        let (material, url) = match m.target {
            LinkTarget::Material(id) => (Some(*id), None),
            LinkTarget::Url(u) => (None, Some(u.as_str())),
        };
        for _ in 0..4 {
            let code = link::code(&key, rand::rngs::OsRng.next_u64());
            let id = LinkId::new();
            let row = NewLinkRow {
                id,
                code: &code,
                triple_key: &triple,
                material_id: material,
                url,
                title: m.title,
                staff_id: m.staff.0,
                customer_id: m.customer.map(|c| c.0),
                open_tag_id: m.open_tag.map(|t| t.0),
                show_page: m.show_page,
                created_by: m.created_by.map(|u| u.0),
            };
            match self.store.links().mint(tenant, &row, self.now()).await {
                Err(e) if e.is_conflict_on("code") => continue,
                other => {
                    let link = link_of(other?);
                    let new = link.id == id;
                    return Ok((link, new));
                }
            }
        }
        Err(AppError::internal(anyhow::anyhow!("no free link code")))
    }

    /// Links newest first, within the actor's data scope (links of staff they may see).
    pub async fn links(&self, actor: &Actor, f: &LinkFilter, page: PageRequest) -> AppResult<Page<Link>> {
        actor.require(Permission::CustomersRead)?;
        let q = LinkQuery {
            staff: f.staff.map(|s| s.0),
            customer: f.customer.map(|c| c.0),
            material: f.material,
            visible_staff: visible_staff(actor),
            after: page.after,
            limit: i64::from(page.limit) + 1,
        };
        let rows = self.store.links().list(actor.tenant, &q).await?;
        let rows: Vec<Link> = rows.into_iter().map(link_of).collect();
        Ok(Page::from_overfetch(rows, page.limit, |l| Cursor { at: l.created_at, id: l.id.0 }))
    }

    /// A link the actor may see (another tenant's, or another staff member's outside their scope: not found).
    pub async fn get_link(&self, actor: &Actor, id: LinkId) -> AppResult<Link> {
        actor.require(Permission::CustomersRead)?;
        let row = self.store.links().get(actor.tenant, id).await?;
        if actor.visibility.as_ref().is_some_and(|v| !v.contains(&UserId(row.staff_id))) {
            return Err(AppError::NotFound);
        }
        Ok(link_of(row))
    }

    /// A link with its latest opens.
    pub async fn link_detail(&self, actor: &Actor, id: LinkId) -> AppResult<LinkDetail> {
        let link = self.get_link(actor, id).await?;
        let q = OpenQuery { link: Some(id.0), limit: OPENS_PER_LINK, ..OpenQuery::default() };
        let opens = self.store.links().opens(actor.tenant, &q).await?;
        Ok(LinkDetail {
            short_url: self.short_url(&link.code),
            link,
            opens_list: opens.into_iter().map(open_of).collect(),
        })
    }

    /// The latest opens of links the actor may see.
    pub async fn recent_link_opens(&self, actor: &Actor, limit: i64) -> AppResult<Vec<LinkOpen>> {
        actor.require(Permission::CustomersRead)?;
        let q = OpenQuery { visible_staff: visible_staff(actor), limit, ..OpenQuery::default() };
        Ok(self.store.links().opens(actor.tenant, &q).await?.into_iter().map(open_of).collect())
    }
}
