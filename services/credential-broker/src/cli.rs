//! The command line: `serve` (default), `migrate`, `binding put`, `openapi`.

use diesel_async::AsyncConnection;

use crate::db::bindings;
use crate::hosts;

tessera_service::service! {
    CredentialBroker = "credential-broker";
    /// The identity-event consumer's dead letters (`AMQP_URL`, `BROKER_IDENTITY_QUEUE`): list, replay.
    #[command(subcommand)]
    Dlq(tessera_service::DlqCommand),
    /// Create or replace a sandbox binding (needs `DATABASE_URL` only).
    BindingPut {
        /// Sandbox id.
        #[arg(long)]
        sandbox: String,
        /// Owner's identity tenant slug.
        #[arg(long)]
        tenant: String,
        /// Owner's identity agent id.
        #[arg(long)]
        agent: uuid::Uuid,
        /// Allowed upstream and its scopes: `host=scope1 scope2` (repeatable).
        #[arg(long = "upstream", required = true)]
        upstreams: Vec<String>,
    },
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
        Command::Service(c) => c.run::<CredentialBroker>().await,
        Command::BindingPut {
            sandbox,
            tenant,
            agent,
            upstreams,
        } => {
            let mut parsed = Vec::new();
            for u in &upstreams {
                let (host, scopes) = u
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--upstream wants host=scope1 scope2"))?;
                let host = hosts::normalise(host.trim())
                    .ok_or_else(|| anyhow::anyhow!("{host:?} is not a plain host name"))?;
                let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
                anyhow::ensure!(!scopes.is_empty(), "{host}: at least one scope");
                parsed.push((host, scopes));
            }
            let url = std::env::var("DATABASE_URL")
                .map_err(|_| anyhow::anyhow!("missing environment variable DATABASE_URL"))?;
            let mut conn = tessera_service::connect(&url).await?;
            conn.transaction::<(), diesel::result::Error, _>(async |c| {
                bindings::put_binding(c, &sandbox, &tenant, agent, None, &parsed).await
            })
            .await?;
            println!("{sandbox}: bound to {tenant}/{agent}");
            Ok(())
        }
        Command::Dlq(c) => {
            let (amqp, queue) =
                tessera_service::dlq::target("BROKER_IDENTITY_QUEUE", crate::consumer::QUEUE);
            c.run(&amqp, &queue).await
        }
    }
}
