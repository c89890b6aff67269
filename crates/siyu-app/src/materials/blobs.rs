//! Where file contents live: a [`BlobStore`] holds bytes under a [`BlobKey`] that siyu makes from the
//! tenant and the SHA-256 of the content (`<tenant uuid>/<64 hex>`). A user's file name never reaches a
//! key or a path, so no upload can name a place on disk: path traversal is impossible by construction,
//! and [`BlobKey::parse`] refuses anything else when a key is read back from the database.
//!
//! Two stores: [`LocalBlobs`] (a directory, the default) and [`super::s3::S3Blobs`] (S3-compatible).

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use sha2::{Digest, Sha256};
use siyu_domain::id::TenantId;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A boxed future of a blob operation (keeps [`BlobStore`] usable as `dyn`).
pub type BlobFuture<'a, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 'a>>;

/// The name of a stored blob: `<tenant uuid>/<sha256 hex>`, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of `bytes` in `tenant`'s space.
    pub fn for_content(tenant: TenantId, bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        Self(format!("{}/{}", tenant.0.hyphenated(), hex::encode(digest)))
    }

    /// The key of a file siyu derives and caches (a poster drawn for a staff member): the SHA-256 of what
    /// names it, in the same shape as a content key (never equal to one: the name is prefixed).
    pub fn derived(tenant: TenantId, name: &str) -> Self {
        let digest = Sha256::digest(format!("siyu-derived\n{name}").as_bytes());
        Self(format!("{}/{}", tenant.0.hyphenated(), hex::encode(digest)))
    }

    /// A key read back (from the database): only the exact shape [`BlobKey::for_content`] makes.
    pub fn parse(s: &str) -> Option<Self> {
        let (tenant, hash) = s.split_once('/')?;
        let tenant_ok =
            tenant.len() == 36 && Uuid::try_parse(tenant).is_ok_and(|u| u.hyphenated().to_string() == tenant);
        let hash_ok = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (tenant_ok && hash_ok).then(|| Self(s.to_string()))
    }

    /// Whether the key belongs to `tenant`.
    pub fn is_of(&self, tenant: TenantId) -> bool {
        self.0.starts_with(&tenant.0.hyphenated().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parts(&self) -> (&str, &str) {
        self.0.split_once('/').unwrap_or((&self.0, ""))
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Stores bytes by key. Putting the same key twice is harmless (same content, same key).
pub trait BlobStore: Send + Sync {
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: &'a [u8]) -> BlobFuture<'a, ()>;
    /// The bytes, `NotFound` when there are none.
    fn get<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, Vec<u8>>;
    /// Removes the blob; removing a missing one is not an error.
    fn delete<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, ()>;
    fn exists<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, bool>;
    /// A short description for logs (`local /var/siyu/blobs`, `s3 bucket`).
    fn describe(&self) -> String;
}

/// Blobs as files in a directory: `<dir>/<tenant>/<first two hex>/<hex>`.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    dir: PathBuf,
}

impl LocalBlobs {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`, always inside the directory (the key's parts are a UUID and hex digits).
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        let (tenant, hash) = key.parts();
        self.dir.join(tenant).join(&hash[..2.min(hash.len())]).join(hash)
    }
}

fn io(e: std::io::Error) -> AppError {
    AppError::internal(anyhow::Error::new(e).context("blob store"))
}

impl BlobStore for LocalBlobs {
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: &'a [u8]) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path_of(key);
            if tokio::fs::try_exists(&path).await.map_err(io)? {
                return Ok(());
            }
            let Some(parent) = path.parent() else { return Err(AppError::internal(anyhow::anyhow!("bad blob path"))) };
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
            // Written beside, then renamed: a reader never sees half a file.
            let tmp = parent.join(format!(".{}.tmp", Uuid::now_v7().simple()));
            tokio::fs::write(&tmp, bytes).await.map_err(io)?;
            if let Err(e) = tokio::fs::rename(&tmp, &path).await {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(io(e));
            }
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, Vec<u8>> {
        Box::pin(async move {
            match tokio::fs::read(self.path_of(key)).await {
                Ok(b) => Ok(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotFound),
                Err(e) => Err(io(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path_of(key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
                _ => Ok(()),
            }
        })
    }

    fn exists<'a>(&'a self, key: &'a BlobKey) -> BlobFuture<'a, bool> {
        Box::pin(async move { tokio::fs::try_exists(self.path_of(key)).await.map_err(io) })
    }

    fn describe(&self) -> String {
        format!("local {}", self.dir.display())
    }
}

/// The configured store: `storage.backend`, with the local directory defaulting to `<sqlite file>.blobs`.
pub fn from_settings(
    settings: &crate::Settings,
    store: &siyu_store::Store,
) -> anyhow::Result<std::sync::Arc<dyn BlobStore>> {
    if settings.storage.backend == "s3" {
        return Ok(std::sync::Arc::new(super::s3::S3Blobs::new(&settings.storage.s3)?));
    }
    let dir = settings.storage.dir.trim();
    let dir = if !dir.is_empty() {
        PathBuf::from(dir)
    } else if let Some(file) = store.sqlite_file() {
        let mut d = file.into_os_string();
        d.push(".blobs");
        PathBuf::from(d)
    } else {
        PathBuf::from("siyu-blobs")
    };
    Ok(std::sync::Arc::new(LocalBlobs::new(dir)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_made_from_the_content_and_only_that_shape_is_read_back() {
        let tenant = TenantId(Uuid::now_v7());
        let key = BlobKey::for_content(tenant, b"hello");
        assert!(key.as_str().ends_with("/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        assert_eq!(BlobKey::parse(key.as_str()), Some(key.clone()));
        assert!(key.is_of(tenant));
        for evil in [
            "../../etc/passwd",
            "/etc/passwd",
            &format!("{}/../../etc/passwd", tenant.0),
            &format!("{}/{}", tenant.0, "a".repeat(63) + "/"),
            &format!("{}/{}", tenant.0, "A".repeat(64)),
            &format!("..\\..\\{}", "a".repeat(64)),
        ] {
            assert_eq!(BlobKey::parse(evil), None, "{evil}");
        }
    }

    #[tokio::test]
    async fn local_blobs_stay_inside_their_directory_whatever_the_upload_was_called() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path().join("blobs"));
        let tenant = TenantId(Uuid::now_v7());
        // The name a user gave (`../../etc/passwd`) is not part of the key at all.
        let bytes = b"root:x:0:0".to_vec();
        let key = BlobKey::for_content(tenant, &bytes);
        blobs.put(&key, &bytes).await.unwrap();
        let path = blobs.path_of(&key);
        assert!(path.starts_with(dir.path().join("blobs")), "{}", path.display());
        assert!(!path.to_string_lossy().contains(".."));
        assert_eq!(blobs.get(&key).await.unwrap(), bytes);
        assert!(blobs.exists(&key).await.unwrap());
        blobs.put(&key, &bytes).await.unwrap();
        blobs.delete(&key).await.unwrap();
        blobs.delete(&key).await.unwrap();
        assert!(!blobs.exists(&key).await.unwrap());
        assert!(matches!(blobs.get(&key).await, Err(AppError::NotFound)));
    }
}
