//! Sensitive-word lists, archive rules and the tenant's dictionary; and their compiled form.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::archive::{RuleConfig, RuleKind};
use siyu_domain::error::Invalid;
use siyu_domain::id::{ArchiveRuleId, TenantId, WordListId};
use siyu_search::Segmenter;
use siyu_search::scan::{Scanner, WordRule};
use siyu_store::archive::RuleRow;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Longest word accepted, in characters.
const MAX_WORD_CHARS: usize = 64;
/// Words accepted in one call.
const MAX_WORDS_PER_CALL: usize = 10_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct WordListInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Words to add to a list: one per entry (entries with line breaks are split), blanks skipped.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct WordsInput {
    pub words: Vec<String>,
    /// Hit even inside a longer word (e.g. a word that is never innocent).
    #[serde(default)]
    pub strict: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WordListView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub words: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RuleInput {
    pub kind: RuleKind,
    pub name: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The kind's defaults when absent.
    #[serde(default)]
    pub config: Option<RuleConfig>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub id: Uuid,
    pub kind: RuleKind,
    pub name: String,
    pub enabled: bool,
    pub config: RuleConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn rule_view(r: RuleRow) -> Option<RuleView> {
    Some(RuleView {
        id: r.id,
        kind: RuleKind::parse(&r.kind)?,
        name: r.name,
        enabled: r.enabled,
        config: serde_json::from_str(&r.config).ok()?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// An enabled rule, ready to run.
pub struct CompiledRule {
    pub id: Uuid,
    pub kind: RuleKind,
    pub name: String,
    pub config: RuleConfig,
    /// For word rules: the scanner of their lists' words.
    pub scanner: Option<Arc<Scanner>>,
}

/// A tenant's enabled rules, compiled.
pub struct RuleSet {
    version: String,
    pub rules: Vec<CompiledRule>,
}

impl RuleSet {
    pub fn of_kind(&self, kind: RuleKind) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(move |r| r.kind == kind)
    }
}

fn clean_name(name: &str, field: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::Invalid(Invalid::new(field, "length")));
    }
    Ok(name.to_string())
}

/// Splits, trims and checks words; blanks are skipped.
fn clean_words(words: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for w in words.iter().flat_map(|w| w.split(['\n', '\r'])) {
        let w = w.trim();
        if w.is_empty() {
            continue;
        }
        if w.chars().count() > MAX_WORD_CHARS {
            return Err(AppError::Invalid(Invalid::new("words", "word_too_long")));
        }
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    if out.len() > MAX_WORDS_PER_CALL {
        return Err(AppError::Invalid(Invalid::new("words", "too_many")));
    }
    Ok(out)
}

impl App {
    pub async fn word_lists(&self, actor: &Actor) -> AppResult<Vec<WordListView>> {
        actor.require(Permission::ArchiveAudit)?;
        let lists = self.store.archive().word_lists(actor.tenant).await?;
        Ok(lists
            .into_iter()
            .map(|l| WordListView {
                id: l.id,
                name: l.name,
                description: l.description,
                words: l.words,
                updated_at: l.updated_at,
            })
            .collect())
    }

    pub async fn create_word_list(&self, actor: &Actor, input: &WordListInput) -> AppResult<WordListView> {
        actor.require(Permission::ArchiveManage)?;
        let name = clean_name(&input.name, "name")?;
        let id = WordListId::new();
        match self.store.archive().insert_word_list(actor.tenant, id, &name, input.description.trim(), self.now()).await
        {
            Err(e) if e.is_conflict_on("name") => {
                return Err(AppError::Conflict("a word list with this name exists".into()));
            }
            other => other?,
        }
        self.audit(
            actor,
            AuditEvent {
                action: "word_list.create",
                object_type: "word_list",
                object_id: Some(id.to_string()),
                detail: json!({"name": name}),
            },
        )
        .await;
        let l = self.store.archive().word_list(actor.tenant, id).await?;
        Ok(WordListView {
            id: l.id,
            name: l.name,
            description: l.description,
            words: l.words,
            updated_at: l.updated_at,
        })
    }

    /// Deletes a list; refused while a rule uses it.
    pub async fn delete_word_list(&self, actor: &Actor, id: WordListId) -> AppResult<()> {
        actor.require(Permission::ArchiveManage)?;
        let list = self.store.archive().word_list(actor.tenant, id).await?;
        let used = self.rules(actor).await?.into_iter().find(|r| r.config.word_lists.contains(&id.0));
        if let Some(rule) = used {
            return Err(AppError::Conflict(format!("the rule \"{}\" uses this list", rule.name)));
        }
        self.store.archive().delete_word_list(actor.tenant, id).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "word_list.delete",
                object_type: "word_list",
                object_id: Some(id.to_string()),
                detail: json!({"name": list.name}),
            },
        )
        .await;
        Ok(())
    }

    pub async fn list_words(&self, actor: &Actor, id: WordListId) -> AppResult<Vec<(String, bool)>> {
        actor.require(Permission::ArchiveAudit)?;
        self.store.archive().word_list(actor.tenant, id).await?;
        Ok(self.store.archive().words(actor.tenant, id).await?.into_iter().map(|w| (w.word, w.strict)).collect())
    }

    /// Adds words to a list; how many were new.
    pub async fn add_words(&self, actor: &Actor, id: WordListId, input: &WordsInput) -> AppResult<u64> {
        actor.require(Permission::ArchiveManage)?;
        self.store.archive().word_list(actor.tenant, id).await?;
        let words: Vec<(String, bool)> = clean_words(&input.words)?.into_iter().map(|w| (w, input.strict)).collect();
        let added = self.store.archive().add_words(actor.tenant, id, &words, self.now()).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "word_list.add_words",
                object_type: "word_list",
                object_id: Some(id.to_string()),
                detail: json!({"added": added}),
            },
        )
        .await;
        Ok(added)
    }

    pub async fn remove_word(&self, actor: &Actor, id: WordListId, word: &str) -> AppResult<()> {
        actor.require(Permission::ArchiveManage)?;
        self.store.archive().remove_word(actor.tenant, id, word, self.now()).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "word_list.remove_word",
                object_type: "word_list",
                object_id: Some(id.to_string()),
                detail: json!({"word": word}),
            },
        )
        .await;
        Ok(())
    }

    pub async fn rules(&self, actor: &Actor) -> AppResult<Vec<RuleView>> {
        actor.require(Permission::ArchiveAudit)?;
        Ok(self.store.archive().rules(actor.tenant).await?.into_iter().filter_map(rule_view).collect())
    }

    /// Makes a rule (`id` None) or replaces one.
    pub async fn save_rule(&self, actor: &Actor, id: Option<ArchiveRuleId>, input: &RuleInput) -> AppResult<RuleView> {
        actor.require(Permission::ArchiveManage)?;
        let name = clean_name(&input.name, "name")?;
        let config = input.config.clone().unwrap_or_else(|| RuleConfig::defaults(input.kind)).check(input.kind)?;
        let lists = self.store.archive().word_lists(actor.tenant).await?;
        if let Some(missing) = config.word_lists.iter().find(|l| !lists.iter().any(|x| x.id == **l)) {
            return Err(AppError::Invalid(Invalid::new("config.word_lists", format!("unknown_list:{missing}"))));
        }
        let now = self.now();
        let (id, kind, created_at) = match id {
            Some(id) => {
                let old = self.store.archive().rule(actor.tenant, id).await?;
                if old.kind != input.kind.as_str() {
                    return Err(AppError::Invalid(Invalid::new("kind", "cannot_change")));
                }
                (id.0, old.kind, old.created_at)
            }
            None => (Uuid::now_v7(), input.kind.as_str().to_string(), now),
        };
        let row = RuleRow {
            id,
            kind,
            name,
            enabled: input.enabled,
            config: serde_json::to_string(&config).map_err(AppError::internal)?,
            created_at,
            updated_at: now,
        };
        self.store.archive().save_rule(actor.tenant, &row).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "archive_rule.save",
                object_type: "archive_rule",
                object_id: Some(id.to_string()),
                detail: json!({"kind": row.kind, "enabled": row.enabled, "config": config}),
            },
        )
        .await;
        rule_view(row).ok_or_else(|| AppError::internal(anyhow::anyhow!("rule does not read back")))
    }

    pub async fn delete_rule(&self, actor: &Actor, id: ArchiveRuleId) -> AppResult<()> {
        actor.require(Permission::ArchiveManage)?;
        self.store.archive().delete_rule(actor.tenant, id).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "archive_rule.delete",
                object_type: "archive_rule",
                object_id: Some(id.to_string()),
                detail: json!({}),
            },
        )
        .await;
        Ok(())
    }

    /// The tenant's dictionary (brand and product words).
    pub async fn dictionary(&self, actor: &Actor) -> AppResult<Vec<String>> {
        actor.require(Permission::ArchiveAudit)?;
        Ok(self.store.archive().tenant_words(actor.tenant).await?)
    }

    pub async fn set_dictionary(&self, actor: &Actor, words: &[String]) -> AppResult<Vec<String>> {
        actor.require(Permission::ArchiveManage)?;
        let words = clean_words(words)?;
        self.store.archive().set_tenant_words(actor.tenant, &words, self.now()).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "dictionary.set",
                object_type: "dictionary",
                object_id: None,
                detail: json!({"words": words.len()}),
            },
        )
        .await;
        // Tokens depend on the dictionary: rebuild the search index with the new segmenter now, in the
        // background (searches wait for it; `archive_index` notices the change in any case).
        let (app, tenant) = (self.clone(), actor.tenant);
        tokio::spawn(async move {
            if let Err(e) = app.archive_index(tenant).await {
                tracing::warn!(tenant = %tenant.0, error = %e, "archive search index not rebuilt");
            }
        });
        Ok(words)
    }

    /// The tenant's segmenter: jieba's dictionary plus the tenant's words.
    pub async fn segmenter(&self, tenant: TenantId) -> AppResult<Segmenter> {
        let words = self.store.archive().tenant_words(tenant).await?;
        Ok(Segmenter::with_user_words(words))
    }

    /// The tenant's enabled rules, compiled; rebuilt when a word, list, rule or dictionary word changed.
    pub(crate) async fn rule_set(&self, tenant: TenantId) -> AppResult<Arc<RuleSet>> {
        let version = self.store.archive().rules_version(tenant).await?;
        if let Some(set) = self.rule_sets.get(tenant).filter(|s| s.version == version) {
            return Ok(set);
        }
        let segmenter = self.segmenter(tenant).await?;
        let mut rules = Vec::new();
        for row in self.store.archive().rules(tenant).await? {
            let Some(view) = rule_view(row).filter(|r| r.enabled) else { continue };
            let scanner = if matches!(view.kind, RuleKind::Words | RuleKind::GroupWords) {
                let words = self.store.archive().words_of(tenant, &view.config.word_lists).await?;
                let rules = words.into_iter().enumerate().map(|(i, w)| WordRule {
                    id: i as i64,
                    word: w.word,
                    strict: w.strict,
                });
                Some(Arc::new(Scanner::new(rules, segmenter.clone()).map_err(AppError::internal)?))
            } else {
                None
            };
            rules.push(CompiledRule { id: view.id, kind: view.kind, name: view.name, config: view.config, scanner });
        }
        let set = Arc::new(RuleSet { version, rules });
        self.rule_sets.put(tenant, Arc::clone(&set));
        Ok(set)
    }
}
