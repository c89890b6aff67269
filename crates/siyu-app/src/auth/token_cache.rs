//! What a bearer token resolved to, kept for a few seconds per node.
//!
//! An Open API client sends the same token with every request, and resolving it takes a trip to the
//! database (the token, its tenant and its member in one join; a department-scoped member's colleagues in
//! two more statements) for an answer that changes rarely. Each node keeps the resolved actor for at most
//! `security.token_cache_secs` (by the app's clock). A change made through this node (a token revoked or
//! created, a member, department or tenant changed) empties the cache at once, so on one node a revocation
//! takes effect immediately; another node sees it when its entry expires. `0` turns the cache off.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use siyu_domain::id::ApiTokenId;

use crate::Actor;

/// Entries kept at most; a full cache is emptied rather than searched for the oldest entry.
const MAX_ENTRIES: usize = 10_000;

/// A resolved token: the actor (without the request's origin) and what the `last_used_at` write needs.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub actor: Actor,
    pub token: ApiTokenId,
    pub last_used_at: Option<DateTime<Utc>>,
}

struct Entry {
    resolved: Resolved,
    until: DateTime<Utc>,
}

/// Resolved tokens by the SHA-256 of their secret (the secret itself is not kept), and how many times the
/// cache was emptied: an answer read before a change must not be kept after it.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<[u8; 32], Entry>,
    generation: u64,
}

impl TokenCache {
    /// The current generation: pass it to [`Self::put`] with an answer read after this call.
    pub(crate) fn generation(&self) -> u64 {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).generation
    }

    /// The entry for `digest`, if it has not expired at `now`.
    pub(crate) fn get(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Option<Resolved> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.map.get(digest).filter(|e| e.until > now).map(|e| e.resolved.clone())
    }

    /// Keeps `resolved`, read in `generation`, until `now + ttl`: nothing with a zero TTL, nor when the cache
    /// was emptied since (a revoke committed while the answer was being read).
    pub(crate) fn put(&self, digest: [u8; 32], resolved: Resolved, generation: u64, now: DateTime<Utc>, ttl: Duration) {
        if ttl <= Duration::zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.generation != generation {
            return;
        }
        let map = &mut entries.map;
        if map.len() >= MAX_ENTRIES && !map.contains_key(&digest) {
            map.retain(|_, e| e.until > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(digest, Entry { resolved, until: now + ttl });
    }

    /// Notes the `last_used_at` write made for `digest`, so the next minute's requests do not repeat it.
    pub(crate) fn used(&self, digest: &[u8; 32], at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.map.get_mut(digest) {
            e.resolved.last_used_at = Some(at);
        }
    }

    /// Forgets every entry: something a token's actor depends on changed on this node.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.map.clear();
        entries.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use siyu_domain::access::{DataScope, Role};
    use siyu_domain::id::{TenantId, UserId};

    use super::*;
    use crate::actor::Via;

    fn resolved() -> Resolved {
        let actor = Actor {
            tenant: TenantId::new(),
            user: UserId::new(),
            name: "店主".into(),
            role: Role::Owner,
            scope: DataScope::All,
            department: None,
            visibility: None,
            via: Via::System,
            ip: None,
            user_agent: None,
        };
        Resolved { actor, token: ApiTokenId::new(), last_used_at: None }
    }

    #[test]
    fn an_answer_read_before_the_cache_was_emptied_is_not_kept() {
        let (cache, now, ttl) = (TokenCache::default(), Utc::now(), Duration::seconds(5));
        let before = cache.generation();
        cache.clear();
        cache.put([1; 32], resolved(), before, now, ttl);
        assert!(cache.get(&[1; 32], now).is_none());
        cache.put([1; 32], resolved(), cache.generation(), now, ttl);
        assert!(cache.get(&[1; 32], now).is_some());
        assert!(cache.get(&[1; 32], now + ttl).is_none(), "expired at the TTL");
    }
}
