//! API tokens for the Open API. Only a SHA-256 of the secret is stored; the token text embeds its tenant.

use chrono::{DateTime, Utc};
use siyu_domain::access::TokenScope;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::DepartmentId;
use siyu_domain::id::{ApiTokenId, TenantId, UserId};
use siyu_domain::tenancy::{ApiToken, Member};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::reader::read_row;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, exec, on_pool};

pub struct Tokens<'a>(pub(crate) &'a Store);

read_row! {
    #[derive(sqlx::FromRow)]
    struct TokenRow {
        id: Uuid,
        name: String,
        prefix: String,
        scopes: String,
        created_by: Uuid,
        created_at: DateTime<Utc>,
        last_used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    }
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: ApiTokenId(r.id),
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.split(',').filter_map(TokenScope::parse).collect(),
            created_by: UserId(r.created_by),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

impl Store {
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens(self)
    }
}

const SELECT: &str =
    "SELECT id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at FROM api_tokens";

impl Tokens<'_> {
    pub async fn insert(&self, tenant: TenantId, t: &ApiToken, hash: &[u8]) -> Result<(), StoreError> {
        let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
        exec!(self.0, p => sqlx::query(
            "INSERT INTO api_tokens (tenant_id, id, name, token_hash, prefix, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(tenant.0).bind(t.id.0).bind(&t.name).bind(hash).bind(&t.prefix).bind(scopes.join(","))
            .bind(t.created_by.0).bind(t.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn list(&self, tenant: TenantId) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("{SELECT} WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC");
        let rows: Vec<TokenRow> =
            on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn get(&self, tenant: TenantId, id: ApiTokenId) -> Result<ApiToken, StoreError> {
        let sql = format!("{SELECT} WHERE tenant_id = $1 AND id = $2");
        let row: Option<TokenRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.into())
    }

    /// Everything a request needs to act with a bearer token, in one query: the live token, whether its
    /// tenant is active, and the member who created it (`None` when the token is unknown or revoked, or its
    /// creator is no longer a member).
    pub async fn authenticate(
        &self,
        tenant: TenantId,
        hash: &[u8],
    ) -> Result<Option<(ApiToken, bool, Member)>, StoreError> {
        read_row! {
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                token: TokenRow,
                tenant_status: String,
                user_id: Uuid,
                username: String,
                display_name: String,
                role: String,
                scope: String,
                department_id: Option<Uuid>,
                member_status: String,
                account_status: String,
                member_since: DateTime<Utc>,
            }
        }
        let sql = Sql::with(
            "SELECT t.id, t.name, t.prefix, t.scopes, t.created_by, t.created_at, t.last_used_at, t.revoked_at, \
             tn.status AS tenant_status, m.user_id, a.username, a.display_name, m.role, m.scope, m.department_id, \
             m.status AS member_status, a.status AS account_status, m.created_at AS member_since \
             FROM api_tokens t JOIN tenants tn ON tn.tenant_id = t.tenant_id \
             JOIN members m ON m.tenant_id = t.tenant_id AND m.user_id = t.created_by \
             JOIN accounts a ON a.user_id = m.user_id \
             WHERE t.tenant_id = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL",
            vec![Arg::Uuid(tenant.0), Arg::Bytes(hash.to_vec())],
        );
        let (row,) = crate::reader::read_together!(self.0, optional Row = sql)?;
        let Some(r) = row else { return Ok(None) };
        let corrupt = |what: &str| StoreError::Corrupt(what.to_string());
        let member = Member {
            tenant_id: tenant,
            user_id: UserId(r.user_id),
            username: r.username,
            display_name: r.display_name,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("member role"))?,
            scope: DataScope::parse(&r.scope).ok_or_else(|| corrupt("member scope"))?,
            department_id: r.department_id.map(DepartmentId),
            active: r.member_status == "active" && r.account_status == "active",
            created_at: r.member_since,
        };
        Ok(Some((r.token.into(), r.tenant_status == "active", member)))
    }

    pub async fn revoke(&self, tenant: TenantId, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(at).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Records use, at most once a minute per token to keep hot paths write-free.
    pub async fn touch(&self, tenant: TenantId, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let stale = at - chrono::Duration::minutes(1);
        exec!(self.0, p => sqlx::query(
            "UPDATE api_tokens SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $4)")
            .bind(tenant.0).bind(id.0).bind(at).bind(stale).execute(p).await)?;
        Ok(())
    }
}
