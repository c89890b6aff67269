//! Archive cursors (the highest seq forwarded per corp), conversations and their messages.

use chrono::{DateTime, Utc};
use siyu_domain::id::{ConversationId, CorpId, CustomerId, TenantId};
use uuid::Uuid;

use super::Archive;
use crate::sql::{Arg, Sql, contains_pattern, dyn_query_as};
use crate::{StoreError, exec, on_pool};

/// Where a corp's archive stands.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cursor {
    pub corp_row_id: Uuid,
    pub max_seq: i64,
    pub messages: i64,
    pub last_msg_at: Option<DateTime<Utc>>,
    pub ingested_at: Option<DateTime<Utc>>,
    pub notified_at: Option<DateTime<Utc>>,
}

/// The conversation a message belongs to, to find or make.
#[derive(Debug, Clone)]
pub struct ConversationUpsert<'a> {
    pub corp: CorpId,
    /// WeCom's corp id: the namespace of the customer's external_userid identity.
    pub corp_id: &'a str,
    pub key: &'a str,
    pub kind: &'a str,
    pub staff_userid: Option<&'a str>,
    pub external_userid: Option<&'a str>,
    pub roomid: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// A conversation with the names it is shown by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Conversation {
    pub id: Uuid,
    pub corp_row_id: Uuid,
    pub kind: String,
    pub staff_userid: Option<String>,
    pub external_userid: Option<String>,
    pub roomid: Option<String>,
    pub customer_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub messages: i64,
    pub first_msg_at: DateTime<Utc>,
    pub last_msg_at: DateTime<Utc>,
    pub awaiting_since: Option<DateTime<Utc>>,
    pub awaiting_msgid: Option<String>,
    pub customer_name: Option<String>,
    pub group_name: Option<String>,
    pub staff_name: Option<String>,
    pub group_owner: Option<String>,
}

const CONVERSATION_SELECT: &str = "SELECT v.id, v.corp_row_id, v.kind, v.staff_userid, v.external_userid, v.roomid, \
     v.customer_id, v.group_id, v.messages, v.first_msg_at, v.last_msg_at, v.awaiting_since, v.awaiting_msgid, \
     c.name AS customer_name, g.name AS group_name, s.name AS staff_name, g.owner_userid AS group_owner \
     FROM archive_conversations v \
     LEFT JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id \
     LEFT JOIN customer_groups g ON g.tenant_id = v.tenant_id AND g.id = v.group_id \
     LEFT JOIN wecom_staff s ON s.tenant_id = v.tenant_id AND s.corp_row_id = v.corp_row_id \
          AND s.userid = v.staff_userid";

/// Filters of the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    pub kind: Option<String>,
    pub staff_userid: Option<String>,
    pub customer: Option<CustomerId>,
    /// Conversations with a message containing this text.
    pub text: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Ids bound per statement when a list of ids is looked up (well under either database's limit).
const ID_CHUNK: usize = 500;

/// ` WHERE` the conversation `v` is the tenant's and passes `q`'s kind, staff and customer filters.
fn conversation_filter(tenant: TenantId, q: &ConversationQuery) -> Sql {
    let mut filter = Sql::new(" WHERE v.tenant_id = ");
    filter.bind(Arg::Uuid(tenant.0));
    push_conversation_filters(&mut filter, q);
    filter
}

/// ` AND` the conversation `v` passes `q`'s kind, staff and customer filters.
fn push_conversation_filters(filter: &mut Sql, q: &ConversationQuery) {
    if let Some(kind) = &q.kind {
        filter.push(" AND v.kind = ").bind(Arg::Text(kind.clone()));
    }
    if let Some(staff) = &q.staff_userid {
        filter.push(" AND v.staff_userid = ").bind(Arg::Text(staff.clone()));
    }
    if let Some(customer) = q.customer {
        filter.push(" AND v.customer_id = ").bind(Arg::Uuid(customer.0));
    }
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The row's id (`Uuid::now_v7()`); unused when the corp already has the msgid.
    pub id: Uuid,
    pub corp: CorpId,
    pub conversation: Option<ConversationId>,
    pub msgid: &'a str,
    pub seq: i64,
    pub action: &'a str,
    pub msgtype: &'a str,
    pub sender: &'a str,
    pub sender_party: &'a str,
    pub msgtime: DateTime<Utc>,
    pub body: &'a str,
    pub payload: &'a str,
}

/// A stored message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub msgid: String,
    pub seq: i64,
    pub msgtype: String,
    pub sender: String,
    pub sender_party: String,
    pub msgtime: DateTime<Utc>,
    pub body: String,
    pub payload: String,
    pub recalled: bool,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, msgid, seq, msgtype, sender, sender_party, msgtime, body, payload, recalled";

impl Archive<'_> {
    /// The cursors of a tenant's corps.
    pub async fn cursors(&self, tenant: TenantId) -> Result<Vec<Cursor>, StoreError> {
        let sql = "SELECT corp_row_id, max_seq, messages, last_msg_at, ingested_at, notified_at FROM archive_cursors \
             WHERE tenant_id = $1 ORDER BY corp_row_id";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, Cursor>(sql).bind(tenant.0).fetch_all(p).await)?)
    }

    /// Moves a corp's cursor forward: the highest seq seen, `stored` more messages, the newest message time.
    pub async fn advance_cursor(
        &self,
        tenant: TenantId,
        corp: CorpId,
        max_seq: i64,
        stored: i64,
        last_msg_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO archive_cursors (tenant_id, corp_row_id, max_seq, messages, last_msg_at, ingested_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, corp_row_id) DO UPDATE SET \
             max_seq = CASE WHEN archive_cursors.max_seq < excluded.max_seq THEN excluded.max_seq \
                 ELSE archive_cursors.max_seq END, \
             messages = archive_cursors.messages + excluded.messages, \
             last_msg_at = CASE WHEN archive_cursors.last_msg_at IS NULL OR archive_cursors.last_msg_at < excluded.last_msg_at \
                 THEN excluded.last_msg_at ELSE archive_cursors.last_msg_at END, \
             ingested_at = excluded.ingested_at";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(corp.0).bind(max_seq).bind(stored)
            .bind(last_msg_at).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Records that WeCom said new archive data is waiting (`msgaudit_notify`).
    pub async fn mark_notified(&self, tenant: TenantId, corp: CorpId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "INSERT INTO archive_cursors (tenant_id, corp_row_id, notified_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, corp_row_id) DO UPDATE SET notified_at = excluded.notified_at";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(corp.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Finds or makes a conversation; links its customer (by external_userid) and group (by roomid) as soon
    /// as siyu knows them.
    pub async fn upsert_conversation(
        &self,
        tenant: TenantId,
        c: &ConversationUpsert<'_>,
    ) -> Result<ConversationId, StoreError> {
        let sql = "INSERT INTO archive_conversations (tenant_id, id, corp_row_id, conv_key, kind, staff_userid, \
             external_userid, roomid, customer_id, group_id, first_msg_at, last_msg_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             (SELECT customer_id FROM identities WHERE tenant_id = $1 AND kind = 'external_userid' \
                  AND namespace = $9 AND lookup = $7), \
             (SELECT id FROM customer_groups WHERE tenant_id = $1 AND corp_row_id = $3 AND chat_id = $8), $10, $10) \
             ON CONFLICT (tenant_id, corp_row_id, conv_key) DO UPDATE SET \
             customer_id = COALESCE(archive_conversations.customer_id, excluded.customer_id), \
             group_id = COALESCE(archive_conversations.group_id, excluded.group_id)";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(Uuid::now_v7()).bind(c.corp.0).bind(c.key)
            .bind(c.kind).bind(c.staff_userid).bind(c.external_userid).bind(c.roomid).bind(c.corp_id).bind(c.at)
            .execute(p).await)?;
        let find = "SELECT id FROM archive_conversations WHERE tenant_id = $1 AND corp_row_id = $2 AND conv_key = $3";
        let (id,): (Uuid,) = on_pool!(self.0, p => sqlx::query_as(find).bind(tenant.0).bind(c.corp.0).bind(c.key)
            .fetch_one(p).await)?;
        Ok(ConversationId(id))
    }

    /// Stores a message unless the corp already has its msgid; whether it was new.
    pub async fn insert_message(
        &self,
        tenant: TenantId,
        m: &NewMessage<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO archive_messages (tenant_id, id, corp_row_id, conversation_id, msgid, seq, action, \
             msgtype, sender, sender_party, msgtime, body, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (tenant_id, corp_row_id, msgid) DO NOTHING";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(m.id).bind(m.corp.0)
            .bind(m.conversation.map(|c| c.0)).bind(m.msgid).bind(m.seq).bind(m.action).bind(m.msgtype)
            .bind(m.sender).bind(m.sender_party).bind(m.msgtime).bind(m.body).bind(m.payload).bind(at)
            .execute(p).await)?;
        Ok(n > 0)
    }

    /// Marks a message taken back (a `revoke` names it).
    pub async fn mark_recalled(&self, tenant: TenantId, corp: CorpId, msgid: &str) -> Result<(), StoreError> {
        let sql =
            "UPDATE archive_messages SET recalled = TRUE WHERE tenant_id = $1 AND corp_row_id = $2 AND msgid = $3";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(corp.0).bind(msgid).execute(p).await)?;
        Ok(())
    }

    /// Counts a new message into its conversation (`conv` as read before the message). A customer's message starts the reply clock of a 1:1 chat
    /// unless it is already running; a staff message stops it and returns when it started and the message
    /// that started it.
    pub async fn count_message(
        &self,
        tenant: TenantId,
        conv: &Conversation,
        msgtime: DateTime<Utc>,
        msgid: &str,
        from_customer: bool,
        from_staff: bool,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let id = ConversationId(conv.id);
        let bump = "UPDATE archive_conversations SET messages = messages + 1, \
             last_msg_at = CASE WHEN last_msg_at < $3 THEN $3 ELSE last_msg_at END, \
             first_msg_at = CASE WHEN first_msg_at > $3 THEN $3 ELSE first_msg_at END WHERE tenant_id = $1 AND id = $2";
        exec!(self.0, p => sqlx::query(bump).bind(tenant.0).bind(id.0).bind(msgtime).execute(p).await)?;
        if conv.kind != "single" {
            return Ok(None);
        }
        if from_customer && conv.awaiting_since.is_none() {
            let start = "UPDATE archive_conversations SET awaiting_since = $3, awaiting_msgid = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND awaiting_since IS NULL";
            exec!(self.0, p => sqlx::query(start).bind(tenant.0).bind(id.0).bind(msgtime).bind(msgid).execute(p).await)?;
            return Ok(None);
        }
        match (from_staff, conv.awaiting_since, conv.awaiting_msgid.clone()) {
            (true, Some(since), Some(waiting)) if since <= msgtime => {
                let stop = "UPDATE archive_conversations SET awaiting_since = NULL, awaiting_msgid = NULL \
                     WHERE tenant_id = $1 AND id = $2";
                exec!(self.0, p => sqlx::query(stop).bind(tenant.0).bind(id.0).execute(p).await)?;
                Ok(Some((since, waiting)))
            }
            _ => Ok(None),
        }
    }

    /// One conversation.
    pub async fn conversation(&self, tenant: TenantId, id: ConversationId) -> Result<Conversation, StoreError> {
        let sql = format!("{CONVERSATION_SELECT} WHERE v.tenant_id = $1 AND v.id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, Conversation>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Conversations, most recent first, and how many match.
    pub async fn conversations(
        &self,
        tenant: TenantId,
        q: &ConversationQuery,
    ) -> Result<(Vec<Conversation>, i64), StoreError> {
        let mut filter = conversation_filter(tenant, q);
        if let Some(text) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
            filter.push(" AND v.id IN (SELECT conversation_id FROM archive_messages m WHERE m.tenant_id = v.tenant_id AND m.body");
            filter.push(crate::sql::ilike(self.0.kind()));
            filter.bind(Arg::Text(contains_pattern(text.trim()))).push(" ESCAPE '\\')");
        }
        let count =
            Sql::with(&format!("SELECT COUNT(*) FROM archive_conversations v{}", filter.text), filter.args.clone());
        let mut list = Sql::with(&format!("{CONVERSATION_SELECT}{}", filter.text), filter.args);
        list.push(" ORDER BY v.last_msg_at DESC, v.id LIMIT ")
            .bind(Arg::Int(q.limit))
            .push(" OFFSET ")
            .bind(Arg::Int(q.offset));
        let rows = on_pool!(self.0, p => dyn_query_as!(Conversation, list).fetch_all(p).await)?;
        let (total,): (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), count).fetch_one(p).await)?;
        Ok((rows, total))
    }

    /// Of the conversations `ids`, those passing `q`'s kind, staff and customer filters (its text and page
    /// are not used), most recent first. Any number of ids: they are looked up in chunks.
    pub async fn filter_conversations(
        &self,
        tenant: TenantId,
        ids: &[Uuid],
        q: &ConversationQuery,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut found: Vec<(DateTime<Utc>, Uuid)> = Vec::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let mut sql = conversation_filter(tenant, q);
            sql.text = format!("SELECT v.last_msg_at, v.id FROM archive_conversations v{}", sql.text);
            sql.push(" AND v.id IN ").bind_list(chunk.iter().copied());
            found.extend(on_pool!(self.0, p => dyn_query_as!((DateTime<Utc>, Uuid), sql).fetch_all(p).await)?);
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// The conversations with these ids, in the order of `ids`; ids the tenant has none of are left out.
    pub async fn conversations_by_ids(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<Conversation>, StoreError> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let mut sql = Sql::new(&format!("{CONVERSATION_SELECT} WHERE v.tenant_id = "));
            sql.bind(Arg::Uuid(tenant.0)).push(" AND v.id IN ").bind_list(chunk.iter().copied());
            rows.extend(on_pool!(self.0, p => dyn_query_as!(Conversation, sql).fetch_all(p).await)?);
        }
        let order: std::collections::HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        rows.sort_by_key(|r| order.get(&r.id).copied());
        Ok(rows)
    }

    /// Messages of a conversation in time order, from `after` (exclusive) on; at most `limit`.
    pub async fn messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        after: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM archive_messages WHERE tenant_id = $1 AND conversation_id = $2 \
             AND ($3 IS NULL OR msgtime > $3) ORDER BY msgtime, seq LIMIT $4"
        );
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(conversation.0).bind(after).bind(limit).fetch_all(p).await)?)
    }

    /// Up to `n` messages before and after one message of a conversation (the alert's context), in order.
    pub async fn context(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        at: DateTime<Utc>,
        n: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let before = format!(
            "SELECT {MESSAGE_COLUMNS} FROM archive_messages WHERE tenant_id = $1 AND conversation_id = $2 \
             AND msgtime < $3 ORDER BY msgtime DESC, seq DESC LIMIT $4"
        );
        let after = format!(
            "SELECT {MESSAGE_COLUMNS} FROM archive_messages WHERE tenant_id = $1 AND conversation_id = $2 \
             AND msgtime >= $3 ORDER BY msgtime, seq LIMIT $4"
        );
        let mut rows = on_pool!(self.0, p => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(before))
            .bind(tenant.0).bind(conversation.0).bind(at).bind(n).fetch_all(p).await)?;
        rows.reverse();
        let later = on_pool!(self.0, p => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(after))
            .bind(tenant.0).bind(conversation.0).bind(at).bind(n + 1).fetch_all(p).await)?;
        rows.extend(later);
        Ok(rows)
    }

    /// Messages whose text contains `text` in conversations passing `q`'s kind, staff and customer filters
    /// (none set: any message), newest first: one page (`q.limit`, `q.offset`) and how many match. The
    /// substring scan the index stands in for; used while it is unavailable.
    pub async fn search_messages(
        &self,
        tenant: TenantId,
        text: &str,
        q: &ConversationQuery,
    ) -> Result<(Vec<MessageRow>, i64), StoreError> {
        let mut filter = Sql::new(" FROM archive_messages m WHERE m.tenant_id = ");
        filter.bind(Arg::Uuid(tenant.0)).push(" AND m.body").push(crate::sql::ilike(self.0.kind()));
        filter.bind(Arg::Text(contains_pattern(text))).push(" ESCAPE '\\'");
        if q.kind.is_some() || q.staff_userid.is_some() || q.customer.is_some() {
            filter.push(" AND m.conversation_id IN (SELECT v.id FROM archive_conversations v WHERE v.tenant_id = ");
            filter.bind(Arg::Uuid(tenant.0));
            push_conversation_filters(&mut filter, q);
            filter.push(")");
        }
        let count = Sql::with(&format!("SELECT COUNT(*){}", filter.text), filter.args.clone());
        let mut list = Sql::with(&format!("SELECT {MESSAGE_COLUMNS}{}", filter.text), filter.args);
        list.push(" ORDER BY m.msgtime DESC, m.id LIMIT ")
            .bind(Arg::Int(q.limit))
            .push(" OFFSET ")
            .bind(Arg::Int(q.offset));
        let rows = on_pool!(self.0, p => dyn_query_as!(MessageRow, list).fetch_all(p).await)?;
        let (total,): (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), count).fetch_one(p).await)?;
        Ok((rows, total))
    }

    /// A page of the tenant's messages with text, in (msgtime, id) order, after the message `after`
    /// (exclusive; `None` for the first page): what the search index is rebuilt from.
    pub async fn messages_with_text(
        &self,
        tenant: TenantId,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let (at, id) = (after.map(|a| a.0), after.map(|a| a.1));
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM archive_messages WHERE tenant_id = $1 AND body <> '' \
             AND ($2 IS NULL OR msgtime > $2 OR (msgtime = $2 AND id > $3)) ORDER BY msgtime, id LIMIT $4"
        );
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(at).bind(id).bind(limit).fetch_all(p).await)?)
    }

    /// The messages with these ids, in the order of `ids`; ids the tenant has no message of are left out.
    pub async fn messages_by_ids(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<MessageRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {MESSAGE_COLUMNS} FROM archive_messages WHERE tenant_id = "));
        sql.bind(Arg::Uuid(tenant.0)).push(" AND id IN ").bind_list(ids.iter().copied());
        let mut rows = on_pool!(self.0, p => dyn_query_as!(MessageRow, sql).fetch_all(p).await)?;
        rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
        Ok(rows)
    }
}
