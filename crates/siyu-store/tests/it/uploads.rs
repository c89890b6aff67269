use chrono::{DateTime, Duration, Utc};
use siyu_domain::id::{UploadId, UserId};
use siyu_store::uploads::Upload;
use siyu_store::{Store, StoreError};

use crate::{now, tenant};

fn upload(at: DateTime<Utc>, bytes: &[u8]) -> Upload {
    Upload {
        id: UploadId::new(),
        user_id: UserId::new(),
        filename: "客户.csv".into(),
        content_type: "text/csv".into(),
        bytes: bytes.to_vec(),
        size: bytes.len() as i64,
        created_at: at,
        expires_at: at + Duration::hours(24),
    }
}

async fn an_upload_is_read_back_whole_within_its_tenant_only(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    // Every byte value survives the round trip (spreadsheets are binary).
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let u = upload(now(), &bytes);
    store.uploads().insert(t, &u).await.unwrap();
    assert_eq!(store.uploads().get(t, u.id).await.unwrap(), u);
    assert!(matches!(store.uploads().get(other, u.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.uploads().get(t, UploadId::new()).await, Err(StoreError::NotFound)));
}

async fn deleting_an_upload_removes_it_once_and_only_in_its_tenant(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let u = upload(now(), b"name\n");
    store.uploads().insert(t, &u).await.unwrap();
    assert!(!store.uploads().delete(other, u.id).await.unwrap(), "another tenant cannot delete it");
    assert!(store.uploads().get(t, u.id).await.is_ok());
    assert!(store.uploads().delete(t, u.id).await.unwrap());
    assert!(!store.uploads().delete(t, u.id).await.unwrap(), "the second delete finds nothing");
    assert!(matches!(store.uploads().get(t, u.id).await, Err(StoreError::NotFound)));
}

async fn purging_removes_expired_uploads_of_every_tenant_and_keeps_the_rest(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let n = now();
    let old = upload(n - Duration::hours(25), b"old");
    let old_elsewhere = upload(n - Duration::hours(30), b"old too");
    let fresh = upload(n - Duration::hours(1), b"fresh");
    store.uploads().insert(t, &old).await.unwrap();
    store.uploads().insert(other, &old_elsewhere).await.unwrap();
    store.uploads().insert(t, &fresh).await.unwrap();
    assert_eq!(store.uploads().purge_expired(n).await.unwrap(), 2);
    assert!(store.uploads().get(t, old.id).await.is_err());
    assert!(store.uploads().get(other, old_elsewhere.id).await.is_err());
    assert_eq!(store.uploads().get(t, fresh.id).await.unwrap().bytes, b"fresh");
    assert_eq!(store.uploads().purge_expired(n).await.unwrap(), 0);
}

crate::conformance!(
    an_upload_is_read_back_whole_within_its_tenant_only,
    deleting_an_upload_removes_it_once_and_only_in_its_tenant,
    purging_removes_expired_uploads_of_every_tenant_and_keeps_the_rest,
);
