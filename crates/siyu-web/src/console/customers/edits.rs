//! Customer page edits that are not the profile form: adding, revealing and removing identities, deleting
//! notes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::customers::IdentityInput;
use siyu_domain::id::{CustomerId, IdentityId, NoteId};
use siyu_domain::identity::IdentityKind;

use super::detail::{DetailForms, DetailQuery, detail_page};
use super::parse_id;
use super::view::{FormErrors, one};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::console::page::{Chrome, ConsoleResult, FormPost, check_csrf, render};
use crate::state::AppState;

/// Adds an identity (phone, email, unionid, openid + appid, ...); errors show inline on the identities card.
pub async fn add_identity(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: CustomerId = parse_id(&id)?;
    let input = match one(&fields, "kind").and_then(IdentityKind::parse) {
        Some(kind) => Ok(IdentityInput {
            kind,
            namespace: one(&fields, "namespace").map(str::to_string).filter(|n| !n.trim().is_empty()),
            value: one(&fields, "value").unwrap_or("").to_string(),
        }),
        None => Err(AppError::invalid("kind", "unknown_kind")),
    };
    match async { state.app.add_identity(&ca.actor, id, input?).await }.await {
        Ok(_) => Ok(Redirect::to(&format!("/console/customers/{id}#identities")).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::MaskedPhone | AppError::DuplicateIdentity)) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            let identity_error = FormErrors::from_error(tr, &e, "value").0.into_iter().next();
            let forms = DetailForms { identity_error, ..Default::default() };
            let page = detail_page(&state, &ca, id, &DetailQuery::default(), forms).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_identity(
    State(state): State<AppState>,
    Path((id, identity)): Path<(String, String)>,
    post: FormPost,
) -> ConsoleResult {
    let (id, identity): (CustomerId, IdentityId) = (parse_id(&id)?, parse_id(&identity)?);
    state.app.remove_identity(&post.ca.actor, id, identity).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#identities")).into_response())
}

pub async fn delete_note(
    State(state): State<AppState>,
    Path((id, note)): Path<(String, String)>,
    post: FormPost,
) -> ConsoleResult {
    let (id, note): (CustomerId, NoteId) = (parse_id(&id)?, parse_id(&note)?);
    state.app.delete_note(&post.ca.actor, id, note).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#notes")).into_response())
}

#[derive(Template)]
#[template(source = r#"<span class="pii-value mono" data-revealed="1">{{ value }}</span>"#, ext = "html")]
struct Revealed {
    value: String,
}

/// Decrypts one phone or email for a member with the reveal permission (audited by the app).
pub async fn reveal(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path((id, identity)): Path<(String, String)>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult {
    let pairs = form.map(|f| f.0).unwrap_or_default();
    check_csrf(&ca.user, &csrf_from(&headers, one(&pairs, "_csrf")))?;
    let id: CustomerId = parse_id(&id)?;
    let identity: IdentityId = parse_id(&identity)?;
    let value = state.app.reveal_identity(&ca.actor, id, identity).await?;
    let value = value.strip_prefix("+86").map(str::to_string).unwrap_or(value);
    let mut res = render(&Revealed { value });
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}
