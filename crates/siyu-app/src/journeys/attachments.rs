//! A send node's attachments: materials of the library, by id, resolved when the message goes
//! (reference/journeys.md §6: content resolves at send time, so an edited material reaches everyone who has
//! not been sent it yet). Publishing checks that each is a material of the brand (`unknown_material`) and
//! that there are at most nine (WeCom's limit, `too_many_attachments`).
//!
//! The sandbox records each as a line `[素材] <title>` under the text. On WeCom a text material's words
//! follow the message's own, and any other material goes as a link card (title, description, cover) whose
//! URL is the customer's own tracked link from the sending staff member, so an open is attributed to both
//! and the material's open tags apply (docs/links.md). A material deleted since publishing is left out.

use siyu_domain::id::{CustomerId, MaterialId, TenantId, UserId};
use siyu_domain::journey::GraphError;
use siyu_domain::link::LinkTarget;
use siyu_domain::material::MaterialKind;
use siyu_wecom::api::{Attachment, LinkAttachment};

use crate::App;
use crate::error::{AppError, AppResult};
use crate::links::Mint;
use crate::materials::usage::MaterialLanding;

/// WeCom takes at most nine attachments with a message.
pub const MAX_ATTACHMENTS: usize = 9;
/// The longest description a link card gets.
const DESC_CHARS: usize = 60;

/// A material as a message carries it.
pub(crate) enum Carried {
    /// Words added to the text.
    Text(String),
    Card(Attachment),
}

impl App {
    /// The publish problems of one send node's attachments.
    pub(crate) async fn attachment_errors(
        &self,
        tenant: TenantId,
        node: &str,
        attachments: &[String],
    ) -> AppResult<Vec<GraphError>> {
        let mut out = Vec::new();
        let err = |code: &str, detail: String| GraphError { node: Some(node.to_string()), code: code.into(), detail };
        if attachments.len() > MAX_ATTACHMENTS {
            out.push(err("too_many_attachments", attachments.len().to_string()));
        }
        for a in attachments {
            let known = match a.trim().parse::<uuid::Uuid>() {
                Ok(id) => match self.store.materials().get(tenant, MaterialId(id)).await {
                    Ok(_) => true,
                    Err(siyu_store::StoreError::NotFound) => false,
                    Err(e) => return Err(e.into()),
                },
                Err(_) => false,
            };
            if !known {
                out.push(err("unknown_material", a.clone()));
            }
        }
        Ok(out)
    }

    /// The materials of a send as they are now, in the node's order (gone ones left out).
    async fn attached(&self, tenant: TenantId, attachments: &[String]) -> AppResult<Vec<MaterialLanding>> {
        let mut out = Vec::new();
        for a in attachments {
            let Ok(id) = a.trim().parse::<uuid::Uuid>() else { continue };
            match self.material_for_landing(tenant, MaterialId(id)).await {
                Ok(m) => out.push(m),
                Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The sandbox's record of a message: its text, then a line per material.
    pub(crate) async fn sandbox_body(&self, tenant: TenantId, text: &str, attachments: &[String]) -> AppResult<String> {
        let mut body = text.to_string();
        for m in self.attached(tenant, attachments).await? {
            body.push_str(&format!("\n[素材] {}", m.title));
        }
        Ok(body)
    }

    /// The materials of a WeCom send from `staff` to `customer`.
    pub(crate) async fn wecom_carried(
        &self,
        tenant: TenantId,
        attachments: &[String],
        staff: UserId,
        customer: CustomerId,
    ) -> AppResult<Vec<Carried>> {
        let mut out = Vec::new();
        for m in self.attached(tenant, attachments).await? {
            if m.kind == MaterialKind::Text {
                out.push(Carried::Text(m.body.clone()));
                continue;
            }
            let target = LinkTarget::Material(m.id.0);
            let mint = Mint {
                target: &target,
                title: &m.title,
                staff,
                customer: Some(customer),
                open_tag: None,
                show_page: false,
                created_by: None,
            };
            let (link, _) = self.mint_link_row(tenant, &mint).await?;
            let desc: String =
                m.body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(DESC_CHARS).collect();
            let picurl = m.content.cover_url.clone().or_else(|| {
                let picture = matches!(m.kind, MaterialKind::Image | MaterialKind::Poster) && m.has_thumbnail;
                picture.then(|| format!("{}/file?thumb=true", self.short_url(&link.code)))
            });
            out.push(Carried::Card(Attachment::Link {
                link: LinkAttachment {
                    title: m.title.clone(),
                    picurl,
                    desc: (!desc.is_empty()).then_some(desc),
                    url: self.short_url(&link.code),
                    media_id: None,
                },
            }));
        }
        Ok(out)
    }
}
