//! The command line: `serve`, `migrate`, tenant and agent bootstrap, `keys`, `openapi`.
//!
//! Tenant and agent commands read `DATABASE_URL`, `IDENTITY_MFA_ENCRYPTION_KEY` and the
//! `ARGON2_*` settings (same variables as `serve`); they print JSON.

use clap::Subcommand;
use diesel_async::AsyncPgConnection;
use tessera_http::config::ServiceConfig as _;

use crate::config::Config;
use crate::db::{agents, tenants};
use crate::domain::AgentStatus;
use crate::operations::change_agent_status;
use crate::provision;

tessera_service::service! {
    Identity = "identity";
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage access-token signing keys in a key directory.
    #[command(subcommand)]
    Keys(tessera_jwt::cli::KeysCommand),
}

/// `tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (prints the existing one if the slug is taken).
    Create {
        /// URL slug (`[a-z0-9][a-z0-9-]*`).
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

/// `agent …`.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent. The password comes from `IDENTITY_AGENT_PASSWORD`; without it a random
    /// one is generated and printed once. With `--mfa`, TOTP is enabled at once and the
    /// `otpauth://` URI and recovery codes are printed.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Enable TOTP now.
        #[arg(long)]
        mfa: bool,
        /// Give the agent this role (one of `IDENTITY_ROLES`).
        #[arg(long)]
        role: Option<String>,
    },
    /// Disable an agent: revokes its sessions, publishes `identity.agent.disabled`.
    Disable {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// E-mail of the agent.
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled agent (bindings suspended elsewhere stay suspended).
    Enable {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// E-mail of the agent.
        #[arg(long)]
        email: String,
    },
}

async fn tenant(conn: &mut AsyncPgConnection, slug: &str) -> anyhow::Result<tenants::Tenant> {
    provision::tenant(conn, slug).await
}

async fn set_status(slug: &str, email: &str, status: AgentStatus) -> anyhow::Result<()> {
    let config = Config::from_environment()?;
    let mut conn = tessera_service::connect(&config.base.database_url).await?;
    let tenant = tenant(&mut conn, slug).await?;
    let agent = agents::agent_by_email(&mut conn, tenant.id, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no agent {email:?} in {}", tenant.slug))?;
    let changed =
        change_agent_status(&mut conn, &tenant, agent.id, status, tessera_service::now()).await?;
    tessera_service::print_json(&serde_json::json!({
        "agent_id": agent.id, "status": status.as_str(), "changed": changed,
    }))
}

/// Runs the command.
///
/// # Errors
/// Any failure, as one line for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli
        .command
        .unwrap_or(Command::Service(tessera_service::ServiceCommand::Serve))
    {
        Command::Service(c) => c.run::<Identity>().await,
        Command::Tenant(TenantCommand::Create { slug, name }) => {
            let config = Config::from_environment()?;
            let mut conn = tessera_service::connect(&config.base.database_url).await?;
            let tenant = match tenants::active_tenant(&mut conn, &slug).await? {
                Some(t) => t,
                None => tenants::create_tenant(&mut conn, &slug, &name).await?,
            };
            tessera_service::print_json(&serde_json::json!({
                "tenant_id": tenant.id, "slug": tenant.slug, "name": tenant.name,
                "issuer": config.issuer(&tenant.slug),
            }))
        }
        Command::Agent(AgentCommand::Create {
            tenant,
            email,
            mfa,
            role,
        }) => {
            let config = Config::from_environment()?;
            let password = tessera_service::InitialPassword::from_env("IDENTITY_AGENT_PASSWORD")?;
            let mut conn = tessera_service::connect(&config.base.database_url).await?;
            let created = provision::create_agent(
                &config,
                &mut conn,
                &tenant,
                &email,
                password.secret(),
                mfa,
                role,
            )
            .await?;
            tessera_service::print_json(&password.shown(&created)?)
        }
        Command::Agent(AgentCommand::Disable { tenant, email }) => {
            set_status(&tenant, &email, AgentStatus::Disabled).await
        }
        Command::Agent(AgentCommand::Enable { tenant, email }) => {
            set_status(&tenant, &email, AgentStatus::Active).await
        }
        Command::Keys(cmd) => tessera_jwt::cli::run(cmd),
    }
}
