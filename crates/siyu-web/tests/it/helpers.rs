//! `spawn_app()`: a real server on 127.0.0.1:0 over a fresh database (SQLite, or PostgreSQL when
//! `SIYU_TEST_DATABASE_URL` is set), with typed helpers to seed tenants and call the API and console.

use std::sync::Arc;

use serde_json::Value;
use siyu_app::actor::Via;
use siyu_app::clock::SystemClock;
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::{DataScope, Role, TokenScope};
use siyu_domain::tenancy::{Account, Tenant};
use siyu_store::testing::TestDb;
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery";

pub fn test_settings() -> Settings {
    let mut s = Settings::defaults().unwrap();
    s.security.argon2_memory_kib = 1024;
    s.security.argon2_iterations = 1;
    // The tests' webhook receivers listen on 127.0.0.1.
    s.webhooks.allow_private_networks = true;
    // Material files: never in the working directory (on PostgreSQL there is no SQLite file to sit beside).
    s.storage.dir = std::env::temp_dir().join("siyu-test-blobs").to_string_lossy().into_owned();
    s
}

pub struct TestApp {
    pub app: App,
    pub base: String,
    pub db: Arc<TestDb>,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A fresh database on the configured backend.
pub async fn fresh_db() -> TestDb {
    match TestDb::postgres().await.unwrap() {
        Some(db) => db,
        None => TestDb::sqlite().await.unwrap(),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_on(Arc::new(fresh_db().await)).await
}

/// Another node on the same database (its own pool and server).
pub async fn spawn_on(db: Arc<TestDb>) -> TestApp {
    spawn_with_clock(db, Arc::new(SystemClock)).await
}

/// A server whose clock the test controls.
pub async fn spawn_with_clock(db: Arc<TestDb>, clock: Arc<dyn siyu_app::clock::Clock>) -> TestApp {
    spawn_with(db, clock, test_settings()).await
}

/// A server with its own settings.
pub async fn spawn_with(db: Arc<TestDb>, clock: Arc<dyn siyu_app::clock::Clock>, settings: Settings) -> TestApp {
    let store = siyu_store::Store::connect(&siyu_store::ConnectOptions::new(&db.url)).await.unwrap();
    let app = App::new(store, settings, clock).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let router = siyu_web::router(app.clone());
    let token = shutdown.clone();
    tokio::spawn(async move { siyu_web::serve(listener, router, token).await });
    TestApp { app, base, db, shutdown }
}

/// Today at 11:00 in Shanghai (03:00 UTC): for tests whose journeys send, which quiet hours would hold at night.
pub fn daytime() -> chrono::DateTime<chrono::Utc> {
    let today = chrono::Utc::now().date_naive();
    today.and_hms_opt(3, 0, 0).map(|t| t.and_utc()).unwrap_or_else(chrono::Utc::now)
}

/// A tenant with an owner who has an API token and a password.
pub struct Fixture {
    pub tenant: Tenant,
    pub owner: Account,
    pub token: String,
}

impl TestApp {
    pub async fn tenant(&self, name: &str) -> Fixture {
        let tenant = self.app.create_tenant(name).await.unwrap();
        let username = format!("owner{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let owner = self.app.create_account(&username, "店长", PASSWORD, false).await.unwrap();
        let member = self.app.add_membership(tenant.id, &owner, Role::Owner, None, None).await.unwrap();
        let owner_actor = Actor::for_member(&self.app.store, &member, Via::Session).await.unwrap();
        let (_, token) = self.app.create_token(&owner_actor, "test", &[TokenScope::Admin]).await.unwrap();
        Fixture { tenant, owner, token }
    }

    /// A member of the fixture's tenant with a token; returns (actor, token, username).
    pub async fn member(&self, f: &Fixture, role: Role, scope: DataScope) -> (Actor, String, String) {
        let username = format!("m{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let account = self.app.create_account(&username, "导购小王", PASSWORD, false).await.unwrap();
        let member = self.app.add_membership(f.tenant.id, &account, role, Some(scope), None).await.unwrap();
        let actor = Actor::for_member(&self.app.store, &member, Via::Session).await.unwrap();
        // A token acts as its creator; issue it as this member even if their role may not manage tokens.
        let mut issuer = actor.clone();
        issuer.role = Role::Owner;
        let (_, token) = self.app.create_token(&issuer, "m", &[TokenScope::Write]).await.unwrap();
        (actor, token, username)
    }

    /// The fixture owner as the app sees them (to drive services directly).
    pub async fn owner_actor(&self, f: &Fixture) -> Actor {
        let member = self.app.store.members().get(f.tenant.id, f.owner.id).await.unwrap();
        Actor::for_member(&self.app.store, &member, Via::Session).await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A cookie-keeping client signed in to the console.
    pub async fn console(&self, username: &str) -> reqwest::Client {
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let res = client
            .post(self.url("/console/login"))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "login of {username} failed");
        client
    }
}

/// The CSRF token embedded in a console page.
pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).map(|i| i + marker.len()).unwrap_or(0);
    html[start..].split('"').next().unwrap_or_default().to_string()
}
