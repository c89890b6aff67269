use chrono::Duration;
use siyu_domain::id::UserId;
use siyu_domain::tenancy::Account;
use siyu_store::Store;
use siyu_store::idempotency::Claim;
use siyu_store::sessions::SessionRecord;

use crate::{now, tenant};

async fn account(store: &Store) -> Account {
    let a = Account {
        id: UserId::new(),
        username: format!("u{}", uuid::Uuid::now_v7().simple()),
        display_name: "运营".into(),
        platform_admin: false,
        locale: "zh-CN".into(),
        active: true,
        created_at: now(),
    };
    store.accounts().insert(&a, "hash").await.unwrap();
    a
}

async fn sessions_are_found_by_hash_and_end_with_their_account(store: Store) {
    let a = account(&store).await;
    let s = SessionRecord {
        id_hash: vec![1, 2, 3],
        user_id: a.id,
        tenant_id: Some(tenant(&store).await),
        csrf_token: "csrf".into(),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
        created_at: now(),
        last_seen_at: now(),
        expires_at: now() + Duration::hours(12),
    };
    store.sessions().insert(&s).await.unwrap();
    assert_eq!(store.sessions().get(&[1, 2, 3]).await.unwrap(), Some(s));
    assert_eq!(store.sessions().delete_for_user(a.id).await.unwrap(), 1);
    assert_eq!(store.sessions().get(&[1, 2, 3]).await.unwrap(), None);
}

async fn login_failures_count_within_a_window_and_restart_after_it(store: Store) {
    let t0 = now();
    let window = Duration::minutes(15);
    for expected in 1..=3 {
        assert_eq!(store.sessions().record_failure("ip:1.2.3.4", t0, t0 - window).await.unwrap(), expected);
    }
    assert_eq!(store.sessions().failures("ip:1.2.3.4", t0 - window).await.unwrap().map(|f| f.0), Some(3));
    let later = t0 + Duration::minutes(16);
    assert_eq!(store.sessions().record_failure("ip:1.2.3.4", later, later - window).await.unwrap(), 1);
    store.sessions().clear_failures("ip:1.2.3.4").await.unwrap();
    assert_eq!(store.sessions().failures("ip:1.2.3.4", later - window).await.unwrap(), None);
}

async fn an_idempotency_key_is_claimed_once_then_replayed(store: Store) {
    let t = tenant(&store).await;
    let (n, old) = (now(), now() - Duration::hours(24));
    let claim = |hash: &'static str| {
        let store = store.clone();
        async move { store.idempotency().claim(t, "user:1", "key-1", hash, n, old).await.unwrap() }
    };
    assert_eq!(claim("h1").await, Claim::Fresh);
    assert_eq!(claim("h1").await, Claim::InFlight);
    assert_eq!(claim("h2").await, Claim::Mismatch);
    store.idempotency().complete(t, "user:1", "key-1", 201, b"{}").await.unwrap();
    assert_eq!(claim("h1").await, Claim::Replay { status: 201, body: b"{}".to_vec() });
    // A released claim (the request failed) can be run again.
    assert_eq!(store.idempotency().claim(t, "user:1", "key-2", "h", n, old).await.unwrap(), Claim::Fresh);
    store.idempotency().release(t, "user:1", "key-2").await.unwrap();
    assert_eq!(store.idempotency().claim(t, "user:1", "key-2", "h", n, old).await.unwrap(), Claim::Fresh);
    // After the retention window the key is free again.
    let much_later = n + Duration::hours(25);
    let claim = store
        .idempotency()
        .claim(t, "user:1", "key-1", "h9", much_later, much_later - Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(claim, Claim::Fresh);
}

async fn a_bearer_token_resolves_to_its_live_member_in_one_lookup(store: Store) {
    use siyu_domain::access::{DataScope, Role, TokenScope};
    use siyu_domain::id::ApiTokenId;
    use siyu_domain::tenancy::{ApiToken, Member, TenantStatus};
    let t = tenant(&store).await;
    let a = account(&store).await;
    let member = Member {
        tenant_id: t,
        user_id: a.id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: Role::Operator,
        scope: DataScope::All,
        department_id: None,
        active: true,
        created_at: now(),
    };
    store.members().insert(&member).await.unwrap();
    let token = ApiToken {
        id: ApiTokenId::new(),
        name: "erp".into(),
        prefix: "syk_x".into(),
        scopes: vec![TokenScope::Read],
        created_by: a.id,
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    store.tokens().insert(t, &token, b"hash").await.unwrap();
    let (found, tenant_active, m) = store.tokens().authenticate(t, b"hash").await.unwrap().unwrap();
    assert_eq!((found.id, tenant_active, m), (token.id, true, member));
    assert!(store.tokens().authenticate(t, b"other").await.unwrap().is_none());
    assert!(store.tokens().authenticate(tenant(&store).await, b"hash").await.unwrap().is_none(), "another tenant");
    store.tenants().set_status(t, TenantStatus::Suspended).await.unwrap();
    assert!(!store.tokens().authenticate(t, b"hash").await.unwrap().unwrap().1);
    store.tokens().revoke(t, token.id, now()).await.unwrap();
    assert!(store.tokens().authenticate(t, b"hash").await.unwrap().is_none(), "revoked");
}

crate::conformance!(
    a_bearer_token_resolves_to_its_live_member_in_one_lookup,
    sessions_are_found_by_hash_and_end_with_their_account,
    login_failures_count_within_a_window_and_restart_after_it,
    an_idempotency_key_is_claimed_once_then_replayed,
);
