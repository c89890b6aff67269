//! Ad-platform audience files (cdp.md §7–8): one column of SHA-256 hashes of the members' normalised
//! mobile numbers or openids, **only** for members who granted the `ad_audience` consent. Hashes are made
//! while writing and never stored; every export is counted and audited (a hash of a phone is still
//! personal information: PIPL Art. 73).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, SegmentId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::privacy::ConsentPurpose;
use tokio::sync::mpsc;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

const BATCH: u32 = 1_000;

/// What an audience file is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceKey {
    /// SHA-256 of the mobile number: the 11 digits for mainland China, else the E.164 digits without `+`.
    Phone,
    /// SHA-256 of each openid (one per app the member has).
    Openid,
}

/// What an audience export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AudienceReport {
    /// Members considered (within the caller's scope).
    pub members: u64,
    /// Hashes written.
    pub rows: u64,
    /// Members left out for want of an ad-audience consent.
    pub without_consent: u64,
    /// Members with the consent but no phone / openid.
    pub without_key: u64,
}

/// The number an ad platform matches on, from a stored E.164 phone.
pub fn ad_phone(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("86") {
        Some(mobile) if mobile.len() == 11 && e164.starts_with('+') => mobile.to_string(),
        _ => digits,
    }
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl App {
    /// Sends a segment's audience file (a header line, then one hash per line) to `out` in chunks; the
    /// audit records what was sent, also when the receiver went away half-way.
    pub async fn export_audience(
        &self,
        actor: &Actor,
        segment: SegmentId,
        key: AudienceKey,
        out: mpsc::Sender<Vec<u8>>,
    ) -> AppResult<AudienceReport> {
        actor.require(Permission::CustomersExport)?;
        let s = self.store.segments().get(actor.tenant, segment).await?;
        let gone = || AppError::internal(anyhow::anyhow!("the audience download was abandoned"));
        let header = match key {
            AudienceKey::Phone => "sha256_phone\n",
            AudienceKey::Openid => "sha256_openid\n",
        };
        let mut report = AudienceReport::default();
        let written: AppResult<()> = async {
            out.send(header.as_bytes().to_vec()).await.map_err(|_| gone())?;
            let keys = self.vault.keys(&self.store, actor.tenant).await?;
            let mut after: Option<CustomerId> = None;
            loop {
                let ids = self
                    .store
                    .segments()
                    .member_ids_after(actor.tenant, segment, &actor.visibility, after, BATCH)
                    .await?;
                let Some(last) = ids.last().copied() else { break };
                report.members += ids.len() as u64;
                let consenting: HashSet<CustomerId> = self
                    .store
                    .privacy()
                    .granted(actor.tenant, ConsentPurpose::AdAudience, &ids)
                    .await?
                    .into_iter()
                    .collect();
                report.without_consent += (ids.len() - consenting.len()) as u64;
                let allowed: Vec<CustomerId> = ids.iter().filter(|c| consenting.contains(c)).copied().collect();
                let kind = if key == AudienceKey::Phone { IdentityKind::Phone } else { IdentityKind::Openid };
                let mut hashes: HashMap<CustomerId, Vec<String>> = HashMap::new();
                let mut chunk = Vec::with_capacity(allowed.len() * 65);
                for r in self.store.identities().of_customers(actor.tenant, kind, &allowed).await? {
                    let value = match (key, &r.value_enc) {
                        (AudienceKey::Phone, Some(enc)) => ad_phone(&keys.decrypt(enc)?),
                        (AudienceKey::Phone, None) => continue,
                        (AudienceKey::Openid, _) => r.identity.display.clone(),
                    };
                    hashes.entry(r.identity.customer_id).or_default().push(sha256_hex(&value));
                }
                for c in &allowed {
                    match hashes.get_mut(c) {
                        Some(list) => {
                            list.sort();
                            list.dedup();
                            for h in list {
                                chunk.extend_from_slice(h.as_bytes());
                                chunk.push(b'\n');
                                report.rows += 1;
                            }
                        }
                        None => report.without_key += 1,
                    }
                }
                out.send(chunk).await.map_err(|_| gone())?;
                if ids.len() < BATCH as usize {
                    break;
                }
                after = Some(last);
            }
            Ok(())
        }
        .await;
        let ev = AuditEvent {
            action: "segment.audience_export",
            object_type: "segment",
            object_id: Some(segment.to_string()),
            detail: json!({"name": s.name, "key": key, "members": report.members, "rows": report.rows,
                "without_consent": report.without_consent, "without_key": report.without_key, "ok": written.is_ok()}),
        };
        self.audit(actor, ev).await;
        metrics::counter!("siyu_audience_rows_total").increment(report.rows);
        written.map(|()| report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_mobiles_hash_as_their_eleven_digits() {
        assert_eq!(ad_phone("+8613812345678"), "13812345678");
        assert_eq!(ad_phone("+85291234567"), "85291234567");
        // Computed independently: python3 -c "import hashlib; print(hashlib.sha256(b'13812345678').hexdigest())"
        assert_eq!(sha256_hex("13812345678"), "38aed9048140b0e437ea81461d9ea4524169f6795004da120bcf7d41894e4d15");
    }
}
