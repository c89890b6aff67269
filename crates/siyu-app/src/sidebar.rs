//! The staff sidebar (侧边栏): the H5 page WeCom opens in a chat's toolbar (docs/sidebar.md).
//!
//! - Who is looking: WeCom's web OAuth2 (`snsapi_base`) names the member by userid; the corp's staff sync
//!   maps it to a siyu member, whose role and data scope then apply to everything the page shows or does.
//!   The sign-in is a signed token (HMAC-SHA256 under a key derived from the master key) the web layer keeps
//!   in an HttpOnly cookie; the member is re-read on every request, so a disabled member is out at once.
//! - The development identity (开发身份): in a normal browser, a staff member picked from a list — for
//!   console users (admins pick anyone, others only themselves) or when `sidebar.dev_identity` is on (the
//!   demo). Its tokens say so, and the page shows it.
//! - `sidebar/panel.rs`: the customer panel (profile, tags, notes, stage, tasks) and `sidebar/send.rs` what
//!   staff send (scripts, materials) with the sends recorded once per send id; `sidebar/groups.rs` the panel
//!   of a customer group's chat (`getCurExternalChat`); `sidebar/media.rs` image, poster, video and file
//!   materials uploaded to WeCom as temporary media and sent by media_id, and the sweep of expired ones.

mod groups;
mod materials;
mod media;
mod panel;
mod send;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, TenantId, UserId};
use siyu_domain::tenancy::TenantStatus;
use siyu_domain::wecom::{Corp, WecomStaff};
use siyu_wecom::jsapi::{self, TicketKind};
use siyu_wecom::jssdk::{self, JsConfig};
use uuid::Uuid;

pub use groups::{Audience, GROUP_NICKNAME, SidebarGroup};
pub use materials::{SendAs, SidebarMaterial, SidebarMessage};
pub use media::{MEDIA_REFRESH_MARGIN_SECS, MediaFallback, MediaSend, media_plan};
pub use panel::{SidebarProfile, TagChoice};
pub use send::{SentItem, SidebarScript, SidebarSend};
/// WeCom's temporary media types, which [`SendAs`] and [`MediaFallback`] name.
pub use siyu_wecom::api::MediaType;

use crate::actor::Via;
use crate::error::{AppError, AppResult};
use crate::wecom::wecom_error;
use crate::{Actor, App};

/// The JS-SDK interfaces the sidebar asks for in `wx.config` and `wx.agentConfig`.
pub const JS_API_LIST: [&str; 4] = ["getCurExternalContact", "getCurExternalChat", "getContext", "sendChatMessage"];

/// How long an OAuth2 round trip may take, in seconds.
const STATE_TTL: i64 = 600;

/// A signed-in sidebar: which member of which corp, and whether it is the development identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidebarIdentity {
    pub tenant: TenantId,
    pub corp: CorpId,
    pub user: UserId,
    /// The member's WeCom userid.
    pub userid: String,
    /// Picked in a browser (开发身份) rather than named by WeCom.
    pub dev: bool,
    /// Unix seconds.
    pub expires: i64,
}

/// Where to send a visitor without a sign-in, and the signed state the callback checks.
#[derive(Debug, Clone)]
pub struct SidebarAuthorize {
    pub url: String,
    /// The value of the state cookie (signed: the state and the corp).
    pub state_token: String,
}

/// What the page passes to `wx.config` and `wx.agentConfig`.
#[derive(Debug, Clone, Serialize)]
pub struct SidebarJsConfig {
    pub config: JsConfig,
    pub agent_config: JsConfig,
    #[serde(rename = "jsApiList")]
    pub js_api_list: Vec<&'static str>,
}

#[derive(Serialize, Deserialize)]
struct OauthState {
    state: String,
    corp: CorpId,
    expires: i64,
}

fn random_text(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

impl App {
    /// The address WeCom and browsers reach this server at (`wecom.public_url`, else `http://<listen>`).
    pub fn public_base(&self) -> String {
        if self.settings.wecom.public_url.is_empty() {
            format!("http://{}", self.settings.server.listen)
        } else {
            self.settings.wecom.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The sidebar page to configure in WeCom's admin console for `corp` (应用 → 聊天工具栏 → 配置页面).
    pub fn sidebar_url(&self, corp: CorpId) -> String {
        format!("{}/sidebar?corp={corp}", self.public_base())
    }

    /// The tenant and corp behind a sidebar URL's `corp` (NotFound for an unknown or inactive corp).
    pub async fn sidebar_corp(&self, corp: CorpId) -> AppResult<(TenantId, Corp)> {
        let (tenant, corp) = self.store.wecom().route(corp.0).await?.ok_or(AppError::NotFound)?;
        let row = self.store.wecom().corp(tenant, corp).await?;
        if !row.active {
            return Err(AppError::NotFound);
        }
        Ok((tenant, row))
    }

    /// WeCom's authorize URL for a visitor of `corp`'s sidebar, with a fresh state.
    pub async fn sidebar_authorize(&self, corp: CorpId) -> AppResult<SidebarAuthorize> {
        let (_, row) = self.sidebar_corp(corp).await?;
        let state = random_text(24);
        let expires = self.now().timestamp() + STATE_TTL;
        let payload =
            serde_json::to_vec(&OauthState { state: state.clone(), corp, expires }).map_err(AppError::internal)?;
        let redirect = format!("{}/sidebar/oauth", self.public_base());
        Ok(SidebarAuthorize {
            url: jsapi::authorize_url(&row.corp_id, &redirect, &state, row.agent_id),
            state_token: self.seal("sidebar-state", &payload)?,
        })
    }

    /// The OAuth2 callback: the state must be the one this browser was sent with, the code names a member
    /// the staff sync knows, who is an active member of the tenant. Answers the sign-in token.
    pub async fn sidebar_sign_in(&self, state_token: &str, state: &str, code: &str) -> AppResult<String> {
        let bad_state = || AppError::invalid("state", "sidebar_state_invalid");
        let saved: OauthState = self
            .open("sidebar-state", state_token)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(bad_state)?;
        if saved.state != state || saved.expires < self.now().timestamp() {
            return Err(bad_state());
        }
        let (tenant, _) = self.sidebar_corp(saved.corp).await?;
        let handle = self.corp_handle(tenant, saved.corp).await?;
        let who = handle.client.oauth_identity(&handle.app, code).await.map_err(|e| match e {
            siyu_wecom::WecomError::Api { errcode: 40029, .. } | siyu_wecom::WecomError::Invalid(_) => {
                AppError::invalid("code", "sidebar_code_invalid")
            }
            other => wecom_error(other),
        })?;
        if who.userid.is_empty() {
            return Err(AppError::invalid("userid", "sidebar_not_staff"));
        }
        let staff = self.store.wecom().staff_by_userid(tenant, saved.corp, &who.userid).await?;
        let staff = staff
            .filter(|s| s.left_at.is_none())
            .ok_or_else(|| AppError::invalid("userid", "sidebar_unknown_staff"))?;
        let identity = self.new_identity(tenant, saved.corp, &staff, false);
        self.sidebar_actor(&identity, None, None)
            .await
            .map_err(|_| AppError::invalid("userid", "sidebar_unknown_staff"))?;
        self.sidebar_token(&identity)
    }

    fn new_identity(&self, tenant: TenantId, corp: CorpId, staff: &WecomStaff, dev: bool) -> SidebarIdentity {
        let expires = self.now().timestamp() + self.settings.sidebar.session_hours * 3600;
        SidebarIdentity { tenant, corp, user: staff.user_id, userid: staff.userid.clone(), dev, expires }
    }

    fn sidebar_token(&self, identity: &SidebarIdentity) -> AppResult<String> {
        let payload = serde_json::to_vec(identity).map_err(AppError::internal)?;
        self.seal("sidebar-session", &payload)
    }

    /// The identity of a sign-in token, if it is genuine and unexpired.
    pub fn sidebar_identity(&self, token: &str) -> Option<SidebarIdentity> {
        let identity: SidebarIdentity = serde_json::from_slice(&self.open("sidebar-session", token)?).ok()?;
        (identity.expires > self.now().timestamp()).then_some(identity)
    }

    /// The CSRF token of a sign-in (the page sends it back on every change).
    pub fn sidebar_csrf(&self, token: &str) -> String {
        self.mac("sidebar-csrf", token.as_bytes()).map(|m| URL_SAFE_NO_PAD.encode(&m[..18])).unwrap_or_default()
    }

    /// The member acting through the sidebar: active, in an active tenant, still the corp's staff.
    pub async fn sidebar_actor(
        &self,
        identity: &SidebarIdentity,
        ip: Option<String>,
        ua: Option<String>,
    ) -> AppResult<Actor> {
        let tenant = self.store.tenants().get(identity.tenant).await?;
        if tenant.status != TenantStatus::Active {
            return Err(AppError::TenantSuspended);
        }
        let member =
            self.store.members().get(identity.tenant, identity.user).await.map_err(|_| AppError::Unauthenticated)?;
        if !member.active {
            return Err(AppError::Unauthenticated);
        }
        Ok(Actor::for_member(&self.store, &member, Via::Session).await?.with_origin(ip, ua))
    }

    /// `wx.config` and `wx.agentConfig` for the page at `url`, each signed with its own ticket (both cached by
    /// the corp's client).
    pub async fn sidebar_jsconfig(&self, identity: &SidebarIdentity, url: &str) -> AppResult<SidebarJsConfig> {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
            return Err(AppError::invalid("url", "must be the page's absolute http(s) URL"));
        }
        let row = self.store.wecom().corp(identity.tenant, identity.corp).await?;
        let agent_id = row.agent_id.ok_or_else(|| AppError::invalid("agent_id", "sidebar_no_agent_id"))?;
        let handle = self.corp_handle(identity.tenant, identity.corp).await?;
        let corp_ticket = handle.client.jsapi_ticket(&handle.app, TicketKind::Corp).await.map_err(wecom_error)?;
        let app_ticket = handle.client.jsapi_ticket(&handle.app, TicketKind::Agent).await.map_err(wecom_error)?;
        let timestamp = self.now().timestamp();
        let nonce = jssdk::random_nonce();
        Ok(SidebarJsConfig {
            config: JsConfig::corp(&row.corp_id, &corp_ticket, url, timestamp, &nonce),
            agent_config: JsConfig::agent(&row.corp_id, &agent_id.to_string(), &app_ticket, url, timestamp, &nonce),
            js_api_list: JS_API_LIST.to_vec(),
        })
    }

    /// Whether a browser may pick a development identity: a signed-in console user, or the setting.
    pub fn sidebar_dev_allowed(&self, console: Option<&Actor>) -> bool {
        console.is_some() || self.settings.sidebar.dev_identity
    }

    /// The corp a development identity is picked in: `corp` when given, else the console tenant's first.
    pub async fn sidebar_dev_corp(&self, console: Option<&Actor>, corp: Option<CorpId>) -> AppResult<(TenantId, Corp)> {
        if !self.sidebar_dev_allowed(console) {
            return Err(AppError::Forbidden);
        }
        match (console, corp) {
            (Some(actor), Some(corp)) => Ok((actor.tenant, self.store.wecom().corp(actor.tenant, corp).await?)),
            (Some(actor), None) => {
                let corps = self.store.wecom().corps(actor.tenant).await?;
                corps.into_iter().find(|c| c.active).map(|c| (actor.tenant, c)).ok_or(AppError::NotFound)
            }
            (None, Some(corp)) => self.sidebar_corp(corp).await,
            (None, None) => Err(AppError::invalid("corp", "sidebar_corp_required")),
        }
    }

    /// The staff a development identity may be: every synced member of the corp (the setting, or a console
    /// user who manages members), else only the console user themselves.
    pub async fn sidebar_dev_staff(
        &self,
        console: Option<&Actor>,
        tenant: TenantId,
        corp: CorpId,
    ) -> AppResult<Vec<WecomStaff>> {
        let staff = self.store.wecom().staff(tenant, corp).await?.into_iter().filter(|s| s.left_at.is_none());
        Ok(match console {
            Some(a) if !a.can(Permission::UsersManage) && !self.settings.sidebar.dev_identity => {
                staff.filter(|s| s.user_id == a.user).collect()
            }
            _ => staff.collect(),
        })
    }

    /// Signs in as a picked staff member (开发身份).
    pub async fn sidebar_dev_sign_in(
        &self,
        console: Option<&Actor>,
        corp: Option<CorpId>,
        userid: &str,
    ) -> AppResult<String> {
        let (tenant, row) = self.sidebar_dev_corp(console, corp).await?;
        let staff = self.sidebar_dev_staff(console, tenant, row.id).await?;
        let pick = staff.iter().find(|s| s.userid == userid).ok_or(AppError::NotFound)?;
        let identity = self.new_identity(tenant, row.id, pick, true);
        let actor = self.sidebar_actor(&identity, None, None).await?;
        if let Some(console) = console {
            let ev = crate::audit::AuditEvent {
                action: "sidebar.dev_identity",
                object_type: "member",
                object_id: Some(pick.user_id.to_string()),
                detail: serde_json::json!({"userid": pick.userid, "as": actor.name}),
            };
            self.audit(console, ev).await;
        }
        self.sidebar_token(&identity)
    }

    /// The customers a development identity can pretend to chat with: those the member follows in the corp,
    /// as (external_userid, name).
    pub async fn sidebar_dev_contacts(&self, identity: &SidebarIdentity) -> AppResult<Vec<(String, String)>> {
        let row = self.store.wecom().corp(identity.tenant, identity.corp).await?;
        let contacts = self.store.wecom().followed_contacts(identity.tenant, &row.corp_id, identity.user).await?;
        Ok(contacts.into_iter().take(200).map(|(e, _, n)| (e, n)).collect())
    }

    fn sidebar_key(&self) -> AppResult<Vec<u8>> {
        let master = self.settings.master_key().map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&master).map_err(AppError::internal)?;
        mac.update(b"siyu sidebar v1");
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> AppResult<Vec<u8>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.sidebar_key()?).map_err(AppError::internal)?;
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// `base64url(payload).base64url(mac)`.
    fn seal(&self, purpose: &str, payload: &[u8]) -> AppResult<String> {
        let body = URL_SAFE_NO_PAD.encode(payload);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(purpose, body.as_bytes())?);
        Ok(format!("{body}.{tag}"))
    }

    fn open(&self, purpose: &str, token: &str) -> Option<Vec<u8>> {
        let (body, tag) = token.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.sidebar_key().ok()?).ok()?;
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).ok()?;
        URL_SAFE_NO_PAD.decode(body).ok()
    }
}

/// A corp row id from a query value.
pub fn parse_corp(value: &str) -> Option<CorpId> {
    Uuid::parse_str(value.trim()).ok().map(CorpId)
}
