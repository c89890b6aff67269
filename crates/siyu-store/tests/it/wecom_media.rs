//! WeCom temporary media ids (`wecom_media`): kept per (corp, material, version, variant), replaced by a new
//! upload, and swept per tenant once past their expiry.

use chrono::{DateTime, Duration, Utc};
use siyu_domain::id::{CorpId, MaterialId, TenantId};
use siyu_store::Store;
use siyu_store::wecom::CachedMedia;
use uuid::Uuid;

use crate::{now, tenant};

fn media(kind: &str, id: &str, uploaded: DateTime<Utc>) -> CachedMedia {
    CachedMedia {
        media_type: kind.into(),
        media_id: id.into(),
        uploaded_at: uploaded,
        expires_at: uploaded + Duration::days(3),
    }
}

async fn cached(store: &Store, t: TenantId, corp: CorpId, m: MaterialId, variant: &str) -> Option<String> {
    store.wecom().cached_media(t, corp, m, 1, variant).await.unwrap().map(|c| c.media_id)
}

async fn a_media_id_is_kept_per_version_and_variant_and_replaced_by_a_new_upload(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let (corp, m) = (CorpId(Uuid::now_v7()), MaterialId(Uuid::now_v7()));
    let at = now();
    store.wecom().put_media(t, corp, m, 1, "", &media("video", "3video-1", at)).await.unwrap();
    store.wecom().put_media(t, corp, m, 1, "member-a", &media("image", "3poster-a", at)).await.unwrap();
    let read = store.wecom().cached_media(t, corp, m, 1, "").await.unwrap().unwrap();
    assert_eq!(read, media("video", "3video-1", at));
    assert_eq!(cached(&store, t, corp, m, "member-a").await.as_deref(), Some("3poster-a"));
    assert_eq!(store.wecom().cached_media(t, corp, m, 2, "").await.unwrap(), None, "another version");
    assert_eq!(cached(&store, other, corp, m, "").await, None, "another tenant");
    let later = at + Duration::hours(70);
    store.wecom().put_media(t, corp, m, 1, "", &media("file", "3file-2", later)).await.unwrap();
    let read = store.wecom().cached_media(t, corp, m, 1, "").await.unwrap().unwrap();
    assert_eq!(read, media("file", "3file-2", later), "the new upload replaced the row");
}

async fn the_sweep_deletes_a_tenants_expired_media_ids_and_keeps_the_rest(store: Store) {
    let (t, other) = (tenant(&store).await, tenant(&store).await);
    let (corp, m) = (CorpId(Uuid::now_v7()), MaterialId(Uuid::now_v7()));
    let n = now();
    let expired = n - Duration::days(3) - Duration::minutes(1);
    let fresh = n - Duration::days(2);
    store.wecom().put_media(t, corp, m, 1, "", &media("video", "3old", expired)).await.unwrap();
    store.wecom().put_media(t, corp, m, 1, "member-a", &media("image", "3fresh", fresh)).await.unwrap();
    store.wecom().put_media(other, corp, m, 1, "", &media("file", "3old-elsewhere", expired)).await.unwrap();
    // Exactly at its expiry a row is not yet past it.
    let edge = n - Duration::days(3);
    store.wecom().put_media(t, corp, m, 1, "member-b", &media("image", "3edge", edge)).await.unwrap();

    assert_eq!(store.wecom().purge_expired_media(t, n).await.unwrap(), 1);
    assert_eq!(cached(&store, t, corp, m, "").await, None);
    assert_eq!(cached(&store, t, corp, m, "member-a").await.as_deref(), Some("3fresh"));
    assert_eq!(cached(&store, t, corp, m, "member-b").await.as_deref(), Some("3edge"));
    assert_eq!(cached(&store, other, corp, m, "").await.as_deref(), Some("3old-elsewhere"), "only the tenant's");
    assert_eq!(store.wecom().purge_expired_media(t, n).await.unwrap(), 0, "nothing left to sweep");
    assert_eq!(store.wecom().purge_expired_media(other, n).await.unwrap(), 1);
    assert_eq!(cached(&store, other, corp, m, "").await, None);
}

crate::conformance!(
    a_media_id_is_kept_per_version_and_variant_and_replaced_by_a_new_upload,
    the_sweep_deletes_a_tenants_expired_media_ids_and_keeps_the_rest,
);
