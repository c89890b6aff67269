//! `/v1/batch` bodies as analytics-python sends them: `{"batch": [track, ...], "sentAt": ...}`, each event
//! with its own random UUIDv4 `messageId`, as the library makes them (so the dedupe index sees keys in
//! random order, not a sequence).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{SecondsFormat, Utc};

const EVENTS: [&str; 4] = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"];
const CATEGORIES: [&str; 3] = ["skincare", "makeup", "fragrance"];

/// Makes bodies of `batch` events; shared by every worker.
pub struct Payload {
    batch: usize,
    /// Events made so far: varies the event names and properties.
    next: AtomicU64,
}

impl Payload {
    pub fn new(batch: usize) -> Self {
        Self { batch: batch.max(1), next: AtomicU64::new(0) }
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The next body; `r` (a random number) picks the user.
    pub fn body(&self, r: u64) -> Vec<u8> {
        let first = self.next.fetch_add(self.batch as u64, Ordering::Relaxed);
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false);
        let user = r % 100_000;
        let mut s = String::with_capacity(450 * self.batch + 64);
        s.push_str(r#"{"batch":["#);
        for i in 0..self.batch as u64 {
            let n = first + i;
            if i > 0 {
                s.push(',');
            }
            // `write!` to a String cannot fail.
            let _ = write!(
                s,
                r#"{{"type":"track","event":"{event}","userId":"user-{user}","anonymousId":"{anon}","#,
                event = EVENTS[(n % 4) as usize],
                anon = uuid::Uuid::from_u64_pair(0x5eed_0000_0000_4000, 0x8000_0000_0000_0000 | user),
            );
            let message_id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            let _ = write!(
                s,
                r#""messageId":"{message_id}","properties":{{"sku":"SK-{sku}","price":{price},"currency":"CNY","category":"{category}","quantity":{qty}}},"#,
                sku = 1000 + n % 500,
                price = 99 + (n % 40) * 10,
                category = CATEGORIES[(n % 3) as usize],
                qty = 1 + n % 3,
            );
            let _ = write!(
                s,
                r#""context":{{"library":{{"name":"analytics-python","version":"2.3.3"}}}},"integrations":{{}},"timestamp":"{now}"}}"#,
            );
        }
        let _ = write!(s, r#"],"sentAt":"{now}"}}"#);
        s.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use siyu_domain::event::{Endpoint, parse_request};

    use super::*;

    #[test]
    fn bodies_are_valid_batches_with_unique_message_ids() {
        let p = Payload::new(20);
        let mut ids = HashSet::new();
        for r in 0..3 {
            let body = p.body(r);
            let parsed = parse_request(Endpoint::Batch, &body).unwrap();
            assert_eq!(parsed.messages[0].anonymous_id.as_deref().map(str::len), Some(36));
            assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            assert_eq!(parsed.messages.len(), 20);
            for m in parsed.messages {
                assert_eq!(m.message_id.as_deref().map(str::len), Some(36));
                assert!(ids.insert(m.message_id.unwrap()));
            }
        }
        let v: serde_json::Value = serde_json::from_slice(&p.body(7)).unwrap();
        assert_eq!(v["batch"][0]["context"]["library"]["name"], "analytics-python");
        assert!(v["sentAt"].is_string());
    }
}
