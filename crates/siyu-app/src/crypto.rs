//! PII protection (PIPL): envelope encryption and blind indexes.
//!
//! Each tenant has a random 32-byte data key, stored wrapped (AES-256-GCM) under the master key from
//! settings. Phone numbers and emails are encrypted with the tenant key (AES-256-GCM, random nonce) and
//! looked up through a blind index: HMAC-SHA256 under a key derived from the tenant key, so equal values
//! are findable without being readable, and indexes differ between tenants.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use siyu_domain::id::TenantId;
use siyu_domain::identity::IdentityKind;
use siyu_store::Store;

use crate::error::{AppError, AppResult};

const NONCE_LEN: usize = 12;

/// The tenant's keys, unwrapped.
pub struct TenantKeys {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
}

impl TenantKeys {
    fn from_data_key(dek: &[u8]) -> AppResult<Self> {
        let cipher = Aes256Gcm::new_from_slice(dek).map_err(|_| AppError::internal(anyhow::anyhow!("bad data key")))?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(dek).map_err(AppError::internal)?;
        mac.update(b"siyu blind index v1");
        let index_key: [u8; 32] = mac.finalize().into_bytes().into();
        Ok(Self { cipher, index_key })
    }

    /// Keys from a fixed data key, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        match Self::from_data_key(&[7u8; 32]) {
            Ok(k) => k,
            Err(e) => panic!("test keys: {e}"),
        }
    }

    pub fn encrypt(&self, plain: &str) -> AppResult<Vec<u8>> {
        self.encrypt_bytes(plain.as_bytes())
    }

    pub fn decrypt(&self, data: &[u8]) -> AppResult<String> {
        String::from_utf8(self.decrypt_bytes(data)?).map_err(AppError::internal)
    }

    /// Encrypts arbitrary bytes (uploaded files): nonce followed by ciphertext.
    pub fn encrypt_bytes(&self, plain: &[u8]) -> AppResult<Vec<u8>> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self.cipher.encrypt(&nonce, plain).map_err(|_| AppError::internal(anyhow::anyhow!("encrypt")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt_bytes(&self, data: &[u8]) -> AppResult<Vec<u8>> {
        if data.len() < NONCE_LEN {
            return Err(AppError::internal(anyhow::anyhow!("ciphertext too short")));
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| AppError::internal(anyhow::anyhow!("decrypt failed: wrong master key?")))
    }

    /// Hex HMAC of the canonical value, namespaced by kind.
    pub fn blind_index(&self, kind: IdentityKind, canonical: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key) else {
            return String::new();
        };
        mac.update(kind.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Hex HMAC (first 128 bits) of a value that must not be stored as such, namespaced by `purpose`: a
    /// link visitor's IP address, say. Equal values match within the tenant; nothing reads them back.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key) else {
            return String::new();
        };
        mac.update(b"keyed hash\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// Wraps and unwraps tenant data keys; caches unwrapped keys (they are derived from the database, so
/// the cache holds nothing another node needs).
pub struct Vault {
    master: Aes256Gcm,
    cache: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
}

impl Vault {
    pub fn new(master_key: &[u8]) -> AppResult<Self> {
        if master_key.len() != 32 {
            return Err(AppError::internal(anyhow::anyhow!("master key must be 32 bytes")));
        }
        Ok(Self {
            master: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master_key)),
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// A fresh data key, wrapped for storage.
    pub fn new_wrapped_key(&self) -> AppResult<Vec<u8>> {
        let mut dek = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut dek);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct =
            self.master.encrypt(&nonce, dek.as_slice()).map_err(|_| AppError::internal(anyhow::anyhow!("wrap")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub async fn keys(&self, store: &Store, tenant: TenantId) -> AppResult<Arc<TenantKeys>> {
        if let Ok(cache) = self.cache.read()
            && let Some(k) = cache.get(&tenant)
        {
            return Ok(k.clone());
        }
        let wrapped = store.tenants().data_key(tenant).await?;
        if wrapped.len() < NONCE_LEN {
            return Err(AppError::internal(anyhow::anyhow!("wrapped key too short")));
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let dek = self
            .master
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| AppError::internal(anyhow::anyhow!("cannot unwrap tenant key: wrong security.master_key?")))?;
        let keys = Arc::new(TenantKeys::from_data_key(&dek)?);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(tenant, keys.clone());
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_ciphertexts_differ_each_time() {
        let keys = TenantKeys::from_data_key(&[7u8; 32]).unwrap();
        let a = keys.encrypt("+8613812345678").unwrap();
        let b = keys.encrypt("+8613812345678").unwrap();
        assert_ne!(a, b);
        assert_eq!(keys.decrypt(&a).unwrap(), "+8613812345678");
        assert!(!String::from_utf8_lossy(&a).contains("13812345678"));
    }

    #[test]
    fn blind_indexes_are_stable_per_tenant_and_differ_between_tenants() {
        let (k1, k2) = (TenantKeys::from_data_key(&[1u8; 32]).unwrap(), TenantKeys::from_data_key(&[2u8; 32]).unwrap());
        let v = "+8613812345678";
        assert_eq!(k1.blind_index(IdentityKind::Phone, v), k1.blind_index(IdentityKind::Phone, v));
        assert_ne!(k1.blind_index(IdentityKind::Phone, v), k2.blind_index(IdentityKind::Phone, v));
        assert_ne!(k1.blind_index(IdentityKind::Phone, v), k1.blind_index(IdentityKind::Email, v));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let keys = TenantKeys::from_data_key(&[7u8; 32]).unwrap();
        let mut a = keys.encrypt("x").unwrap();
        let last = a.len() - 1;
        a[last] ^= 1;
        assert!(keys.decrypt(&a).is_err());
        assert!(keys.decrypt(&[1, 2]).is_err());
    }
}
