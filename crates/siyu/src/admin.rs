//! `siyu admin`: create tenants and users, reset passwords, rebuild customer aggregates, run a fake WeCom.

use clap::Subcommand;
use siyu_app::{App, Settings};
use siyu_domain::access::Role;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a tenant (brand) with its owner account.
    CreateTenant {
        #[arg(long)]
        name: String,
        /// Owner username (an existing account joins; a new one needs --password).
        #[arg(long)]
        owner: String,
        #[arg(long)]
        owner_name: Option<String>,
        #[arg(long, env = "SIYU_ADMIN_PASSWORD")]
        password: Option<String>,
    },
    /// Create an account, optionally a platform admin, optionally a member of a tenant.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "SIYU_ADMIN_PASSWORD")]
        password: String,
        /// Tenant id to join.
        #[arg(long)]
        tenant: Option<String>,
        /// Role in that tenant: owner, admin, operator, staff, auditor.
        #[arg(long, default_value = "operator")]
        role: String,
        #[arg(long)]
        platform_admin: bool,
    },
    /// Set a new password (ends the account's sessions).
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "SIYU_ADMIN_PASSWORD")]
        password: String,
    },
    /// List tenants.
    Tenants,
    /// Run a fake WeCom server (the one the tests use: real HTTP, official shapes, errcodes, rate limits and
    /// encrypted callbacks) holding one corp with staff, customers and groups, to try the WeCom pages without
    /// WeCom. Prints what to enter on the corp settings page; runs until Ctrl-C.
    FakeWecom {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "wwsiyufake000001")]
        corp_id: String,
        /// Staff with the customer-contact permission.
        #[arg(long, default_value_t = 10)]
        staff: usize,
        /// Customers, spread over the staff.
        #[arg(long, default_value_t = 1_000)]
        customers: usize,
        /// The corp's callback URL in siyu (shown on the corp settings page), where the fake pushes events.
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// Recompute every customer's aggregates (order count, paid, products, last activity, …) from their
    /// orders and events: after upgrading to a version that adds them, or to repair them.
    RebuildAggregates {
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::FakeWecom { listen, corp_id, staff, customers, callback_url } = cmd {
        return fake_wecom(listen, &corp_id, staff, customers, callback_url).await;
    }
    let app = App::connect(settings, true).await?;
    let err = |e: siyu_app::AppError| anyhow::anyhow!("{} ({})", e, e.code().name());
    match cmd {
        AdminCommand::FakeWecom { .. } => anyhow::bail!("fake-wecom needs no database"),
        AdminCommand::CreateTenant { name, owner, owner_name, password } => {
            let account = match app.store.accounts().by_username(&owner.to_lowercase()).await? {
                Some((a, _)) => a,
                None => {
                    let pw =
                        password.ok_or_else(|| anyhow::anyhow!("--password is required for a new owner account"))?;
                    app.create_account(&owner, owner_name.as_deref().unwrap_or(&owner), &pw, false)
                        .await
                        .map_err(err)?
                }
            };
            let tenant = app.create_tenant(&name).await.map_err(err)?;
            app.add_membership(tenant.id, &account, Role::Owner, None, None).await.map_err(err)?;
            println!("tenant {} created: {}\nowner: {}", tenant.name, tenant.id, account.username);
        }
        AdminCommand::CreateUser { username, name, password, tenant, role, platform_admin } => {
            let account = app.create_account(&username, &name, &password, platform_admin).await.map_err(err)?;
            if let Some(t) = tenant {
                let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
                app.add_membership(t.parse()?, &account, role, None, None).await.map_err(err)?;
            }
            println!("user {} created: {}", account.username, account.id);
        }
        AdminCommand::ResetPassword { username, password } => {
            app.reset_password(&username, &password).await.map_err(err)?;
            println!("password reset; sessions of {username} ended");
        }
        AdminCommand::Tenants => {
            for t in app.store.tenants().list().await? {
                println!("{}\t{}\t{}", t.id, t.status.as_str(), t.name);
            }
        }
        AdminCommand::RebuildAggregates { tenant } => {
            let tenants = match tenant {
                Some(t) => vec![app.store.tenants().get(t.parse()?).await?],
                None => app.store.tenants().list().await?,
            };
            for t in tenants {
                let started = std::time::Instant::now();
                let n = app.rebuild_aggregates(t.id, &mut |_| {}).await.map_err(err)?;
                println!("{}\t{}\t{n} customers in {:.1} s", t.id, t.name, started.elapsed().as_secs_f64());
            }
        }
    }
    app.store.close().await;
    Ok(())
}

/// `siyu admin fake-wecom`: the fake filled with generated staff, customers and groups.
async fn fake_wecom(
    listen: std::net::SocketAddr,
    corp: &str,
    staff: usize,
    customers: usize,
    callback_url: Option<String>,
) -> anyhow::Result<()> {
    use crate::demo::wecom::{AES_KEY, AGENT_ID, APP_SECRET, SECRET, TOKEN, start_fake};
    anyhow::ensure!(staff > 0, "--staff must be at least 1");
    let fake = start_fake(listen, corp).await?;
    let userids: Vec<String> = (1..=staff).map(|i| format!("staff{i:03}")).collect();
    for (i, userid) in userids.iter().enumerate() {
        fake.add_staff(corp, userid, &format!("导购{}", i + 1), &[1])?;
        fake.set_contact_permission(corp, userid, true)?;
    }
    let per = customers.div_ceil(staff);
    let mut left = customers;
    for (i, userid) in userids.iter().enumerate() {
        let n = per.min(left);
        left -= n;
        let ids = fake.seed_contacts(corp, userid, n, "客户")?;
        if i < 3 && !ids.is_empty() {
            let members: Vec<&str> = ids.iter().map(String::as_str).take(50).collect();
            fake.create_group(corp, userid, &format!("{}号会员群", i + 1), &members).await?;
        }
    }
    fake.set_callback_url(corp, callback_url.clone())?;
    println!("fake WeCom at {} — corp {corp}: {staff} staff, {customers} customers", fake.base_url());
    println!("On the console's 企业微信 page, connect a corp with:");
    println!("  corp id {corp}, agent id {AGENT_ID}");
    println!("  客户联系 secret {SECRET}, app secret {APP_SECRET}");
    println!("  callback token {TOKEN}, EncodingAESKey {AES_KEY}");
    println!("  API base {}", fake.base_url());
    match callback_url {
        Some(url) => println!("Events are pushed to {url}."),
        None => println!("No --callback-url: events are not pushed (pass the corp's callback URL to have them)."),
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
