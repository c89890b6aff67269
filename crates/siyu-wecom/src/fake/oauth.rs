//! Web OAuth2 for pages inside WeCom (reference/wecom.md §8): WeCom redirects a visitor to the page with a
//! one-time `code`; `GET auth/getuserinfo?code=` says who they are. Codes live five minutes and are good
//! once; a bad, used or old code answers 40029 (`invalid code`). Tests mint a code with
//! [`FakeHandle::oauth_code`] (a member) or [`FakeHandle::oauth_code_for_customer`] (a customer opening a page
//! of the corp) instead of going through the browser redirect.

use serde_json::json;

use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::Corp;
use super::{FakeError, FakeHandle};

/// How long a code is good for, in seconds.
const CODE_TTL: i64 = 300;

/// Who a minted code stands for.
#[derive(Clone, Debug)]
pub(crate) enum Visitor {
    Member(String),
    Customer(String),
}

/// A code WeCom handed to the redirect.
#[derive(Clone, Debug)]
pub(crate) struct OauthCode {
    visitor: Visitor,
    issued_at: i64,
}

/// `GET auth/getuserinfo?code=`: `{userid, user_ticket}` for a member, `{openid, external_userid}` for a
/// customer; the code is spent either way.
pub(crate) fn getuserinfo(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let code = ctx.str("code").ok_or(ApiError::code(41008))?;
    let minted = corp.oauth_codes.remove(code).ok_or(ApiError::code(40029))?;
    if ctx.now() - minted.issued_at >= CODE_TTL {
        return Err(ApiError::code(40029));
    }
    match minted.visitor {
        Visitor::Member(userid) => {
            let active = corp.staff.get(&userid).is_some_and(|s| s.status == 1);
            if !active {
                return Err(ApiError::code(60111));
            }
            reply(json!({"userid": userid, "user_ticket": ""}))
        }
        Visitor::Customer(external_userid) => {
            reply(json!({"openid": format!("o{}", external_userid), "external_userid": external_userid}))
        }
    }
}

impl FakeHandle {
    /// A fresh code for member `userid` of `corp`, as WeCom appends it to the redirect after the member
    /// opened the page.
    pub fn oauth_code(&self, corp: &str, userid: &str) -> Result<String, FakeError> {
        self.with_corp(corp, |c, env| {
            if !c.staff.contains_key(userid) {
                return Err(FakeError::unknown("staff", userid));
            }
            let (_, code) = c.new_id("oc");
            c.oauth_codes
                .insert(code.clone(), OauthCode { visitor: Visitor::Member(userid.to_owned()), issued_at: env.now });
            Ok(code)
        })
    }

    /// A fresh code for a customer (not a member) who opened a page of `corp`.
    pub fn oauth_code_for_customer(&self, corp: &str, external_userid: &str) -> Result<String, FakeError> {
        self.with_corp(corp, |c, env| {
            let (_, code) = c.new_id("oc");
            let visitor = Visitor::Customer(external_userid.to_owned());
            c.oauth_codes.insert(code.clone(), OauthCode { visitor, issued_at: env.now });
            Ok(code)
        })
    }
}
