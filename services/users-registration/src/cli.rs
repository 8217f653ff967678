//! The command line: `serve`, `migrate`, `user create`, `backfill`, `notification-sink`,
//! `openapi`.
//!
//! `user create` and `backfill` read `DATABASE_URL`, `DOCUMENT_ENCRYPTION_KEY`, `JWT_SECRET` and
//! the `ARGON2_*` settings (the same variables as `serve`); they print JSON.

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::Subcommand;
use secrecy::ExposeSecret;
use tessera_http::config::ServiceConfig as _;

use crate::auth::Role;
use crate::config::Config;
use crate::document::DocumentKeys;
use crate::provision::{self, UserSpec};

tessera_service::service! {
    UsersRegistration = "users-registration";
    /// The notification dispatcher's dead letters (`AMQP_URL`, `NOTIFY_QUEUE`): list, replay.
    #[command(subcommand)]
    Dlq(tessera_service::DlqCommand),
    /// Manage users (analysts and auditors are created here, never by public sign-up).
    #[command(subcommand)]
    User(UserCommand),
    /// Encrypt and index every `documentId` written before encryption existed, clearing the
    /// plaintext. Safe to re-run and to run while the service serves.
    Backfill {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// A local stand-in for the notification service: logs every notification it receives
    /// (one JSON line each, a set-password link redacted) and answers 202; with `--mailbox`,
    /// also writes each whole message to `<dir>/<Idempotency-Key>.json`, the local inbox where
    /// a set-password link can be opened. `make up` points `NOTIFY_ENDPOINT` at it.
    NotificationSink {
        /// Port to listen on.
        #[arg(long, default_value_t = 8086)]
        port: u16,
        /// Address to listen on (`0.0.0.0` in a container).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Directory to write each message to (created if missing).
        #[arg(long)]
        mailbox: Option<std::path::PathBuf>,
    },
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an `APPROVED` user. The password comes from `USERS_REGISTRATION_PASSWORD`;
    /// without it a random one is generated and printed once.
    Create {
        /// `analyst`, `auditor` or `producer`.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Document number (CPF, CNPJ, …).
        #[arg(long)]
        document_id: String,
        /// Comma-separated scopes instead of the role's defaults (e.g. an analyst in training
        /// without `admin:users`: `--scopes users:read`).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?} (analyst, auditor, producer)"))
}

/// `POST /…` on the notification sink: keep the message in the mailbox (when there is one),
/// log it with any set-password link redacted (a link is a credential: never in a log), accept.
async fn sink(
    req: actix_web::HttpRequest,
    body: web::Bytes,
    mailbox: web::Data<Option<std::path::PathBuf>>,
) -> HttpResponse {
    let mut body: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok());
    let request_id = req
        .headers()
        .get("X-Request-Id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| tessera_http::request_id::is_valid(v))
        .unwrap_or_default();
    if let Some(dir) = mailbox.as_ref() {
        let name = key.unwrap_or_else(uuid::Uuid::new_v4);
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            std::fs::write(
                dir.join(format!("{name}.json")),
                serde_json::to_vec_pretty(&body).unwrap_or_default(),
            )
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, "the mailbox could not be written");
        }
    }
    if let Some(link) = body.get_mut("passwordSetupUrl") {
        *link = serde_json::Value::String("<redacted: in the mailbox>".to_owned());
    }
    let key = key.map(|k| k.to_string()).unwrap_or_default();
    tracing::info!(path = %req.path(), idempotency_key = key, request_id, notification = %body, "notification received");
    HttpResponse::Accepted().finish()
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
        Command::Service(c) => c.run::<UsersRegistration>().await,
        Command::User(UserCommand::Create {
            role,
            email,
            name,
            document_id,
            scopes,
        }) => {
            let config = Config::from_environment()?;
            let password =
                tessera_service::InitialPassword::from_env("USERS_REGISTRATION_PASSWORD")?;
            let mut conn = tessera_service::connect(&config.base.database_url).await?;
            let spec = UserSpec {
                name: &name,
                email: &email,
                role,
                document_id: &document_id,
                scopes,
                password: password.secret(),
            };
            let created = provision::create_user(&config, &mut conn, spec).await?;
            tessera_service::print_json(&password.shown(&created)?)
        }
        Command::Backfill { batch } => {
            let config = Config::from_environment()?;
            let keys = DocumentKeys::from_base64(config.document_encryption_key.expose_secret())?;
            let mut conn = tessera_service::connect(&config.base.database_url).await?;
            let report = provision::backfill(&keys, &mut conn, batch).await?;
            tessera_service::print_json(&report)
        }
        Command::NotificationSink {
            port,
            host,
            mailbox,
        } => {
            let telemetry = tessera_telemetry::init("notification-sink")?;
            tracing::info!(port, mailbox = ?mailbox, "notification sink listening");
            let mailbox = web::Data::new(mailbox);
            HttpServer::new(move || {
                App::new()
                    .app_data(mailbox.clone())
                    .default_service(web::to(sink))
            })
            .workers(1)
            .bind((host.as_str(), port))?
            .run()
            .await?;
            telemetry.shutdown();
            Ok(())
        }
        Command::Dlq(c) => {
            let (amqp, queue) = tessera_service::dlq::target("NOTIFY_QUEUE", crate::notify::QUEUE);
            c.run(&amqp, &queue).await
        }
    }
}
