//! The session archive (会话内容存档): ingesting archived messages, the rules auditors set over them, the
//! alerts those rules raise, and the sweep that watches what no single message shows.
//!
//! - `ingest`: `POST /api/v1/archive/ingest` and `siyu archive ingest` hand batches of messages in WeCom's
//!   decrypted shape (reference/wecom.md §7). Each is stored once per (corp, msgid), put in its conversation
//!   and checked against the message rules at once; bad items are reported one by one, the rest are stored.
//! - `rules`: word lists, rules and the tenant's dictionary; compiled per tenant into a [`RuleSet`] cached
//!   until something changes (Aho-Corasick scanners from `siyu-search`).
//! - `search`: the conversation list and the message search, through the tenant's full-text index (the
//!   database's substring match while the index is rebuilt or unavailable).
//! - `review`: a conversation's messages; the alert inbox, an alert's context and verdict;
//!   statistics per staff member.
//! - `sweep`: replies slower than a rule's deadline, customers deleted by staff, join-and-leave floods in
//!   groups, and the daily digest.
//!
//! Every alert has a dedupe key with a unique index, so a message forwarded twice, a batch replayed after a
//! crash or a sweep run again makes no second alert and no second app message to the owner.

mod ingest;
mod review;
mod rules;
mod search;
mod sweep;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use siyu_domain::id::TenantId;

pub use ingest::{IngestInput, IngestResult, RejectedItem};
pub use review::{AlertVerdict, AlertView, ConversationView, MessageView, StaffStatRow};
pub use rules::{RuleInput, RuleSet, RuleView, WordListInput, WordListView, WordsInput};
pub use search::{ArchivePage, SearchSource};
pub use siyu_store::archive::{AlertQuery, ConversationQuery, Cursor, Digest};

/// The deepest offset a message search pages to (the index's).
pub const MAX_SEARCH_OFFSET: i64 = siyu_search::index::MAX_OFFSET as i64;

/// The compiled rule sets of this process, per tenant, with the version they were built from.
#[derive(Default)]
pub struct RuleSets {
    sets: Mutex<HashMap<TenantId, Arc<RuleSet>>>,
}

impl RuleSets {
    fn get(&self, tenant: TenantId) -> Option<Arc<RuleSet>> {
        self.sets.lock().unwrap_or_else(|e| e.into_inner()).get(&tenant).cloned()
    }

    fn put(&self, tenant: TenantId, set: Arc<RuleSet>) {
        self.sets.lock().unwrap_or_else(|e| e.into_inner()).insert(tenant, set);
    }
}
