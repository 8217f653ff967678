//! The command line: `serve`, `migrate`, registry operations, key management, `openapi`.
//!
//! Registry commands need only `DATABASE_URL` and share their queries with the operator API.

use clap::{Subcommand, ValueEnum};
use diesel_async::AsyncPgConnection;

use crate::db::white_labels::{self, NewWhiteLabel, WhiteLabelChange};
use crate::db::{api_keys, relationships};
use crate::domain::{Status, WlId};

tessera_service::service! {
    ControlPlane = "control-plane";
    /// Manage white labels.
    #[command(subcommand)]
    Wl(WlCommand),
    /// Create or replace an importer → target relationship.
    Relationship {
        /// Importer WL id.
        #[arg(long)]
        importer: String,
        /// Target WL id.
        #[arg(long)]
        target: String,
        /// Allowed scopes, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The relationship's status.
        #[arg(long, value_enum, default_value_t = StatusArg::Active)]
        status: StatusArg,
    },
    /// Issue an API key for a WL and print it (shown once).
    ApiKey {
        /// WL id.
        #[arg(long)]
        wl: String,
    },
    /// Manage signing keys in a key directory.
    #[command(subcommand)]
    Keys(tessera_jwt::cli::KeysCommand),
}

/// A white label's or relationship's status on the command line (`--status active|inactive`;
/// clap refuses anything else and lists the choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// In use.
    Active,
    /// Switched off: its tokens are refused.
    Inactive,
}

impl StatusArg {
    /// The domain status.
    pub fn status(self) -> Status {
        match self {
            Self::Active => Status::Active,
            Self::Inactive => Status::Inactive,
        }
    }
}

/// `wl …`.
#[derive(Debug, Subcommand)]
pub enum WlCommand {
    /// Create a WL (no-op if it exists with the same id).
    Create {
        /// Stable id.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The WL's status.
        #[arg(long, value_enum, default_value_t = StatusArg::Active)]
        status: StatusArg,
    },
    /// Activate or deactivate a WL.
    SetStatus {
        /// WL id.
        #[arg(long)]
        id: String,
        /// The new status.
        #[arg(long, value_enum)]
        status: StatusArg,
    },
    /// List WLs (first 100).
    List,
}

/// A connection to `DATABASE_URL` (the only variable the registry commands read).
async fn connect() -> anyhow::Result<AsyncPgConnection> {
    tessera_service::connect(&tessera_db::database_url_from_env()?).await
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
        Command::Service(c) => c.run::<ControlPlane>().await,
        Command::Wl(WlCommand::Create { id, name, status }) => {
            let id = WlId::parse(&id).map_err(|e| anyhow::anyhow!("invalid WL id {id:?}: {e}"))?;
            let mut conn = connect().await?;
            let wl = match white_labels::find(&mut conn, id.as_str()).await? {
                Some(wl) => wl,
                None => {
                    NewWhiteLabel {
                        id: &id,
                        name: &name,
                        status: status.status(),
                    }
                    .insert(&mut conn)
                    .await?
                }
            };
            tessera_service::print_json(&serde_json::to_value(wl)?)
        }
        Command::Wl(WlCommand::SetStatus { id, status }) => {
            let mut conn = connect().await?;
            let change = WhiteLabelChange {
                name: None,
                status: Some(status.status()),
            };
            let wl = white_labels::update(&mut conn, &id, &change, tessera_service::now()).await?;
            tessera_service::print_json(&serde_json::to_value(wl)?)
        }
        Command::Wl(WlCommand::List) => {
            let mut conn = connect().await?;
            let (wls, total) = white_labels::list(&mut conn, 100, 0).await?;
            tessera_service::print_json(&serde_json::json!({ "whiteLabels": wls, "total": total }))
        }
        Command::Relationship {
            importer,
            target,
            scopes,
            status,
        } => {
            anyhow::ensure!(!scopes.is_empty(), "--scopes needs at least one scope");
            let mut conn = connect().await?;
            let (rel, _) =
                relationships::upsert(&mut conn, &importer, &target, &scopes, status.status())
                    .await?;
            tessera_service::print_json(&serde_json::to_value(rel)?)
        }
        Command::ApiKey { wl } => {
            let mut conn = connect().await?;
            let key = api_keys::issue(&mut conn, &wl).await?;
            tessera_service::print_json(
                &serde_json::json!({ "apiKey": key.info, "secret": key.plaintext }),
            )
        }
        Command::Keys(cmd) => tessera_jwt::cli::run(cmd),
    }
}
