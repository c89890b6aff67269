//! Store conformance suite: every test runs on SQLite and, when `SIYU_TEST_DATABASE_URL` is set, on
//! PostgreSQL, against a fresh database each.

#![allow(clippy::unwrap_used, clippy::expect_used)]
mod bulk;
mod customers;
mod enrolments;
mod events;
mod orders;
mod platform;
mod privacy;
mod queue;
mod radar;
mod schema;
mod tags;
mod uploads;
mod wecom_media;

use chrono::{DateTime, Utc};
use siyu_domain::id::TenantId;
use siyu_domain::tenancy::{Tenant, TenantStatus};
use siyu_store::Store;
use siyu_store::testing::TestDb;

/// Declares one `#[tokio::test]` per backend for each listed `async fn(Store)`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                let db = siyu_store::testing::TestDb::sqlite().await.unwrap();
                super::$name(db.store.clone()).await;
            })+
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                match siyu_store::testing::TestDb::postgres().await.unwrap() {
                    Some(db) => super::$name(db.store.clone()).await,
                    None => eprintln!("SIYU_TEST_DATABASE_URL not set: postgres run skipped"),
                }
            })+
        }
    };
}

/// Millisecond-precision now, as the app's clock produces.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

pub async fn tenant(store: &Store) -> TenantId {
    let t = Tenant {
        id: TenantId::new(),
        name: "品牌".into(),
        status: TenantStatus::Active,
        timezone: "Asia/Shanghai".into(),
        created_at: now(),
    };
    store.tenants().insert(&t, b"wrapped-key").await.unwrap();
    t.id
}

#[allow(dead_code)]
async fn all_backends_connect() -> Vec<TestDb> {
    TestDb::all().await.unwrap()
}
