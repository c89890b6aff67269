//! `siyu admin`: create tenants and users, reset passwords, rebuild customer aggregates.

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
    /// Recompute every customer's aggregates (order count, paid, products, last activity, …) from their
    /// orders and events: after upgrading to a version that adds them, or to repair them.
    RebuildAggregates {
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let app = App::connect(settings, true).await?;
    let err = |e: siyu_app::AppError| anyhow::anyhow!("{} ({})", e, e.code().name());
    match cmd {
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
