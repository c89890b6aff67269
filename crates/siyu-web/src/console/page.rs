//! What every console page shares: the chrome (navigation, user, tenant switcher, CSRF token,
//! language), rendering, CSRF checks and error pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use siyu_app::auth::SessionContext;
use siyu_app::{Actor, AppError};
use siyu_domain::access::Permission;
use siyu_domain::id::TenantId;

use crate::auth::{ConsoleActor, ConsoleUser};
use crate::i18n::{Lang, Tr};
use crate::state::AppState;

/// Layout data for `base.html`.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    /// Which navigation entry is active (`customers`, `tags`, ...).
    pub nav: &'static str,
    pub user_name: String,
    pub tenant_name: String,
    pub tenant_id: Option<TenantId>,
    pub tenants: Vec<(TenantId, String)>,
    pub csrf: String,
    pub can_manage_users: bool,
    pub can_manage_tokens: bool,
    pub can_read_audit: bool,
    pub can_manage_tags: bool,
    /// The session archive and its alerts (`archive_audit`).
    pub can_audit_archive: bool,
    /// Journey dead letters (`journeys_manage`) or the webhook secret (`tokens_manage`).
    pub sees_deliveries: bool,
    pub platform_admin: bool,
}

impl Chrome {
    pub fn new(user: &ConsoleUser, actor: Option<&Actor>, nav: &'static str) -> Self {
        let ctx: &SessionContext = &user.ctx;
        let can = |p| actor.is_some_and(|a| a.can(p));
        Self {
            tr: Tr(Lang::parse(&ctx.account.locale)),
            nav,
            user_name: ctx.account.display_name.clone(),
            tenant_name: ctx.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            tenant_id: ctx.tenant.as_ref().map(|t| t.id),
            tenants: ctx.memberships.iter().map(|(_, t)| (t.id, t.name.clone())).collect(),
            csrf: ctx.session.csrf_token.clone(),
            can_manage_users: can(Permission::UsersManage),
            can_manage_tokens: can(Permission::TokensManage),
            can_read_audit: can(Permission::AuditRead),
            can_manage_tags: can(Permission::TagsManage),
            can_audit_archive: can(Permission::ArchiveAudit),
            sees_deliveries: can(Permission::JourneysManage) || can(Permission::TokensManage),
            platform_admin: ctx.account.platform_admin,
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }

    pub fn is_current(&self, tenant: &TenantId) -> bool {
        self.tenant_id.as_ref() == Some(tenant)
    }

    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }
}

/// A time as the console shows it: China Standard Time, to the minute.
pub fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(cst) => t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string(),
        None => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template render failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>500</h1>".to_string())).into_response()
        }
    }
}

/// Rejects a form whose CSRF token does not match the session's.
pub fn check_csrf(user: &ConsoleUser, provided: &str) -> Result<(), ConsoleError> {
    let expected = user.ctx.session.csrf_token.as_bytes();
    let given = provided.as_bytes();
    let same = expected.len() == given.len() && expected.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same { Ok(()) } else { Err(ConsoleError(AppError::CsrfFailed)) }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    code: String,
    message: String,
}

/// An error shown as a page (or, for htmx requests, swapped into the page's error slot).
#[derive(Debug)]
pub struct ConsoleError(pub AppError);

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = ?self.0, "console request failed");
        }
        let message = if status.is_server_error() {
            "内部错误，请稍后重试 / Internal error".to_string()
        } else {
            self.0.to_string()
        };
        let page = ErrorPage { status: status.as_u16(), code: code.name().to_string(), message };
        (status, render(&page)).into_response()
    }
}

pub type ConsoleResult = Result<Response, ConsoleError>;

/// A console form post: the signed-in actor and the form's fields, with the CSRF token (form field `_csrf`
/// or header `X-CSRF-Token`) already checked against the session.
pub struct FormPost {
    pub ca: ConsoleActor,
    pub fields: Vec<(String, String)>,
}

impl axum::extract::FromRequest<AppState> for FormPost {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        let ca = ConsoleActor::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        let axum::Form(fields) =
            <axum::Form<Vec<(String, String)>> as axum::extract::FromRequest<AppState>>::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let given = fields.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str());
        check_csrf(&ca.user, &super::csrf_from(&headers, given)).map_err(IntoResponse::into_response)?;
        Ok(Self { ca, fields })
    }
}
