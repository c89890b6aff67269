//! siyu-app integration tests: services against a real database, SQLite always and PostgreSQL when
//! `SIYU_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aggregates;
mod api_tokens;
mod audience_syncs;
mod identity;
mod identity_props;
mod import_jobs;
mod journey_keys;
mod journey_metrics;
mod journey_versions;
mod journeys;
mod orders;
mod privacy;
mod rule_tags;
mod seed;
mod segment_groups;
mod segments;
mod stages;
mod tasks;
mod transfer;
mod values;
mod webhooks;

use std::sync::Arc;

use siyu_app::actor::Via;
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::{DataScope, Role};
use siyu_store::testing::TestDb;

/// An app on a fresh database with one tenant and its owner.
pub struct Ctx {
    pub app: App,
    pub owner: Actor,
    _db: TestDb,
}

impl Ctx {
    /// An app over the same database whose clock the test moves.
    pub fn clocked(&self, start: chrono::DateTime<chrono::Utc>) -> (App, siyu_app::clock::ManualClock) {
        let clock = siyu_app::clock::ManualClock::new(start);
        let mut settings = Settings::defaults().unwrap();
        settings.security.argon2_memory_kib = 1024;
        settings.security.argon2_iterations = 1;
        // The tests' webhook receivers listen on 127.0.0.1.
        settings.webhooks.allow_private_networks = true;
        let app = App::new(self.app.store.clone(), settings, std::sync::Arc::new(clock.clone())).unwrap();
        (app, clock)
    }

    pub async fn new(db: TestDb) -> Self {
        let mut settings = Settings::defaults().unwrap();
        settings.security.argon2_memory_kib = 1024;
        settings.security.argon2_iterations = 1;
        // The tests' webhook receivers listen on 127.0.0.1.
        settings.webhooks.allow_private_networks = true;
        let app = App::new(db.store.clone(), settings, Arc::new(siyu_app::clock::SystemClock)).unwrap();
        let tenant = app.create_tenant("测试品牌").await.unwrap();
        let account = app.create_account("owner", "店主", "correct horse battery", false).await.unwrap();
        let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.unwrap();
        let owner = Actor::for_member(&app.store, &member, Via::System).await.unwrap();
        Self { app, owner, _db: db }
    }

    /// The test database's URL (for queries written by hand).
    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    /// Another member of the tenant with the given role and scope.
    pub async fn member(&self, username: &str, role: Role, scope: DataScope) -> Actor {
        let account = self.app.create_account(username, username, "correct horse battery", false).await.unwrap();
        let m = self.app.add_membership(self.owner.tenant, &account, role, Some(scope), None).await.unwrap();
        Actor::for_member(&self.app.store, &m, Via::System).await.unwrap()
    }
}

/// Declares one `#[tokio::test]` per backend for each listed `async fn(Ctx)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                let db = siyu_store::testing::TestDb::sqlite().await.unwrap();
                super::$name($crate::Ctx::new(db).await).await;
            })+
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                match siyu_store::testing::TestDb::postgres().await.unwrap() {
                    Some(db) => super::$name($crate::Ctx::new(db).await).await,
                    None => eprintln!("SIYU_TEST_DATABASE_URL not set: postgres run skipped"),
                }
            })+
        }
    };
}
