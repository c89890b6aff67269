//! The sidebar's material tab: the library as the member may see it, searched with the tenant's index, and
//! each material turned into the `sendChatMessage` arguments that send it to the open chat (a customer or a
//! customer group). A text goes as text, a mini-program card as a card, an image (JPG or PNG) or a poster
//! drawn for the member as an image, a video (MP4) as a video and a file as a file, each by its WeCom
//! media_id within WeCom's limits (`sidebar/media.rs`); anything else — a link, or a material over WeCom's
//! limits, with the reason for the member — goes as a news card whose link is the tracked link minted for
//! (material, member, customer) — for a group, the member's link for the material without a customer — so
//! opens reach the interaction radar, the journeys and the material's statistics.
//! The send is counted in the material's usage ledger once per send id, when the page reports WeCom's
//! success.

use serde_json::{Value, json};
use siyu_domain::id::MaterialId;
use siyu_domain::link::NewLink;
use siyu_domain::material::MaterialKind;
use siyu_wecom::api::MediaType;

use super::media::{MediaFallback, media_plan};
use super::{Audience, SidebarIdentity};
use crate::error::AppResult;
use crate::materials::MaterialQuery;
use crate::{Actor, App};

/// A material as the send tab lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SidebarMaterial {
    pub id: MaterialId,
    pub kind: MaterialKind,
    pub title: String,
    /// The text, the description or the file name, shortened.
    pub summary: String,
    pub send_as: SendAs,
}

/// How the sidebar sends a material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAs {
    Text,
    Miniprogram,
    /// By a WeCom media_id of this type (a poster as the image drawn for the member).
    Media(MediaType),
    /// As a news card with the tracked link; for a material over WeCom's media limits, why.
    Link(Option<MediaFallback>),
}

impl SendAs {
    /// How a material of `kind` with this current file goes out (a poster, an upload: as planned).
    fn of(kind: MaterialKind, mime: Option<&str>, size: Option<i64>) -> Self {
        match (kind, media_plan(kind, mime, size)) {
            (MaterialKind::Text, _) => Self::Text,
            (MaterialKind::Miniprogram, _) => Self::Miniprogram,
            (_, Some(Ok(t))) => Self::Media(t),
            (_, Some(Err(why))) => Self::Link(Some(why)),
            (_, None) => Self::Link(None),
        }
    }
}

/// The `sendChatMessage` arguments of a material, and why it goes as a news card when it could have gone
/// by media_id (shown to the member).
#[derive(Debug, Clone, PartialEq)]
pub struct SidebarMessage {
    pub message: Value,
    pub fallback: Option<MediaFallback>,
}

/// The most characters of a news card's description.
const DESC_CHARS: usize = 60;

fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

impl App {
    /// The materials the member may send to `audience` that match `query` (all, newest first, when empty).
    pub async fn sidebar_materials(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        audience: Audience,
        query: &str,
    ) -> AppResult<Vec<SidebarMaterial>> {
        self.sidebar_audience(actor, identity, audience).await?;
        let q = MaterialQuery {
            q: Some(query.trim().to_owned()).filter(|q| !q.is_empty()),
            limit: Some(30),
            ..MaterialQuery::default()
        };
        let page = self.list_materials(actor, &q).await?;
        Ok(page
            .items
            .into_iter()
            .map(|item| {
                let m = item.material;
                let v = &m.current;
                let source =
                    if v.body.trim().is_empty() { v.file_name.clone().unwrap_or_default() } else { v.body.clone() };
                let send_as = SendAs::of(m.kind, v.mime.as_deref(), v.size_bytes);
                SidebarMaterial {
                    id: m.id,
                    kind: m.kind,
                    title: v.title.clone(),
                    summary: excerpt(&source, 80),
                    send_as,
                }
            })
            .collect())
    }

    /// The `sendChatMessage` arguments that send `material` to `audience` (see the module documentation).
    pub async fn sidebar_material_message(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        audience: Audience,
        material: MaterialId,
    ) -> AppResult<SidebarMessage> {
        let m = self.get_material(actor, material).await?;
        self.sidebar_audience(actor, identity, audience).await?;
        let v = &m.current;
        let fallback = match self.sidebar_media(actor, identity, &m).await? {
            Some(Ok(sent)) => {
                let t = sent.media_type.as_str();
                let message = json!({"msgtype": t, t: {"mediaid": sent.media_id}});
                return Ok(SidebarMessage { message, fallback: None });
            }
            Some(Err(why)) => Some(why),
            None => None,
        };
        let message = match m.kind {
            MaterialKind::Text => json!({"msgtype": "text", "text": {"content": v.body}}),
            MaterialKind::Miniprogram => json!({"msgtype": "miniprogram", "miniprogram": {
                "appid": v.content.appid, "title": v.title, "imgUrl": v.content.cover_url, "page": v.content.pagepath,
            }}),
            _ => {
                let customer = match audience {
                    Audience::Customer(c) => Some(c),
                    Audience::Group(_) => None,
                };
                let input = NewLink {
                    material_id: Some(m.id.0),
                    url: None,
                    title: None,
                    staff_id: actor.user,
                    customer_id: customer,
                    open_tag_id: None,
                    show_page: false,
                };
                let (link, _) = self.mint_link(actor, &input).await?;
                let short_url = self.short_url(&link.code);
                let picture = matches!(m.kind, MaterialKind::Image | MaterialKind::Poster) && v.has_thumbnail;
                let image = match (&v.content.cover_url, picture) {
                    (Some(cover), _) => Some(cover.clone()),
                    (None, true) => Some(format!("{short_url}/file?thumb=true")),
                    (None, false) => None,
                };
                let desc =
                    if v.body.trim().is_empty() { v.file_name.clone().unwrap_or_default() } else { v.body.clone() };
                json!({"msgtype": "news", "news": {
                    "link": short_url, "title": v.title, "desc": excerpt(&desc, DESC_CHARS), "imgUrl": image,
                }})
            }
        };
        Ok(SidebarMessage { message, fallback })
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn an_excerpt_folds_whitespace_and_marks_a_cut() {
        assert_eq!(excerpt("春季  新品\n上市", 10), "春季 新品 上市");
        assert_eq!(excerpt("一二三四五六", 3), "一二三…");
    }
}
