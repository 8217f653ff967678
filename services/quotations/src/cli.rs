//! The command line: `serve` (default), `migrate`, `user create`, `token`, `openapi`.

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::MIGRATIONS;

/// Tessera quotations service.
#[derive(Debug, Parser)]
#[command(name = "quotations", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (configuration from the environment; see .env.example).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Create the database first if it does not exist.
        #[arg(long)]
        create_database: bool,
    },
    /// Manage API users.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue a personal access token for a user (printed once, like POST /api/auth/token).
    Token {
        /// The user's e-mail.
        #[arg(long)]
        email: String,
        /// The token's name.
        #[arg(long, default_value = "cli")]
        device_name: String,
    },
    /// Print the OpenAPI document as YAML.
    Openapi,
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, or update the one with that e-mail. The password comes from
    /// `QUOTATIONS_USER_PASSWORD`; without it a random one is generated and printed once.
    Create {
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an administrator (may delete quotations).
        #[arg(long)]
        admin: bool,
    },
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<diesel_async::AsyncPgConnection> {
    use diesel_async::AsyncConnection;
    Ok(diesel_async::AsyncPgConnection::establish(&config.base.database_url).await?)
}

/// Runs the command.
///
/// # Errors
/// Any failure, as one line for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            tessera_events::service::serve(
                "quotations",
                Config::from_environment,
                crate::startup::build,
            )
            .await
        }
        Command::Migrate { create_database } => {
            tessera_db::migrate_command(create_database, MIGRATIONS).await
        }
        Command::User(UserCommand::Create { email, name, admin }) => {
            let config = Config::from_environment()?;
            let (password, generated) = match std::env::var("QUOTATIONS_USER_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (crate::tokens::new_secret()?, true),
            };
            let hash = tessera_password::Hasher::new(&config.argon2)?
                .hash(secrecy::SecretString::from(password.clone()))
                .await?;
            let mut conn = connect(&config).await?;
            let email = email.trim().to_lowercase();
            let id =
                crate::tokens::upsert_user(&mut conn, name.trim(), &email, &hash, admin).await?;
            let mut out = serde_json::json!({"id": id, "email": email, "is_admin": admin});
            if generated && let Some(map) = out.as_object_mut() {
                map.insert("password".to_owned(), password.into());
            }
            print_json(&out)
        }
        Command::Token { email, device_name } => {
            let config = Config::from_environment()?;
            let mut conn = connect(&config).await?;
            let (user, _) = crate::tokens::user_by_email(&mut conn, &email.trim().to_lowercase())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {email:?}"))?;
            let token = crate::tokens::issue(&mut conn, user.id, &device_name).await?;
            print_json(
                &serde_json::json!({"token": token, "token_type": "Bearer", "device_name": device_name}),
            )
        }
        Command::Openapi => {
            print!("{}", crate::openapi::yaml()?);
            Ok(())
        }
    }
}
