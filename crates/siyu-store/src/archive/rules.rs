//! Sensitive-word lists and archive rules.

use chrono::{DateTime, Utc};
use siyu_domain::id::{ArchiveRuleId, TenantId, WordListId};
use uuid::Uuid;

use super::Archive;
use crate::{StoreError, exec, on_pool};

/// A word list with its size.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WordList {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub words: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One word of a list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WordRow {
    pub list_id: Uuid,
    pub word: String,
    pub strict: bool,
    pub created_at: DateTime<Utc>,
}

/// A rule as stored (its config is JSON text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    pub config: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const LIST_SELECT: &str = "SELECT l.id, l.name, l.description, \
     (SELECT COUNT(*) FROM word_list_words w WHERE w.tenant_id = l.tenant_id AND w.list_id = l.id) AS words, \
     l.created_at, l.updated_at FROM word_lists l";

impl Archive<'_> {
    pub async fn word_lists(&self, tenant: TenantId) -> Result<Vec<WordList>, StoreError> {
        let sql = format!("{LIST_SELECT} WHERE l.tenant_id = $1 ORDER BY l.name");
        Ok(
            on_pool!(self.0, p => sqlx::query_as::<_, WordList>(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(p).await)?,
        )
    }

    pub async fn word_list(&self, tenant: TenantId, id: WordListId) -> Result<WordList, StoreError> {
        let sql = format!("{LIST_SELECT} WHERE l.tenant_id = $1 AND l.id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, WordList>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Makes a list; `Conflict` when the tenant has one of that name.
    pub async fn insert_word_list(
        &self,
        tenant: TenantId,
        id: WordListId,
        name: &str,
        description: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO word_lists (tenant_id, id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(name).bind(description).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    /// Deletes a list and its words.
    pub async fn delete_word_list(&self, tenant: TenantId, id: WordListId) -> Result<(), StoreError> {
        let words = "DELETE FROM word_list_words WHERE tenant_id = $1 AND list_id = $2";
        exec!(self.0, p => sqlx::query(words).bind(tenant.0).bind(id.0).execute(p).await)?;
        let list = "DELETE FROM word_lists WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(list).bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Words of a list, alphabetically.
    pub async fn words(&self, tenant: TenantId, list: WordListId) -> Result<Vec<WordRow>, StoreError> {
        let sql = "SELECT list_id, word, strict, created_at FROM word_list_words WHERE tenant_id = $1 AND list_id = $2 \
             ORDER BY word";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, WordRow>(sql).bind(tenant.0).bind(list.0).fetch_all(p).await)?)
    }

    /// Every word of the given lists.
    pub async fn words_of(&self, tenant: TenantId, lists: &[Uuid]) -> Result<Vec<WordRow>, StoreError> {
        let mut out = Vec::new();
        for list in lists {
            out.extend(self.words(tenant, WordListId(*list)).await?);
        }
        Ok(out)
    }

    /// Adds words (those already in the list are left as they are); how many were new.
    pub async fn add_words(
        &self,
        tenant: TenantId,
        list: WordListId,
        words: &[(String, bool)],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = "INSERT INTO word_list_words (tenant_id, list_id, word, strict, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, list_id, word) DO NOTHING";
        let mut n = 0;
        for (word, strict) in words {
            n += exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(list.0).bind(word).bind(*strict).bind(at)
                .execute(p).await)?;
        }
        self.touch_list(tenant, list, at).await?;
        Ok(n)
    }

    /// Removes one word; `NotFound` when the list lacks it.
    pub async fn remove_word(
        &self,
        tenant: TenantId,
        list: WordListId,
        word: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "DELETE FROM word_list_words WHERE tenant_id = $1 AND list_id = $2 AND word = $3";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(list.0).bind(word).execute(p).await)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.touch_list(tenant, list, at).await
    }

    async fn touch_list(&self, tenant: TenantId, list: WordListId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "UPDATE word_lists SET updated_at = $3 WHERE tenant_id = $1 AND id = $2";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(list.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Changes whenever a tenant's words, rules or dictionary change.
    pub async fn rules_version(&self, tenant: TenantId) -> Result<String, StoreError> {
        let sql = "SELECT (SELECT COUNT(*) FROM word_list_words WHERE tenant_id = $1), \
             (SELECT MAX(updated_at) FROM word_lists WHERE tenant_id = $1), \
             (SELECT COUNT(*) FROM archive_rules WHERE tenant_id = $1), \
             (SELECT MAX(updated_at) FROM archive_rules WHERE tenant_id = $1), \
             (SELECT COUNT(*) FROM tenant_words WHERE tenant_id = $1), \
             (SELECT MAX(created_at) FROM tenant_words WHERE tenant_id = $1)";
        type Version = (i64, Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>);
        let v: Version = on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_one(p).await)?;
        Ok(format!("{v:?}"))
    }

    pub async fn rules(&self, tenant: TenantId) -> Result<Vec<RuleRow>, StoreError> {
        let sql = "SELECT id, kind, name, enabled, config, created_at, updated_at FROM archive_rules \
             WHERE tenant_id = $1 ORDER BY created_at, id";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, RuleRow>(sql).bind(tenant.0).fetch_all(p).await)?)
    }

    pub async fn rule(&self, tenant: TenantId, id: ArchiveRuleId) -> Result<RuleRow, StoreError> {
        let sql = "SELECT id, kind, name, enabled, config, created_at, updated_at FROM archive_rules \
             WHERE tenant_id = $1 AND id = $2";
        let row =
            on_pool!(self.0, p => sqlx::query_as::<_, RuleRow>(sql).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Makes a rule, or replaces its name, state and config.
    pub async fn save_rule(&self, tenant: TenantId, r: &RuleRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO archive_rules (tenant_id, id, kind, name, enabled, config, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, id) DO UPDATE SET \
             name = excluded.name, enabled = excluded.enabled, config = excluded.config, updated_at = excluded.updated_at";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(r.id).bind(&r.kind).bind(&r.name).bind(r.enabled)
            .bind(&r.config).bind(r.created_at).bind(r.updated_at).execute(p).await)?;
        Ok(())
    }

    pub async fn delete_rule(&self, tenant: TenantId, id: ArchiveRuleId) -> Result<(), StoreError> {
        let sql = "DELETE FROM archive_rules WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The tenant's dictionary words, alphabetically.
    pub async fn tenant_words(&self, tenant: TenantId) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT word FROM tenant_words WHERE tenant_id = $1 ORDER BY word";
        let rows: Vec<(String,)> = on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Replaces the tenant's dictionary with `words`.
    pub async fn set_tenant_words(
        &self,
        tenant: TenantId,
        words: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let clear = "DELETE FROM tenant_words WHERE tenant_id = $1";
        exec!(self.0, p => sqlx::query(clear).bind(tenant.0).execute(p).await)?;
        let insert = "INSERT INTO tenant_words (tenant_id, word, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, word) DO NOTHING";
        for w in words {
            exec!(self.0, p => sqlx::query(insert).bind(tenant.0).bind(w).bind(at).execute(p).await)?;
        }
        Ok(())
    }
}
