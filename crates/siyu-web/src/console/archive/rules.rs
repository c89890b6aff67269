//! Console: archive rules (`/console/archive/rules`): the rules with their settings, switched on and off or
//! deleted; a form for a new rule (kind, name, word lists, domains, minutes, count, whose messages, telling
//! the owner); the word lists; the tenant's dictionary. `/console/archive/word-lists/{id}` lists a list's
//! words, adds many at once (one per line) and removes one. Refusals show inline on the form.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::archive::{RuleInput, RuleView, WordListInput, WordListView, WordsInput};
use siyu_domain::access::Permission;
use siyu_domain::archive::{RuleConfig, RuleKind, Senders};
use siyu_domain::id::{ArchiveRuleId, WordListId};
use uuid::Uuid;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FieldError, FormErrors, all, label, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/archive/rules";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, page)
        .post(PATH, create_rule)
        .post("/console/archive/rules/{id}/toggle", toggle_rule)
        .post("/console/archive/rules/{id}/delete", delete_rule)
        .post("/console/archive/word-lists", create_list)
        .get("/console/archive/word-lists/{id}", words)
        .post("/console/archive/word-lists/{id}/words", add_words)
        .post("/console/archive/word-lists/{id}/remove", remove_word)
        .post("/console/archive/word-lists/{id}/delete", delete_list)
        .post("/console/archive/dictionary", set_dictionary)
        .into_router()
}

pub struct RuleRow {
    pub rule: RuleView,
    pub kind: String,
    pub settings: String,
}

fn settings(tr: Tr, r: &RuleView, lists: &[WordListView]) -> String {
    let c = &r.config;
    let mut parts = Vec::new();
    let names: Vec<&str> =
        c.word_lists.iter().filter_map(|id| lists.iter().find(|l| l.id == *id)).map(|l| l.name.as_str()).collect();
    if !names.is_empty() {
        parts.push(names.join("、"));
    }
    if !c.domains.is_empty() {
        parts.push(c.domains.join(", "));
    }
    if let Some(m) = c.minutes {
        parts.push(tr.t("archive.rule.minutes_n").replace("{n}", &m.to_string()));
    }
    if let Some(n) = c.count {
        parts.push(tr.t("archive.rule.count_n").replace("{n}", &n.to_string()));
    }
    parts.push(label(
        tr,
        "archive.senders",
        match c.senders(r.kind) {
            Senders::Staff => "staff",
            Senders::Customer => "customer",
            Senders::All => "all",
        },
    ));
    if c.notifies_owner(r.kind) {
        parts.push(tr.t("archive.rule.notifies").to_string());
    }
    parts.join(" · ")
}

/// What the new-rule form holds (kept after a refusal).
#[derive(Default)]
pub struct RuleForm {
    pub kind: String,
    pub name: String,
    pub lists: Vec<Uuid>,
    pub domains: String,
    pub minutes: String,
    pub count: String,
    pub senders: String,
    pub notify: String,
}

#[derive(Template)]
#[template(path = "archive_rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleRow>,
    lists: Vec<WordListView>,
    kinds: Vec<(String, String)>,
    dictionary: String,
    form: RuleForm,
    errors: FormErrors,
    list_errors: FormErrors,
    can_edit: bool,
}

async fn render_page(
    state: &AppState,
    ca: &ConsoleActor,
    form: RuleForm,
    errors: FormErrors,
    list_errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let tr = chrome.tr;
    let lists = state.app.word_lists(&ca.actor).await?;
    let rules = state
        .app
        .rules(&ca.actor)
        .await?
        .into_iter()
        .map(|r| RuleRow {
            kind: label(tr, "archive.kind", r.kind.as_str()),
            settings: settings(tr, &r, &lists),
            rule: r,
        })
        .collect();
    let kinds = RuleKind::ALL.iter().map(|k| (k.as_str().to_string(), label(tr, "archive.kind", k.as_str()))).collect();
    let dictionary = state.app.dictionary(&ca.actor).await?.join("\n");
    let page = RulesPage {
        rules,
        lists,
        kinds,
        dictionary,
        form,
        errors,
        list_errors,
        can_edit: ca.actor.can(Permission::ArchiveManage),
        chrome,
    };
    Ok(render(&page))
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let form = RuleForm { kind: "words".into(), senders: String::new(), ..RuleForm::default() };
    render_page(&state, &ca, form, FormErrors::default(), FormErrors::default()).await
}

fn number(fields: &[(String, String)], key: &str) -> Result<Option<u32>, AppError> {
    match text(fields, key).trim() {
        "" => Ok(None),
        n => n.parse().map(Some).map_err(|_| AppError::invalid(format!("config.{key}"), "not_a_number")),
    }
}

fn parse_rule(fields: &[(String, String)]) -> (RuleForm, Result<RuleInput, AppError>) {
    let form = RuleForm {
        kind: text(fields, "kind"),
        name: text(fields, "name"),
        lists: all(fields, "word_lists").iter().filter_map(|l| Uuid::try_parse(l).ok()).collect(),
        domains: text(fields, "domains"),
        minutes: text(fields, "minutes"),
        count: text(fields, "count"),
        senders: text(fields, "senders"),
        notify: text(fields, "notify"),
    };
    let input = (|| {
        let kind = RuleKind::parse(&form.kind).ok_or_else(|| AppError::invalid("kind", "expected_option"))?;
        let senders = match one(fields, "senders").unwrap_or("") {
            "staff" => Some(Senders::Staff),
            "customer" => Some(Senders::Customer),
            "all" => Some(Senders::All),
            _ => None,
        };
        let notify_owner = match form.notify.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let config = RuleConfig {
            word_lists: form.lists.clone(),
            senders,
            domains: form
                .domains
                .split(['\n', ',', ' ', '，'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from)
                .collect(),
            minutes: number(fields, "minutes")?.or(RuleConfig::defaults(kind).minutes),
            count: number(fields, "count")?.or(RuleConfig::defaults(kind).count),
            notify_owner,
        };
        Ok(RuleInput { kind, name: form.name.clone(), enabled: true, config: Some(config) })
    })();
    (form, input)
}

async fn create_rule(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "archive").tr;
    let (form, input) = parse_rule(&fields);
    let result = match input {
        Ok(input) => state.app.save_rule(&ca.actor, None, &input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(PATH).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            // The form's fields are the config's, without its prefix.
            let mut errors = FormErrors::from_error(tr, &e, "name");
            for err in &mut errors.0 {
                if let Some(field) = err.field.strip_prefix("config.") {
                    err.field = field.to_string();
                }
            }
            render_page(&state, &ca, form, errors, FormErrors::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn toggle_rule(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id = ArchiveRuleId(parse_id(&id)?);
    let ca = post.ca;
    let rule = state.app.rules(&ca.actor).await?.into_iter().find(|r| r.id == id.0).ok_or(AppError::NotFound)?;
    let input = RuleInput { kind: rule.kind, name: rule.name, enabled: !rule.enabled, config: Some(rule.config) };
    state.app.save_rule(&ca.actor, Some(id), &input).await?;
    Ok(Redirect::to(PATH).into_response())
}

async fn delete_rule(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    state.app.delete_rule(&post.ca.actor, ArchiveRuleId(parse_id(&id)?)).await?;
    Ok(Redirect::to(PATH).into_response())
}

async fn create_list(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "archive").tr;
    let input = WordListInput { name: text(&fields, "name"), description: text(&fields, "description") };
    match state.app.create_word_list(&ca.actor, &input).await {
        Ok(list) => Ok(Redirect::to(&format!("/console/archive/word-lists/{}", list.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let form = RuleForm { kind: "words".into(), ..RuleForm::default() };
            render_page(&state, &ca, form, FormErrors::default(), FormErrors::from_error(tr, &e, "list_name")).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_dictionary(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let words: Vec<String> = text(&fields, "words").lines().map(String::from).collect();
    state.app.set_dictionary(&ca.actor, &words).await?;
    Ok(Redirect::to(PATH).into_response())
}

#[derive(Template)]
#[template(path = "archive_words.html")]
struct WordsPage {
    chrome: Chrome,
    list: WordListView,
    words: Vec<(String, bool)>,
    added: Option<u64>,
    errors: FormErrors,
    draft: String,
    can_edit: bool,
}

async fn words_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: WordListId,
    added: Option<u64>,
    errors: FormErrors,
    draft: String,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let list = state.app.word_lists(&ca.actor).await?.into_iter().find(|l| l.id == id.0).ok_or(AppError::NotFound)?;
    let words = state.app.list_words(&ca.actor, id).await?;
    let can_edit = ca.actor.can(Permission::ArchiveManage);
    Ok(render(&WordsPage { list, words, added, errors, draft, can_edit, chrome }))
}

async fn words(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id = WordListId(parse_id(&id)?);
    words_page(&state, &ca, id, None, FormErrors::default(), String::new()).await
}

async fn add_words(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id = WordListId(parse_id(&id)?);
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "archive").tr;
    let draft = text(&fields, "words");
    let input = WordsInput { words: vec![draft.clone()], strict: one(&fields, "strict").is_some() };
    match state.app.add_words(&ca.actor, id, &input).await {
        Ok(n) => words_page(&state, &ca, id, Some(n), FormErrors::default(), String::new()).await,
        Err(e @ AppError::Invalid(_)) => {
            words_page(&state, &ca, id, None, FormErrors::from_error(tr, &e, "words"), draft).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_word(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id = WordListId(parse_id(&id)?);
    state.app.remove_word(&ca.actor, id, &text(&fields, "word")).await?;
    Ok(Redirect::to(&format!("/console/archive/word-lists/{}", id.0)).into_response())
}

async fn delete_list(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, .. } = post;
    let id = WordListId(parse_id(&id)?);
    state.app.word_lists(&ca.actor).await?.into_iter().find(|l| l.id == id.0).ok_or(AppError::NotFound)?;
    let user = state.app.rules(&ca.actor).await?.into_iter().find(|r| r.config.word_lists.contains(&id.0));
    if let Some(rule) = user {
        let tr = Chrome::new(&ca.user, Some(&ca.actor), "archive").tr;
        let message = tr.t("archive.err.list_in_use").replace("{rule}", &rule.name);
        let error = FieldError { field: "list".into(), message, detail: String::new(), code: "conflict" };
        return words_page(&state, &ca, id, None, FormErrors(vec![error]), String::new()).await;
    }
    state.app.delete_word_list(&ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
